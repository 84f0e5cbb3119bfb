"""Memory and time of the conflict check on a big bot: the check as it was (train on every
sentence and embed them all, at each generation) against the bounded, kept ConflictIndex.

    .venv/bin/python bench/conflict_memory.py [--sizes 25000,100000] [--limit-gb 8] [--ways after]

The bot: the train sentences of CLINC150 and BANKING77 (../shared/datasets, 227 intents,
25,000 sentences), each also written with 3 openings ("hi, ", …) up to the size asked,
as a big import would hold. Each measure runs in a fresh process (peak RSS is per process)
under an address-space limit, so that the old way fails with MemoryError instead of taking
the machine. Prints one table; never asserts. Results: docs/nlu.md.
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
    from fewshot import DATA, load_dataset

    from utterly.nlu import Example

    base = [(text, f"{name}:{intent}") for name in ("clinc150", "banking77")
            for text, intent in load_dataset(name, DATA)[0]]
    stored = [Example(opening + text, intent, "en")
              for opening in OPENINGS for text, intent in base]
    return stored[:size]


def measure(mode: str, size: int) -> dict:
    """In this process: build what a generation needs, then check 8 candidates 5 times."""
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
                        help="before (the old check), after (the kept index), or both")
    args = parser.parse_args(argv)
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
