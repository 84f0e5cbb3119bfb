"""Few-shot benchmark: do generated sentences help an intent classifier that has only k
human examples per intent? CLINC150 and BANKING77 (public, English; see
../shared/datasets/README.md) and massive_fr, 20 French intents of MASSIVE (public; a copy
in bench/data/massive_fr/, see its SOURCE.md).

    .venv/bin/python bench/fewshot.py                # 20 intents, k=3, seeds 0,1,2, Qwen, n=10
    .venv/bin/python bench/fewshot.py --variants baseline,default,situations
    .venv/bin/python bench/fewshot.py --variants baseline,bridge,bridge-tock-prompt,tock
    .venv/bin/python bench/fewshot.py --quick        # smoke run: 5 intents, 1 seed, smollm2
    .venv/bin/python bench/fewshot.py --datasets massive_fr   # the French set only

Protocol, per dataset and per seed: take the first N intents by sorted name (or a fixed
random subset, `--subset random`), sample k training sentences per intent (the seeds), give
the k seeds of an intent to ONE generate call asking for n sentences, then train the built-in
classifier (utterly.nlu) on seeds only, on seeds + each variant's sentences, and on the full
training set of those intents, and score them all on the official test split restricted to
those intents. The generate calls get the dataset's locale (`en`, or `fr` for massive_fr),
the baseline prompt its language.

Variants, compared in the same run on the same seeds (see VARIANTS): `baseline` is one call
to the same model with a simple numbered-list prompt, no filter and no retry (the shape of
Tock's own feature); `default` is Utterly as the Studio calls it, with the intent's name as
the FAQ's title and the other intents' seed sentences as the bot's other FAQs; the others
change one thing. `bridge`, `bridge-tock-prompt` and `tock` send what Tock Studio's "Generate
sentences" pop-up sends (the seeds, locale, n, no option, Tock's default template; no title,
no other FAQs), over HTTP on 127.0.0.1, to `utterly tock-bridge` in server mode with
Utterly's prompt or Tock's, and to Tock's real Gen AI orchestrator on llama.cpp's
OpenAI-compatible server serving the same model file (bench/_tock.py; started on their
first call, stopped at the end, logs in <cache>/fewshot/servers/).

Generation seeds: the bench seed is the generation seed of `baseline` and Utterly's
variants, and reaches Tock's orchestrator's model through a proxy that adds it to each chat
request (Tock sends none). The bridge cannot be given one (Tock's contract has no seed
field): it draws a random one per call, so its cached sentences are one draw and a
`--no-cache` run gives other ones.

Prints one table per dataset: accuracy (mean ± sample std over the seeds), the paired gain
in points with its value per seed, macro-F1 and the median seconds per generate call, then
each variant's yield. Progress goes to stderr.

Generated sentences are cached in <cache>/fewshot/ (cache = $UTTERLY_CACHE_DIR, else
~/.cache/utterly), keyed by variant, dataset, intent, seed sentences, provider, model, base
URL, n, temperature, generation seed, locale, the prompts the model reads and the source of the
filters, the retry loop and the local engine (the bridge variants: also the bridge's code
and deadline; `tock`: Tock's template, its orchestrator's code and pinned requirements,
llama-cpp-python's version), so re-runs that only change the classifier or the report
regenerate nothing; `--no-cache` regenerates (and overwrites the entries).
Timings of cached entries are those of the run that wrote them; the bridge and Tock's
orchestrator are timed end to end over HTTP. Never asserts: the figures go in docs/nlu.md.
"""

from __future__ import annotations

import argparse
import ast
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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import _select
import _tock
import numpy as np

from utterly import clean, pipeline, topic, voice
from utterly.catalogue import cache_dir
from utterly.embeddings import create_embeddings
from utterly.errors import UtterlyError
from utterly.generation import agenerate
from utterly.nlu import Example, compare
from utterly.normalize import normalize
from utterly.parse import parse_sentences
from utterly.prompt import LANGUAGE_NAMES, default_template, render_request, template_version
from utterly.providers import ProviderConfig, create_provider, local, local_engine
from utterly.request import GenerationRequest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
# The copies that live in the project (public data small enough to ship, with its licence)
BENCH_DATA = ROOT / "bench" / "data"
# Each dataset and the locale of its sentences: what the generate calls are told, and the
# baseline prompt's language (utterly.prompt.LANGUAGE_NAMES).
DATASETS = {"clinc150": "en", "banking77": "en", "massive_fr": "fr"}
CACHE_VERSION = 2


