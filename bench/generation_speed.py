"""Generation speed on the embedded model: Utterly's default against a one-shot baseline.

    .venv/bin/python bench/generation_speed.py               # Qwen2.5-Coder-1.5B, 6 FAQs per language
    .venv/bin/python bench/generation_speed.py --faqs 3 --model smollm2-135m

The FAQs are bench/data/faqs.json (French and English bots, three example sentences each).
For each FAQ, n = 5 and n = 10, in one run and on the same loaded model:

* baseline: one call with a simple numbered-list prompt (the shape of Tock's own feature),
  no retry; its lines are then judged by Utterly's filters, without asking again, so that
  "valid" means the same thing for both;
* utterly: `agenerate` with the FAQ's title, answer and the bot's other FAQs, as the Studio
  calls it.

The model and the embedder are loaded, and each system has run once per language, before
the clock starts (as in the Studio and `generate-all`). Prints, per system, language and n:
median seconds per call, median seconds to the first kept sentence, valid / requested,
seconds per valid sentence and its ratio to the baseline's; then where Utterly's time went
(prompt reading, decoding, embeddings, language detection, the rest). Never asserts: the
figures go in docs/quality.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from utterly import clean
from utterly.clean import Cleaner, thresholds_for
from utterly.embeddings import create_embeddings
from utterly.generation import agenerate
from utterly.parse import parse_sentences
from utterly.prompt import LANGUAGE_NAMES
from utterly.providers import ProviderConfig, create_provider, local_engine

ROOT = Path(__file__).resolve().parent
BASELINE_PROMPT = ("Generate {n} sentences in {language} that mean the same thing as these "
                   "sentences:\n{examples}\nAnswer with a numbered list.")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_faqs(per_language: int) -> list[dict]:
    data = json.loads((ROOT / "data" / "faqs.json").read_text("utf-8"))
    chosen: dict[str, list[dict]] = defaultdict(list)
    for bot in data["bots"]:
        for faq in bot["faqs"]:
            others = [{"name": o["title"], "sentences": o["sentences"]}
                      for o in bot["faqs"] if o is not faq]
            chosen[bot["locale"]].append({**faq, "locale": bot["locale"], "others": others})
    # Every bot of a language in turn, so that a small --faqs still spans the bots.
    out = []
    for locale, faqs in chosen.items():
        by_bot = [faqs[i::6] for i in range(6)]
        ordered = [f for group in zip(*by_bot) for f in group] or faqs
        out += ordered[:per_language]
    return out


class Profile:
    """Seconds spent in each part of Utterly's pipeline, summed over calls."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.enabled = False

    def install(self, embeddings) -> None:
        original_run = local_engine.Engine.run
        profile = self

        def run(engine, *args, **kwargs):
            stats = original_run(engine, *args, **kwargs)
            if profile.enabled:
                profile.seconds["prompt reading (llama.cpp)"] += stats.prompt_s
                profile.seconds["decoding (llama.cpp)"] += stats.decode_s
                profile.seconds["prompt tokens read"] += stats.evaluated_tokens
                profile.seconds["prompt tokens from cache"] += stats.cached_tokens
            return stats

        local_engine.Engine.run = run
        original_embed = embeddings.embed

        async def embed(texts):
            started = time.perf_counter()
            try:
                return await original_embed(texts)
            finally:
                if profile.enabled:
                    profile.seconds["embeddings"] += time.perf_counter() - started

        embeddings.embed = embed
        original_language = clean.is_wrong_language

        def is_wrong_language(text, locale):
            started = time.perf_counter()
            try:
                return original_language(text, locale)
            finally:
                if profile.enabled:
                    profile.seconds["language detection"] += time.perf_counter() - started

        clean.is_wrong_language = is_wrong_language


async def baseline(provider, embeddings, faq: dict, n: int, seed: int) -> dict:
    language = faq["locale"]
    prompt = BASELINE_PROMPT.format(n=n, language=LANGUAGE_NAMES.get(language, language),
                                    examples="\n".join(f"- {s}" for s in faq["sentences"]))
    started = time.perf_counter()
    completion = await provider.complete([{"role": "user", "content": prompt}],
                                         temperature=0.7, max_tokens=n * 40 + 40, seed=seed)
    seconds = time.perf_counter() - started
    lines = parse_sentences(completion.text).sentences
    cleaner = Cleaner(inputs=faq["sentences"], locale=language, embeddings=embeddings,
                      thresholds=thresholds_for(embeddings.model))
    for line in lines:
        await cleaner.add([line])
    return {"seconds": seconds, "valid": min(n, len(cleaner.kept)), "lines": len(lines),
            "first": None, "attempts": 1}


