"""Yield and speed of the embedded models on 10 French and 10 English questions, n=5.

    .venv/bin/python bench/local_models.py [--models qwen2.5-coder-1.5b smollm2-135m] [--n 5]

Prints, per model: median seconds per request, valid/requested yield, attempts, and
rejections by reason. Never asserts: the figures go in docs/quality.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from questions import ENGLISH, FRENCH  # noqa: E402

from utterly.embeddings import create_embeddings  # noqa: E402
from utterly.generation import agenerate  # noqa: E402
from utterly.providers import ProviderConfig  # noqa: E402


async def bench_model(model: str, n: int, limit: int) -> dict:
    embeddings = create_embeddings("local")
    config = ProviderConfig(provider="local", model=model)
    seconds, kept, attempts, transformed = [], 0, [], 0
    reasons: Counter = Counter()
    cases = [(q, "fr") for q in FRENCH[:limit]] + [(q, "en") for q in ENGLISH[:limit]]
    # Load the model before timing: the first request would otherwise pay for it.
    await agenerate(cases[0][0], locale=cases[0][1], n=1, provider=config,
                    embeddings=embeddings, seed=0)
    for i, (question, locale) in enumerate(cases):
        started = time.perf_counter()
        result = await agenerate(question, locale=locale, n=n, provider=config,
                                 embeddings=embeddings, seed=100 + i)
        seconds.append(time.perf_counter() - started)
        kept += len(result.sentences)
        attempts.append(result.attempts)
        transformed += sum(s.origin == "transformed" for s in result.sentences)
        reasons.update(str(r.reason) for r in result.rejected)
        print(f"  {model} {locale} {len(result.sentences)}/{n} in {seconds[-1]:.1f}s: "
              + " | ".join(s.text for s in result.sentences[:3]), flush=True)
    return {"model": model, "requests": len(cases), "median_s": statistics.median(seconds),
            "yield": kept / (n * len(cases)), "mean_attempts": statistics.mean(attempts),
            "reasons": reasons}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-1.5b", "smollm2-135m"])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--limit", type=int, default=10, help="questions per language")
    args = parser.parse_args()
    rows = [await bench_model(m, args.n, args.limit) for m in args.models]
    print()
    print("| model | requests | median s/request | valid/requested | mean attempts | "
          "rejections by reason |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in r["reasons"].most_common()) or "none"
        print(f"| {r['model']} | {r['requests']} | {r['median_s']:.1f} | {r['yield']:.0%} | "
              f"{r['mean_attempts']:.2f} | {reasons} |")


if __name__ == "__main__":
    asyncio.run(main())
