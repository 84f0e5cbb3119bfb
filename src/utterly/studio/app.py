"""The Studio's ASGI application: `create_app()` wires storage, secrets and routes."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from .. import __version__
from ..outbound import OutboundPolicy
from .api import auth, bots, generation, nlu, problems, providers, settings, transfer, users
from .api.body_limit import BodyLimit
from .api.deps import StudioState, state
from .api.headers import SecurityHeaders
from .config import StudioConfig
from .db import make_engine, migrate, session_factory
from .fair_share import Shares
from .gates import GATES
from .generation_threads import GenerationThreads
from .secrets import SecretBox
from .services import bot_limits
from .services.jobs import JobWorker
from .services.nlu import conflict_indexes
from .services.queue import TaskQueue
from .services.throttle import LoginThrottle
from .template_renders import TemplateRenders
from .web import routes as web

log = logging.getLogger("utterly.studio")


def create_app(config: StudioConfig | None = None) -> FastAPI:
    config = config or StudioConfig.from_env()
    OutboundPolicy.from_env()  # a bad UTTERLY_OUTBOUND_ALLOW/_DENY entry stops the start
    GATES.configure(config.limits_url, config.provider_slots)  # so does a bad _PROVIDER_SLOTS
    if not config.data_dir.exists():
        config.data_dir.mkdir(parents=True, mode=0o700)
    engine = make_engine(config.url, **config.pool)
    migrate(engine)
    bot_limits.configure(config)
    conflict_indexes.configure(config.conflict_builds)
    queue = TaskQueue(config.broker_url) if config.broker_url else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Without a task queue, bulk generation jobs run in this process; interrupted ones
        # resume on start. With one, `utterly worker` processes run them.
        worker = None
        if config.run_jobs and queue is None:
            worker = JobWorker(app.state.studio.sessions, app.state.studio.box,
                               threads=config.job_threads)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.close()
            if queue is not None:
                queue.close()
            app.state.studio.generations.close()
            app.state.studio.renders.close()

    app = FastAPI(title="Utterly Studio API", version=__version__, lifespan=lifespan,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  description="Configure sentence generation per bot, grow FAQs with "
                              "generated sentences, review and import them. Errors are "
                              "RFC 9457 problem+json with `code`, `field` and `hint`.")
    app.state.studio = StudioState(
        config=config, sessions=session_factory(engine),
        box=SecretBox.load(config.secret_key, config.key_file),
        throttle=LoginThrottle(user_free_attempts=config.login_user_attempts),
        generations=GenerationThreads(config.generation_threads),
        shares=Shares(*config.generation_shares), queue=queue,
        renders=TemplateRenders(workers=config.template_request_workers,
                                per_user=config.template_renders_per_user,
                                per_namespace=config.template_renders_per_namespace))
    app.state.engine = engine
    problems.install(app)
    app.add_middleware(BodyLimit)  # before anything reads a body
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, BodyLimit's 413 too
    for module in (auth, users, bots, providers, settings, generation, nlu, transfer):
        app.include_router(module.router)
    _docs(app)
    app.mount("/static", StaticFiles(directory=web.HERE / "static"), name="static")
    app.include_router(web.router)

    @app.get("/api/health", tags=["health"])
    def health(request: Request) -> dict:
        with state(request).sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}

    return app


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Utterly Studio API</title>
<link rel="stylesheet" href="/api/docs-assets/swagger-ui.css">
<link rel="icon" href="/api/docs-assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs-assets/swagger-ui-bundle.js"></script>
<script src="/api/docs-assets/swagger-ui-standalone-preset.js"></script>
<script src="/static/api-docs.js"></script></body></html>
"""


def _docs(app: FastAPI) -> None:
    # The docs page works offline: Swagger UI's assets come from a PyPI package, not a CDN.
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/api/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def docs():
        # FastAPI's own page starts Swagger UI with an inline script, which the CSP refuses.
        return HTMLResponse(DOCS_PAGE)
