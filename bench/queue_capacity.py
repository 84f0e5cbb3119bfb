"""Bulk generation on the task queue: how much of a provider's capacity 1, 2 and 4
workers keep busy.

A fake OpenAI-compatible server (tests/servers/capacity_server.py) answers each call after
a fixed latency (1 s) and takes 8 calls at once, answering 429 beyond. Four namespaces each
start a job of `--faqs` FAQs at the same time; their bots allow 8 calls at once
(`max_concurrency`), counted across the fleet in Redis. For each number of `utterly
worker` processes (PostgreSQL, Redis broker): the share of the server's capacity kept busy
from the first call to the last, and until the last call started (while FAQs were left to
start), calls, 429s, the most calls at once, FAQs per second.

    python bench/queue_capacity.py [--faqs 48] [--workers 1 2 4] [--threads 4]

Needs PostgreSQL (UTTERLY_BENCH_POSTGRES_ADMIN_URL) and Redis (UTTERLY_BENCH_REDIS_URL,
default db 14 of 127.0.0.1:6379, flushed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._studio import database, table  # noqa: E402
from tests.servers import capacity_server  # noqa: E402
from tests.servers.run import ASGIServer  # noqa: E402
from tests.servers.vendor_bots import vendor_bot  # noqa: E402

REDIS_URL = os.environ.get("UTTERLY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
UTTERLY = str(Path(sys.executable).with_name("utterly"))
CAPACITY = 8
LATENCY_S = 1.0


def setup(database_url: str, data_dir: Path, vendor_url: str, faqs: int) -> list[int]:
    """Four namespaces, each with a bot of `faqs` FAQs and a queued job; the job ids."""
    from utterly.studio.access import Actor
    from utterly.studio.db import make_engine, migrate, session_factory
    from utterly.studio.schemas import JobIn
    from utterly.studio.secrets import SecretBox
    from utterly.studio.services import jobs

    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    data_dir.mkdir(parents=True, exist_ok=True)
    box = SecretBox.load(None, data_dir / "secret.key")
    job_ids = []
    for n in range(4):
        bot = vendor_bot(sessions, box, f"tenant{n}", vendor_url, faqs, password_hash="-",
                         max_concurrency=CAPACITY)
        with sessions() as session, session.begin():
            job_ids.append(jobs.create_job(session, Actor(bot["user_id"], bot["user"]),
                                           bot["bot"], JobIn()).id)
    engine.dispose()
    return job_ids


def wait_done(database_url: str, job_ids: list[int], timeout_s: float) -> list[str]:
    from sqlalchemy import select

    from utterly.studio.db import make_engine, session_factory
    from utterly.studio.models import GenerationJob

    engine = make_engine(database_url)
    sessions = session_factory(engine)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with sessions() as session:
                states = list(session.scalars(select(GenerationJob.status).where(
                    GenerationJob.id.in_(job_ids))))
            if all(s not in ("queued", "running") for s in states) or \
                    time.monotonic() > deadline:
                return states
            time.sleep(0.2)
    finally:
        engine.dispose()


def one_run(workers: int, threads: int, faqs: int, vendor_url: str) -> list:
    import redis

    from utterly.studio.db import make_engine, session_factory
    from utterly.studio.services.queue import TaskQueue

    redis.Redis.from_url(REDIS_URL).flushdb()
    httpx.post(f"{vendor_url}/reset", json={"latency_s": LATENCY_S, "capacity": CAPACITY})
    procs = []
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as database_url:
        try:
            job_ids = setup(database_url, Path(tmp) / "data", vendor_url, faqs)
            env = {**os.environ, "UTTERLY_DATA_DIR": str(Path(tmp) / "data")}
            logs = [Path(tmp) / f"worker-{i}.log" for i in range(workers)]
            for log in logs:
                with log.open("wb") as out:
                    procs.append(subprocess.Popen(
                        [UTTERLY, "worker", "--database-url", database_url, "--broker-url",
                         REDIS_URL, "--threads", str(threads)],
                        env=env, stdout=out, stderr=subprocess.STDOUT))
            # measured once every worker has loaded its filters, as a fleet runs
            deadline = time.monotonic() + 300
            while not all("worker ready" in log.read_text() for log in logs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("a worker did not start: " + " ".join(
                        log.read_text()[-500:] for log in logs))
                time.sleep(0.2)
            # gives each namespace its first turn (the workers' sweepers would, within 1 s)
            engine = make_engine(database_url)
            queue = TaskQueue(REDIS_URL)
            queue.dispatch(session_factory(engine))
            queue.close()
            engine.dispose()
            states = wait_done(database_url, job_ids, timeout_s=600)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    stats = httpx.get(f"{vendor_url}/stats").json()
    spans = stats["spans"]
    first, last_start = min(s[0] for s in spans), max(s[0] for s in spans)
    wall = max(s[1] for s in spans) - first
    busy = stats["busy_s"] / (CAPACITY * wall)
    # while FAQs were left to start: the run's end, when fewer than 8 are left, can only
    # leave slots empty whatever the queue does
    waiting = sum(max(0.0, min(e, last_start) - s) for s, e, _ in spans) / (
        CAPACITY * (last_start - first))
    return [workers, threads, f"{100 * busy:.0f} %", f"{100 * waiting:.0f} %",
            stats["calls"], stats["rate_limited"],
            stats["max_in_flight"], f"{wall:.1f}", f"{4 * faqs / wall:.2f}",
            ",".join(sorted(set(states)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faqs", type=int, default=48, help="FAQs per job (4 jobs)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=4, help="turns at once per worker")
    args = parser.parse_args()
    app = capacity_server.create_app(latency_s=LATENCY_S, capacity=CAPACITY)
    with ASGIServer(app) as vendor_url:
        rows = [one_run(w, args.threads, args.faqs, vendor_url) for w in args.workers]
    print(f"Provider: {CAPACITY} calls at once, {LATENCY_S:g} s each; 4 jobs × {args.faqs} "
          f"FAQs; the bots' limit {CAPACITY} (fleet-wide, Redis)")
    print(table(["workers", "threads", "capacity busy", "busy while FAQs waited", "calls",
                 "429s", "most at once",
                 "wall s", "FAQs/s", "jobs"], rows))


if __name__ == "__main__":
    main()
