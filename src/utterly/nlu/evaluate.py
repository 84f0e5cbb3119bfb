"""Did the generated sentences help? Two models side by side, always in the same run:
trained on human sentences only, and on human + generated, tested on the same held-out
human sentences (a given test set, or k folds of the human sentences)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from ..errors import InvalidRequest
from ..normalize import normalize
from .classifier import Example, IntentClassifier


@dataclass
class Scores:
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    # most confused (true intent, predicted intent, count), worst first
    confused: list[tuple[str, str, int]] = field(default_factory=list)
    trained_on: int = 0


@dataclass
class Comparison:
    method: str            # "held-out" or "k-fold (k=5)"
    tested_on: int         # human sentences scored
    human_only: Scores
    human_plus_generated: Scores
    generated_used: int

    @property
    def gain(self) -> dict[str, float]:
        return {"accuracy": round(self.human_plus_generated.accuracy
                                  - self.human_only.accuracy, 4),
                "macro_f1": round(self.human_plus_generated.macro_f1
                                  - self.human_only.macro_f1, 4)}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["gain"] = self.gain
        return data


def _scores(truth: list[str], predicted: list[str], trained_on: int) -> Scores:
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0)
    per_intent = {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                          "f1": round(float(f), 4), "support": int(s)}
                  for label, p, r, f, s in zip(labels, precision, recall, f1, support)
                  if s or p}
    confused = Counter((t, p) for t, p in zip(truth, predicted) if t != p)
    return Scores(accuracy=round(float(accuracy_score(truth, predicted)), 4),
                  macro_f1=round(float(f1_score(truth, predicted, labels=sorted(set(truth)),
                                                average="macro", zero_division=0)), 4),
                  per_intent=per_intent,
                  confused=[(t, p, n) for (t, p), n in confused.most_common(10)],
                  trained_on=trained_on)


def _folds(human: list[Example], k: int, seed: int) -> list[list[int]]:
    """Stratified folds: each intent's sentences dealt round-robin after a seeded shuffle."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(human):
        by_intent[example.intent].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        indexes = by_intent[intent]
        rng.shuffle(indexes)
        for j, index in enumerate(indexes):
            folds[(offset + j) % k].append(index)
        offset += len(indexes)
    return [fold for fold in folds if fold]


def compare(human: list[Example], generated: list[Example], *,
            test: list[Example] | None = None, k: int = 5, seed: int = 0,
            features: str = "tfidf") -> Comparison:
    """Score human-only vs human + generated on held-out human sentences."""
    if test is None and len(human) < 4:
        raise InvalidRequest("too few human sentences to evaluate", field="sentences",
                             reason="too_few_to_evaluate",
                             hint="write at least 2 sentences for each of 2 FAQs")
    runs: list[tuple[list[Example], list[Example]]] = []
    if test is not None:
        runs.append((human, test))
        method = "held-out"
    else:
        folds = _folds(human, min(k, max(2, len(human) // 2)), seed)
        for fold in folds:
            held = set(fold)
            runs.append(([e for i, e in enumerate(human) if i not in held],
                         [human[i] for i in fold]))
        method = f"k-fold (k={len(folds)})"
    truth: list[str] = []
    pred_a: list[str] = []
    pred_b: list[str] = []
    trained_a = trained_b = 0
    for train, held_out in runs:
        held_keys = {normalize(e.text) for e in held_out}
        # a generated sentence identical to a test one (same words) would be a leak
        extra = [g for g in generated if normalize(g.text) not in held_keys]
        if len({e.intent for e in train}) < 2:
            continue
        a = IntentClassifier(features, seed=seed).fit(train)
        b = IntentClassifier(features, seed=seed).fit(train + extra)
        texts = [e.text for e in held_out]
        truth += [e.intent for e in held_out]
        pred_a += [p.intent for p in a.predict(texts, top=1)]
        pred_b += [p.intent for p in b.predict(texts, top=1)]
        trained_a, trained_b = max(trained_a, len(train)), max(trained_b, len(train + extra))
    if not truth:
        raise InvalidRequest("no fold had sentences of 2 intents to train on",
                             field="sentences", reason="too_few_to_evaluate", hint="add human sentences to more FAQs")
    return Comparison(method=method, tested_on=len(truth),
                      human_only=_scores(truth, pred_a, trained_a),
                      human_plus_generated=_scores(truth, pred_b, trained_b),
                      generated_used=len(generated))
