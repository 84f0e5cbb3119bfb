"""Bots, FAQs and training sentences."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from ..access import bot_for, faq_for
from ..models import Faq, TrainingSentence
from ..schemas import (
    BotIn,
    BotOut,
    BotPatch,
    FaqIn,
    FaqOut,
    FaqPatch,
    Page,
    SentenceBatchIn,
    SentenceIn,
    SentenceOut,
)
from ..services import bots
from .deps import ActorDep, SessionDep

router = APIRouter(prefix="/api/bots")


def _bot(bot) -> BotOut:
    return BotOut.model_validate(bot, from_attributes=True)


def _faq(faq: Faq, counts: dict[str, int]) -> FaqOut:
    return FaqOut(id=faq.id, bot_id=faq.bot_id, title=faq.title, description=faq.description,
                  answer=faq.answer, locale=faq.locale, tags=faq.tags,
                  human_sentences=counts.get("human", 0),
                  generated_sentences=counts.get("generated", 0),
                  created_at=faq.created_at, updated_at=faq.updated_at)


def _sentence(row: TrainingSentence) -> SentenceOut:
    return SentenceOut.model_validate(row, from_attributes=True)


@router.get("", response_model=list[BotOut], tags=["bots"])
def list_bots(who: ActorDep, session: SessionDep):
    return [_bot(b) for b in bots.list_bots(session, who)]


@router.post("", response_model=BotOut, status_code=201, tags=["bots"])
def create_bot(body: BotIn, who: ActorDep, session: SessionDep):
    return _bot(bots.create_bot(session, who, body))


@router.get("/{bot_id}", response_model=BotOut, tags=["bots"])
def get_bot(bot_id: int, who: ActorDep, session: SessionDep):
    return _bot(bot_for(session, who, bot_id))


@router.patch("/{bot_id}", response_model=BotOut, tags=["bots"])
def update_bot(bot_id: int, body: BotPatch, who: ActorDep, session: SessionDep):
    return _bot(bots.update_bot(session, who, bot_id, body))


@router.delete("/{bot_id}", status_code=204, tags=["bots"])
def delete_bot(bot_id: int, who: ActorDep, session: SessionDep):
    bots.delete_bot(session, who, bot_id)
    return Response(status_code=204)


@router.get("/{bot_id}/faqs", response_model=list[FaqOut], tags=["faqs"])
def list_faqs(bot_id: int, who: ActorDep, session: SessionDep,
              q: str | None = Query(default=None, max_length=200,
                                    description="search titles, answers and sentences")):
    faqs = bots.list_faqs(session, who, bot_id, q)
    counts = bots.sentence_counts(session, [f.id for f in faqs])
    return [_faq(f, counts[f.id]) for f in faqs]


@router.post("/{bot_id}/faqs", response_model=FaqOut, status_code=201, tags=["faqs"])
def create_faq(bot_id: int, body: FaqIn, who: ActorDep, session: SessionDep):
    return _faq(bots.create_faq(session, who, bot_id, body), {})


@router.get("/{bot_id}/faqs/{faq_id}", response_model=FaqOut, tags=["faqs"])
def get_faq(bot_id: int, faq_id: int, who: ActorDep, session: SessionDep):
    _, faq = faq_for(session, who, bot_id, faq_id)
    return _faq(faq, bots.sentence_counts(session, [faq.id])[faq.id])


@router.patch("/{bot_id}/faqs/{faq_id}", response_model=FaqOut, tags=["faqs"])
def update_faq(bot_id: int, faq_id: int, body: FaqPatch, who: ActorDep, session: SessionDep):
    faq = bots.update_faq(session, who, bot_id, faq_id, body)
    return _faq(faq, bots.sentence_counts(session, [faq.id])[faq.id])


@router.delete("/{bot_id}/faqs/{faq_id}", status_code=204, tags=["faqs"])
def delete_faq(bot_id: int, faq_id: int, who: ActorDep, session: SessionDep):
    bots.delete_faq(session, who, bot_id, faq_id)
    return Response(status_code=204)


@router.get("/{bot_id}/faqs/{faq_id}/sentences", response_model=Page, tags=["sentences"])
def list_sentences(bot_id: int, faq_id: int, who: ActorDep, session: SessionDep,
                   origin: Literal["human", "generated"] | None = None,
                   limit: int = Query(default=100, ge=1, le=1000),
                   offset: int = Query(default=0, ge=0, le=10**9)):
    total, rows = bots.list_sentences(session, who, bot_id, faq_id, origin=origin,
                                      limit=limit, offset=offset)
    return Page(total=total, limit=limit, offset=offset,
                items=[_sentence(r).model_dump(mode="json") for r in rows])


@router.post("/{bot_id}/faqs/{faq_id}/sentences", response_model=SentenceOut, status_code=201,
             tags=["sentences"])
def add_sentence(bot_id: int, faq_id: int, body: SentenceIn, who: ActorDep, session: SessionDep):
    """Add a sentence written by a person. A text already in the bot is refused (409)."""
    return _sentence(bots.add_sentences(session, who, bot_id, faq_id, [body])[0])


@router.post("/{bot_id}/faqs/{faq_id}/sentences/batch", response_model=list[SentenceOut],
             status_code=201, tags=["sentences"])
def add_sentences(bot_id: int, faq_id: int, body: SentenceBatchIn, who: ActorDep,
                  session: SessionDep):
    """Add up to 10,000 human sentences, all or none."""
    rows = bots.add_sentences(session, who, bot_id, faq_id, body.sentences,
                              field_prefix="sentences.")
    return [_sentence(r) for r in rows]


@router.delete("/{bot_id}/faqs/{faq_id}/sentences/{sentence_id}", status_code=204,
               tags=["sentences"])
def delete_sentence(bot_id: int, faq_id: int, sentence_id: int, who: ActorDep,
                    session: SessionDep):
    bots.delete_sentence(session, who, bot_id, faq_id, sentence_id)
    return Response(status_code=204)
