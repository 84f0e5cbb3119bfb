"""One tenant against another: the victim's latency alone and under attack, side by side.

A Studio (create_app over HTTP on 127.0.0.1, jobs in this process) serves two namespaces.
The attacker's bot generates through an OpenAI-compatible server that never answers
(tests/servers/capacity_server.py with `hang`) with a 30 s time limit per call;
the victim's bot through a healthy one. For each attack the victim's work is timed alone,
then while the attack holds:

- streams: the attacker opens 260 streamed generations at once and keeps them open;
  the victim runs plain generations;
- cancel: the attacker starts one stream and cancels it 1 s later: how long until it ends
  (a cancelled call must free its thread within a second);
- slots: the attacker's second bot, `max_concurrency` 64, shares the victim's endpoint and
  key (1 s per call) and fires 64 generations; the victim's generations wait for a slot;
- previews: 80 parallel prompt previews by the attacker;
- bulk: the attacker creates 12 bulk jobs on the silent provider; the victim runs a
  one-FAQ job;
- import: the attacker imports a CSV of 1.2 M rows (about 19 MiB, under the body limit).

/api/health is sampled during every attack (p99). The issue's targets: the victim's
interactive generation ≤ 1.5× alone, its bulk job ≤ 2×, /api/health p99 < 1 s, a cancel
ends within 1 s. Nothing is asserted: the table is printed.

    python bench/fairness.py [--backend sqlite|postgresql] [--only streams,cancel,...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._studio import (  # noqa: E402
    BACKENDS,
    percentile,
    table,
)
from bench._studio import database as bench_database  # noqa: E402
from tests.servers import capacity_server  # noqa: E402
from tests.servers.run import ASGIServer  # noqa: E402
from tests.servers.vendor_bots import vendor_bot  # noqa: E402

PASSWORD = "bench-password-1"
ATTACKS = ("cancel", "streams", "slots", "previews", "bulk", "import")
VICTIM_CALLS = 5


class Health:
    """Samples /api/health every 50 ms in a thread while an attack runs."""

    def __init__(self, base: str):
        self.base, self.samples, self._stop = base, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):
                    client.get("/api/health")
                self.samples.append(time.monotonic() - started)
                self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=130)

    @property
    def p99(self) -> str:
        return f"{percentile(self.samples, 99):.2f}" if self.samples else "–"


class Loop:
    """An event loop in a thread, for the attacker's many concurrent requests."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def token(base: str, username: str) -> str:
    response = httpx.post(f"{base}/api/auth/token",
                          json={"username": username, "password": PASSWORD}, timeout=60)
    response.raise_for_status()
    return response.json()["access_token"]


def first_faq(client: httpx.Client, bot: int) -> int:
    response = client.get(f"/api/bots/{bot}/faqs", params={"limit": 1})
    response.raise_for_status()
    body = response.json()
    return (body["items"] if isinstance(body, dict) else body)[0]["id"]


def timed_generations(client: httpx.Client, bot: int, faq: int, calls: int = VICTIM_CALLS):
    """Median seconds of `calls` plain generations, and their status codes."""
    times, codes = [], []
    for _ in range(calls):
        started = time.monotonic()
        response = client.post(f"/api/bots/{bot}/faqs/{faq}/generate", json={"n": 2})
        times.append(time.monotonic() - started)
        codes.append(response.status_code)
    return statistics.median(times), codes


def timed_job(client: httpx.Client, bot: int, faq: int, limit_s: float = 600) -> tuple:
    started = time.monotonic()
    response = client.post(f"/api/bots/{bot}/generation-jobs", json={"faq_ids": [faq], "n": 2})
    if response.status_code != 202:
        return time.monotonic() - started, f"refused {response.status_code}"
    job = response.json()["id"]
    while time.monotonic() - started < limit_s:
        state = client.get(f"/api/bots/{bot}/generation-jobs/{job}").json()
        if state["status"] not in ("queued", "running"):
            return time.monotonic() - started, state["status"]
        time.sleep(0.1)
    return time.monotonic() - started, "still running"


