"""A bot's FAQs and sentences out to, and in from, the neutral model of utterly.formats.

An import merges: FAQs match by title (created when missing; their answer, description and
tags updated when the file gives them), sentences are added unless the bot has them
already. It is all or nothing: a sentence that already trains another FAQ is a conflict,
and any conflict imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ...errors import validation_reason
from ...formats import BotData, BotSource, FaqData, SentenceData
from ..access import Actor, bot_for
from ..errors import Conflict, Invalid
from ..models import Faq, TrainingSentence
from ..schemas import FaqIn, SentenceIn
from . import bot_limits
from .bots import prepare

MODES = ("merge",)
MAX_CONFLICTS_SHOWN = 100


# An export reads this many sentences (or FAQs, for a pass without them) per transaction:
# its memory is one batch, whatever the bot's size.
EXPORT_BATCH_SENTENCES = 2_000
EXPORT_BATCH_FAQS = 500


@dataclass
class Export:
    source: BotSource
    faqs: int
    sentences: int


def export_bot(session: Session, actor: Actor, bot_id: int, sessions: sessionmaker,
               limit: int | None = None) -> Export:
    """Every FAQ (by title) and its sentences (oldest first), handed out batch by batch, each
    batch read in a short transaction of its own (`sessions`) when the file is written: no
    connection is held while a client reads slowly. So the file is not one snapshot: a
    change committed while it is written shows in the FAQs not yet read. A viewer may
    export; a bot of more than `limit` sentences is refused (422)."""
    bot = bot_for(session, actor, bot_id)
    rows = session.execute(select(Faq.id, Faq.title, func.count(TrainingSentence.id)).outerjoin(
        TrainingSentence, TrainingSentence.faq_id == Faq.id).where(Faq.bot_id == bot.id)
        .group_by(Faq.id, Faq.title)).all()
    total = sum(count for _, _, count in rows)
    if limit is not None and total > limit:
        raise Invalid(f"the bot holds {total:,} sentences, more than the {limit:,} an export "
                      "takes on this server", code="export_too_large", limit=limit,
                      sentences=total, setting="UTTERLY_MAX_BOT_SENTENCES",
                      hint="an operator can export it with `utterly export` (not bounded), "
                           "or raise UTTERLY_MAX_BOT_SENTENCES")
    order = sorted(rows, key=lambda r: (r[1].casefold(), r[1]))

    def faqs(sentences: bool = True) -> Iterator[FaqData]:
        for batch in _batches(order, sentences):
            with sessions() as reading:  # closed before the batch goes out
                read = list(_read_batch(reading, batch, sentences))
            yield from read

    return Export(BotSource(bot.name, list(bot.locales), faqs), len(rows), total)


def _batches(order: list, sentences: bool) -> Iterator[list[int]]:
    batch, held = [], 0
    for faq_id, _, count in order:
        if batch and (len(batch) == EXPORT_BATCH_FAQS or
                      (sentences and held + count > EXPORT_BATCH_SENTENCES)):
            yield batch
            batch, held = [], 0
        batch.append(faq_id)
        held += count
    if batch:
        yield batch


def _read_batch(session: Session, ids: list[int], sentences: bool) -> Iterator[FaqData]:
    faqs = {f.id: f for f in session.scalars(select(Faq).where(Faq.id.in_(ids)))}
    by_faq: dict[int, list[SentenceData]] = {i: [] for i in ids}
    if sentences:
        for faq_id, text, locale, origin in session.execute(select(
                TrainingSentence.faq_id, TrainingSentence.text, TrainingSentence.locale,
                TrainingSentence.origin).where(TrainingSentence.faq_id.in_(ids))
                .order_by(TrainingSentence.id)):
            by_faq[faq_id].append(SentenceData(text, locale, origin))
    for faq_id in ids:
        f = faqs.get(faq_id)
        if f is None:  # deleted since the export began
            continue
        yield FaqData(title=f.title, answer=f.answer, description=f.description,
                      locale=f.locale, tags=list(f.tags or []), sentences=by_faq[faq_id])
        by_faq[faq_id] = []


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _checked_faq(faq: FaqData, index: int) -> FaqIn:
    """The FAQ's fields within the limits the API sets."""
    fields = {"title": faq.title}
    for key in ("answer", "description", "tags"):
        if getattr(faq, key) is not None:
            fields[key] = getattr(faq, key)
    try:
        checked = FaqIn.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error["loc"])
        reason, params = validation_reason(error)
        raise Invalid(f"{_at(faq.where)}FAQ `{faq.title[:60]}`: {name}: {error['msg']}",
                      field=f"faqs.{index}.{name}", reason=reason, params=params,
                      hint="titles take 1-200 characters, answers up to 20,000, "
                           "descriptions up to 5,000, and up to 50 tags") from None
    for key in ("title", "answer", "description"):
        if "\x00" in (getattr(checked, key) or ""):
            raise Invalid(f"{_at(faq.where)}FAQ `{faq.title[:60]}`: {key} holds a NUL "
                          "character", field=f"faqs.{index}.{key}",
                          hint="remove the \\u0000 characters")
    return checked


