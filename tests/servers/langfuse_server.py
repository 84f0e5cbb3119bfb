"""Fake observability backends that record every request they receive.

`create_app(public_key, secret_key)` is a Langfuse server as far as a key check goes:
GET /api/public/projects with HTTP Basic auth (username: public key, password: secret key)
answers `{"data": [{"id", "name", "metadata"}]}` like Langfuse's public API, or 401 with
other credentials. The ingestion and OTel trace endpoints exist too, so that a test can prove
a check never called them. Set `app.state.answer_after_s` to make every answer wait that long
(a server that accepts the connection and does not answer in time).

`create_collector_app()` is an OpenTelemetry collector's OTLP/HTTP receiver: it accepts
POST /v1/traces.

Each app's `state.requests` lists the requests it received: (method, path, headers, body).
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

PROJECT = {"id": "p1", "name": "demo", "metadata": {}}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _recording(app: FastAPI) -> None:
    app.state.requests = []

    @app.middleware("http")
    async def record(request: Request, call_next):
        body = await request.body()
        app.state.requests.append(Recorded(request.method, request.url.path,
                                           {k.lower(): v for k, v in request.headers.items()},
                                           body))
        return await call_next(request)


def basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """The (username, password) of an `Authorization: Basic` header, or None."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return None
    return user, password


async def _wait(request: Request, seconds: float) -> bool:
    """Wait `seconds` unless the client leaves first; True when it is still there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return False
        await asyncio.sleep(0.05)
    return True


def create_app(public_key: str, secret_key: str) -> FastAPI:
    app = FastAPI()
    app.state.answer_after_s = 0.0
    _recording(app)

    def unauthorized() -> JSONResponse:
        return JSONResponse({"message": "Invalid credentials. Confirm that you've configured "
                                        "the correct host."}, status_code=401)

    def authorized(request: Request) -> bool:
        headers = {k.lower(): v for k, v in request.headers.items()}
        return basic_credentials(headers) == (public_key, secret_key)

    @app.get("/api/public/projects")
    async def projects(request: Request):
        if app.state.answer_after_s and not await _wait(request, app.state.answer_after_s):
            return Response(status_code=499)
        if not authorized(request):
            return unauthorized()
        return {"data": [PROJECT]}

    @app.post("/api/public/ingestion")
    async def ingestion(request: Request):
        if not authorized(request):
            return unauthorized()
        return JSONResponse({"successes": [], "errors": []}, status_code=207)

    @app.post("/api/public/otel/v1/traces")
    async def otel_traces(request: Request):
        if not authorized(request):
            return unauthorized()
        return Response(status_code=200, media_type="application/x-protobuf")

    return app


def create_collector_app() -> FastAPI:
    app = FastAPI()
    _recording(app)

    @app.post("/v1/traces")
    async def traces():
        # An empty ExportTraceServiceResponse, protobuf-encoded, is zero bytes.
        return Response(status_code=200, media_type="application/x-protobuf")

    return app
