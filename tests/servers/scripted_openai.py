"""An OpenAI-compatible chat server that answers from a script, for Tock's orchestrator.

Tock's Gen AI orchestrator (and `utterly tock-bridge`) reach OpenAI through LangChain's
ChatOpenAI and the openai SDK; this server speaks that wire protocol as OpenAI documents it:
`POST /v1/chat/completions` (a JSON answer, or with `stream: true` server-sent events
`data: {chunk}` … `data: [DONE]`, with a last usage chunk when
`stream_options.include_usage`), `GET /v1/models`, `GET /v1/models/{id}`.

What it answers, from `app.state`:
- `sentences`: the reply is them as a numbered list ("1. …\\n2. …"), what Tock's
  NumberedListOutputParser reads; `reply`, when not None, is sent verbatim instead;
- `api_key`: every route wants `Authorization: Bearer <api_key>`, else OpenAI's 401;
- a model in `missing_models` ("missing-model") gets OpenAI's 404 model_not_found;
- a prompt over `context_tokens` (whitespace tokens) gets OpenAI's 400
  context_length_exceeded.
`requests` holds the body of every chat completion request, in order, refused ones too.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from .backends import count_tokens
from .faulty_server import _openai_error
from .run import ASGIServer

SCRIPTED_API_KEY = "sk-scripted-0123456789abcdef"
MISSING_MODEL = "missing-model"
SCRIPTED_MODELS = ("gpt-4o-mini", "gpt-4o")
DEFAULT_SENTENCES = ("where is my parcel", "track my order", "has my package shipped")
NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization "
          "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
          "field (with blank username) if you're accessing the API from your browser and are "
          "prompted for a username and password. You can obtain an API key from "
          "https://platform.openai.com/account/api-keys.")


def numbered_list(sentences) -> str:
    return "\n".join(f"{i}. {sentence}" for i, sentence in enumerate(sentences, 1))


def prompt_text(body: dict) -> str:
    """The text of every message of a chat request, string or content-part form."""
    texts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    return "\n".join(texts)


def _masked(key: str) -> str:
    # OpenAI echoes a wrong key with only its ends visible.
    return key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 7 else "*" * len(key)


def _unauthorized(request: Request, api_key: str):
    """OpenAI's 401 unless the request carries `Authorization: Bearer <api_key>`."""
    header = request.headers.get("authorization", "")
    if header == f"Bearer {api_key}":
        return None
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _openai_error(401, NO_KEY, "invalid_request_error", None)
    return _openai_error(401, f"Incorrect API key provided: {_masked(header[7:])}. You can "
                         "find your API key at https://platform.openai.com/account/api-keys.",
                         "invalid_request_error", "invalid_api_key")


def _model_not_found(model: str):
    return _openai_error(404, f"The model `{model}` does not exist or you do not have access "
                         "to it.", "invalid_request_error", "model_not_found")


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def _invalid_body(body) -> tuple[str, str | None, str | None] | None:
    """OpenAI's (message, param, code) for a body it would refuse, else None."""
    if not isinstance(body, dict):
        return ("We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON. If you have trouble figuring "
                "out how to fix this, please contact us through our help center at "
                "help.openai.com.)", None, None)
    if not body.get("model"):
        return "you must provide a model parameter", None, None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ("Missing required parameter: 'messages'.", "messages",
                "missing_required_parameter")
    temperature = body.get("temperature")  # null is OpenAI's default, 1
    if temperature is not None and (not isinstance(temperature, int | float)
                                    or isinstance(temperature, bool)
                                    or not 0 <= temperature <= 2):
        return (f"Invalid 'temperature': expected a decimal between 0 and 2, but got "
                f"{json.dumps(temperature)} instead.", "temperature", "invalid_value")
    return None


def _sse(chunks) -> StreamingResponse:
    async def events():
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache"})