def _code_of(module) -> str:
    """A module's code without its imports and comments: reordering imports or rewording a
    comment changes no sentence, so it must not throw the cache away."""
    tree = ast.parse(inspect.getsource(module))
    tree.body = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    return ast.dump(tree)


# What decides which candidates survive: a change to the filters or the retry loop must not
# reuse sentences kept by the old code.
PIPELINE_VERSION = hashlib.sha256(
    "".join(_code_of(m) for m in (clean, pipeline, voice, topic, local, local_engine)
            ).encode()).hexdigest()[:12]


def bridge_version() -> str:
    """PIPELINE_VERSION and the code of the bridge and of its translation of Tock's request
    (routes, service, Tock's prompt rendering): what decides the bridge's answer."""
    from utterly import generation
    from utterly.tock import contract, translate
    from utterly.tock import prompt as tock_prompt
    from utterly.tock_bridge import app, config, service

    modules = (generation, contract, translate, tock_prompt, app, config, service)
    return hashlib.sha256((PIPELINE_VERSION + "".join(_code_of(m) for m in modules)
                           ).encode()).hexdigest()[:12]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------

def load_dataset(name: str, data_dir: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, test) as [(text, intent), ...], in file order. Out-of-scope CLINC150 queries
    (oos_*) are not used: the protocol is about in-scope intents. CLINC150 and BANKING77
    are read from data_dir, massive_fr from its copy in bench/data/."""
    if name == "clinc150":
        data = json.loads((data_dir / "clinc150" / "data_full.json").read_text("utf-8"))
        return ([(t, i) for t, i in data["train"]], [(t, i) for t, i in data["test"]])
    if name == "banking77":
        def read(split):
            with open(data_dir / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as f:
                return [(row["text"], row["category"]) for row in csv.DictReader(f)]
        return read("train"), read("test")
    if name == "massive_fr":
        def read_lines(split):
            lines = (BENCH_DATA / "massive_fr" / f"{split}.jsonl").read_text("utf-8").splitlines()
            return [(row["text"], row["intent"]) for row in map(json.loads, lines)]
        return read_lines("train"), read_lines("test")
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


# -- variants --------------------------------------------------------------------------------

# What each variant changes. `baseline` is the simple prompt a bot builder could write
# (Tock's own feature has this shape): one call, a numbered list, no filter, no retry, the
# same model. The others go through Utterly's pipeline.
def _asked(kinds: list[str]) -> str:
    """A request line asking each answer for another kind of message."""
    return ("{% set kinds = " + json.dumps(kinds) + " %}\nWrite {{ nb_sentences }} new ways "
            "to ask the same thing{{ kinds[stream % kinds|length] }}.")


VARIANTS: dict[str, dict] = {
    "baseline": {"kind": "baseline"},
    # what the product does: the FAQ's title (the intent's name) and the bot's other FAQs
    # (the other intents' seed sentences) are passed, as the Studio passes them
    "default": {"kind": "utterly", "context": True},
    "no-context": {"kind": "utterly", "context": False},
    # examples only, the model first naming what they ask (utterly.topic), which the prompt
    # then takes as the FAQ's title
    "topic": {"kind": "utterly", "context": False, "infer_topic": True},
    # Tock Studio's "Generate sentences" pop-up, as Tock sends it (the selected sentences,
    # the locale, nb_sentences and the options: no title, no other FAQs; bench/_tock.py),
    # over HTTP to `utterly tock-bridge` in server mode on the bench's provider, Utterly's
    # prompt (the bridge's default) ...
    "bridge": {"kind": "bridge", "prompt": "utterly"},
    # ... or Tock's own template rendered by the bridge (`--prompt tock`)
    "bridge-tock-prompt": {"kind": "bridge", "prompt": "tock"},
    # ... or Tock's real Gen AI orchestrator, unchanged, with an OpenAI setting on llama.cpp's
    # OpenAI-compatible server serving the bench's local model file (--provider local only)
    "tock": {"kind": "tock"},
    # The default until 2026-12-01: each of the four answers asked for another kind of
    # message, "ways to ask" (90 % of its sentences were questions).
    "kinds": {"kind": "utterly", "context": True, "last_lines": _asked(
        ["", ", short ones", ", as questions", ", as requests"])},
    # the four answers asked the same thing, "ways to ask"
    "same-prompts": {"kind": "utterly", "context": True,
                     "last_lines": "\nWrite {{ nb_sentences }} new ways to ask the same thing."},
    # real users describe their situation rather than ask the FAQ's question
    "situations": {"kind": "utterly", "context": True, "last_lines": _asked(
        ["", ", where the user first says what happened to them",
         ", where the user explains their situation", ", as questions"])},
    # Users who ask the same thing name their own things: a test sentence books another
    # city, adds other numbers, names another shop. Paraphrases that keep the examples'
    # details teach the classifier those details instead of the request.
    "details": {"kind": "utterly", "context": True, "last_lines": (
        "\nWrite {{ nb_sentences }} new ways to say the same thing. Where a message gives "
        "details of its own (a place, a date, an amount, a name), use other details, as other "
        "users would.")},
    # The default until 2026-12-04: "new ways to say the same thing", nothing on the words.
    # Its sentences wrapped the examples' words in polite frames ("Could you please provide
    # me with...") where users use other words for the thing itself ("how much money do I
    # have" for a balance); the default now asks for everyday words without polite formulas.
    "say": {"kind": "utterly", "context": True,
            "last_lines": "\nWrite {{ nb_sentences }} new ways to say the same thing."},
    # `say`, asked to change the words for the thing itself rather than the frame around it
    "words": {"kind": "utterly", "context": True, "last_lines": (
        "\nWrite {{ nb_sentences }} new ways to say the same thing. Vary the words for what "
        "is asked (other everyday words, as different users would), not only the phrases "
        "around them.")},
}

# Over-generate, then choose (issue 23): a pool variant asks for `n` sentences in one call;
# a chosen variant takes `keep` of a pool's kept sentences by a method of bench/_select.py
# (no call of its own: it reads the pool's cache). `first` gives the n curve.
for _ctx, _suffix in ((True, ""), (False, "-nc")):
    for _size in (20, 40):
        VARIANTS[f"pool{_size}{_suffix}"] = {"kind": "utterly", "context": _ctx, "n": _size}
        for _method in _select.METHODS:
            for _keep in (10, 20):
                if _keep < _size:
                    VARIANTS[f"{_method}{_keep}-of-{_size}{_suffix}"] = {
                        "kind": "chosen", "from": f"pool{_size}{_suffix}", "select": _method,
                        "keep": _keep, "context": _ctx}

# Each answer asked for more than its share (the pipeline's `spare`; the default asks 2
# more), the run still ending when n are kept: the model plans a longer list.
VARIANTS["spare4"] = {"kind": "utterly", "context": True, "spare": 4}
VARIANTS["spare4-nc"] = {"kind": "utterly", "context": False, "spare": 4}

# Contrastive prompting (issue 23): the prompt names the 3 other FAQs closest to this one,
# each with one sentence, as questions not to ask (`PipelineSettings.neighbours`)
VARIANTS["neighbours3"] = {"kind": "utterly", "context": True, "neighbours": 3}
# The default until 2026-12-07: its rules and request in English for every language, "in
# French" for a French bot (bench/templates/english_rules.j2); the default now writes them
# in French for a French bot
VARIANTS["previous"] = {"kind": "utterly", "context": True, "neighbours": 0,
                        "template_file": "english_rules.j2"}
VARIANTS["previous-nc"] = {"kind": "utterly", "context": False, "neighbours": 0,
                           "template_file": "english_rules.j2"}

# The default template's last line, which the variants above replace.
DEFAULT_LAST_LINES = ("\nWrite {{ nb_sentences }} new ways to say the same thing, in the everyday "
                      "words other users would use, without polite formulas.")


def template_for(variant: str) -> str | None:
    """The default template with the variant's request line, or None (the default)."""
    template_file = VARIANTS[variant].get("template_file")
    if template_file:
        return (Path(__file__).parent / "templates" / template_file).read_text("utf-8")
    last_lines = VARIANTS[variant].get("last_lines")
    if last_lines is None:
        return None
    template = default_template()
    if DEFAULT_LAST_LINES not in template:
        raise SystemExit(f"variant {variant}: the default template's request line changed")
    return template.replace(DEFAULT_LAST_LINES, last_lines)

