"""The bridge's ASGI app, served at the root of its own host and port: Tock Studio's client
keeps only the host of `tock_gen_ai_orchestrator_server_url` (Retrofit's absolute paths).

Routes answered here, as Tock's orchestrator answers them (status codes, bodies, error
codes): sentence generation (both paths), the LLM provider and Langfuse setting checks, the
health checks. Everything else goes to the upstream orchestrator when one is configured, or
gets a Tock-shaped error that says so.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from ..tock.contract import (
    OBSERVABILITY_PROVIDERS,
    TOCK_LLM_PROVIDERS,
    CompletionRequest,
    LLMProvider,
    LLMStatusRequest,
    ObservabilityStatusRequest,
)
from ..tock.errors import TockCode, TockError
from .config import SECRET_HEADER, BridgeConfig
from .service import BridgeService

log = logging.getLogger("utterly.tock_bridge")

# Headers that belong to one hop, never forwarded (RFC 9110 §7.6.1), and the length, which
# the client recomputes.
_HOP_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                SECRET_HEADER.lower()}
UPSTREAM_TIMEOUT_S = 120.0


def request_line(request: Request) -> str:
    return f"[{request.method}] {request.url}"


def tock_error(error: TockError, status: int = 400) -> JSONResponse:
    return JSONResponse(error.body(), status_code=status)


def create_app(config: BridgeConfig, service: BridgeService | None = None) -> FastAPI:
    service = service or BridgeService(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()
        app.state.upstream = (httpx.AsyncClient(base_url=config.upstream_url,
                                                timeout=UPSTREAM_TIMEOUT_S)
                              if config.upstream_url else None)
        try:
            yield
        finally:
            if app.state.upstream is not None:
                await app.state.upstream.aclose()
            await service.aclose()

    app = FastAPI(title="Utterly's bridge for Tock Studio", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.service = service
    app.add_middleware(Guard, config=config)

    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.get("/health-check")(_health)
    app.get("/liveness-check")(_health)

    async def generate(request: Request, body: CompletionRequest):
        try:
            sentences = await service.sentences(body, request_line(request))
        except TockError as exc:
            log.warning("generation failed: %s %s", int(exc.code), exc.cause)
            return tock_error(exc)
        return {"sentences": sentences}

    app.post("/completion/sentences", summary="Sentence generation (Tock 25.3 and later)")(
        generate)
    app.post("/completion/sentence-generation",
             summary="Sentence generation (Tock before 25.3)")(generate)

    @app.post("/llm-providers/{provider_id}/setting/status")
    async def llm_status(provider_id: str, request: Request, body: LLMStatusRequest):
        refusal = _wrong_provider(request, provider_id, body.setting.provider,
                                  [p.value for p in LLMProvider], TOCK_LLM_PROVIDERS,
                                  TockCode.PROVIDER_UNKNOWN)
        if refusal is not None:
            return refusal
        errors = await service.check_llm(body, request_line(request))
        return {"valid": not errors, "errors": errors}

    @app.post("/observability-providers/{provider_id}/setting/status")
    async def observability_status(provider_id: str, request: Request,
                                   body: ObservabilityStatusRequest):
        refusal = _wrong_provider(request, provider_id, body.setting.provider,
                                  list(OBSERVABILITY_PROVIDERS), OBSERVABILITY_PROVIDERS,
                                  TockCode.OBSERVABILITY_UNKNOWN_PROVIDER)
        if refusal is not None:
            return refusal
        errors = await service.check_langfuse(body.setting, request_line(request))
        return {"valid": not errors, "errors": errors}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def elsewhere(path: str, request: Request):
        upstream: httpx.AsyncClient | None = request.app.state.upstream
        if upstream is None:
            return tock_error(TockError(
                TockCode.UNKNOWN_ERROR, error="NotServedByBridge",
                cause=f"Utterly's bridge answers sentence generation and setting checks; "
                      f"/{path} needs Tock's orchestrator: start the bridge with --upstream "
                      "URL_OF_TOCK_ORCHESTRATOR, or route it there in your reverse proxy",
                request=request_line(request)))
        return await forward(upstream, request, path)

    return app


def _wrong_provider(request: Request, provider_id: str, in_body: str, accepted: list[str],
                    known: tuple[str, ...], unknown_code: TockCode) -> JSONResponse | None:
    """Tock's answer when the path names a provider it does not know (`accepted` is what its
    error lists), or another one than the body's setting."""
    if provider_id not in known:
        return tock_error(TockError(unknown_code, provider=provider_id, error="NotFoundError",
                                    cause=f"Accepted values are : {accepted}",
                                    request=request_line(request)))
    if provider_id != in_body:
        return tock_error(TockError(
            TockCode.PROVIDER_BAD_REQUEST, provider=provider_id, error="BadRequestError",
            cause="The AI provider ID given for setting is not correct.",
            request=request_line(request)))
    return None


