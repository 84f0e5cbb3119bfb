"""Import 10,000 sentences into one FAQ and list them back, on SQLite and PostgreSQL.

    .venv/bin/python bench/studio_import.py [--n 10000] [--backends sqlite,postgresql]

The real Studio app (create_app) is served over HTTP on 127.0.0.1 by uvicorn, on a fresh
database per backend (SQLite in a temporary directory, PostgreSQL in a database created for
the run and dropped after it). Each scenario gets a bot of its own, since a text may train
only one FAQ per bot. Timed, over HTTP with a bearer token:
  batch       POST .../sentences/batch: the n sentences in one request, then in 10 requests
  list        GET .../sentences?limit=1000&offset=... until all n are back
  import      POST .../import of 50 texts from each of n/50 generation runs (the runs, 50
              candidates each as generation stores them, are inserted directly beforehand)
  runs        GET .../generation-runs?limit=500 pages until all runs are back
Prints seconds and items per second. Never asserts on time; raises only if the API
refuses a request or returns the wrong number of items.
"""

from __future__ import annotations

import argparse
import itertools
import time

from _studio import BACKENDS, studio, table

from utterly.studio.models import GenerationRun

BATCH_MAX = 10_000  # SentenceBatchIn's limit
IMPORT_MAX = 50  # texts per import request, as many as one run holds here
PAGE = 1000  # list_sentences' largest page
RUNS_PAGE = 500  # list_runs' largest page

_OPENERS = ["Comment", "Est-ce que je peux", "Pourquoi je ne peux pas", "Où puis-je",
            "Quand puis-je", "Qui peut m'aider à", "Est-il possible de", "Que faire pour",
            "Je voudrais savoir comment", "Aidez-moi à"]
_VERBS = ["modifier", "supprimer", "consulter", "payer", "suivre", "changer", "récupérer",
          "télécharger", "valider", "partager"]
_OBJECTS = ["ma commande", "mon abonnement", "ma facture", "mon colis",
            "mon adresse de livraison", "mon mot de passe", "ma réservation", "mon contrat",
            "mon rendez-vous", "ma carte de fidélité"]
_CONTEXTS = ["en ligne", "depuis l'application", "sur le site", "ce week-end", "avant demain",
             "depuis l'étranger", "sans frais", "par téléphone", "en agence", "cette semaine"]


def french_sentences(n: int) -> list[str]:
    """n distinct French-looking questions (distinct after normalisation too)."""
    combos = list(itertools.product(_OPENERS, _VERBS, _OBJECTS, _CONTEXTS))
    out = []
    for i in range(n):
        opener, verb, obj, context = combos[i % len(combos)]
        lap = f" (demande {i // len(combos) + 1})" if i >= len(combos) else ""
        out.append(f"{opener} {verb} {obj} {context}{lap} ?")
    return out


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def ok(response, expected_status: int = 200):
    if response.status_code != expected_status:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:500]}")
    return response.json()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def post_batches(st, bot_id: int, faq_id: int, texts: list[str], size: int) -> int:
    added = 0
    for part in chunks(texts, size):
        added += len(ok(st.api.post(f"/api/bots/{bot_id}/faqs/{faq_id}/sentences/batch",
                                    json={"sentences": [{"text": t} for t in part]}), 201))
    return added


def list_all(st, path: str, page: int) -> tuple[int, int]:
    """(items, requests) of a paginated listing walked to its end."""
    items, offset, requests = 0, 0, 0
    while True:
        body = ok(st.api.get(path, params={"limit": page, "offset": offset}))
        requests += 1
        items += len(body["items"])
        offset += page
        if offset >= body["total"]:
            return items, requests