# The OpenAI setting Tock sends to the bridge: in server mode the bridge reads only its
# temperature, so this URL is never called.
BRIDGE_LLM_URL = "http://127.0.0.1:8080/v1"

BASELINE_PROMPT = ("Generate {n} sentences in {language} that mean the same thing as these "
                   "sentences:\n{examples}\nAnswer with a numbered list.")


def title_of(dataset: str, intent: str) -> str:
    """The FAQ's title a bot builder would write: a set's own titles when it has them
    (bench/data/<set>/titles.json: French titles for a French set), else the intent's name
    made readable."""
    path = BENCH_DATA / dataset / "titles.json"
    titles = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    return titles.get(intent) or humanize(intent)


def humanize(intent: str) -> str:
    """An intent name as a bot builder would title its FAQ: bill_balance -> Bill balance."""
    words = intent.replace("_", " ").replace("-", " ").split()
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


# -- generation, cached ----------------------------------------------------------------------

@dataclass
class Generated:
    sentences: list[str]
    requested: int
    latency_s: float
    attempts: int = 0
    cached: bool = False
    error: str | None = None


@dataclass
class Generator:
    args: argparse.Namespace
    template_version: str
    calls: Counter = field(default_factory=Counter)
    cached: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    fresh_seconds: Counter = field(default_factory=Counter)
    _provider: object = None
    _embeddings: object = None
    # the `bridge*` and `tock` variants: servers started on their first call, stopped by
    # aclose(), and the HTTP client that calls them as Tock Studio does
    _http: object = None
    _bridges: dict = field(default_factory=dict)
    _model_server: object = None
    _orchestrator: object = None
    _stamps: dict = field(default_factory=dict)

    def key(self, variant: str, dataset: str, intent: str, seeds: list[str], others: list,
            gen_seed: int) -> dict:
        a = self.args
        config = VARIANTS[variant]
        locale = DATASETS[dataset]
        key = {"v": CACHE_VERSION, "variant": variant, "config": config, "dataset": dataset,
               "intent": intent,
               "seeds_sha256": hashlib.sha256("\n".join(seeds).encode()).hexdigest(),
               "provider": a.provider, "model": a.model, "base_url": a.base_url,
               "n": self.n_of(variant), "temperature": a.temperature, "seed": gen_seed}
        if locale != "en":
            # The prompts hashed below carry the locale for the `utterly` and `bridge` kinds,
            # not for `baseline` (BASELINE_PROMPT is its template) nor `tock`. Left out for
            # English, the only locale before, so that its entries stay valid.
            key["locale"] = locale
        if config["kind"] == "utterly":
            # What the model reads (the first round's prompts), not the template's text: an
            # edit that does not change these prompts keeps the cache.
            n = self.n_of(variant)
            request = GenerationRequest.build(sentences=seeds, locale=locale, n=n,
                                              prompt_template=template_for(variant),
                                              **self.context(variant, title_of(dataset, intent), others))
            prompts = [render_request(request, nb_sentences=n, stream=i, streams=4).messages
                       for i in range(4)]
            key["prompts_sha256"] = hashlib.sha256(
                json.dumps(prompts, sort_keys=True).encode()).hexdigest()
            key["pipeline"] = PIPELINE_VERSION
            if config.get("context"):
                key["others_sha256"] = hashlib.sha256(
                    json.dumps(others, sort_keys=True).encode()).hexdigest()
        elif config["kind"] == "bridge":
            # What the model reads, as the bridge builds it from Tock's body; the bridge's
            # code and deadline. The bridge picks a random generation seed per call (Tock's
            # contract has none): an entry is one draw, not a function of this key.
            from utterly.tock import translate
            from utterly.tock.contract import CompletionRequest

            body = CompletionRequest.model_validate(
                self.tock_body(seeds, locale, BRIDGE_LLM_URL))
            request = translate.generation_request(
                body, use_tock_prompt=config["prompt"] == "tock")
            prompts = [render_request(request, nb_sentences=a.n, stream=i, streams=4).messages
                       for i in range(4)]
            key["prompts_sha256"] = hashlib.sha256(
                json.dumps(prompts, sort_keys=True).encode()).hexdigest()
            key["bridge"] = self.stamp("bridge", bridge_version)
            key["deadline_s"] = a.bridge_deadline
        elif config["kind"] == "tock":
            # Tock's orchestrator: its template, its code and pinned dependencies, the model
            # server; the bench seed reaches the model through the seed proxy (_tock.py)
            key["tock_template"] = _tock.sha256_of(self.stamp("template", _tock.default_prompt))
            key["orchestrator"] = self.stamp("orchestrator", _tock.orchestrator_version)
            key["llama_cpp"] = self.stamp("llama_cpp", _tock.llama_cpp_version)
            key["seeded"] = "proxy"
        else:
            key["prompt"] = BASELINE_PROMPT
        return key

    def n_of(self, variant: str) -> int:
        """Sentences the variant's call asks for: its own `n` (a pool to choose from, a
        point of the n curve), else --n."""
        return VARIANTS[variant].get("n", self.args.n)

    def stamp(self, name: str, compute):
        """A version computed once per run."""
        if name not in self._stamps:
            self._stamps[name] = compute()
        return self._stamps[name]

    def tock_body(self, seeds: list[str], locale: str, base_url: str) -> dict:
        """What Tock Studio sends for one click on "Generate": the seeds, the locale, n,
        no option, Tock's default template, the temperature."""
        return _tock.completion_body(seeds, locale=locale, nb_sentences=self.args.n,
                                     temperature=self.args.temperature, base_url=base_url,
                                     model=self.args.model or "model",
                                     template=self.stamp("template", _tock.default_prompt))

    @staticmethod
    def context(variant: str, title: str, others: list[dict]) -> dict:
        if VARIANTS[variant].get("context"):
            return {"title": title, "other_intents": others}
        return {}

    def path(self, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        return self.args.cache_dir / f"{key['dataset']}-{digest}.json"

    async def _open(self) -> None:
        if self._provider is None:
            a = self.args
            self._provider = create_provider(ProviderConfig(
                provider=a.provider, model=a.model, base_url=a.base_url, api_key=a.api_key,
                timeout_s=a.timeout))
            self._embeddings = create_embeddings("local")
            # Loaded before the clock starts, as in the Studio and `generate-all`.
            await self._provider.check()
            await self._embeddings.embed(["warm up"])

    async def generate(self, variant: str, dataset: str, intent: str, seeds: list[str],
                       others: list[dict], gen_seed: int) -> Generated:
        self.calls[variant] += 1
        config = VARIANTS[variant]
        if config["kind"] == "chosen":
            return await self._chosen(config, dataset, intent, seeds, others, gen_seed)
        return await self._generate(variant, dataset, intent, seeds, others, gen_seed)

    async def _generate(self, variant: str, dataset: str, intent: str, seeds: list[str],
                        others: list[dict], gen_seed: int, counted: bool = True) -> Generated:
        """The variant's call, from the cache or made; `counted`: in its variant's counts of
        cached and failed calls and fresh seconds (not when a chosen variant reads a pool
        that its own variant already counts)."""
        key = self.key(variant, dataset, intent, seeds, others, gen_seed)
        path = self.path(key)
        if not self.args.no_cache and path.is_file():
            entry = json.loads(path.read_text("utf-8"))
            if entry.get("key") == key:
                self.cached[variant] += counted
                return Generated(entry["sentences"], entry["requested"], entry["latency_s"],
                                 entry.get("attempts", 0), cached=True)
        config = VARIANTS[variant]
        locale = DATASETS[dataset]
        if config["kind"] in ("baseline", "utterly"):
            await self._open()
        else:
            await self._open_http(config)
        started = time.perf_counter()
        rejected: list[dict] = []
        raw = None
        try:
            if config["kind"] == "bridge":
                sentences, attempts = await self._bridge(config["prompt"], seeds, locale), 1
            elif config["kind"] == "tock":
                sentences, attempts = await self._tock(seeds, locale, gen_seed), 1
                raw = self._model_server.proxy.last_text
            elif config["kind"] == "baseline":
                sentences, attempts = await self._baseline(seeds, locale, gen_seed), 1
            else:
                context = self.context(variant, title_of(dataset, intent), others)
                result = await agenerate(seeds, locale=locale, n=self.n_of(variant),
                                         prompt_template=template_for(variant),
                                         temperature=self.args.temperature, seed=gen_seed,
                                         provider=self._provider, embeddings=self._embeddings,
                                         settings=pipeline.PipelineSettings(
                                             infer_topic=bool(config.get("infer_topic")),
                                             **({"neighbours": config["neighbours"]}
                                                if "neighbours" in config else {}),
                                             **({"spare": config["spare"]}
                                                if "spare" in config else {})),
                                         tracing=None, **context)
                sentences, attempts = [s.text for s in result.sentences], result.attempts
                rejected = [{"text": r.text, "reason": str(r.reason), "detail": r.detail}
                            for r in result.rejected]
        except (UtterlyError, _tock.CallFailed) as exc:
            # Counted as 0 kept and reported; never cached, so a re-run tries again.
            self.failed[variant] += counted
            seconds = time.perf_counter() - started
            self.fresh_seconds[variant] += seconds * counted
            return Generated([], self.args.n, seconds, error=f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        self.fresh_seconds[variant] += seconds * counted
        generated = Generated(sentences, self.n_of(variant), seconds, attempts)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "key": key, "intent": intent, "seeds": seeds, "sentences": sentences,
            "requested": self.n_of(variant), "latency_s": round(seconds, 3),
            "attempts": attempts,
            "rejected": rejected, **({"raw": raw} if raw is not None else {})},
            ensure_ascii=False, indent=1), "utf-8")
        tmp.replace(path)
        return generated

    async def _chosen(self, config: dict, dataset: str, intent: str, seeds: list[str],
                      others: list[dict], gen_seed: int) -> Generated:
        # the pool's own call, not counted again for the pool variant
        pool = await self._generate(config["from"], dataset, intent, seeds, others, gen_seed,
                                    counted=False)
        await self._open()
        texts = pool.sentences
        vectors = examples = other_vectors = None
        if texts:
            own = seeds + ([title_of(dataset, intent)] if config.get("context") else [])
            other_texts = ([t for o in others for t in o["sentences"]]
                           if config.get("context") else [])
            embedded = np.asarray(await self._embeddings.embed(texts + own + other_texts))
            vectors, examples = embedded[:len(texts)], embedded[len(texts):len(texts) + len(own)]
            other_vectors = embedded[len(texts) + len(own):] if other_texts else None
        chosen = _select.METHODS[config["select"]](
            texts, config["keep"], vectors=vectors, examples=examples, others=other_vectors,
            seeds=seeds)
        return Generated([texts[i] for i in chosen], config["keep"], pool.latency_s,
                         pool.attempts, cached=pool.cached, error=pool.error)

    async def _baseline(self, seeds: list[str], locale: str, gen_seed: int) -> list[str]:
        prompt = BASELINE_PROMPT.format(n=self.args.n, language=LANGUAGE_NAMES[locale],
                                        examples="\n".join(f"- {s}" for s in seeds))
        completion = await self._provider.complete(
            [{"role": "user", "content": prompt}], temperature=self.args.temperature,
            max_tokens=self.args.n * 40 + 40, seed=gen_seed)
        return parse_sentences(completion.text).sentences

    async def _open_http(self, config: dict) -> None:
        """The server a `bridge*` or `tock` variant calls, started (and warmed up) before
        the clock starts."""
        import httpx

        a = self.args
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=a.timeout)
        if config["kind"] == "bridge" and config["prompt"] not in self._bridges:
            from utterly.providers import ProviderConfig as Provider
            from utterly.tock_bridge.config import BridgeConfig, Mode, PromptChoice

            bridge = _tock.bridge_server(BridgeConfig(
                mode=Mode.SERVER, prompt=PromptChoice(config["prompt"]),
                provider=Provider(provider=a.provider, model=a.model, base_url=a.base_url,
                                  api_key=a.api_key, timeout_s=a.timeout),
                deadline_s=a.bridge_deadline, tracing=None))
            log(f"starting the bridge (prompt {config['prompt']}, deadline "
                f"{a.bridge_deadline:g} s)")
            await asyncio.to_thread(bridge.start)
            self._bridges[config["prompt"]] = bridge
        if config["kind"] == "tock" and self._orchestrator is None:
            if a.provider != "local":
                raise SystemExit("the tock variant serves the bench's local model file: "
                                 "use --provider local")
            from utterly.catalogue import resolve_model_path

            _, path = resolve_model_path(a.model)
            log_dir = a.cache_dir / "servers"
            log(f"starting llama-cpp-python's server on {path.name} and Tock's orchestrator "
                f"(LLM timeout {_tock.ORCHESTRATOR_LLM_TIMEOUT_S} s; logs in {log_dir})")
            server = _tock.ModelServer(path, a.model, log_dir, timeout_s=a.timeout)
            self._model_server = server
            await asyncio.to_thread(server.start)
            orchestrator = _tock.Orchestrator(log_dir)
            self._orchestrator = orchestrator
            await asyncio.to_thread(orchestrator.start)
            # The model's first answer (prompt processing, allocation) is not timed: the
            # other variants load and warm their model before the clock starts too.
            server.proxy.seed = 0
            await self._http.post(server.base_url + "/chat/completions", json={
                "model": a.model, "messages": [{"role": "user", "content": "Hello"}],
                "max_tokens": 4})

    async def _bridge(self, prompt: str, seeds: list[str], locale: str) -> list[str]:
        return await _tock.post_completion(self._http, self._bridges[prompt].url,
                                           self.tock_body(seeds, locale, BRIDGE_LLM_URL))

    async def _tock(self, seeds: list[str], locale: str, gen_seed: int) -> list[str]:
        server = self._model_server
        server.proxy.seed, server.proxy.last_text = gen_seed, None
        return await _tock.post_completion(self._http, self._orchestrator.url,
                                           self.tock_body(seeds, locale, server.base_url))

    async def aclose(self) -> None:
        for thing in (self._provider, self._embeddings):
            if thing is not None:
                await thing.aclose()
        if self._http is not None:
            await self._http.aclose()
        for bridge in self._bridges.values():
            await asyncio.to_thread(bridge.stop)
        for server in (self._orchestrator, self._model_server):
            if server is not None:
                await asyncio.to_thread(server.stop)


