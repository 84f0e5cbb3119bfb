"""Could the local model itself tell faithful candidates from drifted ones? It is asked,
for each candidate of the labelled set (bench/data/fidelity.jsonl), whether the candidate
asks what the FAQ's examples ask, and the margin log p(yes) − log p(no) of its first token
is the score. Prints the AUC between faithful and drifted, then, alone and after the
pipeline's filters, the share of faithful kept and of drifted rejected per threshold, and
the time per candidate (the prompt shares its start per FAQ, as it would in the pipeline).

    .venv/bin/python bench/meaning_judge.py [--model qwen2.5-coder-1.5b] [--prompt other-faqs]

Never asserts; measured 2026-12-01, docs/quality.md. Not part of the pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np
from fidelity import ROOT, faq_index, judge  # bench/ is the script's own directory

from utterly.catalogue import resolve_model_path
from utterly.embeddings import create_embeddings

PROMPTS = {
    "same-thing": ("Does the new message below ask the same thing, so that the FAQ's answer "
                   "fits it?\nNew message: {text}"),
    "other-faqs": ("Its other FAQs: {others}.\nWould a user who sends the message below be "
                   "helped by this FAQ's answer, and not rather by another FAQ or none?\n"
                   "Message: {text}"),
}


def chat(faq: dict, text: str, prompt: str) -> str:
    examples = "\n".join(f"- {s}" for s in faq["sentences"])
    others = "; ".join(o["name"] for o in faq["others"][:12])
    question = PROMPTS[prompt].format(text=text, others=others)
    return ("<|im_start|>system\nYou check the messages that users send to a chatbot."
            "<|im_end|>\n<|im_start|>user\n"
            f'A chatbot has an FAQ "{faq["title"]}". Users ask it like this:\n{examples}\n'
            f"{question}\nAnswer yes or no.<|im_end|>\n<|im_start|>assistant\n")


class Judge:
    def __init__(self, model: str):
        import llama_cpp

        _, path = resolve_model_path(model)
        self.llm = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=2, verbose=False)
        first = [self._tokens(w)[0] for w in ("yes", "Yes", " yes", " Yes", "no", "No",
                                                " no", " No")]
        self.yes, self.no = first[:4], first[4:]

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def margin(self, text: str) -> float:
        """log p(yes) − log p(no), reading only what differs from the previous prompt."""
        tokens = self._tokens(text)
        llm = self.llm
        shared = 0
        for a, b in zip(llm.input_ids[:llm.n_tokens].tolist(), tokens):
            if a != b:
                break
            shared += 1
        llm.n_tokens = min(shared, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens:])
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        return float(np.logaddexp.reduce(logits[self.yes])
                     - np.logaddexp.reduce(logits[self.no]))


async def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "data" / "fidelity.jsonl")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--prompt", choices=sorted(PROMPTS), default="same-thing")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.set.read_text("utf-8").splitlines() if line]
    rows = [r for r in rows if r["label"] in ("faithful", "drifted")]
    rows.sort(key=lambda r: r["faq"])
    index = faq_index()
    embeddings = create_embeddings("local")
    filters = [(await judge(index[r["faq"]], r["text"], embeddings))[0] for r in rows]
    await embeddings.aclose()
    model = Judge(args.model)
    started = time.perf_counter()
    margins = np.array([model.margin(chat(index[r["faq"]], r["text"], args.prompt))
                        for r in rows])
    seconds = (time.perf_counter() - started) / len(rows)
    faithful = np.array([r["label"] == "faithful" for r in rows])
    kept = np.array([f == "kept" for f in filters])
    f, d = margins[faithful], margins[~faithful]
    auc = (d[:, None] < f[None, :]).mean() + 0.5 * (d[:, None] == f[None, :]).mean()
    print(f"## The model as a meaning judge ({args.model}, prompt {args.prompt}: "
          f"{faithful.sum()} faithful, {(~faithful).sum()} drifted; {seconds:.2f} s per "
          f"candidate)\n\nAUC faithful vs drifted: {auc:.2f}\n")
    print("| threshold | faithful kept (judge alone) | drifted rejected (judge alone) "
          "| faithful kept (filters + judge) | drifted rejected (filters + judge) |")
    print("|---|---|---|---|---|")
    for threshold in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5):
        passes = margins > threshold
        both = passes & kept
        print(f"| {threshold:g} | {passes[faithful].mean():.0%} | "
              f"{1 - passes[~faithful].mean():.0%} | {both[faithful].mean():.0%} | "
              f"{1 - both[~faithful].mean():.0%} |")


if __name__ == "__main__":
    asyncio.run(main())