def insert_runs(st, bot_id: int, faq_id: int, texts: list[str]) -> list[tuple[int, list[str]]]:
    """Generation runs as the generate endpoint stores them, IMPORT_MAX candidates each."""
    runs = []
    with st.sessions() as session, session.begin():
        for part in chunks(texts, IMPORT_MAX):
            run = GenerationRun(
                bot_id=bot_id, faq_id=faq_id, user_id=None, status="succeeded",
                request={"sentences": ["Comment réinitialiser mon mot de passe ?"],
                         "locale": "fr", "n": len(part), "temperature": 0.7,
                         "options": {}, "seed": None},
                candidates=[{"text": t, "origin": "model", "scores": {"similarity": 0.8},
                             "variations": []} for t in part],
                rejected=[], provider="openai-compatible", model="bench",
                prompt_version="bench", temperature=0.7, options={}, latency_s=1.0,
                input_tokens=300, output_tokens=600)
            session.add(run)
            session.flush()
            runs.append((run.id, part))
    return runs


def bench_backend(backend: str, n: int) -> list[list]:
    texts = french_sentences(n)
    rows = []

    def row(operation, requests, items, unit, seconds):
        rows.append([backend, operation, requests, f"{items:,} {unit}", f"{seconds:.2f}",
                     f"{items / seconds:,.0f}"])

    with studio(backend) as st:
        # (a) one request (or as few as the 10,000 limit allows), then 10 requests
        bot = st.new_bot("one request")
        faq = st.new_faq(bot, "Questions")
        seconds, added = timed(lambda: post_batches(st, bot, faq, texts, BATCH_MAX))
        requests = -(-n // BATCH_MAX)
        row("batch add", requests, added, "sentences", seconds)

        bot10 = st.new_bot("ten requests")
        faq10 = st.new_faq(bot10, "Questions")
        size = -(-n // 10)
        seconds, added = timed(lambda: post_batches(st, bot10, faq10, texts, size))
        row("batch add", len(chunks(texts, size)), added, "sentences", seconds)

        # (b) list everything back
        path = f"/api/bots/{bot}/faqs/{faq}/sentences"
        seconds, (items, requests) = timed(lambda: list_all(st, path, PAGE))
        if items != n:
            raise RuntimeError(f"listed {items} sentences, expected {n}")
        row(f"list sentences (pages of {PAGE})", requests, items, "sentences", seconds)

        # (c) import generated sentences: 50 texts from each of n/50 runs
        botg = st.new_bot("generated")
        faqg = st.new_faq(botg, "Questions")
        seconds, runs = timed(lambda: insert_runs(st, botg, faqg, texts))
        row("(setup) insert runs in the DB", 1, len(runs), "runs", seconds)

        def import_all() -> int:
            imported = 0
            for run_id, part in runs:
                imported += ok(st.api.post(f"/api/bots/{botg}/faqs/{faqg}/import",
                                           json={"run_id": run_id, "texts": part}))["imported"]
            return imported

        seconds, imported = timed(import_all)
        if imported != n:
            raise RuntimeError(f"imported {imported} sentences, expected {n}")
        row(f"import generated ({IMPORT_MAX} per run)", len(runs), imported, "sentences",
            seconds)

        path = f"/api/bots/{botg}/generation-runs"
        seconds, (items, requests) = timed(lambda: list_all(st, path, RUNS_PAGE))
        if items != len(runs):
            raise RuntimeError(f"listed {items} runs, expected {len(runs)}")
        row(f"list generation runs (pages of {RUNS_PAGE})", requests, items, "runs", seconds)

        path = f"/api/bots/{botg}/faqs/{faqg}/sentences"
        seconds, (items, requests) = timed(lambda: list_all(st, path, PAGE))
        row(f"list generated sentences (pages of {PAGE})", requests, items, "sentences",
            seconds)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="sentences per scenario")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        rows += bench_backend(backend, args.n)
    print(f"Studio import of {args.n:,} sentences into one FAQ, over HTTP on 127.0.0.1 "
          f"(server and client share one process)")
    print(table(["backend", "operation", "requests", "items", "seconds", "items/s"], rows))
    print(f"total run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