# -- one dataset -----------------------------------------------------------------------------

@dataclass
class VariantRun:
    with_generated: tuple[float, float]   # accuracy, macro-F1
    generated: int
    requested: int
    seconds: list[float]                  # per call, recorded (cached ones included)
    errors: list[str] = field(default_factory=list)
    # returned sentences that are one of the call's examples, or a sentence returned
    # earlier in the same call (same normalised text); calls that returned more than n
    copies: int = 0
    repeats: int = 0
    over_n: int = 0


@dataclass
class SeedRun:
    seed: int
    seeds_only: tuple[float, float]       # accuracy, macro-F1
    variants: dict[str, VariantRun] = field(default_factory=dict)


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
        base = compare(human, [], test=test_examples, seed=seed,
                       features=args.features).human_only
        run = SeedRun(seed, (base.accuracy, base.macro_f1))
        for variant in args.variants:
            generated: list[Example] = []
            requested, seconds, errors = 0, [], []
            copies = repeats = over_n = 0
            for j, intent in enumerate(intents):
                others = [{"name": title_of(name, o), "sentences": seeds[o]}
                          for o in intents if o != intent]
                result = await generator.generate(variant, name, intent, seeds[intent],
                                                  others, seed)
                generated += [Example(t, intent, origin="generated") for t in result.sentences]
                requested += result.requested
                examples = {normalize(t) for t in seeds[intent]}
                seen: set[str] = set()
                for text in result.sentences:
                    copies += normalize(text) in examples
                    repeats += normalize(text) in seen
                    seen.add(normalize(text))
                over_n += len(result.sentences) > result.requested
                seconds.append(result.latency_s)
                if result.error:
                    errors.append(f"{intent}: {result.error}")
                source = "cache" if result.cached else f"{result.latency_s:.1f}s"
                log(f"[{name} seed {seed} {variant}] {j + 1}/{len(intents)} {intent}: "
                    f"{len(result.sentences)}/{result.requested} ({source})"
                    + (f" ERROR {result.error}" if result.error else ""))
                if args.verbose:
                    for text in seeds[intent]:
                        log(f"      seed: {text}")
                    for text in result.sentences:
                        log(f"       gen: {text}")
            scores = compare(human, generated, test=test_examples, seed=seed,
                             features=args.features).human_plus_generated
            run.variants[variant] = VariantRun((scores.accuracy, scores.macro_f1),
                                               len(generated), requested, seconds, errors,
                                               copies, repeats, over_n)
            log(f"[{name} seed {seed} {variant}] seeds only {base.accuracy:.4f}, "
                f"+ generated {scores.accuracy:.4f} (accuracy), {len(generated)}/{requested}")
        runs.append(run)
    return {"dataset": name, "intents": intents, "test": len(test_examples),
            "full_train": len(full), "full": (full_scores.accuracy, full_scores.macro_f1),
            "runs": runs}


