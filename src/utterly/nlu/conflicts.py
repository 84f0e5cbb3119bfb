"""Would a candidate sentence confuse two intents? It is a risk when the classifier trained on
the bot prefers another intent by a clear margin, or when its nearest stored sentence by
meaning belongs to another intent and is clearly closer than any of its own."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .classifier import Example, IntentClassifier

# Chosen by hand, not measured; checked on the overlapping-FAQ fixture of tests/test_nlu.py
# (cancel an order / cancel a subscription). See docs/nlu.md. A candidate is at risk when:
MARGIN = 0.15        # p(other) − p(own) is at least this (the classifier's doubt), or
SIMILARITY = 0.60    # the nearest other-intent sentence is at least this similar …
CLOSER_BY = 0.05     # … and at least this much closer than the nearest own-intent sentence


@dataclass
class ConflictRisk:
    text: str
    intent: str            # the other intent it may be confused with
    margin: float          # p(other) − p(own); > 0 means the classifier prefers the other
    similarity: float | None = None       # to the nearest sentence of the other intent
    own_similarity: float | None = None   # to the nearest sentence of its own intent
    reason: str = "classifier"            # classifier | similarity | both


# A bot's size must not decide the server's memory (a 120,000-sentence bot once took
# 13.5 GB): the index keeps an even share of each intent's sentences, its classifier a
# bounded number of weights (intents × features; L-BFGS keeps about 20 copies of them), and
# the sentences are embedded a batch at a time. Measured in bench/conflict_memory.py.
MAX_EXAMPLES = 20_000
MAX_WEIGHTS = 2_000_000
EMBED_BATCH = 256


def representative(stored: list[Example], limit: int | None = None) -> list[Example]:
    """At most `limit` (MAX_EXAMPLES) examples, each intent keeping an even share of them:
    its human sentences first, then the others in their order."""
    limit = MAX_EXAMPLES if limit is None else limit
    if len(stored) <= limit:
        return stored
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in stored:
        by_intent[example.intent].append(example)
    share = max(1, limit // len(by_intent))
    return [e for examples in by_intent.values()
            for e in sorted(examples, key=lambda e: e.origin != "human")[:share]]


class ConflictIndex:
    """What conflict checking needs from a bot's stored sentences, built once: the trained
    classifier and, with an embedder, the sentences' vectors. Checking a run's candidates
    then costs their own classification and embedding only, whatever the bot's size.

    When the sentences change, `updated(stored)` gives the index a full build would give,
    doing only what the change requires: nothing when the kept sample is the same (a
    sentence added to an FAQ that already has its share, or removed from outside the
    sample), else the new sample's classifier and the vectors of its new texts only.
    `embedded` and `trained` say what a build or an update did."""

    def __init__(self, stored: list[Example], *, classifier: IntentClassifier | None = None,
                 embed=None, _previous: "ConflictIndex | None" = None):
        stored = representative(stored)
        self.sample = stored
        self.intents = {e.intent for e in stored}
        self.classifier = None
        self.labels = np.array([e.intent for e in stored])
        self.vectors = None
        self.embed = embed
        self.embedded = 0    # texts this build embedded (an update reuses the others')
        self.trained = False  # whether this build trained the classifier
        if len(self.intents) < 2:
            return
        if classifier is None:
            classifier = IntentClassifier(
                max_features=max(1000, MAX_WEIGHTS // len(self.intents))).fit(stored)
            self.trained = True
        self.classifier = classifier
        if embed is not None:
            self.vectors = self._vectors([e.text for e in stored], _previous)

    def _vectors(self, texts: list[str], previous: "ConflictIndex | None"):
        known: dict[str, int] = {}
        if previous is not None and previous.vectors is not None and previous.embed is self.embed:
            known = {e.text: i for i, e in enumerate(previous.sample)}
        if not known:
            parts = [np.asarray(self.embed(texts[i:i + EMBED_BATCH]), dtype=np.float32)
                     for i in range(0, len(texts), EMBED_BATCH)]
            self.embedded = len(texts)
            return np.concatenate(parts) if parts else None
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        fresh: dict[str, np.ndarray] = {}
        for i in range(0, len(missing), EMBED_BATCH):
            batch = missing[i:i + EMBED_BATCH]
            fresh.update(zip(batch, np.asarray(self.embed(batch), dtype=np.float32)))
        self.embedded = len(missing)
        return np.stack([previous.vectors[known[t]] if t in known else fresh[t] for t in texts])

    def updated(self, stored: list[Example]) -> "ConflictIndex":
        """The index of `stored`, built from this one: itself when its sample is the same."""
        sample = representative(stored)
        if sample == self.sample:
            return self
        return ConflictIndex(sample, embed=self.embed, _previous=self)

    @property
    def nbytes(self) -> int:
        return self.vectors.nbytes if self.vectors is not None else 0

    def risks(self, candidates: list[str], own_intent: str) -> list[ConflictRisk | None]:
        """One entry per candidate: None, or the risk with the other intent."""
        out: list[ConflictRisk | None] = [None] * len(candidates)
        if not candidates or self.classifier is None or own_intent not in self.intents:
            return out
        clf = self.classifier
        probs = clf.probabilities(candidates)
        own = clf.intents.index(own_intent)
        sims = None
        if self.vectors is not None:
            sims = np.asarray(self.embed(candidates), dtype=np.float32) @ self.vectors.T
            own_mask = self.labels == own_intent
            others = np.where(~own_mask)[0]
        for i, text in enumerate(candidates):
            row = probs[i].copy()
            own_p = row[own]
            row[own] = -1
            other = int(np.argmax(row))
            margin = float(row[other] - own_p)
            reasons, other_intent = [], clf.intents[other]
            sim_other = sim_own = None
            if margin >= MARGIN:
                reasons.append("classifier")
            if sims is not None:
                sim_own = float(sims[i][own_mask].max()) if own_mask.any() else 0.0
                j = others[int(np.argmax(sims[i][others]))]
                sim_other = float(sims[i][j])
                if sim_other >= SIMILARITY and sim_other >= sim_own + CLOSER_BY:
                    if not reasons:
                        other_intent = str(self.labels[j])
                    reasons.append("similarity")
            if reasons:
                out[i] = ConflictRisk(
                    text=text, intent=other_intent, margin=round(margin, 4),
                    similarity=None if sim_other is None else round(sim_other, 4),
                    own_similarity=None if sim_own is None else round(sim_own, 4),
                    reason="both" if len(reasons) == 2 else reasons[0])
        return out


def conflict_risks(candidates: list[str], own_intent: str, stored: list[Example], *,
                   classifier: IntentClassifier | None = None, embed=None
                   ) -> list[ConflictRisk | None]:
    """One entry per candidate: None, or the risk with the other intent. `embed(texts)`
    returns L2-normalised vectors (optional); `classifier` is trained on `stored` when
    not given. To check many runs against the same sentences, build a ConflictIndex once."""
    if not candidates or own_intent not in {e.intent for e in stored}:
        return [None] * len(candidates)
    return ConflictIndex(stored, classifier=classifier, embed=embed).risks(candidates,
                                                                          own_intent)
