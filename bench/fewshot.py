"""Few-shot benchmark: do generated sentences help an intent classifier that has only k
human examples per intent? CLINC150 and BANKING77 (public; see ../shared/datasets/README.md).

    .venv/bin/python bench/fewshot.py                # 20 intents, k=3, seeds 0,1,2, Qwen, n=10
    .venv/bin/python bench/fewshot.py --quick        # smoke run: 5 intents, 1 seed, smollm2
    .venv/bin/python bench/fewshot.py --provider ollama --model tinyllama \\
        --base-url http://127.0.0.1:11434

Protocol, per dataset and per seed: take the first N intents by sorted name (or a fixed
random subset, `--subset random`), sample k training sentences per intent (the seeds), give
the k seeds of an intent to ONE generate call asking for n sentences, then train the built-in
classifier (utterly.nlu) on seeds only, on seeds + generated, and on the full training set of
those intents, and score all three on the official test split restricted to those intents.

Prints one table per dataset: accuracy and macro-F1 as mean ± sample std over the seeds, the
paired gain, the share of the gap closed ((gen − seeds) / (full − seeds), on the means),
generation yield (kept / requested) and generation time. Progress goes to stderr.

Generated sentences are cached in <cache>/fewshot/ (cache = $UTTERLY_CACHE_DIR, else
~/.cache/utterly), keyed by dataset, intent, seed sentences, provider, model, base URL, n,
temperature, generation seed, prompt template version and the source of the filters and the
retry loop (utterly.clean, utterly.voice, utterly.pipeline), so re-runs that only change the classifier
regenerate nothing; `--no-cache` regenerates (and overwrites the entries).
Never asserts: the figures go in docs/nlu.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import inspect
import json
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from utterly import clean, pipeline, voice
from utterly.catalogue import cache_dir
from utterly.embeddings import create_embeddings
from utterly.errors import UtterlyError
from utterly.generation import agenerate
from utterly.nlu import Example, compare
from utterly.prompt import default_template, template_version
from utterly.providers import ProviderConfig, create_provider

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
DATASETS = ("clinc150", "banking77")
CACHE_VERSION = 1
# What decides which candidates survive: a change to the filters or the retry loop must not
# reuse sentences kept by the old code.
PIPELINE_VERSION = hashlib.sha256(
    "".join(inspect.getsource(m) for m in (clean, pipeline, voice)).encode()).hexdigest()[:12]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------

def load_dataset(name: str, data_dir: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, test) as [(text, intent), ...], in file order. Out-of-scope CLINC150 queries
    (oos_*) are not used: the protocol is about in-scope intents."""
    if name == "clinc150":
        data = json.loads((data_dir / "clinc150" / "data_full.json").read_text("utf-8"))
        return ([(t, i) for t, i in data["train"]], [(t, i) for t, i in data["test"]])
    if name == "banking77":
        def read(split):
            with open(data_dir / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as f:
                return [(row["text"], row["category"]) for row in csv.DictReader(f)]
        return read("train"), read("test")
    raise SystemExit(f"unknown dataset {name!r}: use {', '.join(DATASETS)}")


def pick_intents(train: list[tuple[str, str]], count: int, subset: str,
                 subset_seed: int) -> list[str]:
    names = sorted({intent for _, intent in train})
    if subset == "first":
        return names[:count]
    return sorted(random.Random(subset_seed).sample(names, min(count, len(names))))


def sample_seeds(by_intent: dict[str, list[str]], intents: list[str], k: int,
                 seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    return {intent: rng.sample(by_intent[intent], k) for intent in intents}


# -- generation, cached ----------------------------------------------------------------------

@dataclass
class Generated:
    sentences: list[str]
    requested: int
    latency_s: float
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    # per kept sentence, its similarity to the closest seed (None without embeddings), so a
    # stricter drift threshold can be tried on cached runs (--drift-sweep)
    similarity: list[float | None] = field(default_factory=list)


@dataclass
class Generator:
    args: argparse.Namespace
    template_version: str
    calls: int = 0
    cached: int = 0
    failed: int = 0
    fresh_seconds: float = 0.0
    _provider: object = None
    _embeddings: object = None

    def key(self, dataset: str, intent: str, seeds: list[str], gen_seed: int) -> dict:
        a = self.args
        return {"v": CACHE_VERSION, "dataset": dataset, "intent": intent,
                "seeds_sha256": hashlib.sha256("\n".join(seeds).encode()).hexdigest(),
                "provider": a.provider, "model": a.model, "base_url": a.base_url,
                "n": a.n, "temperature": a.temperature, "seed": gen_seed,
                "template": self.template_version, "pipeline": PIPELINE_VERSION}

    def path(self, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        return self.args.cache_dir / f"{key['dataset']}-{digest}.json"

    async def generate(self, dataset: str, intent: str, seeds: list[str],
                       gen_seed: int) -> Generated:
        self.calls += 1
        key = self.key(dataset, intent, seeds, gen_seed)
        path = self.path(key)
        if not self.args.no_cache and path.is_file():
            entry = json.loads(path.read_text("utf-8"))
            if entry.get("key") == key:
                self.cached += 1
                return Generated(entry["sentences"], entry["requested"], entry["latency_s"],
                                 entry.get("attempts", 0), cached=True,
                                 similarity=entry.get("similarity", []))
        if self._provider is None:
            a = self.args
            self._provider = create_provider(ProviderConfig(
                provider=a.provider, model=a.model, base_url=a.base_url, api_key=a.api_key,
                timeout_s=a.timeout))
            self._embeddings = create_embeddings("local")
        started = time.perf_counter()
        try:
            result = await agenerate(seeds, locale="en", n=self.args.n,
                                     temperature=self.args.temperature, seed=gen_seed,
                                     provider=self._provider, embeddings=self._embeddings,
                                     tracing=None)
        except UtterlyError as exc:
            # Counted as 0 kept and reported; never cached, so a re-run tries again.
            self.failed += 1
            seconds = time.perf_counter() - started
            self.fresh_seconds += seconds
            return Generated([], self.args.n, seconds, error=f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        self.fresh_seconds += seconds
        generated = Generated([s.text for s in result.sentences], self.args.n, seconds,
                              result.attempts,
                              similarity=[s.scores.get("similarity") for s in result.sentences])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "key": key, "intent": intent, "seeds": seeds, "sentences": generated.sentences,
            "similarity": generated.similarity,
            "requested": generated.requested, "latency_s": round(seconds, 3),
            "attempts": result.attempts, "model": result.model,
            "rejected": [{"text": r.text, "reason": str(r.reason)} for r in result.rejected],
        }, ensure_ascii=False, indent=1), "utf-8")
        tmp.replace(path)
        return generated

    async def aclose(self) -> None:
        for thing in (self._provider, self._embeddings):
            if thing is not None:
                await thing.aclose()


# -- one dataset -----------------------------------------------------------------------------

@dataclass
class SeedRun:
    seed: int
    seeds_only: tuple[float, float]       # accuracy, macro-F1
    with_generated: tuple[float, float]
    generated: int
    requested: int
    gen_seconds: float                    # recorded time of the calls (cached ones included)
    errors: list[str] = field(default_factory=list)
    # --drift-sweep: threshold -> (accuracy, macro-F1, generated sentences kept)
    sweep: dict[float, tuple[float, float, int]] = field(default_factory=dict)


async def run_dataset(name: str, args: argparse.Namespace, generator: Generator) -> dict:
    train, test = load_dataset(name, args.data_dir)
    intents = pick_intents(train, args.intents, args.subset, args.subset_seed)
    chosen = set(intents)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        by_intent[intent].append(text)
    test_examples = [Example(t, i) for t, i in test if i in chosen]
    full = [Example(t, i) for t, i in train if i in chosen]
    log(f"[{name}] {len(intents)} intents ({args.subset}), full train {len(full)}, "
        f"test {len(test_examples)}")
    full_scores = compare(full, [], test=test_examples, features=args.features).human_only
    log(f"[{name}] full train: accuracy {full_scores.accuracy:.4f}, "
        f"macro-F1 {full_scores.macro_f1:.4f}")

    runs: list[SeedRun] = []
    for seed in args.seeds:
        seeds = sample_seeds(by_intent, intents, args.k, seed)
        human = [Example(t, i) for i in intents for t in seeds[i]]
        generated: list[Example] = []
        similarity: list[float | None] = []
        requested = 0
        seconds = 0.0
        errors = []
        for j, intent in enumerate(intents):
            result = await generator.generate(name, intent, seeds[intent], seed)
            generated += [Example(t, intent, origin="generated") for t in result.sentences]
            similarity += (result.similarity if len(result.similarity) == len(result.sentences)
                           else [None] * len(result.sentences))
            requested += result.requested
            seconds += result.latency_s
            if result.error:
                errors.append(f"{intent}: {result.error}")
            source = "cache" if result.cached else f"{result.latency_s:.1f}s"
            log(f"[{name} seed {seed}] {j + 1}/{len(intents)} {intent}: "
                f"{len(result.sentences)}/{result.requested} ({source})"
                + (f" ERROR {result.error}" if result.error else ""))
            if args.verbose:
                for text in seeds[intent]:
                    log(f"      seed: {text}")
                for text in result.sentences:
                    log(f"       gen: {text}")
        comparison = compare(human, generated, test=test_examples, seed=seed,
                             features=args.features)
        a, b = comparison.human_only, comparison.human_plus_generated
        runs.append(SeedRun(seed, (a.accuracy, a.macro_f1), (b.accuracy, b.macro_f1),
                            len(generated), requested, seconds, errors))
        for threshold in args.drift_sweep:
            # Post hoc: drops kept sentences less similar to their seeds than the threshold,
            # without the re-asks the pipeline would make; an estimate to choose a threshold.
            stricter = [g for g, sim in zip(generated, similarity)
                        if sim is None or sim >= threshold]
            swept = compare(human, stricter, test=test_examples, seed=seed,
                            features=args.features).human_plus_generated
            runs[-1].sweep[threshold] = (swept.accuracy, swept.macro_f1, len(stricter))
        log(f"[{name} seed {seed}] seeds only {a.accuracy:.4f}/{a.macro_f1:.4f}, "
            f"+ generated {b.accuracy:.4f}/{b.macro_f1:.4f} (accuracy/macro-F1), "
            f"{len(generated)}/{requested} generated")
    return {"dataset": name, "intents": intents, "test": len(test_examples),
            "full_train": len(full), "full": (full_scores.accuracy, full_scores.macro_f1),
            "runs": runs}


# -- report ----------------------------------------------------------------------------------

def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float]) -> str:
    m, s = mean_std(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f}"


