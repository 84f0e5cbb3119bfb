"""How much one import may bring and one bot may hold, in rows: a bot's size decides the
memory and time of its imports, exports, trainings and conflict checks, so it is bounded
where rows come in (file imports, sentence batches, generation imports, new FAQs), before
anything is stored. Set once per process from StudioConfig (create_app, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...formats import Limits
from ..errors import Invalid, StudioError
from ..models import Faq, TrainingSentence


@dataclass(frozen=True)
class BotLimits:
    import_sentences: int = 50_000
    bot_sentences: int = 200_000
    bot_faqs: int = 2_000

    @classmethod
    def of(cls, config) -> "BotLimits":
        return cls(config.max_import_sentences, config.max_bot_sentences, config.max_bot_faqs)

    def reading(self) -> Limits:
        """What a file reader may take: one FAQ past the bot's bound is already too many."""
        return Limits(sentences=self.import_sentences, faqs=self.bot_faqs)


_limits = BotLimits()


def configure(config) -> None:
    global _limits
    _limits = BotLimits.of(config)


def current() -> BotLimits:
    return _limits


def import_too_large(what: str, limit: int) -> StudioError:
    """A file with more rows than an import takes: 413, before anything is stored."""
    sentences = what == "sentences"
    setting = "UTTERLY_MAX_IMPORT_SENTENCES" if sentences else "UTTERLY_MAX_BOT_FAQS"
    error = StudioError(
        f"the file holds more than {limit:,} {what}, the most one import takes on this "
        "server; nothing was imported", status=413,
        code="import_too_many_sentences" if sentences else "import_too_many_faqs",
        field="body", limit=limit, setting=setting,
        hint=f"split the file into parts of at most {limit:,} {what} and import them one "
             f"after the other (an operator may raise {setting})")
    error.title = "Content too large"
    return error


def check_room(session: Session, bot_id: int, *, sentences: int = 0, faqs: int = 0) -> None:
    """Refuse (422) adding `sentences` and `faqs` to the bot if it would then hold more
    than a bot may. Counted in the caller's transaction, so two writes at once may together
    pass the bound by one of them: it bounds a bot's scale, not an exact quota."""
    limits = current()
    if sentences:
        held = session.scalar(select(func.count()).select_from(TrainingSentence).where(
            TrainingSentence.bot_id == bot_id))
        _refuse_past(held, sentences, limits.bot_sentences, "sentences",
                     "UTTERLY_MAX_BOT_SENTENCES", code="bot_sentences_limit")
    if faqs:
        held = session.scalar(select(func.count()).select_from(Faq).where(
            Faq.bot_id == bot_id))
        _refuse_past(held, faqs, limits.bot_faqs, "FAQs", "UTTERLY_MAX_BOT_FAQS",
                     code="bot_faqs_limit")


def _refuse_past(held: int, adding: int, limit: int, what: str, setting: str, *,
                 code: str) -> None:
    if held + adding <= limit:
        return
    raise Invalid(
        f"the bot holds {held:,} {what} and would hold {held + adding:,}, more than the "
        f"{limit:,} a bot may hold on this server; nothing was added",
        code=code, limit=limit, held=held, adding=adding,
        setting=setting,
        hint=f"remove {what} the bot no longer needs or split it into several bots (an "
             f"operator may raise {setting})")