async def utterly(provider, embeddings, faq: dict, n: int, seed: int) -> dict:
    started = time.perf_counter()
    result = await agenerate(faq["sentences"], locale=faq["locale"], n=n, seed=seed,
                             provider=provider, embeddings=embeddings, tracing=None,
                             title=faq["title"], answer=faq["answer"],
                             other_intents=faq["others"])
    return {"seconds": time.perf_counter() - started, "valid": len(result.sentences),
            "first": result.first_sentence_s, "attempts": result.attempts,
            "lines": len(result.sentences) + len(result.rejected)}


SYSTEMS = {"baseline": baseline, "utterly": utterly}


def studio_first_sentence(faqs: list[dict], model: str, n: int) -> list[tuple[str, bool, float]]:
    """In a real Studio over HTTP (SQLite): seconds from the click (the POST of
    generate/stream) to the first kept sentence's event, with and without the warm-up the
    generate dialog sends when it opens. Per FAQ: (title, warmed up, seconds)."""
    from _studio import studio

    from utterly.studio.models import SentenceGenerationSettings

    def first_sentence(st, bot: int, faq: int) -> float:
        """Read the whole event stream (the engine does one run at a time), return when
        its first kept sentence arrived."""
        started = time.perf_counter()
        first = float("nan")
        with st.api.stream("POST", f"/api/bots/{bot}/faqs/{faq}/generate/stream",
                           json={"n": n}) as response:
            if response.status_code != 200:  # a broken setup must not print as a timing
                raise SystemExit(f"generate/stream answered {response.status_code}: "
                                 f"{response.read().decode()[:300]}")
            for line in response.iter_lines():
                if first != first and line.startswith("data:") \
                        and json.loads(line[5:]).get("sentences"):
                    first = time.perf_counter() - started
        return first

    out = []
    with studio("sqlite") as st:
        bots = {}
        for faq in faqs:
            if faq["locale"] not in bots:
                bots[faq["locale"]] = st.new_bot(f"speed-{faq['locale']}", [faq["locale"]])
                with st.sessions() as session, session.begin():
                    row = session.get(SentenceGenerationSettings, bots[faq["locale"]])
                    row.enabled, row.provider, row.model = True, "local", model
            bot = bots[faq["locale"]]
            faq_id = st.new_faq(bot, faq["title"], faq["locale"])
            st.api.patch(f"/api/bots/{bot}/faqs/{faq_id}",
                         json={"answer": faq["answer"]}).raise_for_status()
            st.api.post(f"/api/bots/{bot}/faqs/{faq_id}/sentences/batch",
                        json={"sentences": [{"text": t} for t in faq["sentences"]]}
                        ).raise_for_status()
            faq["studio"] = (bot, faq_id)
        warm = faqs[0]["studio"]
        first_sentence(st, *warm)  # the model loaded and the fixed prompt read, as in use
        # Every other FAQ is clicked cold, the others after the dialog's warm-up: each FAQ's
        # prompt is read for the first time either way.
        for i, faq in enumerate(faqs[1:]):
            bot, faq_id = faq["studio"]
            warmed = i % 2 == 1
            if warmed:
                st.api.post(f"/api/bots/{bot}/faqs/{faq_id}/generate/warm-up",
                            json={"n": n}).raise_for_status()
            seconds = first_sentence(st, bot, faq_id)
            out.append((faq["title"], warmed, seconds))
            log(f"studio {faq['locale']} first sentence {seconds:.1f}s "
                f"({'after warm-up' if warmed else 'cold'}) {faq['title']}")
    return out


