"""Bots, FAQs and their training sentences."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ...normalize import normalize, tidy
from ...prompt import default_template, template_version
from ..access import Actor, bot_for, faq_for, require_namespace
from ..errors import Conflict, Invalid, NotFound
from ..models import (
    Bot,
    Faq,
    Membership,
    ObservabilitySettings,
    SentenceGenerationSettings,
    TrainingSentence,
)
from ..schemas import BotIn, BotPatch, FaqIn, FaqPatch, SentenceIn
from . import bot_limits

# ---- bots -----------------------------------------------------------------------------

def list_bots(session: Session, actor: Actor) -> list[Bot]:
    return list(session.scalars(select(Bot).join(
        Membership, Membership.namespace_id == Bot.namespace_id).where(
        Membership.user_id == actor.user_id).order_by(Bot.id)))


def _admin_namespace(session: Session, actor: Actor, namespace_id: int | None) -> int:
    if namespace_id is not None:
        require_namespace(session, actor, namespace_id, "admin", field="namespace_id")
        return namespace_id
    ids = session.scalars(select(Membership.namespace_id).where(
        Membership.user_id == actor.user_id, Membership.role == "admin")).all()
    if len(ids) != 1:
        raise Invalid("namespace_id is required", field="namespace_id", reason="missing",
                      hint="give the id of a namespace you administer (GET /api/auth/me)")
    return ids[0]


def _unique_bot_name(session: Session, namespace_id: int, name: str, bot_id: int | None = None):
    other = session.scalar(select(Bot).where(Bot.namespace_id == namespace_id, Bot.name == name))
    if other is not None and other.id != bot_id:
        raise Conflict(f"a bot named `{name}` already exists in this namespace", field="name",
                       hint="choose another name", code="bot_exists")


def create_bot(session: Session, actor: Actor, data: BotIn) -> Bot:
    namespace_id = _admin_namespace(session, actor, data.namespace_id)
    _unique_bot_name(session, namespace_id, data.name)
    bot = Bot(namespace_id=namespace_id, name=data.name, description=data.description,
              locales=data.locales)
    session.add(bot)
    session.flush()
    session.add(SentenceGenerationSettings(bot_id=bot.id,
                                           prompt_version=template_version(default_template())))
    session.add(ObservabilitySettings(bot_id=bot.id))
    session.flush()
    return bot


def update_bot(session: Session, actor: Actor, bot_id: int, data: BotPatch) -> Bot:
    bot = bot_for(session, actor, bot_id, "admin")
    if data.name is not None:
        _unique_bot_name(session, bot.namespace_id, data.name, bot.id)
        bot.name = data.name
    if data.description is not None:
        bot.description = data.description
    if data.locales is not None:
        bot.locales = data.locales
    session.flush()
    return bot


def delete_bot(session: Session, actor: Actor, bot_id: int) -> None:
    session.delete(bot_for(session, actor, bot_id, "admin"))


# ---- FAQs -----------------------------------------------------------------------------

def _check_locale(bot: Bot, locale: str, field: str = "locale") -> str:
    if locale not in bot.locales:
        raise Invalid(f"locale `{locale}` is not one of this bot's locales {bot.locales}",
                      field=field, hint="use one of the bot's locales or add it to the bot",
                      reason="locale_not_in_bot",
                      params={"locale": locale, "locales": ", ".join(bot.locales)})
    return locale


def _unique_title(session: Session, bot_id: int, title: str, faq_id: int | None = None):
    other = session.scalar(select(Faq).where(Faq.bot_id == bot_id, Faq.title == title))
    if other is not None and other.id != faq_id:
        raise Conflict(f"an FAQ titled `{title}` already exists in this bot", field="title",
                       hint="choose another title", code="faq_exists", faq_id=other.id)


def sentence_counts(session: Session, faq_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {i: {"human": 0, "generated": 0} for i in faq_ids}
    if faq_ids:
        rows = session.execute(select(TrainingSentence.faq_id, TrainingSentence.origin,
                                      func.count()).where(
            TrainingSentence.faq_id.in_(faq_ids)).group_by(
            TrainingSentence.faq_id, TrainingSentence.origin))
        for faq_id, origin, count in rows:
            counts[faq_id][origin] = count
    return counts


def list_faqs(session: Session, actor: Actor, bot_id: int, q: str | None = None) -> list[Faq]:
    bot = bot_for(session, actor, bot_id)
    query = select(Faq).where(Faq.bot_id == bot.id).order_by(Faq.title)
    if q:
        pattern = f"%{q.strip().lower()}%"
        matching = select(TrainingSentence.faq_id).where(
            TrainingSentence.bot_id == bot.id,
            TrainingSentence.normalized.like(f"%{normalize(q)}%"))
        query = query.where(or_(func.lower(Faq.title).like(pattern),
                                func.lower(Faq.answer).like(pattern),
                                Faq.id.in_(matching)))
    return list(session.scalars(query))


def create_faq(session: Session, actor: Actor, bot_id: int, data: FaqIn) -> Faq:
    bot = bot_for(session, actor, bot_id, "bot_user")
    locale = _check_locale(bot, data.locale or bot.locales[0])
    _unique_title(session, bot.id, data.title)
    bot_limits.check_room(session, bot.id, faqs=1)
    faq = Faq(bot_id=bot.id, title=data.title, description=data.description,
              answer=data.answer, locale=locale, tags=data.tags)
    session.add(faq)
    session.flush()
    return faq


def update_faq(session: Session, actor: Actor, bot_id: int, faq_id: int,
               data: FaqPatch) -> Faq:
    bot, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
    if data.title is not None:
        _unique_title(session, bot.id, data.title, faq.id)
        faq.title = data.title
    for name in ("description", "answer", "tags"):
        value = getattr(data, name)
        if value is not None:
            setattr(faq, name, value)
    if data.locale is not None:
        faq.locale = _check_locale(bot, data.locale)
    session.flush()
    return faq


def delete_faq(session: Session, actor: Actor, bot_id: int, faq_id: int) -> None:
    _, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
    session.delete(faq)


# ---- sentences ------------------------------------------------------------------------

def existing_sentences(session: Session, bot_id: int, locale: str,
                       keys: list[str]) -> dict[str, TrainingSentence]:
    """The stored sentences of a bot and locale whose normalised text is in `keys`."""
    found: dict[str, TrainingSentence] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):  # stay under SQL parameter limits
        chunk = unique[start:start + 500]
        for row in session.scalars(select(TrainingSentence).where(
                TrainingSentence.bot_id == bot_id, TrainingSentence.locale == locale,
                TrainingSentence.normalized.in_(chunk))):
            found[row.normalized] = row
    return found


def list_sentences(session: Session, actor: Actor, bot_id: int, faq_id: int, *,
                   origin: str | None, limit: int, offset: int
                   ) -> tuple[int, list[TrainingSentence]]:
    _, faq = faq_for(session, actor, bot_id, faq_id)
    where = [TrainingSentence.faq_id == faq.id]
    if origin:
        where.append(TrainingSentence.origin == origin)
    total = session.scalar(select(func.count()).select_from(TrainingSentence).where(*where))
    rows = session.scalars(select(TrainingSentence).where(*where).order_by(
        TrainingSentence.id).limit(limit).offset(offset))
    return total, list(rows)


def prepare(text: str, field: str) -> tuple[str, str]:
    """The text as stored and its comparison key; refuses what has no words."""
    shown = tidy(text)
    key = normalize(shown)
    if not key:
        raise Invalid(f"{field} has no words", field=field, reason="no_words",
                      hint="write the sentence a user would type")
    return shown, key


def add_sentences(session: Session, actor: Actor, bot_id: int, faq_id: int,
                  items: list[SentenceIn], *, field_prefix: str = "") -> list[TrainingSentence]:
    """Add human sentences, all or none: a text already in the bot refuses the batch."""
    bot, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
    prepared, seen = [], {}
    for i, item in enumerate(items):
        where = f"{field_prefix}{i}." if field_prefix else ""
        locale = _check_locale(bot, item.locale or faq.locale, f"{where}locale")
        text, key = prepare(item.text, f"{where}text")
        if (locale, key) in seen:
            raise Conflict(f"`{text}` appears twice in this request", field=f"{where}text",
                           code="duplicate_in_request", hint="remove the repetition")
        seen[(locale, key)] = i
        prepared.append((text, key, locale))
    for locale in {p[2] for p in prepared}:
        keys = [k for _, k, loc in prepared if loc == locale]
        for key, row in existing_sentences(session, bot.id, locale, keys).items():
            i = seen[(locale, key)]
            where = f"{field_prefix}{i}." if field_prefix else ""
            if row.faq_id == faq.id:
                raise Conflict(f"`{row.text}` is already a sentence of this FAQ",
                               field=f"{where}text", code="sentence_exists",
                               hint="it is there already; nothing to add",
                               sentence_id=row.id, conflict_faq_id=faq.id)
            other = session.get(Faq, row.faq_id)
            raise Conflict(f"`{row.text}` already trains the FAQ `{other.title}`",
                           field=f"{where}text", code="sentence_conflict",
                           hint="one sentence can train only one FAQ: move or rephrase it",
                           conflict_faq_id=other.id, conflict_faq_title=other.title)
    bot_limits.check_room(session, bot.id, sentences=len(prepared))
    rows = [TrainingSentence(bot_id=bot.id, faq_id=faq.id, text=text, normalized=key,
                             locale=locale, origin="human", created_by=actor.user_id)
            for text, key, locale in prepared]
    session.add_all(rows)
    session.flush()
    return rows


def delete_sentence(session: Session, actor: Actor, bot_id: int, faq_id: int,
                    sentence_id: int) -> None:
    _, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
    row = session.get(TrainingSentence, sentence_id)
    if row is None or row.faq_id != faq.id:
        raise NotFound("sentence")
    session.delete(row)