def codes_line(codes) -> str:
    counts: dict = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    return ", ".join(f"{n}× {c}" for c, n in sorted(counts.items(), key=str))


async def open_streams(base: str, auth: str, bot: int, faq: int, count: int,
                       hold: asyncio.Event, codes: list, opened: asyncio.Event):
    """`count` streamed generations at once, held open until `hold` is set."""
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits,
                                 headers={"Authorization": f"Bearer {auth}"}) as client:
        started = [0]

        async def one():
            try:
                async with client.stream("POST", f"/api/bots/{bot}/faqs/{faq}/generate/stream",
                                         json={"n": 10}) as response:
                    codes.append(response.status_code)
                    started[0] += 1
                    if started[0] >= count:
                        opened.set()
                    if response.status_code == 200:
                        await hold.wait()
            except httpx.HTTPError as exc:
                codes.append(type(exc).__name__)
                started[0] += 1
                if started[0] >= count:
                    opened.set()

        await asyncio.gather(*(one() for _ in range(count)))


def attack_streams(ctx) -> list:
    alone, _ = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    hold, opened, codes = asyncio.Event(), asyncio.Event(), []
    future = ctx.loop.submit(open_streams(ctx.base, ctx.attacker_token, ctx.attacker_bot,
                                          ctx.attacker_faq, 260, hold, codes, opened))
    ctx.loop.submit(asyncio.wait_for(opened.wait(), 120)).result()
    time.sleep(1)
    with Health(ctx.base) as health:
        attacked, victim_codes = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    ctx.loop.loop.call_soon_threadsafe(hold.set)
    future.result(timeout=300)
    return ["260 streams on a silent provider", f"{alone:.2f}", f"{attacked:.2f}",
            f"{attacked / alone:.1f}×", health.p99,
            f"attacker: {codes_line(codes)}; victim: {codes_line(victim_codes)}"]


def attack_cancel(ctx) -> list:
    # the shares of an earlier attack's streams come back once their calls have stopped
    deadline = time.monotonic() + 60
    while ctx.attacker.post(f"/api/bots/{ctx.attacker_bot}/faqs/{ctx.attacker_faq}/generate/"
                            "warm-up", json={}).status_code == 429:
        if time.monotonic() > deadline:
            return ["cancel 1 s into a silent call", "–", "–", "–", "–", "still busy after 60 s"]
        time.sleep(0.5)
    with Health(ctx.base) as health:
        with ctx.attacker.stream("POST", f"/api/bots/{ctx.attacker_bot}/faqs/"
                                 f"{ctx.attacker_faq}/generate/stream", json={"n": 10}) as resp:
            lines = resp.iter_lines()
            cancel_url = None
            for line in lines:
                if line.startswith("data:") and "cancel_url" in line:
                    cancel_url = json.loads(line[5:])["cancel_url"]
                    break
            time.sleep(1)
            started = time.monotonic()
            ctx.attacker.post(cancel_url)
            last = ""
            for line in lines:
                if line.startswith("event:"):
                    last = line[6:].strip()
            ended = time.monotonic() - started
    return ["cancel 1 s into a silent call", "–", f"{ended:.2f}", "–", health.p99,
            f"the stream ended with `{last}` {ended:.2f} s after Cancel"]


def attack_slots(ctx) -> list:
    httpx.post(f"{ctx.healthy_url}/reset", json={"latency_s": 1.0, "capacity": 256})
    alone, _ = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq, 3)

    async def flood():
        async with httpx.AsyncClient(base_url=ctx.base, timeout=600, headers={
                "Authorization": f"Bearer {ctx.attacker_token}"}) as client:
            return await asyncio.gather(*(client.post(
                f"/api/bots/{ctx.greedy_bot}/faqs/{ctx.greedy_faq}/generate", json={"n": 2})
                for _ in range(64)), return_exceptions=True)

    future = ctx.loop.submit(flood())
    time.sleep(1.5)
    with Health(ctx.base) as health:
        attacked, victim_codes = timed_generations(ctx.victim, ctx.victim_bot,
                                                   ctx.victim_faq, 3)
    results = future.result(timeout=900)
    httpx.post(f"{ctx.healthy_url}/reset", json={"latency_s": 0.05, "capacity": 256})
    codes = [getattr(r, "status_code", type(r).__name__) for r in results]
    return ["64 calls of a bot set to 64 on the victim's endpoint (1 s each)",
            f"{alone:.2f}", f"{attacked:.2f}", f"{attacked / alone:.1f}×", health.p99,
            f"attacker: {codes_line(codes)}; victim: {codes_line(victim_codes)}"]


