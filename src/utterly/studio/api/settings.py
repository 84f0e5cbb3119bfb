"""Per-bot settings: sentence generation and observability (admin only)."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Body, Query, Request
from starlette.concurrency import run_in_threadpool

from ..schemas import (
    CheckOut,
    ObservabilitySettingsIn,
    ObservabilitySettingsOut,
    PromptPreview,
    PromptPreviewIn,
    SentenceGenerationSettingsIn,
    SentenceGenerationSettingsOut,
    SettingsExport,
)
from ..services import settings
from .deps import ActorDep, SessionDep, state, transaction

router = APIRouter(prefix="/api/bots/{bot_id}/settings", tags=["settings"])


@router.get("/sentence-generation", response_model=SentenceGenerationSettingsOut)
def get_generation(bot_id: int, request: Request, who: ActorDep, session: SessionDep):
    """Any member may read these (the generate dialog needs the defaults); keys are masked."""
    return settings.get_generation(session, who, bot_id, state(request).box)


async def _render_first(request: Request, who, bot_id: int, template: str | None,
                        role: str) -> None:
    """Render the template that settings would store (422 when it cannot be, 429 when the
    user or namespace has its renders running), outside any web thread."""
    template = settings.custom_template(template)
    if template is None:
        return
    st = state(request)
    await st.renders.validate(who.user_id, template, functools.partial(
        settings.bot_scope, st.sessions, who, bot_id, role))


def _in_transaction(request: Request, work):
    with transaction(request) as session:
        return work(session)


@router.put("/sentence-generation", response_model=SentenceGenerationSettingsOut)
async def put_generation(bot_id: int, body: SentenceGenerationSettingsIn, request: Request,
                         who: ActorDep):
    """Replace the settings. With `enabled: true` the provider is checked first and the
    settings are not saved when the check fails. Omit `api_key` to keep the stored one."""
    await _render_first(request, who, bot_id, body.prompt_template, "admin")
    box = state(request).box
    return await run_in_threadpool(_in_transaction, request, lambda session: (
        settings.put_generation(session, who, bot_id, body, box, template_checked=True)))


@router.post("/sentence-generation/check", response_model=CheckOut)
async def check_generation(bot_id: int, request: Request, who: ActorDep,
                           body: SentenceGenerationSettingsIn | None = Body(default=None)):
    """Check the stored settings, or the unsaved ones in the body. A failed check is a
    200 with `ok: false` and the classified error."""
    if body is not None:
        await _render_first(request, who, bot_id, body.prompt_template, "admin")
    box = state(request).box
    return await run_in_threadpool(_in_transaction, request, lambda session: (
        settings.check_generation(session, who, bot_id, body, box, template_checked=True)))


@router.post("/sentence-generation/preview", response_model=PromptPreview, responses={
    429: {"description": "the user or the namespace has its bound of template renders "
                         "running (`too_many_renders`, with Retry-After)"}})
async def preview_prompt(bot_id: int, body: PromptPreviewIn, request: Request, who: ActorDep):
    """Render a prompt template on an example request (nothing is saved or sent). Any
    member may; a few renders at once per user and per namespace, refused beyond."""
    st = state(request)
    template = settings.template_or_default(body.prompt_template)
    rendered = await st.renders.validate(who.user_id, template, functools.partial(
        settings.bot_scope, st.sessions, who, bot_id))
    return settings.preview_of(template, rendered)


@router.get("/sentence-generation/export", response_model=SettingsExport)
def export_generation(bot_id: int, request: Request, who: ActorDep, session: SessionDep,
                      include_secret: bool = Query(default=False,
                                                   description="include the API key in clear")):
    return SettingsExport(settings=settings.export_generation(
        session, who, bot_id, state(request).box, include_secret))


@router.post("/sentence-generation/import", response_model=SentenceGenerationSettingsOut)
async def import_generation(bot_id: int, body: SettingsExport, request: Request,
                            who: ActorDep):
    """Apply exported settings; same rules as PUT (a missing key keeps the stored one)."""
    await _render_first(request, who, bot_id, body.settings.prompt_template, "admin")
    box = state(request).box
    return await run_in_threadpool(_in_transaction, request, lambda session: (
        settings.put_generation(session, who, bot_id, body.settings, box,
                                template_checked=True)))


@router.get("/observability", response_model=ObservabilitySettingsOut)
def get_observability(bot_id: int, request: Request, who: ActorDep, session: SessionDep):
    return settings.get_observability(session, who, bot_id, state(request).box)


@router.put("/observability", response_model=ObservabilitySettingsOut)
def put_observability(bot_id: int, body: ObservabilitySettingsIn, request: Request,
                      who: ActorDep, session: SessionDep):
    return settings.put_observability(session, who, bot_id, body, state(request).box)


@router.post("/observability/check", response_model=CheckOut)
def check_observability(bot_id: int, request: Request, who: ActorDep, session: SessionDep,
                        body: ObservabilitySettingsIn | None = Body(default=None)):
    """Verify the Langfuse keys (projects endpoint) and the OTLP endpoint; writes no trace."""
    return settings.check_observability(session, who, bot_id, body, state(request).box)
