"""A server that answers as OpenAI, Azure OpenAI, Ollama, Langfuse and an OTLP collector
all at once, and records every request it receives (method, path and query, headers, body):
what a Studio sends to a URL that an admin typed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

REPLY = '{"sentences": ["where has my parcel gone", "track my parcel please"]}'


@dataclass
class Seen:
    method: str
    target: str  # path and query
    headers: list[tuple[str, str]]
    body: bytes

    def text(self) -> str:
        lines = [f"{self.method} {self.target}"] + [f"{k}: {v}" for k, v in self.headers]
        return "\n".join(lines) + "\n\n" + self.body.decode("utf-8", "replace")


def _chat(model: str) -> dict:
    return {"id": "chatcmpl-capture", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": REPLY}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}}


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.seen = seen = []

    @app.middleware("http")
    async def record(request: Request, call_next):
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        seen.append(Seen(request.method, target, list(request.headers.items()), body))
        return await call_next(request)

    # OpenAI and OpenAI-compatible servers
    @app.get("/{prefix:path}/models")
    async def models(prefix: str):
        return {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model",
                                            "created": 0, "owned_by": "capture"}]}

    @app.post("/{prefix:path}/chat/completions")
    async def chat(prefix: str, request: Request):
        return JSONResponse(_chat((await request.json()).get("model", "m")))

    # Ollama
    @app.get("/")
    async def root():
        return PlainTextResponse("Ollama is running")

    @app.get("/api/tags")
    async def tags():
        return {"models": [{"name": "tinyllama:latest", "model": "tinyllama:latest",
                            "modified_at": "2025-01-01T00:00:00Z", "size": 1, "digest": "d",
                            "details": {"format": "gguf", "family": "llama"}}]}

    @app.post("/api/chat")
    async def ollama_chat(request: Request):
        model = (await request.json()).get("model", "tinyllama")
        return {"model": model, "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": REPLY}, "done": True,
                "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 8}

    # Langfuse and OTLP collectors
    @app.get("/api/public/projects")
    async def projects():
        return {"data": [{"id": "p", "name": "capture"}]}

    @app.post("/api/public/scores")
    async def scores():
        return {"id": "s"}

    @app.post("/{prefix:path}/v1/traces")
    async def traces(prefix: str):
        return Response(b"", media_type="application/x-protobuf")

    @app.post("/v1/traces")
    async def root_traces():
        return Response(b"", media_type="application/x-protobuf")

    return app
