"""Azure OpenAI's data-plane wire protocol, backed by real local models.

`POST /openai/deployments/{deployment}/chat/completions?api-version=…` and
`…/embeddings`, with Azure's `api-key` header (or `Authorization: Bearer` for Entra ID
tokens), Azure's 401 and DeploymentNotFound bodies, and `response_format` json_schema /
json_object passed to the backend as the schema that constrains decoding.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from utterly.errors import ErrorCode, ProviderError

from .backends import ChatBackend, EmbedBackend, count_tokens

ACCESS_DENIED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                 "to provide a valid key for an active subscription and use a correct regional "
                 "API endpoint for your resource.")
DEPLOYMENT_NOT_FOUND = ("The API deployment for this resource does not exist. If you created the "
                        "deployment within the last 5 minutes, please wait a moment and try again.")
_FILTER_OK = {k: {"filtered": False, "severity": "safe"}
              for k in ("hate", "self_harm", "sexual", "violence")}


@dataclass
class Deployment:
    name: str
    model: str  # the model behind it, reported in answers, e.g. "gpt-4o-mini"
    chat: ChatBackend | None = None
    embed: EmbedBackend | None = None


def _error(status: int, code: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}},
                        status_code=status)


def create_app(deployments: list[Deployment], api_key: str) -> FastAPI:  # noqa: C901
    app = FastAPI()
    app.state.deployments = {d.name: d for d in deployments}
    app.state.requests = []  # (deployment, query params, headers, body) of every call

    async def prepare(request: Request, deployment: str, kind: str):
        """Azure's checks, in Azure's order: key, api-version, deployment, body."""
        key = request.headers.get("api-key")
        bearer = request.headers.get("authorization", "")
        if key != api_key and bearer != f"Bearer {api_key}":
            return None, None, _error(401, "401", ACCESS_DENIED)
        if not request.query_params.get("api-version"):
            return None, None, _error(404, "404", "Resource not found")
        found = app.state.deployments.get(deployment)
        if found is None or getattr(found, kind) is None:
            return None, None, _error(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND)
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return None, None, _error(400, "BadRequest", "Failed to parse the request body")
        app.state.requests.append((deployment, dict(request.query_params),
                                   dict(request.headers), body))
        return found, body, None

    @app.post("/openai/deployments/{deployment}/chat/completions")
    async def chat(deployment: str, request: Request):
        found, body, error = await prepare(request, deployment, "chat")
        if error:
            return error
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, None, "'messages' is a required property",
                          type="invalid_request_error", param="messages")
        fmt = body.get("response_format") or {}
        schema = None
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            if not isinstance(schema, dict):
                return _error(400, None, "Missing required parameter: "
                              "'response_format.json_schema.schema'.",
                              type="invalid_request_error", param="response_format")
        elif fmt.get("type") == "json_object":
            schema = {"type": "object"}
        elif fmt.get("type") not in (None, "text"):
            return _error(400, None, f"Invalid value: '{fmt.get('type')}'.",
                          type="invalid_request_error", param="response_format.type")
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 256
        try:
            text, prompt_tokens, output_tokens = await found.chat(
                messages, schema, float(body.get("temperature", 1.0)), int(max_tokens),
                body.get("seed"))
        except ProviderError as exc:
            if exc.code == ErrorCode.CONTEXT_TOO_LONG:
                return _error(400, "context_length_exceeded",
                              f"This model's maximum context length is exceeded. {exc.message}",
                              type="invalid_request_error", param="messages")
            return _error(500, "InternalServerError", "The server had an error while "
                          "processing your request. Sorry about that!")
        finish = "length" if output_tokens >= int(max_tokens) else "stop"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": found.model,
            "system_fingerprint": "fp_test",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTER_OK}],
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": None},
                         "content_filter_results": _FILTER_OK}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": output_tokens,
                      "total_tokens": prompt_tokens + output_tokens},
        }

    @app.post("/openai/deployments/{deployment}/embeddings")
    async def embeddings(deployment: str, request: Request):
        found, body, error = await prepare(request, deployment, "embed")
        if error:
            return error
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(400, None, "'input' must be a string or a list of strings",
                          type="invalid_request_error", param="input")
        vectors = await found.embed(texts)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, vector in enumerate(vectors):
            value = (base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
                     if as_base64 else vector)
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = sum(count_tokens(t) for t in texts)
        return {"object": "list", "data": data, "model": found.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return app
