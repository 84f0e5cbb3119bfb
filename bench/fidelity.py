"""How well do the filters tell faithful candidates from the others? Precision and recall of
each filter on a labelled set of real model output.

    .venv/bin/python bench/fidelity.py                 # score the filters on the labelled set
    .venv/bin/python bench/fidelity.py --collect OUT   # write new unlabelled candidates

The set is bench/data/fidelity.jsonl: candidates written by the default model
(Qwen2.5-Coder-1.5B) for the FAQs of bench/data/faqs.json (French and English bots written
by hand) and of bench/data/intent_bots.json (the first 20 intents of CLINC150 and BANKING77,
whose close neighbours give other-intent candidates), taken raw from its answers (before
any filter), then labelled by hand (bench/data/LABELLING.md), one of:

    faithful      asks what the FAQ's examples ask (typos, SMS and other wordings included)
    drifted       asks something else, or something vaguer or narrower that the FAQ's
                  answer does not answer, and no other FAQ of the bot
    other_intent  asks what another FAQ of the same bot asks (`other` names it)
    answer        the bot's side: an answer, a reply, the bot asking the user
    ungrammatical faithful in meaning, with a grammar or spelling mistake no option asked for
    copy          an example again, at most with case, punctuation or one small word changed

Each candidate is judged alone, as the pipeline judges it: with the FAQ's examples and
title, and the bot's other FAQs. Prints, per label, what the filters did (kept, or the
rejection reason), then per filter its precision (of what it rejected, the share that had
to go) and recall, and the two figures that matter: the share of drifted and other-intent
candidates rejected, and the share of faithful ones kept. Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from utterly.clean import Cleaner, thresholds_for
from utterly.embeddings import create_embeddings
from utterly.normalize import normalize
from utterly.parse import ItemReader
from utterly.prompt import render_request
from utterly.providers import ProviderConfig, create_provider
from utterly.request import GenerationRequest, OtherIntent

ROOT = Path(__file__).resolve().parent
LABELS = ("faithful", "drifted", "other_intent", "answer", "ungrammatical", "copy")
# Words of the default template (and of the worked example it once had) that no user asks
# with: seen in a candidate, the prompt leaked into the output.
TEMPLATE_WORDS = ("parcel", "colis", "rewrite", "chatbot", "numbered", "quotes", "comments",
                  "subject")
BAD = ("drifted", "other_intent", "answer", "ungrammatical", "copy")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


BOT_FILES = ("faqs.json", "intent_bots.json")


def faq_index() -> dict[str, dict]:
    """FAQ title -> the FAQ, its locale and the other FAQs of its bot."""
    bots = [bot for name in BOT_FILES if (ROOT / "data" / name).is_file()
            for bot in json.loads((ROOT / "data" / name).read_text("utf-8"))["bots"]]
    index = {}
    for bot in bots:
        for faq in bot["faqs"]:
            if faq["title"] in index:
                raise SystemExit(f"two FAQs titled {faq['title']!r}: titles name FAQs here")
            index[faq["title"]] = {
                **faq, "bot": bot["name"], "locale": bot["locale"],
                "others": [{"name": o["title"], "sentences": o["sentences"]}
                           for o in bot["faqs"] if o is not faq]}
    return index


def cleaner_for(faq: dict, embeddings) -> Cleaner:
    return Cleaner(inputs=list(faq["sentences"]), locale=faq["locale"], embeddings=embeddings,
                   thresholds=thresholds_for(embeddings.model), title=faq["title"],
                   other_intents=[OtherIntent(**o) for o in faq["others"]])


async def judge(faq: dict, text: str, embeddings) -> tuple[str, float | None]:
    """The pipeline's verdict on one candidate: "kept" or the rejection reason, and the
    similarity to the examples a kept one carries (None for a rejected one)."""
    cleaner = cleaner_for(faq, embeddings)
    rejected = await cleaner.add([text])
    if rejected:
        return str(rejected[0].reason), None
    return "kept", cleaner.kept[0].scores.get("similarity")


# Cuts on the similarity a kept candidate carries: would a stricter one than the drift
# threshold tell the Studio's reviewer which kept candidates are faithful?
SIMILARITY_CUTS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def similarity_cuts(kept: list[tuple[str, float]]) -> None:
    faithful = [s for label, s in kept if label == "faithful"]
    others = [s for label, s in kept if label != "faithful"]
    print("\n| similarity ≥ | faithful kept | others kept | share faithful |")
    print("|---|---|---|---|")
    for cut in (None, *SIMILARITY_CUTS):
        f = sum(1 for s in faithful if cut is None or s >= cut)
        o = sum(1 for s in others if cut is None or s >= cut)
        print(f"| {'(drift threshold)' if cut is None else cut} | {f}/{len(faithful)} | "
              f"{o}/{len(others)} | {f / max(1, f + o):.1%} |")


async def score(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    index = faq_index()
    embeddings = create_embeddings("local")
    outcome: dict[str, Counter] = defaultdict(Counter)
    verdicts = []
    kept: list[tuple[str, float]] = []
    for row in rows:
        verdict, similarity = await judge(index[row["faq"]], row["text"], embeddings)
        outcome[row["label"]][verdict] += 1
        verdicts.append((row, verdict))
        if similarity is not None:
            kept.append((row["label"], similarity))
    languages = Counter(index[r["faq"]]["locale"] for r in rows)
    print(f"## Filters on the labelled set ({len(rows)} candidates: "
          + ", ".join(f"{n} {lang}" for lang, n in sorted(languages.items())) + ")\n")
    reasons = sorted({v for c in outcome.values() for v in c if v != "kept"})
    print("| label | candidates | kept | " + " | ".join(reasons) + " |")
    print("|---|---|---|" + "---|" * len(reasons))
    for label in LABELS:
        c = outcome[label]
        total = sum(c.values())
        if total:
            print(f"| {label} | {total} | {c['kept']} | "
                  + " | ".join(str(c[r]) for r in reasons) + " |")
    print("\n| filter (reason) | rejected | of which had to go | precision | recall on "
          "what it is for |")
    print("|---|---|---|---|---|")
    meant = {"drifted_meaning": ("drifted", "answer"), "other_intent": ("other_intent",),
             "bot_voice": ("answer",), "copy_of_input": ("copy",),
             "near_duplicate": (), "duplicate": (), "wrong_language": (), "too_long": ()}
    for reason in reasons:
        rejected = [(r, v) for r, v in verdicts if v == reason]
        bad = sum(1 for r, _ in rejected if r["label"] in BAD)
        targets = meant.get(reason, ())
        target_total = sum(1 for r, _ in verdicts if r["label"] in targets)
        caught = sum(1 for r, v in verdicts if r["label"] in targets and v == reason)
        recall = f"{caught / target_total:.0%} of {'/'.join(targets)}" if target_total else "–"
        print(f"| {reason} | {len(rejected)} | {bad} | {bad / len(rejected):.0%} | {recall} |")
    faithful = outcome["faithful"]
    off = outcome["drifted"] + outcome["other_intent"]
    off_total = sum(off.values())
    print(f"\nFaithful candidates kept: {faithful['kept']}/{sum(faithful.values())} = "
          f"{faithful['kept'] / max(1, sum(faithful.values())):.0%} (target ≥ 90 %).")
    print(f"Drifted and other-intent candidates rejected: {off_total - off['kept']}/{off_total} "
          f"= {(off_total - off['kept']) / max(1, off_total):.0%} (target ≥ 90 %).")
    leaks = [r["text"] for r in rows
             if (set(normalize(r["text"]).split()) & set(TEMPLATE_WORDS))
             - set(normalize(" ".join(index[r["faq"]]["sentences"])).split())]
    print(f"Candidates using the template's own wording ({', '.join(TEMPLATE_WORDS)}) where "
          f"the FAQ's examples do not: {len(leaks)}" + (f" ({leaks[:3]})" if leaks else "") + ".")
    answers = outcome["answer"]
    print(f"Answers rejected: {sum(answers.values()) - answers['kept']}/{sum(answers.values())}; "
          f"copies rejected: {sum(outcome['copy'].values()) - outcome['copy']['kept']}/"
          f"{sum(outcome['copy'].values())}.")
    similarity_cuts(kept)
    await embeddings.aclose()


async def collect(out: Path, model: str, per_faq: int, seed: int, locale: str | None,
                  labelled: Path) -> None:
    """Raw candidates of the default prompt, every stream, before any filter; none that the
    labelled set already holds for the same FAQ."""
    provider = create_provider(ProviderConfig(provider="local", model=model, timeout_s=900))
    rng = random.Random(seed)
    rows = labelled.read_text("utf-8").splitlines() if labelled.is_file() else []
    known = {(r["faq"], normalize(r["text"])) for r in map(json.loads, filter(str.strip, rows))}
    with out.open("w", encoding="utf-8") as f:
        for title, faq in faq_index().items():
            if locale and faq["locale"] != locale:
                continue
            for context in (True, False):
                request = GenerationRequest.build(
                    sentences=faq["sentences"], locale=faq["locale"], n=10,
                    **({"title": title, "answer": faq["answer"]} if context else {}))
                prompts = [render_request(request, nb_sentences=6, stream=i,
                                          streams=4).messages for i in range(4)]
                stream = provider.stream(prompts, temperature=0.9, max_tokens=300,
                                         seed=seed + (0 if context else 1))
                async with stream:
                    async for _ in stream:
                        pass
                seen, candidates = set(), []
                for text in stream.texts:
                    reader = ItemReader("1.")
                    items = reader.feed(text + "\n")
                    for item in items:
                        if normalize(item) not in seen and (title, normalize(item)) not in known:
                            seen.add(normalize(item))
                            candidates.append(item)
                for text in rng.sample(candidates, min(per_faq // 2, len(candidates))):
                    f.write(json.dumps({"faq": title, "text": text, "label": "",
                                        "other": None}, ensure_ascii=False) + "\n")
                log(f"{title} ({'with' if context else 'without'} context): "
                    f"{len(candidates)} distinct candidates")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "data" / "fidelity.jsonl")
    parser.add_argument("--collect", type=Path, default=None,
                        help="write unlabelled candidates here instead of scoring")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--per-faq", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--locale", default=None, help="collect for this language's FAQs only")
    args = parser.parse_args(argv)
    if args.collect:
        asyncio.run(collect(args.collect, args.model, args.per_faq, args.seed, args.locale,
                            args.set))
    else:
        asyncio.run(score(args.set))


if __name__ == "__main__":
    main()
