"""Ollama's HTTP API (docs/api.md of ollama/ollama), backed by real local models.

Implements what Utterly uses: `GET /` ("Ollama is running"), `GET /api/version`,
`GET /api/tags`, `POST /api/chat` (streamed NDJSON by default, one JSON object with
`"stream": false`; `format` "json" or a JSON schema; `options` temperature, num_predict,
seed) and `POST /api/embed` (`input` a string or a list). Unknown models get Ollama's 404
body, `{"error": "model \"x\" not found, try pulling it first"}`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from utterly.errors import ErrorCode, ProviderError

from .backends import ChatBackend, EmbedBackend, count_tokens

VERSION = "0.6.3"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _full_name(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


@dataclass
class OllamaModel:
    name: str  # with its tag, e.g. "tinyllama:latest"
    chat: ChatBackend | None = None
    embed: EmbedBackend | None = None
    family: str = "llama"
    parameter_size: str = "135M"
    size: int = 100_000_000
    digest: str = field(default="")

    def tag_entry(self) -> dict:
        digest = self.digest or hashlib.sha256(self.name.encode()).hexdigest()
        return {
            "name": self.name, "model": self.name,
            "modified_at": "2025-05-10T08:06:48.639712648-07:00",
            "size": self.size, "digest": digest,
            "details": {"parent_model": "", "format": "gguf", "family": self.family,
                        "families": [self.family], "parameter_size": self.parameter_size,
                        "quantization_level": "Q4_1"},
        }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _not_found(name: str) -> JSONResponse:
    return _error(404, f'model "{name}" not found, try pulling it first')


def create_app(models: list[OllamaModel]) -> FastAPI:  # noqa: C901
    app = FastAPI()
    app.state.models = {m.name: m for m in models}
    app.state.requests = []  # (path, body) of every POST, for assertions

    def lookup(name: str | None) -> OllamaModel | None:
        if not name:
            return None
        return app.state.models.get(_full_name(name))

    async def read_json(request: Request):
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            return None, _error(400, f"invalid character in JSON: {exc.msg}")
        if not isinstance(body, dict):
            return None, _error(400, "json: cannot unmarshal into a request object")
        app.state.requests.append((request.url.path, body))
        return body, None

    @app.get("/", response_class=PlainTextResponse)
    @app.head("/", response_class=PlainTextResponse)
    async def root():
        return "Ollama is running"

    @app.get("/api/version")
    async def version():
        return {"version": VERSION}

    @app.get("/api/tags")
    async def tags():
        return {"models": [m.tag_entry() for m in app.state.models.values()]}

    @app.post("/api/chat")
    async def chat(request: Request):
        body, error = await read_json(request)
        if error:
            return error
        name = body.get("model")
        if not name:
            return _error(400, "model is required")
        model = lookup(name)
        if model is None:
            return _not_found(name)
        if model.chat is None:
            return _error(400, f'"{name}" does not support chat')
        fmt = body.get("format")
        if fmt in (None, ""):
            schema = None
        elif fmt == "json":
            schema = {"type": "object"}
        elif isinstance(fmt, dict):
            schema = fmt
        else:
            return _error(400, f"invalid format: {json.dumps(fmt)}")
        options = body.get("options") or {}
        max_tokens = int(options.get("num_predict") or 128)
        if max_tokens < 0:  # -1: until the model stops
            max_tokens = 1024
        started = time.monotonic_ns()
        try:
            text, prompt_tokens, output_tokens = await model.chat(
                body.get("messages") or [], schema, float(options.get("temperature", 0.8)),
                max_tokens, options.get("seed"))
        except ProviderError as exc:
            if exc.code == ErrorCode.CONTEXT_TOO_LONG:
                return _error(400, "the input length exceeds the context length")
            return _error(500, exc.message)
        total = time.monotonic_ns() - started
        done_reason = "length" if output_tokens >= max_tokens else "stop"
        stats = {"done_reason": done_reason, "total_duration": total, "load_duration": 0,
                 "prompt_eval_count": prompt_tokens, "prompt_eval_duration": total // 10,
                 "eval_count": output_tokens, "eval_duration": total - total // 10}
        if body.get("stream") is False:
            return {"model": name, "created_at": _now(),
                    "message": {"role": "assistant", "content": text}, "done": True, **stats}

        async def ndjson():
            words = text.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                yield json.dumps({"model": name, "created_at": _now(),
                                  "message": {"role": "assistant", "content": piece},
                                  "done": False}) + "\n"
            yield json.dumps({"model": name, "created_at": _now(),
                              "message": {"role": "assistant", "content": ""},
                              "done": True, **stats}) + "\n"

        return StreamingResponse(ndjson(), media_type="application/x-ndjson")

    @app.post("/api/embed")
    async def embed(request: Request):
        body, error = await read_json(request)
        if error:
            return error
        name = body.get("model")
        if not name:
            return _error(400, "model is required")
        model = lookup(name)
        if model is None:
            return _not_found(name)
        if model.embed is None:
            return _error(400, f'"{name}" does not support embeddings')
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(400, "invalid input type")
        started = time.monotonic_ns()
        vectors = await model.embed(texts) if texts else []
        return {"model": name, "embeddings": vectors,
                "total_duration": time.monotonic_ns() - started, "load_duration": 0,
                "prompt_eval_count": sum(count_tokens(t) for t in texts)}

    return app
