"""Ways to choose n sentences from a larger pool of kept candidates, for bench/fewshot.py's
pool variants (issue 23: over-generate, then choose). Each returns the chosen indices in
the pool, in the order chosen."""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def first(pool: list[str], n: int, **_) -> list[int]:
    return list(range(min(n, len(pool))))


def far(pool: list[str], n: int, *, vectors: np.ndarray, examples: np.ndarray, **_) -> list[int]:
    """Farthest first: each pick is the candidate least like the examples and the picks."""
    closest = (vectors @ examples.T).max(axis=1)
    chosen: list[int] = []
    while len(chosen) < min(n, len(pool)):
        order = np.where(np.isin(np.arange(len(pool)), chosen), np.inf, closest)
        pick = int(np.argmin(order))
        chosen.append(pick)
        closest = np.maximum(closest, vectors @ vectors[pick])
    return chosen


def mmr(pool: list[str], n: int, *, vectors: np.ndarray, examples: np.ndarray,
        weight: float = 0.5, **_) -> list[int]:
    """Maximal marginal relevance: like the examples (meaning), unlike the picks."""
    relevance = (vectors @ examples.T).max(axis=1)
    redundancy = np.full(len(pool), -1.0)
    chosen: list[int] = []
    while len(chosen) < min(n, len(pool)):
        score = weight * relevance - (1 - weight) * redundancy
        score[chosen] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        redundancy = np.maximum(redundancy, vectors @ vectors[pick])
    return chosen


def new_words(pool: list[str], n: int, *, seeds: list[str], **_) -> list[int]:
    """Greedy coverage: each pick brings the most words not in the examples or the picks."""
    seen = set().union(*(words(s) for s in seeds)) if seeds else set()
    bags = [words(t) for t in pool]
    chosen: list[int] = []
    while len(chosen) < min(n, len(pool)):
        gains = [(-1 if i in chosen else len(bag - seen), -i) for i, bag in enumerate(bags)]
        pick = -max(gains)[1]
        chosen.append(pick)
        seen |= bags[pick]
    return chosen


def contrast(pool: list[str], n: int, *, vectors: np.ndarray, examples: np.ndarray,
             others: np.ndarray | None, **kw) -> list[int]:
    """Far first among the candidates whose own-minus-other margin is in the top three
    quarters of the pool (without other intents: far first)."""
    if others is None or not len(others) or len(pool) <= n:
        return far(pool, n, vectors=vectors, examples=examples)
    margin = (vectors @ examples.T).max(axis=1) - (vectors @ others.T).max(axis=1)
    keep = max(n, int(round(len(pool) * 0.75)))
    allowed = np.argsort(-margin)[:keep]
    inner = far([pool[i] for i in allowed], n, vectors=vectors[allowed], examples=examples)
    return [int(allowed[i]) for i in inner]


METHODS = {"first": first, "far": far, "mmr": mmr, "words": new_words, "contrast": contrast}
