"""Train, query and evaluate a bot's intent classifier on its stored sentences."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...errors import InvalidRequest, UtterlyError
from ...nlu import DEFAULT_UNKNOWN_THRESHOLD, ConflictIndex, Example, IntentClassifier, compare
from ..access import Actor, bot_for
from ..errors import Conflict, Invalid, from_core
from ..models import Bot, Faq, NluModel, TrainingSentence


def _intent(faq_id: int) -> str:
    return f"faq:{faq_id}"


def _faq_id(intent: str) -> int:
    return int(intent.split(":", 1)[1])


def examples(session: Session, bot_id: int, locale: str) -> list[Example]:
    rows = session.execute(select(TrainingSentence.text, TrainingSentence.faq_id,
                                  TrainingSentence.origin).where(
        TrainingSentence.bot_id == bot_id, TrainingSentence.locale == locale).order_by(
        TrainingSentence.id))
    return [Example(text, _intent(faq_id), locale, origin) for text, faq_id, origin in rows]


def _locale(bot: Bot, locale: str | None) -> str:
    locale = locale or bot.locales[0]
    if locale not in bot.locales:
        raise Invalid(f"locale `{locale}` is not one of this bot's locales {bot.locales}",
                      field="locale", hint="use one of the bot's locales",
                      reason="locale_not_in_bot",
                      params={"locale": locale, "locales": ", ".join(bot.locales)})
    return locale


def _titles(session: Session, bot_id: int) -> dict[int, str]:
    return dict(session.execute(select(Faq.id, Faq.title).where(Faq.bot_id == bot_id)).all())


def train(session: Session, actor: Actor, bot_id: int, locale: str | None,
          features: str = "tfidf") -> dict:
    bot = bot_for(session, actor, bot_id, "bot_user")
    locale = _locale(bot, locale)
    data = examples(session, bot.id, locale)
    try:
        clf = IntentClassifier(features).fit(data)
    except UtterlyError as exc:
        raise from_core(exc) from None
    session.execute(delete(NluModel).where(NluModel.bot_id == bot.id, NluModel.locale == locale))
    row = NluModel(bot_id=bot.id, locale=locale, features=features, trained_on=len(data),
                   generated_used=sum(e.origin == "generated" for e in data),
                   intents=clf.intents, model=clf.to_bytes(), created_by=actor.user_id)
    session.add(row)
    session.flush()
    return {"locale": locale, "features": features, "trained_on": row.trained_on,
            "generated_used": row.generated_used, "intents": len(clf.intents),
            "trained_at": row.created_at}


def _load(session: Session, bot: Bot, locale: str) -> tuple[IntentClassifier, NluModel]:
    row = session.scalar(select(NluModel).where(NluModel.bot_id == bot.id,
                                                NluModel.locale == locale))
    if row is None:
        raise Conflict(f"no trained model for locale `{locale}`", code="model_not_trained",
                       hint="train it first: POST /api/bots/{bot_id}/nlu/train or "
                            "`utterly nlu train`")
    try:
        return IntentClassifier.from_bytes(row.model), row
    except InvalidRequest:
        raise Conflict(f"the stored model for locale `{locale}` cannot be read",
                       code="model_not_trained", hint="train it again") from None


def parse(session: Session, actor: Actor, bot_id: int, text: str, locale: str | None,
          top: int = 5, threshold: float | None = None) -> dict:
    bot = bot_for(session, actor, bot_id)
    locale = _locale(bot, locale)
    clf, row = _load(session, bot, locale)
    titles = _titles(session, bot.id)
    prediction = clf.predict([text], top=top)[0]
    if threshold is None:
        threshold = DEFAULT_UNKNOWN_THRESHOLD
    ranking = [{"faq_id": _faq_id(i), "title": titles.get(_faq_id(i), "(deleted FAQ)"),
                "confidence": p} for i, p in prediction.ranking]
    return {"text": text, "locale": locale, "intent": ranking[0],
            "confidence": prediction.confidence, "ranking": ranking[1:],
            "unknown": prediction.unknown(threshold), "threshold": threshold,
            "model": {"trained_on": row.trained_on, "trained_at": row.created_at,
                      "features": row.features}}


def evaluate(session: Session, actor: Actor, bot_id: int, locale: str | None, k: int = 5,
             features: str = "tfidf") -> dict:
    bot = bot_for(session, actor, bot_id)
    locale = _locale(bot, locale)
    data = examples(session, bot.id, locale)
    human = [e for e in data if e.origin == "human"]
    generated = [e for e in data if e.origin == "generated"]
    try:
        result = compare(human, generated, k=k, features=features).to_dict()
    except UtterlyError as exc:
        raise from_core(exc) from None
    titles = _titles(session, bot.id)

    def name(intent: str) -> str:
        return titles.get(_faq_id(intent), intent)

    for key in ("human_only", "human_plus_generated"):
        scores = result[key]
        scores["per_intent"] = [{"faq_id": _faq_id(i), "title": name(i), **v}
                                for i, v in scores["per_intent"].items()]
        scores["confused"] = [{"faq_id": _faq_id(t), "title": name(t),
                               "predicted_faq_id": _faq_id(p), "predicted_title": name(p),
                               "count": n} for t, p, n in scores["confused"]]
    result["locale"] = locale
    return result


def _sentence_version(session: Session, bot_id: int, locale: str) -> tuple:
    """What changes whenever a sentence of the bot in this locale is added, removed or
    moved: sentences are never edited in place, and a reused id (SQLite reuses the highest
    one after a delete) comes with its own text and FAQ."""
    s = TrainingSentence
    return tuple(session.execute(select(
        func.count(), func.max(s.id), func.sum(s.id), func.sum(s.faq_id),
        func.sum(func.length(s.text))).where(s.bot_id == bot_id, s.locale == locale)).one())


class _ConflictIndexes:
    """The conflict index of the bots generating lately, brought up to date when their
    sentences change: a generation checks its candidates without training on the whole bot
    again. An update does only what the change requires (ConflictIndex.updated): often
    nothing on a big bot, else one training on the kept sample and the embedding of its new
    sentences. At most `builds` indexes are built or updated at once in the process (both
    are CPU-bound: bots building in parallel would only share the same cores)."""

    def __init__(self, kept: int = 4, builds: int = 1):
        self._kept = kept
        self._lock = threading.Lock()
        self._indexes: OrderedDict[tuple[int, str], tuple[tuple, ConflictIndex]] = \
            OrderedDict()
        self._building: dict[tuple[int, str], threading.Lock] = {}
        self._slots = threading.BoundedSemaphore(builds)

    def configure(self, builds: int) -> None:
        self._slots = threading.BoundedSemaphore(builds)

    def get(self, session: Session, bot_id: int, locale: str) -> ConflictIndex:
        key, version = (bot_id, locale), _sentence_version(session, bot_id, locale)
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build per bot at a time; the others wait for it
            with self._lock:
                found = self._indexes.get(key)
                if found is not None and found[0] == version:
                    self._indexes.move_to_end(key)
                    return found[1]
            with self._slots:
                stored = examples(session, bot_id, locale)
                if found is not None:
                    index = found[1].updated(stored)
                else:
                    from ...embeddings.local import LocalEmbeddings

                    index = ConflictIndex(stored, embed=LocalEmbeddings().embed_sync)
            with self._lock:
                self._indexes[key] = (version, index)
                self._indexes.move_to_end(key)
                while len(self._indexes) > self._kept:
                    self._indexes.popitem(last=False)
            return index

    def peek(self, bot_id: int, locale: str) -> ConflictIndex | None:
        """The kept index, current or not; None when there is none."""
        with self._lock:
            found = self._indexes.get((bot_id, locale))
        return found[1] if found else None

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()


conflict_indexes = _ConflictIndexes()


def candidate_risks(session: Session, bot_id: int, faq_id: int, locale: str,
                    texts: list[str]) -> list[dict | None]:
    """For each generated candidate: None, or the FAQ it risks being confused with."""
    if not texts:
        return []
    risks = conflict_indexes.get(session, bot_id, locale).risks(texts, _intent(faq_id))
    titles = _titles(session, bot_id)
    return [None if r is None else {
        "faq_id": _faq_id(r.intent), "faq_title": titles.get(_faq_id(r.intent), ""),
        "margin": r.margin, "similarity": r.similarity, "own_similarity": r.own_similarity,
        "reason": r.reason} for r in risks]