def _stream_chunks(base: dict, text: str, n: int, usage: dict | None) -> list[dict]:
    """The chunks OpenAI sends for `text`: the role first, the content line by line, the
    finish reason, and with include_usage a last chunk without choices that holds it (every
    other chunk then has `usage: null`)."""
    extra = {"usage": None} if usage else {}
    base = {**base, "object": "chat.completion.chunk"}
    pieces = text.splitlines(keepends=True) or [""]
    chunks = []
    for index in range(n):
        chunks.append({**base, "choices": [{"index": index, "delta": {
            "role": "assistant", "content": "", "refusal": None},
            "logprobs": None, "finish_reason": None}], **extra})
        chunks.extend({**base, "choices": [{"index": index, "delta": {"content": piece},
                                            "logprobs": None, "finish_reason": None}], **extra}
                      for piece in pieces)
        chunks.append({**base, "choices": [{"index": index, "delta": {}, "logprobs": None,
                                            "finish_reason": "stop"}], **extra})
    if usage:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def create_app(sentences=DEFAULT_SENTENCES, *, api_key: str = SCRIPTED_API_KEY,
               models=SCRIPTED_MODELS, context_tokens: int = 8192) -> FastAPI:
    app = FastAPI()
    app.state.sentences = list(sentences)
    app.state.reply = None
    app.state.api_key = api_key
    app.state.models = list(models)
    app.state.missing_models = {MISSING_MODEL}
    app.state.context_tokens = context_tokens
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        app.state.requests.append(body)
        if refused := _unauthorized(request, app.state.api_key):
            return refused
        if invalid := _invalid_body(body):
            message, param, code = invalid
            return _openai_error(400, message, "invalid_request_error", code, param)
        model = body["model"]
        if model in app.state.missing_models:
            return _model_not_found(model)
        prompt_tokens = count_tokens(prompt_text(body))
        if prompt_tokens > app.state.context_tokens:
            return _openai_error(400, f"This model's maximum context length is "
                                 f"{app.state.context_tokens} tokens. However, your messages "
                                 f"resulted in {prompt_tokens} tokens. Please reduce the length "
                                 "of the messages.", "invalid_request_error",
                                 "context_length_exceeded", "messages")
        text = app.state.reply if app.state.reply is not None \
            else numbered_list(app.state.sentences)
        n = int(body.get("n") or 1)
        usage = _usage(prompt_tokens, count_tokens(text) * n)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_scripted", "service_tier": "default"}
        if body.get("stream"):
            include_usage = (body.get("stream_options") or {}).get("include_usage")
            return _sse(_stream_chunks(base, text, n, usage if include_usage else None))
        return {**base, "object": "chat.completion", "usage": usage, "choices": [
            {"index": index, "finish_reason": "stop", "logprobs": None,
             "message": {"role": "assistant", "content": text, "refusal": None,
                         "annotations": []}} for index in range(n)]}

    def model_object(model: str) -> dict:
        return {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}

    @app.get("/v1/models")
    async def list_models(request: Request):
        if refused := _unauthorized(request, app.state.api_key):
            return refused
        return {"object": "list", "data": [model_object(m) for m in app.state.models]}

    @app.get("/v1/models/{model:path}")
    async def retrieve_model(model: str, request: Request):
        if refused := _unauthorized(request, app.state.api_key):
            return refused
        if model not in app.state.models:
            return _model_not_found(model)
        return model_object(model)

    return app


@dataclass
class ScriptedOpenAI:
    url: str
    app: FastAPI

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as base URL (Tock's `base_url` setting)."""
        return self.url + "/v1"

    @property
    def state(self):
        return self.app.state

    @property
    def requests(self) -> list:
        return self.app.state.requests


@contextlib.contextmanager
def run_scripted_openai(sentences=DEFAULT_SENTENCES, **options) -> Iterator[ScriptedOpenAI]:
    """The scripted server on a free port of 127.0.0.1, in a background thread."""
    app = create_app(sentences, **options)
    with ASGIServer(app) as url:
        yield ScriptedOpenAI(url, app)


@pytest.fixture
def scripted_openai():
    """A fresh scripted server per test: its script and its recorded requests are the test's
    own."""
    with run_scripted_openai() as server:
        yield server
