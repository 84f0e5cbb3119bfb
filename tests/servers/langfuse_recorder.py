"""A recording fake of Langfuse's server (and of a plain OTLP/HTTP collector), on 127.0.0.1.

What it speaks, as Langfuse does:
- POST /api/public/otel/v1/traces: an OTLP/HTTP protobuf ExportTraceServiceRequest, with
  HTTP Basic auth (public key : secret key); 401 otherwise.
- POST /api/public/scores: a JSON score, Basic auth.
- GET /api/public/projects: the project of the keys, Basic auth (what a key check calls).
- POST /v1/traces: a plain OTLP collector's receiver (no auth), to stand for "any OTLP
  endpoint" with the same behaviours.

Every request is recorded (method, path, lower-cased headers, raw body), whatever the
behaviour; spans are decoded with OpenTelemetry's own protobuf classes, attributes as Python
values. Behaviours, settable at any time (`recorder.behaviour = …`):
- "normal": answers like the real thing;
- "unavailable": 503 on everything;
- "black_hole": accepts the connection and the request, then never answers (it waits until
  the client gives up, for an hour at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .langfuse_server import basic_credentials
from .run import ASGIServer

PUBLIC_KEY = "pk-lf-recorder-0123"
SECRET_KEY = "sk-lf-recorder-SECRET-4567"
OTEL_PATH = "/api/public/otel/v1/traces"
SCORES_PATH = "/api/public/scores"
PROJECTS_PATH = "/api/public/projects"
COLLECTOR_PATH = "/v1/traces"
BEHAVIOURS = ("normal", "unavailable", "black_hole")
BLACK_HOLE_S = 3600.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]
    resource: dict[str, Any] = field(default_factory=dict)
    status_code: int = 0
    path: str = OTEL_PATH  # where it was received


def any_value(value) -> Any:
    """An OTLP AnyValue as the Python value it stands for."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def decode_spans(body: bytes, path: str) -> list[RecordedSpan]:
    request = ExportTraceServiceRequest.FromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(RecordedSpan(
                    name=s.name, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                    parent_id=s.parent_span_id.hex() or None,
                    attributes={kv.key: any_value(kv.value) for kv in s.attributes},
                    resource=resource, status_code=s.status.code, path=path))
    return spans


