"""Per-bot settings: sentence generation and observability (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Query, Request

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
from .deps import ActorDep, SessionDep, state

router = APIRouter(prefix="/api/bots/{bot_id}/settings", tags=["settings"])


@router.get("/sentence-generation", response_model=SentenceGenerationSettingsOut)
def get_generation(bot_id: int, request: Request, who: ActorDep, session: SessionDep):
    """Any member may read these (the generate dialog needs the defaults); keys are masked."""
    return settings.get_generation(session, who, bot_id, state(request).box)


@router.put("/sentence-generation", response_model=SentenceGenerationSettingsOut)
def put_generation(bot_id: int, body: SentenceGenerationSettingsIn, request: Request,
                   who: ActorDep, session: SessionDep):
    """Replace the settings. With `enabled: true` the provider is checked first and the
    settings are not saved when the check fails. Omit `api_key` to keep the stored one."""
    return settings.put_generation(session, who, bot_id, body, state(request).box)


@router.post("/sentence-generation/check", response_model=CheckOut)
def check_generation(bot_id: int, request: Request, who: ActorDep, session: SessionDep,
                     body: SentenceGenerationSettingsIn | None = Body(default=None)):
    """Check the stored settings, or the unsaved ones in the body. A failed check is a
    200 with `ok: false` and the classified error."""
    return settings.check_generation(session, who, bot_id, body, state(request).box)


@router.post("/sentence-generation/preview", response_model=PromptPreview)
def preview_prompt(bot_id: int, body: PromptPreviewIn, who: ActorDep, session: SessionDep):
    """Render a prompt template on an example request (nothing is saved or sent)."""
    return settings.preview_template(session, who, bot_id, body.prompt_template)


@router.get("/sentence-generation/export", response_model=SettingsExport)
def export_generation(bot_id: int, request: Request, who: ActorDep, session: SessionDep,
                      include_secret: bool = Query(default=False,
                                                   description="include the API key in clear")):
    return SettingsExport(settings=settings.export_generation(
        session, who, bot_id, state(request).box, include_secret))


@router.post("/sentence-generation/import", response_model=SentenceGenerationSettingsOut)
def import_generation(bot_id: int, body: SettingsExport, request: Request, who: ActorDep,
                      session: SessionDep):
    """Apply exported settings; same rules as PUT (a missing key keeps the stored one)."""
    return settings.put_generation(session, who, bot_id, body.settings,
                                   state(request).box)


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