def table(result: dict, args: argparse.Namespace) -> str:
    runs: list[SeedRun] = result["runs"]
    k, intents = args.k, len(result["intents"])
    gen_per_intent = statistics.mean(r.generated for r in runs) / intents
    full_per_intent = result["full_train"] / intents
    lines = [
        f"### {result['dataset']}: {intents} intents ({'first by sorted name' if args.subset == 'first' else f'random subset, seed {args.subset_seed}'}), "
        f"k = {k}, seeds {','.join(map(str, args.seeds))}, test {result['test']} sentences",
        "",
        "| training set | sentences per intent | accuracy | macro-F1 |",
        "|---|---|---|---|",
        f"| seeds only | {k} | {fmt([r.seeds_only[0] for r in runs])} | "
        f"{fmt([r.seeds_only[1] for r in runs])} |",
        f"| seeds + generated | {k} + {gen_per_intent:.1f} | "
        f"{fmt([r.with_generated[0] for r in runs])} | "
        f"{fmt([r.with_generated[1] for r in runs])} |",
        f"| gain (paired, per seed) | | "
        f"{fmt([r.with_generated[0] - r.seeds_only[0] for r in runs])} | "
        f"{fmt([r.with_generated[1] - r.seeds_only[1] for r in runs])} |",
        f"| full training set | {full_per_intent:.0f} | {result['full'][0]:.3f} | "
        f"{result['full'][1]:.3f} |",
    ]
    for threshold in args.drift_sweep:
        swept = [r.sweep[threshold] for r in runs]
        kept_per_intent = statistics.mean(c for _, _, c in swept) / intents
        lines.append(
            f"| seeds + generated with similarity ≥ {threshold:g} (post hoc) | "
            f"{k} + {kept_per_intent:.1f} | {fmt([x[0] for x in swept])} | "
            f"{fmt([x[1] for x in swept])} |")
    closed = []
    for i in range(2):
        seeds_m = statistics.mean(r.seeds_only[i] for r in runs)
        gen_m = statistics.mean(r.with_generated[i] for r in runs)
        gap = result["full"][i] - seeds_m
        closed.append(f"{(gen_m - seeds_m) / gap:.0%}" if gap > 0 else "n/a")
    kept = sum(r.generated for r in runs)
    requested = sum(r.requested for r in runs)
    seconds = sum(r.gen_seconds for r in runs)
    calls = intents * len(runs)
    errors = [e for r in runs for e in r.errors]
    lines += [
        "",
        f"Gap closed (gen − seeds) / (full − seeds): accuracy {closed[0]}, macro-F1 {closed[1]}. "
        f"Generation yield {kept}/{requested} = {kept / requested:.0%}; generation time "
        f"{seconds / 60:.1f} min for {calls} calls ({seconds / calls:.1f} s per call).",
    ]
    if errors:
        lines.append(f"Failed generate calls: {len(errors)} ({errors[0]}{' …' if len(errors) > 1 else ''}).")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated: clinc150,banking77")
    parser.add_argument("--intents", type=int, default=20, help="intents per dataset")
    parser.add_argument("--subset", choices=("first", "random"), default="first",
                        help="first N intents by sorted name, or a fixed random subset")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=3, help="seed sentences per intent")
    parser.add_argument("--seeds", default="0,1,2", help="random seeds, comma-separated")
    parser.add_argument("--n", type=int, default=10, help="sentences generated per intent")
    parser.add_argument("--provider", default="local")
    parser.add_argument("--model", default=None,
                        help="default: qwen2.5-coder-1.5b for --provider local")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--api-key", default=None,
                        help="default: the provider's environment variable")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds per model request (generous: a busy 2-core machine is slow)")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--features", choices=("tfidf", "embeddings"), default="tfidf")
    parser.add_argument("--drift-sweep", default="",
                        help="comma-separated similarity thresholds: also score seeds + the "
                             "generated sentences at least this similar to their seeds "
                             "(post hoc, on the same generations)")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="default: <utterly cache>/fewshot")
    parser.add_argument("--no-cache", action="store_true", help="regenerate everything")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 intents, seed 0 (smollm2-135m when local)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print seeds and generated sentences to stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.intents, args.seeds = 5, "0"
        if args.provider == "local":
            args.model = args.model or "smollm2-135m"
    if args.model is None and args.provider == "local":
        args.model = "qwen2.5-coder-1.5b"
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    args.drift_sweep = [float(t) for t in args.drift_sweep.split(",") if t.strip()]
    args.cache_dir = args.cache_dir or cache_dir() / "fewshot"
    return args


async def main(argv=None) -> None:
    args = parse_args(argv)
    generator = Generator(args, template_version(default_template()))
    started = time.perf_counter()
    results = []
    try:
        for name in args.datasets:
            results.append(await run_dataset(name, args, generator))
    finally:
        await generator.aclose()
    wall = time.perf_counter() - started
    print(f"## Few-shot benchmark ({date.today().isoformat()}, {platform.machine()}, "
          f"provider {args.provider}, model {args.model}, n = {args.n}, "
          f"temperature {args.temperature}, classifier {args.features})")
    print()
    for result in results:
        print(table(result, args))
        print()
    print(f"Generate calls: {generator.calls} ({generator.cached} from cache, "
          f"{generator.failed} failed); fresh generation this run "
          f"{generator.fresh_seconds / 60:.1f} min; wall time {wall / 60:.1f} min. "
          f"Cache: {args.cache_dir}")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                     if k != "api_key"},
            "results": [{**r, "runs": [vars(x) for x in r["runs"]]} for r in results],
        }, indent=1), "utf-8")


if __name__ == "__main__":
    asyncio.run(main())