def eventually(what: Callable[[], Any], *, timeout_s: float = 60.0,
               failure: Callable[[], str] = lambda: "the condition never held") -> Any:
    """Poll `what()` until it is truthy and return it. The deadline is a hang guard for
    background work (exports, scores), not a timing assertion."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(failure())
        time.sleep(0.05)


async def _black_hole(request: Request) -> Response:
    """Never answer: wait until the client leaves (or an hour passes)."""
    deadline = time.monotonic() + BLACK_HOLE_S
    while time.monotonic() < deadline and not await request.is_disconnected():
        await asyncio.sleep(0.05)
    return Response(status_code=499)


def create_app(public_key: str = PUBLIC_KEY, secret_key: str = SECRET_KEY) -> FastAPI:
    app = FastAPI()
    app.state.behaviour = "normal"
    app.state.requests = []
    app.state.spans = []
    app.state.scores = []

    async def receive(request: Request) -> tuple[Received, Response | None]:
        """Record the request; the answer the behaviour imposes, if any."""
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        received = Received(request.method, request.url.path, headers, body)
        app.state.requests.append(received)
        if app.state.behaviour == "unavailable":
            return received, JSONResponse({"message": "Service Unavailable"}, status_code=503)
        if app.state.behaviour == "black_hole":
            return received, await _black_hole(request)
        if request.url.path != COLLECTOR_PATH and \
                basic_credentials(headers) != (public_key, secret_key):
            return received, JSONResponse({"message": "Invalid credentials. Confirm that "
                                                      "you've configured the correct host."},
                                          status_code=401)
        return received, None

    def traces(path: str):
        async def endpoint(request: Request):
            received, refused = await receive(request)
            if refused is not None:
                return refused
            app.state.spans.extend(decode_spans(received.body, path))
            # An empty ExportTraceServiceResponse, protobuf-encoded, is zero bytes.
            return Response(status_code=200, media_type="application/x-protobuf")
        return endpoint

    app.add_api_route(OTEL_PATH, traces(OTEL_PATH), methods=["POST"])
    app.add_api_route(COLLECTOR_PATH, traces(COLLECTOR_PATH), methods=["POST"])

    @app.post(SCORES_PATH)
    async def scores(request: Request):
        received, refused = await receive(request)
        if refused is not None:
            return refused
        score = received.json()
        app.state.scores.append(score)
        return {"id": score.get("id") or f"score-{len(app.state.scores)}"}

    @app.get(PROJECTS_PATH)
    async def projects(request: Request):
        received, refused = await receive(request)
        if refused is not None:
            return refused
        return {"data": [{"id": "p1", "name": "recorder", "metadata": {}}]}

    return app


class Recorder:
    """A running recorder: its URL, what it received, and waiting for more."""

    public_key = PUBLIC_KEY
    secret_key = SECRET_KEY

    def __init__(self, url: str, app: FastAPI):
        self.url = url
        self.app = app

    @property
    def behaviour(self) -> str:
        return self.app.state.behaviour

    @behaviour.setter
    def behaviour(self, value: str) -> None:
        assert value in BEHAVIOURS, value
        self.app.state.behaviour = value

    @property
    def requests(self) -> list[Received]:
        return list(self.app.state.requests)

    @property
    def spans(self) -> list[RecordedSpan]:
        return list(self.app.state.spans)

    @property
    def scores(self) -> list[dict]:
        return list(self.app.state.scores)

    @property
    def collector_endpoint(self) -> str:
        """The base URL to give as an OTLP endpoint (the exporter adds /v1/traces)."""
        return self.url

    def tracing_config(self, **overrides):
        from utterly.observability import TracingConfig

        return TracingConfig(**{"langfuse_public_key": self.public_key,
                                "langfuse_secret_key": self.secret_key,
                                "langfuse_host": self.url, **overrides})

    def spans_of(self, trace_id: str, path: str | None = None) -> list[RecordedSpan]:
        """The spans of a trace, as received on one path (Langfuse's or the collector's)
        or on all."""
        return [s for s in self.spans if s.trace_id == trace_id and path in (None, s.path)]

    def scores_of(self, trace_id: str) -> list[dict]:
        return [s for s in self.scores if s.get("traceId") == trace_id]

    def wait_for(self, what: Callable[[], Any], *, timeout_s: float = 60.0,
                 description: str = "the expected telemetry", tracer=None) -> Any:
        """Poll `what()` until it is truthy (exports run in the background); returns it.
        With the `tracer` that sends, a failure says what it dropped and why."""
        return eventually(what, timeout_s=timeout_s, failure=lambda: (
            f"the recorder did not receive {description} within {timeout_s:g} s; it has "
            f"{[(r.method, r.path) for r in self.requests]}"
            + (f"; the tracer's drops: {tracer.counters}" if tracer is not None else "")))

    def wait_for_trace(self, trace_id: str, root: str = "Sentence Generation",
                       path: str = OTEL_PATH, timeout_s: float = 60.0,
                       tracer=None) -> list[RecordedSpan]:
        """The spans of a trace received on `path`, once its root span (the last to end)
        has arrived there."""
        self.wait_for(lambda: any(s.name == root and s.parent_id is None
                                  for s in self.spans_of(trace_id, path)),
                      timeout_s=timeout_s, description=f"the root span of trace {trace_id}",
                      tracer=tracer)
        return self.spans_of(trace_id, path)


@contextlib.contextmanager
def run_recorder(behaviour: str = "normal") -> Iterator[Recorder]:
    app = create_app()
    app.state.behaviour = behaviour
    with ASGIServer(app) as url:
        yield Recorder(url, app)


@pytest.fixture
def langfuse_recorder() -> Iterator[Recorder]:
    """A fresh recording Langfuse (normal behaviour) per test."""
    with run_recorder() as recorder:
        yield recorder


def main(argv: list[str] | None = None) -> None:
    """Serve a recorder in a process of its own (the tracing benchmark does, so that the
    server's work is not counted as the client's):
    python -m tests.servers.langfuse_recorder --port N [--behaviour black_hole]"""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--behaviour", choices=BEHAVIOURS, default="normal")
    args = parser.parse_args(argv)
    app = create_app()
    app.state.behaviour = args.behaviour
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning",
                timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
