"""Would a candidate sentence confuse two intents? It is a risk when the classifier trained on
the bot prefers another intent by a clear margin, or when its nearest stored sentence by
meaning belongs to another intent and is clearly closer than any of its own."""

from __future__ import annotations

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


def conflict_risks(candidates: list[str], own_intent: str, stored: list[Example], *,
                   classifier: IntentClassifier | None = None, embed=None
                   ) -> list[ConflictRisk | None]:
    """One entry per candidate: None, or the risk with the other intent. `embed(texts)`
    returns L2-normalised vectors (optional); `classifier` is trained on `stored` when
    not given."""
    out: list[ConflictRisk | None] = [None] * len(candidates)
    intents = {e.intent for e in stored}
    if not candidates or len(intents) < 2 or own_intent not in intents:
        return out
    clf = classifier or IntentClassifier().fit(stored)
    probs = clf.probabilities(candidates)
    own = clf.intents.index(own_intent)
    sims = None
    if embed is not None:
        vectors = embed(candidates + [e.text for e in stored])
        cand, base = vectors[:len(candidates)], vectors[len(candidates):]
        sims = cand @ base.T
        labels = np.array([e.intent for e in stored])
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
            own_mask = labels == own_intent
            sim_own = float(sims[i][own_mask].max()) if own_mask.any() else 0.0
            others = np.where(~own_mask)[0]
            j = others[int(np.argmax(sims[i][others]))]
            sim_other = float(sims[i][j])
            if sim_other >= SIMILARITY and sim_other >= sim_own + CLOSER_BY:
                if not reasons:
                    other_intent = str(labels[j])
                reasons.append("similarity")
        if reasons:
            out[i] = ConflictRisk(text=text, intent=other_intent, margin=round(margin, 4),
                                  similarity=None if sim_other is None else round(sim_other, 4),
                                  own_similarity=None if sim_own is None else round(sim_own, 4),
                                  reason="both" if len(reasons) == 2 else reasons[0])
    return out
