"""Keep what is a new, faithful sentence in the right language; say why the rest goes.

Cheap checks run first (length, normalised copies, fuzzy near-copies, language) so the
embedding model only sees candidates that may survive. Every rejection keeps its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from .embeddings.base import EmbeddingProvider
from .language import is_wrong_language
from .normalize import normalize, tidy
from .result import Notice, Origin, Rejection, RejectReason, Sentence, Why
from .voice import bot_voice


@dataclass(frozen=True)
class Thresholds:
    max_chars: int = 200
    # rapidfuzz ratio (0-100) on normalised text above which two sentences are one
    fuzzy_duplicate: float = 90.0
    # the same against an example: lower, because a copy with one small word added ("puis-je",
    # "please") is no new way to ask (bench/fidelity.py: 25 of 31 copies caught at 85, 16 at
    # 90, for 10 and 1 of 452 faithful candidates)
    fuzzy_copy: float = 85.0
    # cosine similarity between embeddings above which two sentences are one
    near_duplicate: float = 0.97
    # cosine similarity to the closest input under which the meaning drifted
    drift: float = 0.80
    # a candidate this much closer to another intent's sentences than to its own examples
    # belongs to that intent (bench/fidelity.py: at 0, 16 of 452 faithful candidates were
    # rejected, at 0.03, 8)
    other_intent_margin: float = 0.03


# Per embedding model, because similarity scales differ (e5 packs everything above 0.7).
# Measured with bench/embeddings.py; see docs/quality.md.
THRESHOLDS: dict[str, Thresholds] = {
    "multilingual-e5-small": Thresholds(near_duplicate=0.97, drift=0.88),
    "use-multilingual-v3": Thresholds(near_duplicate=0.90, drift=0.46),
}


def thresholds_for(embedding_model: str | None) -> Thresholds:
    return THRESHOLDS.get(embedding_model or "", Thresholds())


# Sentences of each other intent compared with a candidate: the first ones (a bot's FAQs are
# listed with their human sentences first), so a big bot costs a bounded embedding time.
OTHER_INTENT_SENTENCES = 5


@dataclass
class Cleaner:
    """Filters one request's candidates; remembers inputs and what was kept across attempts.

    `title` (the FAQ's) counts as one more example for meaning checks; `other_intents`
    (the bot's other FAQs, objects with `name` and `sentences`) catch candidates that ask
    another FAQ's question.
    """

    inputs: list[str]
    locale: str
    embeddings: EmbeddingProvider | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    check_language: bool = True
    title: str | None = None
    other_intents: list = field(default_factory=list)
    kept: list[Sentence] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    _input_keys: set[str] = field(default_factory=set)
    _kept_keys: set[str] = field(default_factory=set)
    _input_vectors: np.ndarray | None = None
    _own_vectors: np.ndarray | None = None
    _other_vectors: np.ndarray | None = None
    _other_owner: list[int] = field(default_factory=list)
    _other_texts: list[str] = field(default_factory=list)
    _kept_vectors: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._input_keys = {normalize(s) for s in self.inputs}
        self._input_norms = [normalize(s) for s in self.inputs]

    async def add(self, candidates: list[str]) -> list[Rejection]:
        """Judge candidates in order; keep the good ones, return the rejections."""
        rejected: list[Rejection] = []
        survivors: list[tuple[str, str]] = []
        batch_keys: set[str] = set()
        for raw in candidates:
            text = tidy(raw)
            reason = self._cheap_reason(text, batch_keys, survivors)
            if reason:
                rejected.append(Rejection(text or raw, *reason))
                continue
            key = normalize(text)
            batch_keys.add(key)
            survivors.append((text, key))
        if not survivors:
            return rejected
        vectors = await self._embed([t for t, _ in survivors])
        for i, (text, key) in enumerate(survivors):
            scores: dict[str, float] = {}
            if vectors is not None:
                vec = vectors[i]
                similarity = float(np.max(self._input_vectors @ vec))
                scores["similarity"] = round(similarity, 4)
                other = self._closest_other(vec)
                if other is not None:
                    name, other_similarity, own = other
                    rejected.append(Rejection(text, RejectReason.OTHER_INTENT, Why(
                        "closer_to_other_faq", f"closer to “{name}” ({other_similarity:.2f}) "
                        f"than to its own examples ({own:.2f})", faq=name,
                        similarity=round(other_similarity, 2), own=round(own, 2))))
                    continue
                if similarity < self.thresholds.drift:
                    rejected.append(Rejection(text, RejectReason.DRIFTED_MEANING, Why(
                        "below_similarity", f"similarity to the examples {similarity:.2f} < "
                        f"{self.thresholds.drift:.2f}", similarity=round(similarity, 2),
                        threshold=round(self.thresholds.drift, 2))))
                    continue
                if self._kept_vectors:
                    closest = float(np.max(np.stack(self._kept_vectors) @ vec))
                    if closest >= self.thresholds.near_duplicate:
                        rejected.append(Rejection(text, RejectReason.NEAR_DUPLICATE, Why(
                            "similar_to_kept", f"similarity {closest:.2f} to a kept sentence",
                            similarity=round(closest, 2))))
                        continue
                    scores["novelty"] = round(1.0 - closest, 4)
                self._kept_vectors.append(vec)
            self.kept.append(Sentence(text=text, origin=Origin.MODEL, scores=scores))
            self._kept_keys.add(key)
        return rejected

    def _cheap_reason(self, text: str, batch_keys: set[str],
                      survivors: list[tuple[str, str]]) -> tuple[RejectReason, str] | None:
        if not text or not normalize(text):
            return RejectReason.EMPTY, Why("no_words", "no words")
        if len(text) > self.thresholds.max_chars:
            return RejectReason.TOO_LONG, Why(
                "too_many_characters", f"{len(text)} characters > {self.thresholds.max_chars}",
                length=len(text), max_length=self.thresholds.max_chars)
        key = normalize(text)
        if key in self._input_keys:
            return RejectReason.COPY_OF_INPUT, Why("same_words_as_example",
                                                   "same words as an example")
        if key in self._kept_keys or key in batch_keys:
            return RejectReason.DUPLICATE, Why("same_words_as_other",
                                               "same words as another sentence")
        for other in self._input_norms:
            ratio = fuzz.ratio(key, other)
            if ratio >= self.thresholds.fuzzy_copy:
                return RejectReason.COPY_OF_INPUT, Why(
                    "letters_as_example", f"{ratio:.0f}% the same letters as an example",
                    percent=round(ratio))
        for other in [normalize(s.text) for s in self.kept] + [k for _, k in survivors]:
            ratio = fuzz.ratio(key, other)
            if ratio >= self.thresholds.fuzzy_duplicate:
                return RejectReason.NEAR_DUPLICATE, Why(
                    "letters_as_other", f"{ratio:.0f}% the same letters as another",
                    percent=round(ratio))
            # Small models extend a sentence they already wrote ("X" then "X, and more");
            # the ratio misses it when the tail is long.
            shorter, longer = sorted((key, other), key=len)
            if len(shorter.split()) >= 4 and longer.startswith(shorter + " "):
                return RejectReason.NEAR_DUPLICATE, Why("words_added",
                                                        "another sentence with words added")
        reply = bot_voice(text, self.inputs, self.locale)
        if reply:
            return RejectReason.BOT_VOICE, reply
        if self.check_language:
            wrong, detail = is_wrong_language(text, self.locale)
            if wrong:
                return RejectReason.WRONG_LANGUAGE, detail
        return None

    def _closest_other(self, vec: np.ndarray) -> tuple[str, float, float] | None:
        """(name, similarity, own similarity) of the other intent the candidate is closer
        to than to its own examples and title, or None."""
        if self._other_vectors is None or not len(self._other_vectors):
            return None
        own = float(np.max(self._own_vectors @ vec))
        similarities = self._other_vectors @ vec
        best = int(np.argmax(similarities))
        if float(similarities[best]) > own + self.thresholds.other_intent_margin:
            return (self.other_intents[self._other_owner[best]].name,
                    float(similarities[best]), own)
        return None

    async def closest_others(self, k: int) -> list[dict]:
        """The `k` other intents closest to this one's examples and title, each as
        `{"name", "sentence"}` with its sentence closest to them; empty without embeddings
        or other intents."""
        if not self.other_intents or not await self._reference_vectors():
            return []
        if not len(self._other_vectors):
            return []
        # each other sentence's likeness to this intent: its best match among ours
        likeness = np.max(self._other_vectors @ self._own_vectors.T, axis=1)
        best: dict[int, int] = {}
        for row, owner in enumerate(self._other_owner):
            if owner not in best or likeness[row] > likeness[best[owner]]:
                best[owner] = row
        ranked = sorted(best.items(), key=lambda item: -likeness[item[1]])[:k]
        return [{"name": self.other_intents[owner].name, "sentence": self._other_texts[row]}
                for owner, row in ranked]

    async def _embed(self, texts: list[str]) -> np.ndarray | None:
        if not await self._reference_vectors():
            return None
        try:
            return await self.embeddings.embed(texts)
        except Exception as exc:  # noqa: BLE001 - a broken embedder must not lose sentences
            self._skip_embeddings(exc)
            return None

    async def _reference_vectors(self) -> bool:
        """Embed the examples, the title and the other intents' sentences once; False
        without a (working) embedder."""
        if self.embeddings is None:
            return False
        try:
            if self._input_vectors is None:
                own = list(self.inputs) + ([self.title] if self.title else [])
                others: list[str] = []
                for j, intent in enumerate(self.other_intents):
                    # Sentences, not titles: a title is a few keywords ("Reset my password"),
                    # close to any sentence that shares one ("reset my card")
                    for text in intent.sentences[:OTHER_INTENT_SENTENCES] or [intent.name]:
                        others.append(text)
                        self._other_owner.append(j)
                vectors = await self.embeddings.embed(own + others)
                self._input_vectors = vectors[:len(self.inputs)]
                self._own_vectors = vectors[:len(own)]
                self._other_vectors = vectors[len(own):]
                self._other_texts = others
            return True
        except Exception as exc:  # noqa: BLE001 - a broken embedder must not lose sentences
            self._skip_embeddings(exc)
            return False

    def _skip_embeddings(self, exc: Exception) -> None:
        message = getattr(exc, "message", None) or str(exc)
        self.notices.append(Notice(
            "embeddings_skipped", {"reason": message},
            f"embedding filters skipped ({message}): meaning drift and semantic "
            "near-duplicates were not checked"))
        self.embeddings = None

    def pop_last(self) -> Sentence:
        """Take back the last kept sentence (it was valid, but one too many)."""
        sentence = self.kept.pop()
        self._kept_keys.discard(normalize(sentence.text))
        if self._kept_vectors and len(self._kept_vectors) > len(self.kept):
            self._kept_vectors.pop()
        return sentence

    def is_taken(self, text: str) -> bool:
        """Would this text duplicate an input or a kept sentence (after normalising)?"""
        key = normalize(text)
        return key in self._input_keys or key in self._kept_keys

    def replace(self, index: int, sentence: Sentence) -> None:
        self._kept_keys.discard(normalize(self.kept[index].text))
        self.kept[index] = sentence
        self._kept_keys.add(normalize(sentence.text))
