"""Memory and time of the conflict check on a big bot: the check as it was (train on every
sentence and embed them all, at each generation) against the bounded, kept ConflictIndex.

    .venv/bin/python bench/conflict_memory.py [--sizes 25000,100000] [--limit-gb 8] [--ways after]
    .venv/bin/python bench/conflict_memory.py --ways update   # what a change to the bot costs

The bot: the train sentences of CLINC150 and BANKING77 (../shared/datasets, 227 intents,
25,000 sentences), each also written with 3 openings ("hi, ", …) up to the size asked,
as a big import would hold. Each measure runs in a fresh process (peak RSS is per process)
under an address-space limit, so that the old way fails with MemoryError instead of taking
the machine. Prints one table; never asserts. Results: docs/nlu.md.

`--ways update` builds the kept index, then times ConflictIndex.updated (what the Studio
does when the bot's sentences changed) against a full build, for one sentence added to an
FAQ that has its share, one removed from the kept sample, and a new FAQ of 10 sentences.
UTTERLY_DATASETS names the datasets' directory (default: fewshot.py's).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
OPENINGS = ("", "hi, ", "hello, could you tell me: ", "quick question: ")
CANDIDATES = ["how do i cancel my card", "what's my balance", "set an alarm for 7 am",
              "why was my transfer declined", "book a table for two tonight",
              "i lost my card yesterday", "change my pin please", "what time is it in tokyo"]


def big_bot(size: int):
    import os

    from fewshot import DATA, load_dataset

    from utterly.nlu import Example

    data = Path(os.environ.get("UTTERLY_DATASETS") or DATA)
    base = [(text, f"{name}:{intent}") for name in ("clinc150", "banking77")
            for text, intent in load_dataset(name, data)[0]]
    stored = [Example(opening + text, intent, "en")
              for opening in OPENINGS for text, intent in base]
    return stored[:size]


CHANGES = {"added": "a sentence added to an FAQ that has its share",
           "removed": "a sentence of the kept sample removed",
           "new_faq": "a new FAQ of 10 sentences"}


def measure_update(size: int) -> dict:
    """In this process: build the kept index, then bring it up to date after each change,
    each against a full build of the changed sentences."""
    from utterly.embeddings.local import LocalEmbeddings
    from utterly.nlu import ConflictIndex, Example

    stored = big_bot(size)
    embed = LocalEmbeddings().embed_sync
    embed(["warm-up"])
    started = time.process_time()
    index = ConflictIndex(stored, embed=embed)
    out = {"build_cpu_s": time.process_time() - started}
    own = stored[0].intent
    changes = {
        "added": stored + [Example("could you tell me about that one more time", own, "en")],
        "removed": [e for e in stored if e is not index.sample[0]],
        "new_faq": stored + [Example(f"where can i park my bike number {i}", "new:bike", "en")
                             for i in range(10)],
    }
    for name, changed in changes.items():
        started = time.process_time()
        updated = index.updated(changed)
        out[name] = {"cpu_s": time.process_time() - started, "embedded": updated.embedded,
                     "trained": updated.trained, "same_index": updated is index}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure(mode: str, size: int) -> dict:
    """In this process: build what a generation needs, then check 8 candidates 5 times."""
    if mode == "update":
        return measure_update(size)
    from utterly.embeddings.local import LocalEmbeddings
    from utterly.nlu import ConflictIndex, IntentClassifier, conflict_risks

    stored = big_bot(size)
    embed = LocalEmbeddings().embed_sync
    embed(["warm-up"])
    own = stored[0].intent
    started = time.perf_counter()
    if mode == "before":
        # what each generation did: train on everything, embed everything in one call
        clf = IntentClassifier().fit(stored)
        texts = CANDIDATES + [e.text for e in stored]
        embed(texts)
        conflict_risks(CANDIDATES, own, stored, classifier=clf, embed=embed)
        build, check = time.perf_counter() - started, None
    else:
        index = ConflictIndex(stored, embed=embed)
        build = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(5):
            index.risks(CANDIDATES, own)
        check = (time.perf_counter() - started) / 5
    return {"build_s": build, "check_s": check,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child(mode: str, size: int, limit_gb: float) -> dict:
    code = ("import json, resource, sys; sys.path.insert(0, 'bench'); "
            f"resource.setrlimit(resource.RLIMIT_AS, ({int(limit_gb * 2**30)},) * 2); "
            "import conflict_memory as c; "
            f"print(json.dumps(c.measure({mode!r}, {size})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25000,100000")
    parser.add_argument("--limit-gb", type=float, default=8.0)
    parser.add_argument("--ways", default="before,after",
                        help="before (the old check), after (the kept index), or both; "
                             "update (what a change costs)")
    args = parser.parse_args(argv)
    if args.ways == "update":
        print("| sentences | full build (CPU s) | change | update (CPU s) | embedded | trained |")
        print("|---|---|---|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            r = child("update", size, args.limit_gb)
            if "error" in r:
                print(f"| {size:,} | failed: {r['error']} | | | | |", flush=True)
                continue
            for change in ("added", "removed", "new_faq"):
                c = r[change]
                embedded, trained = ((0, "no: the same index") if c["same_index"]
                                     else (c["embedded"], "yes" if c["trained"] else "no"))
                print(f"| {size:,} | {r['build_cpu_s']:.1f} | {CHANGES[change]} | "
                      f"{c['cpu_s']:.2f} | {embedded} | {trained} |", flush=True)
        return
    print(f"## Conflict check on a big bot (227 intents; address space limited to "
          f"{args.limit_gb:g} GB)\n")
    print("| sentences | way | first generation (s) | each next generation (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.ways.split(","):
            r = child(mode, size, args.limit_gb)
            if "error" in r:
                print(f"| {size:,} | {mode} | failed: {r['error']} | | |", flush=True)
                continue
            again = r["build_s"] if r["check_s"] is None else r["check_s"]
            name = "train + embed all, per generation" if mode == "before" else "kept index"
            print(f"| {size:,} | {name} | {r['build_s']:.1f} | {again:.2f} | "
                  f"{r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