def attack_previews(ctx) -> list:
    alone, _ = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    template = ("{% for i in range(200000) %}{{ i }}{% endfor %}"
                "{{ sentences }}{{ locale }}{{ nb_sentences }}")

    async def flood():
        async with httpx.AsyncClient(base_url=ctx.base, timeout=600, headers={
                "Authorization": f"Bearer {ctx.attacker_token}"}) as client:
            return await asyncio.gather(*(client.post(
                f"/api/bots/{ctx.attacker_bot}/settings/sentence-generation/preview",
                json={"prompt_template": template}) for _ in range(80)),
                return_exceptions=True)

    with Health(ctx.base) as health:
        future = ctx.loop.submit(flood())
        attacked, victim_codes = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
        results = future.result(timeout=900)
    codes = [getattr(r, "status_code", type(r).__name__) for r in results]
    return ["80 parallel template previews", f"{alone:.2f}", f"{attacked:.2f}",
            f"{attacked / alone:.1f}×", health.p99,
            f"attacker: {codes_line(codes)}; victim: {codes_line(victim_codes)}"]


def attack_bulk(ctx) -> list:
    alone, alone_state = timed_job(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    codes = [ctx.attacker.post(f"/api/bots/{ctx.attacker_bot}/generation-jobs",
                               json={"n": 10}).status_code for _ in range(12)]
    time.sleep(1)
    with Health(ctx.base) as health:
        attacked, state = timed_job(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    listed = ctx.attacker.get(f"/api/bots/{ctx.attacker_bot}/generation-jobs").json()
    for job in (listed.get("items", []) if isinstance(listed, dict) else listed):
        if job["status"] in ("queued", "running"):
            ctx.attacker.post(f"/api/bots/{ctx.attacker_bot}/generation-jobs/{job['id']}/cancel")
    return ["12 bulk jobs on a silent provider", f"{alone:.2f}", f"{attacked:.2f}",
            f"{attacked / alone:.1f}×", health.p99,
            f"attacker's jobs: {codes_line(codes)}; victim's job: {alone_state}, {state}"]


def attack_import(ctx) -> list:
    rows = ["faq,sentence"] + [f"Question {i % 5000},how do I do thing number {i}"
                               for i in range(1_200_000)]
    body = ("\n".join(rows) + "\n").encode()
    alone, _ = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
    with Health(ctx.base) as health:
        started = time.monotonic()
        result: dict = {}

        def send():
            with contextlib.suppress(httpx.HTTPError):
                result["code"] = ctx.attacker.post(
                    f"/api/bots/{ctx.attacker_bot}/import", params={"format": "csv"},
                    content=body, headers={"Content-Type": "text/csv"}).status_code
            result["s"] = time.monotonic() - started

        thread = threading.Thread(target=send)
        thread.start()
        attacked, victim_codes = timed_generations(ctx.victim, ctx.victim_bot, ctx.victim_faq)
        thread.join()
    return [f"CSV import of {len(rows) - 1:,} rows ({len(body) / 2**20:.1f} MiB)",
            f"{alone:.2f}", f"{attacked:.2f}", f"{attacked / alone:.1f}×", health.p99,
            f"attacker: {result.get('code')} after {result.get('s', 0):.1f} s; "
            f"victim: {codes_line(victim_codes)}"]


class Context:
    pass


def run(backend: str, attacks: list[str]) -> list[list]:
    import tempfile

    from utterly.studio.app import create_app
    from utterly.studio.config import StudioConfig
    from utterly.studio.passwords import hash_password

    with tempfile.TemporaryDirectory(prefix="utterly-fairness-") as tmp, \
            bench_database(backend, Path(tmp)) as url, \
            ASGIServer(capacity_server.create_app(latency_s=0.05, capacity=256)) as healthy, \
            ASGIServer(capacity_server.create_app()) as silent:
        httpx.post(f"{silent}/reset", json={"hang": True, "capacity": 100000})
        app = create_app(StudioConfig(data_dir=Path(tmp) / "data", database_url=url))
        st = app.state.studio
        digest = hash_password(PASSWORD)
        victim = vendor_bot(st.sessions, st.box, "victim", healthy, 3, password_hash=digest,
                            max_concurrency=4, timeout_s=60)
        attacker = vendor_bot(st.sessions, st.box, "mallory", silent, 10,
                              password_hash=digest, max_concurrency=64, timeout_s=30)
        greedy = vendor_bot(st.sessions, st.box, "greedy", healthy, 1, password_hash=digest,
                            max_concurrency=64, timeout_s=600)
        from utterly.studio.models import Membership, Namespace, User

        with st.sessions() as session, session.begin():
            # one attacker, admin of both its namespaces
            mallory = session.query(User).filter_by(username="mallory-user").one()
            for name in ("mallory", "greedy"):
                ns = session.query(Namespace).filter_by(name=name).one()
                membership = session.query(Membership).filter_by(
                    namespace_id=ns.id, user_id=mallory.id).one_or_none()
                if membership is None:
                    session.add(Membership(user_id=mallory.id, namespace_id=ns.id,
                                           role="admin"))
                else:
                    membership.role = "admin"
        ctx = Context()
        ctx.loop, ctx.healthy_url = Loop(), healthy
        try:
            # with its lifespan: the Studio's job worker runs the bulk jobs
            with ASGIServer(app) as base:
                ctx.base = base
                ctx.attacker_token = token(base, "mallory-user")
                headers = {"Authorization": f"Bearer {token(base, 'victim-user')}"}
                with httpx.Client(base_url=base, timeout=900, headers=headers) as v, \
                        httpx.Client(base_url=base, timeout=900, headers={
                            "Authorization": f"Bearer {ctx.attacker_token}"}) as a:
                    ctx.victim, ctx.attacker = v, a
                    ctx.victim_bot, ctx.attacker_bot = victim["bot"], attacker["bot"]
                    ctx.greedy_bot = greedy["bot"]
                    ctx.victim_faq = first_faq(v, victim["bot"])
                    ctx.attacker_faq = first_faq(a, attacker["bot"])
                    ctx.greedy_faq = first_faq(a, greedy["bot"])
                    timed_generations(v, ctx.victim_bot, ctx.victim_faq, 1)  # warm
                    rows = []
                    for name in attacks:
                        print(f"[{backend}] {name}…", file=sys.stderr, flush=True)
                        try:
                            rows.append(globals()[f"attack_{name}"](ctx))
                        except Exception as exc:  # one attack's failure keeps the others
                            rows.append([name, "–", "–", "–", "–",
                                         f"the bench failed: {type(exc).__name__}: "
                                         f"{str(exc)[:200]}"])
                    return rows
        finally:
            ctx.loop.close()
            app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--only", default=",".join(ATTACKS),
                        help=f"comma-separated attacks among {', '.join(ATTACKS)}")
    args = parser.parse_args()
    attacks = [a for a in args.only.split(",") if a]
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        parser.error(f"unknown attack(s) {', '.join(unknown)}: choose among {', '.join(ATTACKS)}")
    rows = run(args.backend, attacks)
    print(f"## Fairness: victim alone and under attack ({args.backend})\n")
    print(table(["attack", "victim alone, s (median)", "under attack, s", "ratio",
                 "/api/health p99, s", "what happened"], rows))


if __name__ == "__main__":
    main()
