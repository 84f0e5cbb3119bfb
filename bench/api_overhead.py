"""API overhead of generate over the core call, against a zero-latency provider.

    .venv/bin/python bench/api_overhead.py [--repeat 30] [--n 10]

A tiny OpenAI-compatible server on 127.0.0.1 answers every chat completion at once with n
French paraphrases of "Comment réinitialiser mon mot de passe ?" (a different window of a
pool per call, all of which pass the pipeline's filters together), and lists the model
`instant` on GET /v1/models for the Studio's settings check. Compared in one run, same
provider, same request (one source sentence, locale fr, n, temperature 0.7, seed):
  core   utterly.generate(...) in-process, with the Studio's provider config and the core
         defaults (local embeddings), as the Studio's generation service calls it
  API    POST /api/bots/{id}/faqs/{faq}/generate over HTTP against the real app
         (create_app, uvicorn on 127.0.0.1), settings openai-compatible / instant, on
         SQLite and PostgreSQL
Everything is warmed up first (the local embedder and language detector load once); the
paths then take turns, one request each, so that machine noise hits them alike.
Prints median and p90 latency, and the overhead API - core (median) in ms and as a ratio.
Never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import threading
import time

from _studio import BACKENDS, percentile, serve, studio, table
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import utterly
from utterly.providers import ProviderConfig

SOURCE = "Comment réinitialiser mon mot de passe ?"
MODEL = "instant"
SEED = 7
# Checked with utterly.clean.Cleaner and the default local embeddings: all 24 are kept
# together (none too close to another, none drifting from SOURCE), so any window is too.
POOL = [
    "Je voudrais changer mon mot de passe, comment faire ?",
    "J'ai oublié mon mot de passe, que dois-je faire ?",
    "Comment est-ce que je peux récupérer l'accès à mon compte ?",
    "Impossible de me connecter, mon mot de passe ne marche plus",
    "Où se trouve le lien pour réinitialiser le mot de passe ?",
    "Pouvez-vous m'envoyer un nouveau mot de passe ?",
    "Je n'arrive plus à me souvenir de mon code d'accès",
    "Comment remettre à zéro mes identifiants de connexion ?",
    "Mon mot de passe est bloqué, comment le débloquer ?",
    "Quelle est la procédure pour définir un nouveau mot de passe ?",
    "Je ne reçois pas l'e-mail de réinitialisation, que faire ?",
    "Est-il possible de modifier mon mot de passe depuis l'application ?",
    "Aidez-moi à retrouver mon mot de passe s'il vous plaît",
    "Mon compte est verrouillé après trop d'essais, comment y accéder ?",
    "Comment choisir un autre mot de passe pour mon espace client ?",
    "Par où passer pour renouveler mon mot de passe ?",
    "J'ai perdu mes identifiants, comment me reconnecter ?",
    "Le site refuse mon mot de passe, comment le refaire ?",
    "Comment obtenir un lien de récupération de mot de passe ?",
    "Je souhaite mettre à jour mon mot de passe, où aller ?",
    "Mot de passe oublié : quelles sont les étapes à suivre ?",
    "Puis-je créer un nouveau code secret pour mon compte ?",
    "On m'a demandé de changer mon mot de passe, comment procéder ?",
    "Le bouton mot de passe oublié ne fonctionne pas chez moi",
]


class InstantProvider:
    """The zero-latency OpenAI-compatible server; counts the completions it served."""

    def __init__(self, n: int):
        self.n = n
        self.calls = 0
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ])

    def _sentences(self) -> list[str]:
        with self._lock:
            start = next(self._counter) * self.n
            self.calls += 1
        return [POOL[(start + i) % len(POOL)] for i in range(self.n)]

    async def chat(self, request):
        body = await request.json()
        content = json.dumps({"sentences": self._sentences()}, ensure_ascii=False)
        return JSONResponse({
            "id": "chatcmpl-instant", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", MODEL),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 250, "completion_tokens": 20 * self.n,
                      "total_tokens": 250 + 20 * self.n},
        })

    async def models(self, request):
        return JSONResponse({"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]})


def measure(paths: dict, repeat: int, provider: InstantProvider) -> dict:
    """Time each path `repeat` times, interleaved (core, API sqlite, API postgresql, core...)
    so that a slow patch of the machine hits every path alike."""
    for call in paths.values():
        call()  # warm up: connections, lazy imports, the first query plans
    samples = {name: [] for name in paths}
    kept = {name: [] for name in paths}
    calls = {name: 0 for name in paths}
    for _ in range(repeat):
        for name, call in paths.items():
            before = provider.calls
            started = time.perf_counter()
            kept[name].append(call())
            samples[name].append((time.perf_counter() - started) * 1000)
            calls[name] += provider.calls - before
    return {name: {"median": statistics.median(samples[name]),
                   "p90": percentile(samples[name], 90), "kept": statistics.mean(kept[name]),
                   "calls": calls[name] / repeat} for name in paths}


def api_call(st, base_url: str, n: int):
    """A bot whose FAQ holds SOURCE and generates with the instant provider; returns the
    function that POSTs generate once and returns the number of candidates."""
    bot = st.new_bot("overhead")
    faq = st.new_faq(bot, "Mot de passe")
    st.api.post(f"/api/bots/{bot}/faqs/{faq}/sentences", json={"text": SOURCE}
                ).raise_for_status()
    response = st.api.put(f"/api/bots/{bot}/settings/sentence-generation", json={
        "enabled": True, "provider": "openai-compatible", "base_url": base_url,
        "model": MODEL, "temperature": 0.7, "nb_sentences": n})
    if response.status_code != 200:
        raise RuntimeError(f"settings refused: {response.text}")

    def call() -> int:
        response = st.api.post(f"/api/bots/{bot}/faqs/{faq}/generate",
                               json={"n": n, "seed": SEED})
        if response.status_code != 200:
            raise RuntimeError(f"generate: {response.status_code} {response.text}")
        return len(response.json()["candidates"])

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--n", type=int, default=10, help="sentences per request")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    if args.n > len(POOL):
        print(f"note: --n {args.n} > {len(POOL)} distinct paraphrases; the server repeats "
              "itself and the pipeline asks again")
    started = time.perf_counter()
    provider = InstantProvider(args.n)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with serve(provider.app) as provider_url, contextlib.ExitStack() as stack:
        base_url = f"{provider_url}/v1"
        # What services/settings.provider_config builds for openai-compatible settings.
        config = ProviderConfig(provider="openai", model=MODEL, base_url=base_url)

        def core() -> int:
            result = utterly.generate([SOURCE], locale="fr", n=args.n, temperature=0.7,
                                      seed=SEED, provider=config)
            return len(result.sentences)

        core()  # load the local embedder and the language detector once, outside timing
        paths = {("core utterly.generate", "-"): core}
        for backend in backends:
            st = stack.enter_context(studio(backend))
            paths[("API POST .../generate", backend)] = api_call(st, base_url, args.n)
        results = measure(paths, args.repeat, provider)

    rows = []
    core_median = results[("core utterly.generate", "-")]["median"]
    for (path, backend), r in results.items():
        overhead = r["median"] - core_median
        is_core = backend == "-"
        rows.append([path, backend, f"{r['median']:.1f}", f"{r['p90']:.1f}",
                     "-" if is_core else f"{overhead:+.1f}",
                     "-" if is_core else f"{r['median'] / core_median:.2f}x",
                     f"{r['kept']:g}", f"{r['calls']:g}"])
    print(f"{args.repeat} requests each after a warm-up, n={args.n}, zero-latency "
          f"OpenAI-compatible server on {base_url}; client, Studio and provider share one "
          f"process")
    print(table(["path", "backend", "median ms", "p90 ms", "overhead ms (median)",
                 "ratio to core", "sentences kept", "model calls/request"], rows))
    print(f"total run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
