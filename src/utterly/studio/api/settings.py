"""Per-bot settings: sentence generation and observability (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request

from ..access import Actor
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
from .deps import actor, state, transaction

router = APIRouter(prefix="/api/bots/{bot_id}/settings", tags=["settings"])


@router.get("/sentence-generation", response_model=SentenceGenerationSettingsOut)
def get_generation(bot_id: int, request: Request, who: Actor = Depends(actor)):
    """Any member may read these (the generate dialog needs the defaults); keys are masked."""
    with transaction(request) as session:
        return settings.get_generation(session, who, bot_id, state(request).box)


@router.put("/sentence-generation", response_model=SentenceGenerationSettingsOut)
def put_generation(bot_id: int, body: SentenceGenerationSettingsIn, request: Request,
                   who: Actor = Depends(actor)):
    """Replace the settings. With `enabled: true` the provider is checked first and the
    settings are not saved when the check fails. Omit `api_key` to keep the stored one."""
    with transaction(request) as session:
        return settings.put_generation(session, who, bot_id, body, state(request).box)


@router.post("/sentence-generation/check", response_model=CheckOut)
def check_generation(bot_id: int, request: Request,
                     body: SentenceGenerationSettingsIn | None = Body(default=None),
                     who: Actor = Depends(actor)):
    """Check the stored settings, or the unsaved ones in the body. A failed check is a
    200 with `ok: false` and the classified error."""
    with transaction(request) as session:
        return settings.check_generation(session, who, bot_id, body, state(request).box)


@router.post("/sentence-generation/preview", response_model=PromptPreview)
def preview_prompt(bot_id: int, body: PromptPreviewIn, request: Request,
                   who: Actor = Depends(actor)):
    """Render a prompt template on an example request (nothing is saved or sent)."""
    with transaction(request) as session:
        return settings.preview_template(session, who, bot_id, body.prompt_template)


@router.get("/sentence-generation/export", response_model=SettingsExport)
def export_generation(bot_id: int, request: Request,
                      include_secret: bool = Query(default=False,
                                                   description="include the API key in clear"),
                      who: Actor = Depends(actor)):
    with transaction(request) as session:
        return SettingsExport(settings=settings.export_generation(
            session, who, bot_id, state(request).box, include_secret))


@router.post("/sentence-generation/import", response_model=SentenceGenerationSettingsOut)
def import_generation(bot_id: int, body: SettingsExport, request: Request,
                      who: Actor = Depends(actor)):
    """Apply exported settings; same rules as PUT (a missing key keeps the stored one)."""
    with transaction(request) as session:
        return settings.put_generation(session, who, bot_id, body.settings,
                                       state(request).box)


@router.get("/observability", response_model=ObservabilitySettingsOut)
def get_observability(bot_id: int, request: Request, who: Actor = Depends(actor)):
    with transaction(request) as session:
        return settings.get_observability(session, who, bot_id, state(request).box)


@router.put("/observability", response_model=ObservabilitySettingsOut)
def put_observability(bot_id: int, body: ObservabilitySettingsIn, request: Request,
                      who: Actor = Depends(actor)):
    with transaction(request) as session:
        return settings.put_observability(session, who, bot_id, body, state(request).box)


@router.post("/observability/check", response_model=CheckOut)
def check_observability(bot_id: int, request: Request,
                        body: ObservabilitySettingsIn | None = Body(default=None),
                        who: Actor = Depends(actor)):
    """Verify the Langfuse keys (projects endpoint) and the OTLP endpoint; writes no trace."""
    with transaction(request) as session:
        return settings.check_observability(session, who, bot_id, body, state(request).box)
