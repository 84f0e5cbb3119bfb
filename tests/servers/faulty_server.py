"""A server that fails on purpose, in OpenAI's and Ollama's shapes.

Every route sits under a behaviour prefix, so one server gives one base URL per failure:
`{url}/{behaviour}/v1` for the openai SDK, `{url}/{behaviour}` for the ollama SDK.

Behaviours: unauthorized (401), model-not-found (404), no-endpoint (404 without a model),
rate-limited (429, Retry-After 1), rate-limited-ms (429, retry-after-ms 250),
rate-limited-long (429, Retry-After 3600), quota (429 insufficient_quota), flaky<K>[-tag]
(429 K times, then a valid answer), server-error (500), garbage (200 text/plain),
garbage-json (200 application/json that is not JSON), wrong-json (200 JSON of the wrong shape),
context (400 context_length_exceeded), no-schema (400 for response_format json_schema, then
a valid answer without it), hang (accepts the request and never answers), drip (200 at once,
then a space a second for ten minutes: only a whole-call deadline stops it),
answer[K]-then-hang[-tag] (a valid answer the first K times, 1 by default, then hang),
prose[K]-then-hang[-tag] (the same with an answer of prose that holds no sentence),
ok (valid).
`hits[behaviour]` counts the requests each behaviour received.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

OPENAI_OK_TEXT = '{"sentences": ["where is my parcel", "track my order"]}'
PROSE_TEXT = "I'm sorry, I cannot help with that."


def _openai_error(status: int, message: str, type_: str, code: str | None,
                  param: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param,
                                   "code": code}}, status_code=status, headers=headers)


def _openai_completion(model: str, content: str = OPENAI_OK_TEXT) -> dict:
    return {"id": "chatcmpl-faulty", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}


def _ollama_chat(model: str) -> dict:
    return {"model": model, "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": OPENAI_OK_TEXT}, "done": True,
            "done_reason": "stop", "total_duration": 1000, "load_duration": 0,
            "prompt_eval_count": 12, "eval_count": 9}


async def _hang(request: Request, limit_s: float = 600.0) -> Response:
    """Accept the request and never answer, until the client gives up (or `limit_s`)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not await request.is_disconnected():
        await asyncio.sleep(0.05)
    return Response(status_code=499)


def _drip(limit_s: float = 600.0, every_s: float = 1.0) -> Response:
    """Answer 200 at once, then the body one space at a time, one per `every_s`: a
    per-read timeout never fires, only a deadline on the whole call ends it."""
    async def spaces():
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            yield b" "
            await asyncio.sleep(every_s)

    return StreamingResponse(spaces(), media_type="application/json")