async def _health() -> dict:
    return {"status": "OK"}


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # As Tock's orchestrator does: a 400 that Tock Studio shows, code 1000; the details stay
    # in the bridge's log (an exception's text could hold a setting's secret).
    log.exception("unexpected failure on %s %s", request.method, request.url.path)
    return tock_error(TockError(TockCode.UNKNOWN_ERROR, error=type(exc).__name__,
                                cause="an unexpected failure: see the bridge's log",
                                request=request_line(request)))


async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's 422 shape, which Tock's client reads, without the `input` FastAPI echoes: it
    # can hold the whole llm_setting, raw key included, and Tock logs what it reads.
    detail = []
    for error in exc.errors():
        item = {"type": error.get("type"), "loc": list(error.get("loc", ())),
                "msg": error.get("msg")}
        if error.get("ctx"):  # the bound that was crossed ({"le": 2.0}), never the value
            item["ctx"] = {k: v if isinstance(v, int | float | str | bool) else str(v)
                           for k, v in error["ctx"].items()}
        detail.append(item)
    return JSONResponse({"detail": detail}, status_code=422)


async def forward(upstream: httpx.AsyncClient, request: Request, path: str) -> Response:
    """The request as it came, to the upstream orchestrator; its answer as it came back."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    try:
        answer = await upstream.request(request.method, "/" + path,
                                        params=request.query_params, headers=headers,
                                        content=await request.body())
    except httpx.HTTPError as exc:
        return tock_error(TockError(
            TockCode.CONNECTION_ERROR, error=type(exc).__name__,
            cause="the upstream orchestrator did not answer: check --upstream",
            request=request_line(request)))
    kept = {k: v for k, v in answer.headers.items()
            if k.lower() not in _HOP_HEADERS | {"content-encoding"}}
    return Response(answer.content, status_code=answer.status_code, headers=kept)


class Guard:
    """Who may call, and how much they may send. Tock sends no credentials: the allow-list
    of client networks and the shared-secret header (set by a reverse proxy in front) are
    the bridge's doors; a body over the limit is refused before it is read whole."""

    def __init__(self, app, config: BridgeConfig):
        self.app = app
        self.config = config

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._refusal(scope)
        if refusal is not None:
            log.warning("refused %s: %s", (scope.get("client") or ("?",))[0], refusal.cause)
            return await tock_error(refusal, 403)(scope, receive, send)
        limit = self.config.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await tock_error(_too_large(limit))(scope, receive, send)
        received = 0
        over = False

        async def limited_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def watched_send(message):
            # Past the limit, the app's own answer (FastAPI's "error parsing the body") is
            # replaced by the Tock-shaped one below.
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await tock_error(_too_large(limit))(scope, receive, send)

    def _refusal(self, scope) -> TockError | None:
        config = self.config
        if config.allowed_clients:
            host = (scope.get("client") or ("",))[0]
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                address = None
            if address is None or not any(address in net for net in config.allowed_clients):
                return TockError(TockCode.UNKNOWN_ERROR, error="Forbidden",
                                 cause="this client's address is not in the bridge's "
                                       "--allow-client list")
        if config.shared_secret:
            given = dict(scope["headers"]).get(SECRET_HEADER.lower().encode(), b"")
            if not hmac.compare_digest(given, config.shared_secret.encode()):
                return TockError(TockCode.AUTHENTICATION_ERROR, error="Forbidden",
                                 cause=f"the bridge asks for its shared secret in the "
                                       f"{SECRET_HEADER} header")
        return None


def _too_large(limit: int) -> TockError:
    return TockError(TockCode.PROVIDER_BAD_REQUEST, error="BodyTooLarge",
                     cause=f"the request body is larger than the bridge's limit of "
                           f"{limit // 1024} KiB (--max-body-kb)")