# -- report ----------------------------------------------------------------------------------

def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    m, s = mean_std([v * scale for v in values])
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(values) > 1 else f"{m:.{digits}f}"


def table(result: dict, args: argparse.Namespace) -> str:
    runs: list[SeedRun] = result["runs"]
    k, intents = args.k, len(result["intents"])
    full_per_intent = result["full_train"] / intents
    lines = [
        f"### {result['dataset']}: {intents} intents ({'first by sorted name' if args.subset == 'first' else f'random subset, seed {args.subset_seed}'}), "
        f"k = {k}, n = {args.n}, seeds {','.join(map(str, args.seeds))}, "
        f"test {result['test']} sentences",
        "",
        "| training set | sentences per intent | accuracy | Δ accuracy, points (per seed) "
        "| macro-F1 | median s per intent |",
        "|---|---|---|---|---|---|",
        f"| seeds only | {k} | {fmt([r.seeds_only[0] for r in runs])} | | "
        f"{fmt([r.seeds_only[1] for r in runs])} | |",
    ]
    for variant in args.variants:
        v = [r.variants[variant] for r in runs]
        per_intent = statistics.mean(x.generated for x in v) / intents
        deltas = [x.with_generated[0] - r.seeds_only[0] for x, r in zip(v, runs)]
        per_seed = ", ".join(f"{d * 100:+.1f}" for d in deltas)
        seconds = statistics.median(s for x in v for s in x.seconds)
        lines.append(
            f"| seeds + {variant} | {k} + {per_intent:.1f} | "
            f"{fmt([x.with_generated[0] for x in v])} | "
            f"{fmt(deltas, 100, 1)} ({per_seed}) | {fmt([x.with_generated[1] for x in v])} | "
            f"{seconds:.1f} |")
    lines.append(f"| full training set | {full_per_intent:.0f} | {result['full'][0]:.3f} | "
                 f"{(result['full'][0] - statistics.mean(r.seeds_only[0] for r in runs)) * 100:+.1f} "
                 f"| {result['full'][1]:.3f} | |")
    notes = []
    for variant in args.variants:
        v = [r.variants[variant] for r in runs]
        kept, asked = sum(x.generated for x in v), sum(x.requested for x in v)
        errors = [e for x in v for e in x.errors]
        copies, repeats = sum(x.copies for x in v), sum(x.repeats for x in v)
        over_n = sum(x.over_n for x in v)
        notes.append(f"{variant}: yield {kept}/{asked} = {kept / asked:.0%}"
                     + (f", {copies} copies of an example" if copies else "")
                     + (f", {repeats} repeated within a call" if repeats else "")
                     + (f", {over_n} calls returned more than n" if over_n else "")
                     + (f", {len(errors)} failed calls ({errors[0]})" if errors else ""))
    lines += ["", "; ".join(notes) + "."]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated: " + ",".join(DATASETS))
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
    parser.add_argument("--bridge-deadline", type=float, default=600.0,
                        help="the bridge variants' --deadline (seconds; `utterly tock-bridge` "
                             "ships 45): high, so that what is measured is the prompt")
    parser.add_argument("--features", choices=("tfidf", "embeddings"), default="tfidf")
    parser.add_argument("--variants", default="baseline,default",
                        help="comma-separated, compared in one run: " + ", ".join(VARIANTS))
    parser.add_argument("--data-dir", type=Path, default=DATA,
                        help="where clinc150/ and banking77/ are (massive_fr is in bench/data/)")
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
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}: use {', '.join(VARIANTS)}")
    unknown = [d for d in args.datasets if d not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}: use {', '.join(DATASETS)}")
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
    for variant in args.variants:
        seconds = [s for r in results for x in r["runs"] for s in x.variants[variant].seconds]
        kind = VARIANTS[variant]["kind"]
        # what the shipped time limits would have cut: the bridge's --deadline (it answers
        # with what was kept by then) and Tock's LLM timeout (an error 1001)
        from utterly.tock_bridge.config import DEFAULT_DEADLINE_S

        limit = {"bridge": DEFAULT_DEADLINE_S,
                 "tock": float(_tock.TOCK_DEFAULT_LLM_TIMEOUT_S)}.get(kind)
        print(f"- {variant}: {generator.calls[variant]} generate calls "
              f"({generator.cached[variant]} from cache, {generator.failed[variant]} failed), "
              f"fresh generation {generator.fresh_seconds[variant] / 60:.1f} min; "
              f"s per call: median {statistics.median(seconds):.1f}, "
              f"mean {statistics.mean(seconds):.1f}, max {max(seconds):.1f}"
              + (f"; {sum(s > limit for s in seconds)} calls over {limit:g} s"
                 if limit else ""))
    print(f"\nWall time {wall / 60:.1f} min. Cache: {args.cache_dir}")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                     if k != "api_key"},
            "results": [{**r, "runs": [{"seed": x.seed, "seeds_only": x.seeds_only,
                                        "variants": {k: vars(v) for k, v in x.variants.items()}}
                                       for x in r["runs"]]} for r in results],
        }, indent=1), "utf-8")


if __name__ == "__main__":
    asyncio.run(main())
