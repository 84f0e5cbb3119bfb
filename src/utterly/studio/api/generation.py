"""Generate, import, undo, and the history of generation runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from ..access import Actor
from ..schemas import GenerateIn, GenerateOut, ImportIn, ImportOut, Page, RunDetail, RunOut
from ..services import generation
from .deps import actor, state, transaction

router = APIRouter(prefix="/api/bots/{bot_id}", tags=["generation"])


@router.post("/faqs/{faq_id}/generate", response_model=GenerateOut)
def generate(bot_id: int, faq_id: int, request: Request,
             body: GenerateIn | None = None, who: Actor = Depends(actor)):
    """Generate candidate sentences for the FAQ with the bot's settings. Nothing is added to
    the FAQ until a person imports a selection."""
    st = state(request)
    return generation.generate(st.sessions, who, bot_id, faq_id, body or GenerateIn(), st.box)


@router.post("/faqs/{faq_id}/import", response_model=ImportOut)
def import_sentences(bot_id: int, faq_id: int, body: ImportIn, request: Request,
                     who: Actor = Depends(actor)):
    """Import candidates of a run into the FAQ: all or nothing, idempotent."""
    with transaction(request) as session:
        return generation.import_sentences(session, who, bot_id, faq_id, body)


@router.delete("/generation-runs/{run_id}/sentences")
def undo_import(bot_id: int, run_id: int, request: Request,
                who: Actor = Depends(actor)) -> dict[str, int]:
    """Remove every sentence this run imported."""
    with transaction(request) as session:
        return {"run_id": run_id,
                "deleted": generation.undo_import(session, who, bot_id, run_id)}


@router.get("/generation-runs", response_model=Page)
def list_runs(bot_id: int, request: Request, faq_id: int | None = None,
              limit: int = Query(default=50, ge=1, le=500),
              offset: int = Query(default=0, ge=0, le=10**9), who: Actor = Depends(actor)):
    with transaction(request) as session:
        total, runs = generation.list_runs(session, who, bot_id, faq_id=faq_id, limit=limit,
                                           offset=offset)
        return Page(total=total, limit=limit, offset=offset,
                    items=[RunOut(**r).model_dump(mode="json") for r in runs])


@router.get("/generation-runs/{run_id}", response_model=RunDetail)
def get_run(bot_id: int, run_id: int, request: Request, who: Actor = Depends(actor)):
    with transaction(request) as session:
        return RunDetail(**generation.get_run(session, who, bot_id, run_id))
