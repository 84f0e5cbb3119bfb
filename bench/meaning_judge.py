"""Could the local model itself tell faithful candidates from the others? For each candidate
of the labelled set (bench/data/fidelity.jsonl) it is asked several questions; each answer's
score is read from its first token (log p(yes) − log p(no), or, for the multiple choice,
log p(this FAQ) − log p(the best other choice)). Prints, per question and for the questions
combined, the AUC between faithful and bad candidates (drifted, other intent, the bot's
voice, ungrammatical), and the share of bad ones let through when 90 % of the faithful are
kept, on top of the pipeline's filters, with thresholds chosen on the other bots (each bot
held out in turn), and the time per candidate.

    .venv/bin/python bench/meaning_judge.py [--model qwen2.5-coder-1.5b] [--questions …]

Answers are cached in bench/.cache/ (not committed) by model, question and candidate, so a
second run only analyses. Never asserts; docs/quality.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from pathlib import Path

import numpy as np
from fidelity import ROOT, faq_index, judge  # bench/ is the script's own directory

from utterly.catalogue import resolve_model_path
from utterly.embeddings import create_embeddings

BAD = ("drifted", "other_intent", "answer", "ungrammatical")
LANGUAGES = {"fr": "French", "en": "English"}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHOICES = 8  # the FAQ, its nearest others by the embedder, and "none of them"


def examples(faq: dict) -> str:
    return "\n".join(f"- {s}" for s in faq["sentences"])


def yes_no(faq: dict, body: str) -> str:
    return ("<|im_start|>system\nYou check the messages that users send to a chatbot."
            "<|im_end|>\n<|im_start|>user\n"
            f'A chatbot has an FAQ "{faq["title"]}". Users ask it like this:\n'
            f"{examples(faq)}\n{body}\nAnswer yes or no.<|im_end|>\n<|im_start|>assistant\n")


QUESTIONS = {
    "same": lambda faq, text, _: yes_no(faq, (
        "Does the new message below ask the same thing, so that the FAQ's answer fits "
        f"it?\nNew message: {text}")),
    "answer": lambda faq, text, _: yes_no(faq, (
        f"The FAQ's answer: {faq['answer']}\nIs the new message below a user asking for "
        f"exactly this answer (not something else, nothing vaguer)?\nNew message: {text}")),
    "user": lambda faq, text, _: yes_no(faq, (
        "Is the new message below written by a user to the chatbot, and not a reply or a "
        f"question of the chatbot to the user?\nNew message: {text}")),
    "grammar": lambda faq, text, _: yes_no(faq, (
        f"Is the new message below correct {LANGUAGES.get(faq['locale'], faq['locale'])}, "
        f"with no grammar or spelling mistake?\nNew message: {text}")),
    "choice": lambda faq, text, options: (
        "<|im_start|>system\nYou route the messages that users send to a chatbot."
        "<|im_end|>\n<|im_start|>user\nThe chatbot's FAQs:\n"
        + "".join(f"{LETTERS[i]}. {o}\n" for i, o in enumerate(options))
        + f"{LETTERS[len(options)]}. None of them: the message asks something else\n"
        f"Which one answers this message? {text}\nAnswer with the letter only."
        "<|im_end|>\n<|im_start|>assistant\n"),
}


# A question answered by the likelihood of the candidate's own tokens rather than by a
# yes/no: "fluent" is the least likely of its tokens after a neutral start (would a grammar
# slip such as "mon commande" be a token the model did not expect? Measured: no).
LIKELIHOOD = ("fluent",)


def neutral(faq: dict) -> str:
    language = LANGUAGES.get(faq["locale"], faq["locale"])
    return (f"<|im_start|>system\nUsers write to a chatbot in {language}.<|im_end|>\n"
            "<|im_start|>user\n")


class Likelihood:
    def __init__(self, model: str):
        import llama_cpp

        _, path = resolve_model_path(model)
        self.llm = llama_cpp.Llama(str(path), n_ctx=768, n_threads=2, logits_all=True,
                                   verbose=False)

    def logprobs(self, start: str, text: str) -> np.ndarray:
        """log p of each of `text`'s tokens after `start` (the start read once per change)."""
        llm = self.llm
        head = llm.tokenize(start.encode(), add_bos=False, special=True)
        body = llm.tokenize(text.encode(), add_bos=False, special=False)
        tokens = head + body
        shared = 0
        for a, b in zip(llm.input_ids[:llm.n_tokens].tolist(), tokens):
            if a != b:
                break
            shared += 1
        llm.n_tokens = min(shared, len(head))
        llm.eval(tokens[llm.n_tokens:])
        scores = np.asarray(llm.scores[len(head) - 1:len(tokens) - 1])
        norm = np.logaddexp.reduce(scores, axis=1)
        return scores[np.arange(len(body)), body] - norm

    def score(self, question: str, faq: dict, text: str) -> float:
        plain = self.logprobs(neutral(faq), text)
        return float(np.sort(plain[1:])[0]) if len(plain) > 1 else 0.0