async def library_calls(args) -> None:
    """Utterly and the baseline called from Python on the loaded model; prints both
    tables."""
    sizes = [int(x) for x in args.n.split(",")]
    faqs = load_faqs(args.faqs)
    provider = create_provider(ProviderConfig(provider="local", model=args.model,
                                              timeout_s=600))
    embeddings = create_embeddings("local")
    profile = Profile()
    profile.install(embeddings)
    load_started = time.perf_counter()
    await provider.check()
    await embeddings.embed(["warm up"])
    load_s = time.perf_counter() - load_started
    for locale in sorted({f["locale"] for f in faqs}):
        warm = next(f for f in faqs if f["locale"] == locale)
        for system in SYSTEMS.values():  # the fixed prompt prefix, lingua's models
            await system(provider, embeddings, warm, 2, args.seed + 999)

    results: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    wall = time.perf_counter()
    for faq in faqs:
        for n in sizes:
            for name, system in SYSTEMS.items():
                profile.enabled = name == "utterly"
                out = await system(provider, embeddings, faq, n, args.seed)
                profile.enabled = False
                results[(name, faq["locale"], n)].append(out)
                log(f"{name:8} {faq['locale']} n={n:2} {out['seconds']:5.1f}s "
                    f"valid {out['valid']}/{n} ({out['lines']} written, "
                    f"{out['attempts']} call(s)) {faq['title']}")
    wall = time.perf_counter() - wall

    print(f"## Generation speed ({date.today().isoformat()}, {platform.machine()}, "
          f"{args.model}, {len(faqs)} FAQs, seed {args.seed}; model loaded in {load_s:.1f} s "
          f"before the clock)\n")
    print("| system | lang | n | median s | median s to 1st sentence | valid / requested "
          "| s per valid sentence | × baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for locale in sorted({f["locale"] for f in faqs}):
        for n in sizes:
            per_valid = {}
            for name in SYSTEMS:
                rows = results[(name, locale, n)]
                valid = sum(r["valid"] for r in rows)
                per_valid[name] = sum(r["seconds"] for r in rows) / max(1, valid)
            for name in SYSTEMS:
                rows = results[(name, locale, n)]
                firsts = [r["first"] for r in rows if r["first"] is not None]
                first = f"{statistics.median(firsts):.1f}" if firsts else "–"
                valid = sum(r["valid"] for r in rows)
                ratio = per_valid[name] / per_valid["baseline"]
                print(f"| {name} | {locale} | {n} | "
                      f"{statistics.median(r['seconds'] for r in rows):.1f} | {first} | "
                      f"{valid}/{n * len(rows)} | {per_valid[name]:.2f} | {ratio:.2f} |")
    total = sum(sum(r["seconds"] for r in rows) for (name, _, _), rows in results.items()
                if name == "utterly")
    print(f"\nWhere Utterly's {total:.0f} s went (all calls). The filters judge each sentence "
          "while the model writes the next ones, so their time overlaps decoding:\n")
    print("| part | seconds | share of the wall time |")
    print("|---|---|---|")
    llama = ["prompt reading (llama.cpp)", "decoding (llama.cpp)"]
    for part in llama + ["embeddings", "language detection"]:
        print(f"| {part} | {profile.seconds[part]:.1f} | {profile.seconds[part] / total:.0%} |")
    rest = total - sum(profile.seconds[p] for p in llama)
    print(f"| outside llama.cpp (rendering, the last judgements, Python) | {rest:.1f} | "
          f"{rest / total:.0%} |")
    read, cached = (profile.seconds["prompt tokens read"],
                    profile.seconds["prompt tokens from cache"])
    print(f"\nPrompt tokens: {read:.0f} read, {cached:.0f} restored from the prefix cache "
          f"({cached / max(1, read + cached):.0%}). Wall time {wall / 60:.1f} min.")
    await provider.aclose()


async def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--faqs", type=int, default=6, help="FAQs per language")
    parser.add_argument("--n", default="5,10", help="sentences asked, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--studio", type=int, default=4, metavar="FAQS",
                        help="also time the first sentence in a real Studio for this many "
                             "FAQs (0: skip)")
    parser.add_argument("--studio-only", action="store_true",
                        help="only the Studio's first-sentence timings")
    args = parser.parse_args(argv)
    if not args.studio_only:
        await library_calls(args)
    if args.studio:
        rows = studio_first_sentence(load_faqs(args.studio + 1), args.model, 10)
        print("\nIn the Studio (HTTP, SQLite, n = 10): seconds from the click to the first "
              "kept sentence on the page's event stream, each FAQ's prompt new to the model\n")
        print("| FAQ | when clicked | seconds |")
        print("|---|---|---|")
        for title, warmed, seconds in rows:
            print(f"| {title} | {'after the dialog warm-up' if warmed else 'cold'} | "
                  f"{seconds:.1f} |")
        for warmed in (False, True):
            picked = [r[2] for r in rows if r[1] == warmed]
            if picked:
                print(f"| median, {'after warm-up' if warmed else 'cold'} | | "
                      f"{statistics.median(picked):.1f} |")

if __name__ == "__main__":
    asyncio.run(main())