def _checked_sentence(s: SentenceData, title: str, field: str) -> tuple[str, str]:
    try:
        text, key = prepare(s.text, field)
        SentenceIn(text=text)
    except ValidationError:
        raise Invalid(f"{_at(s.where)}a sentence of `{title[:60]}` is longer than 500 "
                      "characters", field=field, hint="shorten it or split it",
                      reason="string_too_long", params={"max_length": 500}) from None
    except Invalid:
        raise Invalid(f"{_at(s.where)}the sentence `{s.text[:80]}` of `{title[:60]}` has "
                      "no words", field=field, reason="no_words",
                      hint="write the sentence a user would type, or remove it") from None
    return text, key


def import_bot(session: Session, actor: Actor, bot_id: int, data: BotData,  # noqa: C901
               mode: str = "merge") -> dict:
    """Merge `data` into the bot in the session's transaction; the report says what came
    of it. Conflicts raise (409) with the list and leave the bot untouched."""
    bot = bot_for(session, actor, bot_id, "bot_user")
    if mode not in MODES:
        raise Invalid(f"unknown import mode `{mode}`", field="mode",
                      hint="use merge: FAQs match by title, new sentences are added")
    locales = list(bot.locales)
    stored = {f.title: f for f in session.scalars(select(Faq).where(Faq.bot_id == bot.id))}
    stored_by_id = {f.id: f for f in stored.values()}

    # 1. Check everything and decide, writing nothing.
    plans: dict[str, dict] = {}  # title → {fields, faq, sentences, had}
    skipped_locales: dict[str, int] = {}
    incoming = []  # (title, text, key, locale, origin), in file order
    for index, faq in enumerate(data.faqs):
        fields = _checked_faq(faq, index)
        plan = plans.setdefault(fields.title, {"fields": fields, "faq": faq,
                                               "sentences": [], "had": 0})
        if plan["faq"] is not faq:  # the same title twice in the file: the last one wins
            plan["fields"], plan["faq"] = fields, faq
        for j, s in enumerate(faq.sentences):
            plan["had"] += 1
            if s.locale not in locales:
                skipped_locales[s.locale] = skipped_locales.get(s.locale, 0) + 1
                continue
            text, key = _checked_sentence(s, fields.title, f"faqs.{index}.sentences.{j}.text")
            incoming.append((fields.title, text, key, s.locale, s.origin))
    owners: dict[tuple[str, str], str] = {}  # (locale, key) → the title of the FAQ it trains
    for locale in {item[3] for item in incoming}:
        keys = [item[2] for item in incoming if item[3] == locale]
        for key, faq_id in _owners(session, bot.id, locale, keys):
            owners[(locale, key)] = stored_by_id[faq_id].title
    already_present, conflicts = 0, []
    for title, text, key, locale, origin in incoming:
        owner = owners.get((locale, key))
        if owner is None:  # new to the bot: this FAQ takes it, the file's first mention wins
            owners[(locale, key)] = title
            plans[title]["sentences"].append((text, key, locale, origin))
        elif owner == title:
            already_present += 1
        else:
            conflicts.append({"text": text, "locale": locale, "faq": owner,
                              "requested_faq": title})
    if conflicts:
        raise Conflict(f"{len(conflicts)} sentence(s) of the file already train another FAQ; "
                       "nothing was imported", code="import_conflicts",
                       hint="one sentence can train only one FAQ: move or rephrase these "
                            "sentences in the file (or in the bot), then import again",
                       conflicts=conflicts[:MAX_CONFLICTS_SHOWN],
                       conflict_count=len(conflicts))

    # 2. Decide which FAQs are created, and check the bot has room for them and the
    # sentences, still writing nothing.
    report = {"faqs_created": 0, "faqs_updated": 0, "sentences_added": 0,
              "already_present": already_present, "conflicts": [],
              "skipped_locales": sorted(skipped_locales),
              "skipped_sentences": sum(skipped_locales.values()),
              "warnings": list(data.warnings)}
    new_locales: dict[str, str] = {}
    for title, plan in plans.items():
        if title in stored:
            continue
        locale = _new_faq_locale(plan["faq"], plan, locales)
        if locale is None:
            report["warnings"].append(f"left out the FAQ `{title}`: its locale "
                                      f"{plan['faq'].locale or ''} is not one of the bot's")
        else:
            new_locales[title] = locale
    kept = [title for title in plans if title in stored or title in new_locales]
    bot_limits.check_room(session, bot.id, faqs=len(new_locales),
                          sentences=sum(len(plans[t]["sentences"]) for t in kept))

    # 3. Write.
    added = []
    for title in kept:
        plan = plans[title]
        fields, faq = plan["fields"], plan["faq"]
        row = stored.get(title)
        if row is None:
            row = Faq(bot_id=bot.id, title=title, description=fields.description,
                      answer=fields.answer, locale=new_locales[title], tags=fields.tags)
            session.add(row)
            session.flush()
            report["faqs_created"] += 1
        else:
            changed = False
            for key in ("answer", "description", "tags"):
                if getattr(faq, key) is not None and getattr(row, key) != getattr(fields, key):
                    setattr(row, key, getattr(fields, key))
                    changed = True
            report["faqs_updated"] += changed
        for text, key, locale, origin in plan["sentences"]:
            added.append({"bot_id": bot.id, "faq_id": row.id, "text": text, "normalized": key,
                          "locale": locale, "origin": origin, "created_by": actor.user_id})
            if len(added) == INSERT_BATCH:
                report["sentences_added"] += _insert(session, added)
                added = []
    report["sentences_added"] += _insert(session, added)
    return report


# Sentences go in as plain rows, this many per statement: an ORM object per sentence
# would weigh some 2 KB each until the transaction ends.
INSERT_BATCH = 2_000


def _insert(session: Session, rows: list[dict]) -> int:
    if rows:
        session.execute(insert(TrainingSentence), rows)
    return len(rows)


def _owners(session: Session, bot_id: int, locale: str, keys: list[str]):
    """(normalised text, FAQ id) of the bot's stored sentences among `keys`."""
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):  # stay under SQL parameter limits
        yield from session.execute(select(TrainingSentence.normalized, TrainingSentence.faq_id)
                                   .where(TrainingSentence.bot_id == bot_id,
                                          TrainingSentence.locale == locale,
                                          TrainingSentence.normalized.in_(
                                              unique[start:start + 500])))


def _new_faq_locale(faq: FaqData, plan: dict, locales: list[str]) -> str | None:
    """The FAQ's own locale if the bot has it, else that of its first sentence kept, else
    (a file that gives FAQs no locale) the bot's first; None when none of those apply."""
    if faq.locale in locales:
        return faq.locale
    if plan["sentences"]:
        return plan["sentences"][0][2]
    if faq.locale is None and plan["had"] == 0:
        return locales[0]
    return None
