"""Overhead of Utterly's pipeline over a raw SDK call, against a zero-latency server.

    .venv/bin/python bench/pipeline_overhead.py [--requests 200]

A local OpenAI-compatible server answers every chat completion at once with the same
valid JSON, so what remains is client-side cost. Compared in one run:
  raw     AsyncOpenAI.chat.completions.create, nothing else
  core    utterly's pipeline (prompt, provider, parse, clean) without embeddings
  full    the same with the local embedding filters
Prints mean ms per request and the ratio to raw. Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import threading
import time

import uvicorn
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from utterly.embeddings import create_embeddings
from utterly.pipeline import run_generation
from utterly.providers import ProviderConfig, create_provider
from utterly.request import GenerationRequest

SENTENCES = ["Where's my package?", "I can't find my parcel, where is it?",
             "Can you tell me where my order is?", "Has my parcel shipped yet?",
             "Any news about my delivery?"]


async def chat(request):
    body = await request.json()
    return JSONResponse({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "bench"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": json.dumps({"sentences": SENTENCES})}}],
        "usage": {"prompt_tokens": 200, "completion_tokens": 60, "total_tokens": 260},
    })


def serve() -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}/v1", server


async def timed(fn, requests: int) -> list[float]:
    await fn()  # warm up connections and lazy imports
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    base_url, server = serve()
    client = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    provider = create_provider(ProviderConfig(provider="openai", model="bench",
                                              base_url=base_url, api_key="bench"))
    embeddings = create_embeddings("local")
    request = GenerationRequest.build(sentences=["Where is my parcel?"], locale="en", n=5,
                                      seed=1)

    async def raw():
        await client.chat.completions.create(model="bench", messages=[
            {"role": "user", "content": "Paraphrase: Where is my parcel?"}])

    async def core():
        await run_generation(request, provider, None)

    async def full():
        await run_generation(request, provider, embeddings)

    rows = [(name, await timed(fn, args.requests)) for name, fn in
            (("raw SDK call", raw), ("utterly core", core), ("utterly + embeddings", full))]
    base = statistics.mean(rows[0][1])
    print(f"{args.requests} requests each, zero-latency server on {base_url}")
    print("| path | mean ms | median ms | ratio to raw |")
    print("|---|---|---|---|")
    for name, samples in rows:
        print(f"| {name} | {statistics.mean(samples):.2f} | {statistics.median(samples):.2f} | "
              f"{statistics.mean(samples) / base:.2f}x |")
    await client.close()
    await provider.aclose()
    server.should_exit = True


if __name__ == "__main__":
    asyncio.run(main())
