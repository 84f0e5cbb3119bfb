"""Quality of a generation as numbers a dashboard can follow over time."""

from __future__ import annotations

from itertools import combinations
from statistics import fmean

from rapidfuzz import fuzz


def quality_scores(result) -> dict[str, float]:
    """valid_ratio: kept / requested; mean_similarity: mean meaning similarity of the kept
    sentences to the examples (when an embedder scored them); diversity: 1 − mean pairwise
    word overlap of the kept sentences (1 = all different words)."""
    kept = result.sentences
    scores = {"valid_ratio": round(len(kept) / result.requested, 4) if result.requested else 0.0}
    similarities = [s.scores["similarity"] for s in kept if "similarity" in s.scores]
    if similarities:
        scores["mean_similarity"] = round(fmean(similarities), 4)
    if len(kept) >= 2:
        overlap = fmean(fuzz.token_set_ratio(a.text, b.text) / 100
                        for a, b in combinations(kept, 2))
        scores["diversity"] = round(1 - overlap, 4)
    return scores