def create_app() -> FastAPI:  # noqa: C901
    app = FastAPI()
    hits: Counter = Counter()
    app.state.hits = hits

    async def behave(behaviour: str, shape: str, request: Request, model: str):  # noqa: C901
        """The failure (or None for a valid answer) of `behaviour` in the `shape` protocol."""
        hits[behaviour] += 1
        openai = shape == "openai"
        if behaviour == "hang":
            return await _hang(request)
        if behaviour == "drip":
            return _drip()
        if match := re.fullmatch(r"(answer|prose)(\d*)-then-hang(-\w+)?", behaviour):
            if hits[behaviour] > int(match.group(2) or 1):
                return await _hang(request)
            if match.group(1) == "prose" and request.url.path.endswith("/chat/completions"):
                return _openai_completion(model, PROSE_TEXT)
            return None
        if behaviour == "ok":
            return None
        if behaviour == "unauthorized":
            if openai:
                return _openai_error(401, "Incorrect API key provided: sk-te*******7890. You "
                                     "can find your API key at https://platform.openai.com.",
                                     "invalid_request_error", "invalid_api_key")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if behaviour == "model-not-found":
            if openai:
                return _openai_error(404, f"The model `{model}` does not exist or you do not "
                                     "have access to it.", "invalid_request_error",
                                     "model_not_found")
            return JSONResponse({"error": f'model "{model}" not found, try pulling it first'},
                                status_code=404)
        if behaviour == "no-endpoint":
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if behaviour.startswith("rate-limited") or behaviour == "quota":
            headers = {"rate-limited": {"retry-after": "1"},
                       "rate-limited-ms": {"retry-after-ms": "250"},
                       "rate-limited-long": {"retry-after": "3600"}}.get(behaviour, {})
            if behaviour == "quota":
                return _openai_error(429, "You exceeded your current quota, please check your "
                                     "plan and billing details.", "insufficient_quota",
                                     "insufficient_quota")
            if openai:
                return _openai_error(429, "Rate limit reached for requests", "requests",
                                     "rate_limit_exceeded", headers=headers)
            return JSONResponse({"error": "too many requests"}, status_code=429, headers=headers)
        if match := re.fullmatch(r"flaky(\d+)(-\w+)?", behaviour):
            if hits[behaviour] <= int(match.group(1)):
                if openai:
                    return _openai_error(429, "Rate limit reached for requests", "requests",
                                         "rate_limit_exceeded", headers={"retry-after": "0.5"})
                return JSONResponse({"error": "too many requests"}, status_code=429,
                                    headers={"retry-after": "0.5"})
            return None
        if behaviour == "server-error":
            if openai:
                return _openai_error(500, "The server had an error while processing your "
                                     "request. Sorry about that!", "server_error", None)
            return JSONResponse({"error": "llama runner process has terminated: exit status 2"},
                                status_code=500)
        if behaviour == "garbage":
            return PlainTextResponse("<html><body>Welcome to nginx!</body></html>")
        if behaviour == "garbage-json":
            return Response("{this is not json", media_type="application/json")
        if behaviour == "wrong-json":
            return JSONResponse({"hello": "world", "items": [1, 2, 3]})
        if behaviour == "context":
            if openai:
                return _openai_error(400, "This model's maximum context length is 2048 tokens. "
                                     "However, you requested 5000 tokens.",
                                     "invalid_request_error", "context_length_exceeded",
                                     "messages")
            return JSONResponse({"error": "the input length exceeds the context length"},
                                status_code=400)
        if behaviour == "no-schema":
            body = await request.json() if openai else {}
            if (body.get("response_format") or {}).get("type") == "json_schema":
                return _openai_error(400, "response_format json_schema is not supported",
                                     "invalid_request_error", None, "response_format")
            return None
        return JSONResponse({"detail": f"unknown behaviour {behaviour}"}, status_code=418)

    # --- OpenAI shape ---------------------------------------------------------------------

    @app.post("/{behaviour}/v1/chat/completions")
    async def openai_chat(behaviour: str, request: Request):
        body = await request.json()
        app.state.last_openai_body = body
        failure = await behave(behaviour, "openai", request, body.get("model", ""))
        return failure or _openai_completion(body.get("model", ""))

    @app.get("/{behaviour}/v1/models")
    async def openai_models(behaviour: str, request: Request):
        failure = await behave(behaviour, "openai", request, "gpt-4o-mini")
        return failure or {"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"}]}

    @app.post("/{behaviour}/v1/embeddings")
    async def openai_embeddings(behaviour: str, request: Request):
        body = await request.json()
        failure = await behave(behaviour, "openai", request, body.get("model", ""))
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        return failure or {"object": "list", "model": body.get("model"),
                           "data": [{"object": "embedding", "index": i,
                                     "embedding": [1.0, float(i), 0.5]}
                                    for i, _ in enumerate(inputs)],
                           "usage": {"prompt_tokens": 3, "total_tokens": 3}}

    # --- Ollama shape ---------------------------------------------------------------------

    @app.get("/{behaviour}/", response_class=PlainTextResponse)
    async def ollama_root(behaviour: str, request: Request):
        if behaviour == "not-ollama":
            return PlainTextResponse("<html>It works!</html>")
        if behaviour == "hang":
            return await _hang(request)
        return "Ollama is running"

    @app.get("/{behaviour}/api/tags")
    async def ollama_tags(behaviour: str, request: Request):
        failure = await behave(behaviour, "ollama", request, "")
        return failure or {"models": [{"name": "tinyllama:latest", "model": "tinyllama:latest",
                                       "modified_at": "2025-01-01T00:00:00Z", "size": 1,
                                       "digest": "0" * 64, "details": {}}]}

    @app.post("/{behaviour}/api/chat")
    async def ollama_chat(behaviour: str, request: Request):
        body = await request.json()
        failure = await behave(behaviour, "ollama", request, body.get("model", ""))
        return failure or _ollama_chat(body.get("model", ""))

    @app.post("/{behaviour}/api/embed")
    async def ollama_embed(behaviour: str, request: Request):
        body = await request.json()
        failure = await behave(behaviour, "ollama", request, body.get("model", ""))
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        return failure or {"model": body.get("model"),
                           "embeddings": [[1.0, float(i), 0.5] for i, _ in enumerate(inputs)]}

    return app