class Model:
    def __init__(self, model: str):
        import llama_cpp

        _, path = resolve_model_path(model)
        self.llm = llama_cpp.Llama(str(path), n_ctx=4096, n_threads=2, verbose=False)
        first = [self._tokens(w)[0] for w in ("yes", "Yes", "no", "No")]
        self.yes, self.no = first[:2], first[2:]
        self.letters = [self._tokens(c)[0] for c in LETTERS]

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def logits(self, prompt: str) -> np.ndarray:
        """The next token's logits, reading only what differs from the previous prompt."""
        tokens = self._tokens(prompt)
        llm = self.llm
        shared = 0
        for a, b in zip(llm.input_ids[:llm.n_tokens].tolist(), tokens):
            if a != b:
                break
            shared += 1
        llm.n_tokens = min(shared, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens:])
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def score(self, question: str, prompt: str, options: int, own: int) -> float:
        logits = self.logits(prompt)
        if question != "choice":
            return float(np.logaddexp.reduce(logits[self.yes])
                         - np.logaddexp.reduce(logits[self.no]))
        letters = logits[self.letters[:options + 1]]
        return float(letters[own] - np.delete(letters, own).max())


def choices(faq: dict, embed) -> list[str]:
    """The FAQ and its nearest other FAQs by title and examples, in alphabetical order so
    that the FAQ's letter is not always the same one (a small model favours some)."""
    own = embed(faq["title"] + ". " + " ".join(faq["sentences"]))
    near = sorted(faq["others"], key=lambda o: -float(own @ embed(
        o["name"] + ". " + " ".join(o["sentences"]))))
    return sorted([faq["title"], *[o["name"] for o in near[:CHOICES - 2]]])


async def features(rows, index, model_name, questions, cache_path: Path) -> dict:
    cache = json.loads(cache_path.read_text("utf-8")) if cache_path.is_file() else {}
    embeddings = create_embeddings("local")
    vectors: dict[str, np.ndarray] = {}

    texts = sorted({f["title"] + ". " + " ".join(f["sentences"]) for f in index.values()}
                   | {o["name"] + ". " + " ".join(o["sentences"])
                      for f in index.values() for o in f["others"]})
    for text, vector in zip(texts, await embeddings.embed(texts)):
        vectors[text] = np.asarray(vector) / np.linalg.norm(vector)
    filters = {}
    for r in rows:
        verdict, similarity = await judge(index[r["faq"]], r["text"], embeddings)
        filters[r["faq"], r["text"]] = (verdict, similarity)
    await embeddings.aclose()
    options = {title: choices(faq, vectors.__getitem__) for title, faq in index.items()}
    model = None
    seconds: dict[str, float] = {}
    for question in questions:
        key = f"{model_name}|{question}"
        answers = cache.setdefault(key, {})
        todo = [r for r in rows if f"{r['faq']}|{r['text']}" not in answers]
        if todo:
            if question in LIKELIHOOD:
                model = model if isinstance(model, Likelihood) else Likelihood(model_name)
            else:
                model = model if isinstance(model, Model) else Model(model_name)
            started = time.perf_counter()
            for r in sorted(todo, key=lambda r: r["faq"]):
                faq, opts = index[r["faq"]], options[r["faq"]]
                key = f"{r['faq']}|{r['text']}"
                if question in LIKELIHOOD:
                    answers[key] = model.score(question, faq, r["text"])
                else:
                    answers[key] = model.score(question, QUESTIONS[question](
                        faq, r["text"], opts), len(opts), opts.index(faq["title"]))
                if len(answers) % 50 == 0:  # a long run can be stopped and taken up again
                    save(cache_path, cache)
            seconds[question] = (time.perf_counter() - started) / len(todo)
            save(cache_path, cache)
    return {"filters": filters, "answers": {q: cache[f"{model_name}|{q}"] for q in questions},
            "seconds": seconds}


