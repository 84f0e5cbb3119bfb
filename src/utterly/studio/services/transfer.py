"""A bot's FAQs and sentences out to, and in from, the neutral model of utterly.formats.

An import merges: FAQs match by title (created when missing; their answer, description and
tags updated when the file gives them), sentences are added unless the bot has them
already. It is all or nothing: a sentence that already trains another FAQ is a conflict,
and any conflict imports nothing.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...formats import BotData, FaqData, SentenceData
from ..access import Actor, bot_for
from ..errors import Conflict, Invalid
from ..models import Faq, TrainingSentence
from ..schemas import FaqIn, SentenceIn
from .bots import existing_sentences, prepare

MODES = ("merge",)
MAX_CONFLICTS_SHOWN = 100


def export_bot(session: Session, actor: Actor, bot_id: int) -> BotData:
    """Every FAQ (by title) and its sentences (oldest first); a viewer may export."""
    bot = bot_for(session, actor, bot_id)
    faqs = sorted(session.scalars(select(Faq).where(Faq.bot_id == bot.id)),
                  key=lambda f: (f.title.casefold(), f.title))
    by_faq: dict[int, list[SentenceData]] = {f.id: [] for f in faqs}
    for row in session.scalars(select(TrainingSentence).where(
            TrainingSentence.bot_id == bot.id).order_by(TrainingSentence.id)):
        by_faq[row.faq_id].append(SentenceData(row.text, row.locale, row.origin))
    return BotData(name=bot.name, locales=list(bot.locales), faqs=[
        FaqData(title=f.title, answer=f.answer, description=f.description, locale=f.locale,
                tags=list(f.tags or []), sentences=by_faq[f.id]) for f in faqs])


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
        raise Invalid(f"{_at(faq.where)}FAQ `{faq.title[:60]}`: {name}: {error['msg']}",
                      field=f"faqs.{index}.{name}",
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
                      "characters", field=field, hint="shorten it or split it") from None
    except Invalid:
        raise Invalid(f"{_at(s.where)}the sentence `{s.text[:80]}` of `{title[:60]}` has "
                      "no words", field=field,
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
        for key, row in existing_sentences(session, bot.id, locale, keys).items():
            owners[(locale, key)] = stored_by_id[row.faq_id].title
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

    # 2. Write.
    report = {"faqs_created": 0, "faqs_updated": 0, "sentences_added": 0,
              "already_present": already_present, "conflicts": [],
              "skipped_locales": sorted(skipped_locales),
              "skipped_sentences": sum(skipped_locales.values()),
              "warnings": list(data.warnings)}
    rows = []
    for title, plan in plans.items():
        fields, faq = plan["fields"], plan["faq"]
        row = stored.get(title)
        if row is None:
            locale = _new_faq_locale(faq, plan, locales)
            if locale is None:
                report["warnings"].append(f"left out the FAQ `{title}`: its locale "
                                          f"{faq.locale or ''} is not one of the bot's")
                continue
            row = Faq(bot_id=bot.id, title=title, description=fields.description,
                      answer=fields.answer, locale=locale, tags=fields.tags)
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
            rows.append(TrainingSentence(bot_id=bot.id, faq_id=row.id, text=text,
                                         normalized=key, locale=locale, origin=origin,
                                         created_by=actor.user_id))
    session.add_all(rows)
    session.flush()
    report["sentences_added"] = len(rows)
    return report


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