def save(path: Path, cache: dict) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(cache, ensure_ascii=False), "utf-8")


def auc(good: np.ndarray, bad: np.ndarray) -> float:
    return float((bad[:, None] < good[None, :]).mean()
                 + 0.5 * (bad[:, None] == good[None, :]).mean())


def threshold_for(scores: np.ndarray, keep: float) -> float:
    """The highest threshold that still passes `keep` of these (faithful) scores."""
    return float(np.quantile(scores, 1 - keep)) if len(scores) else -np.inf


def held_out(table: np.ndarray, good: np.ndarray, kept: np.ndarray, bots: np.ndarray,
             keep: float = 0.90) -> tuple[float, float]:
    """All questions must pass (an AND of thresholds). The thresholds are chosen on the
    other bots: per column, the same quantile of the faithful candidates the filters keep,
    raised together until `keep` of them pass everything. Returns (faithful kept, bad
    passed) over the held-out bots, after the filters."""
    passed = np.zeros(len(good), dtype=bool)
    for bot in np.unique(bots):
        train, test = (bots != bot) & kept, bots == bot
        cuts = None
        for q in np.linspace(0.0, 0.5, 101):
            trial = np.array([np.quantile(table[train & good, j], q)
                              for j in range(table.shape[1])])
            if (table[train & good] > trial).all(axis=1).mean() < keep:
                break
            cuts = trial
        cuts = cuts if cuts is not None else np.full(table.shape[1], -np.inf)
        passed[test] = (table[test] > cuts).all(axis=1) & kept[test]
    return float(passed[good].mean()), float(passed[~good].mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "data" / "fidelity.jsonl")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--questions", default=",".join([*QUESTIONS, *LIKELIHOOD]))
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "meaning_judge.json")
    args = parser.parse_args(argv)
    questions = args.questions.split(",")
    rows = [json.loads(line) for line in args.set.read_text("utf-8").splitlines() if line]
    rows = [r for r in rows if r["label"] in ("faithful", *BAD)]
    index = faq_index()
    got = asyncio.run(features(rows, index, args.model, questions, args.cache))
    good = np.array([r["label"] == "faithful" for r in rows])
    kept = np.array([got["filters"][r["faq"], r["text"]][0] == "kept" for r in rows])
    bots = np.array([index[r["faq"]]["bot"] for r in rows])
    table = np.array([[got["answers"][q][f"{r['faq']}|{r['text']}"] for q in questions]
                      for r in rows])
    print(f"## The model as a meaning judge ({args.model}; {good.sum()} faithful, "
          f"{(~good).sum()} bad: " + ", ".join(
              f"{sum(r['label'] == b for r in rows)} {b}" for b in BAD) + ")\n")
    print(f"Filters alone: {kept[good].mean():.0%} of the faithful kept, "
          f"{kept[~good].mean():.0%} of the bad passed.\n")
    print("| questions | s / candidate | AUC | faithful kept | bad passed | "
          + " | ".join(f"{b} passed" for b in BAD) + " |")
    print("|---|---|---|---|---|" + "---|" * len(BAD))
    for size in range(1, len(questions) + 1):
        for combo in itertools.combinations(range(len(questions)), size):
            sub = table[:, combo]
            z = (sub - sub[good].mean(axis=0)) / (sub[good].std(axis=0) + 1e-9)
            worst = z.min(axis=1)
            f, b = held_out(sub, good, kept, bots)
            passed_by = []
            for label in BAD:
                mask = np.array([r["label"] == label for r in rows])
                one = held_out(sub[mask | good], good[mask | good], kept[mask | good],
                               bots[mask | good])[1]
                passed_by.append(f"{one:.0%}" if mask.any() else "–")
            secs = sum(got["seconds"].get(questions[j], float("nan")) for j in combo)
            print(f"| {'+'.join(questions[j] for j in combo)} | {secs:.2f} | "
                  f"{auc(worst[good], worst[~good]):.2f} | {f:.0%} | {b:.0%} | "
                  + " | ".join(passed_by) + " |")


if __name__ == "__main__":
    main()
