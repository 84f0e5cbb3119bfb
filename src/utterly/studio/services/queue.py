"""Bulk jobs as queued work: Dramatiq on Redis or RabbitMQ when UTTERLY_BROKER_URL is set.

A job runs in turns (services/jobs.py, `run_job(turn=…)`): a turn generates a few of its
FAQs side by side, hands the job back `queued` under the next turn's number and sends that
turn's message, which waits at the back of the queue behind the other jobs' turns. Jobs
of every namespace so take turns, and a 10,000-FAQ job holds nobody up.

Delivery is at least once and the effects are idempotent: a message runs its job only if
it carries the job's current turn and nobody alive holds the job's lock, so a duplicate
or a late redelivery is dropped; storing a run and marking its item is one transaction,
so a redelivered turn never generates an FAQ twice. The database stays the record of
jobs, items and runs; a message carries two ids.

Each worker also sweeps once a second: a running job whose lock is free lost its worker
(PostgreSQL freed the lock when that worker's connection died: kill -9, a lost machine),
and a queued job untouched for the lease may have lost its message (sent to a broker
that was down, or dropped after its retries). The sweeper sends its current turn again,
so a killed worker costs a second, not a lease.

Without a broker the Studio's own JobWorker (services/jobs.py) runs the same turns.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select, update

from ..models import GenerationJob, utcnow
from ..secrets import SecretBox
from . import jobs

log = logging.getLogger("utterly.studio.queue")

QUEUE = "utterly-jobs"
ACTOR = "utterly_job_turn"
SWEEP_S = 1.0


def make_broker(url: str):
    """A Dramatiq broker for `url`: redis://… or amqp://…"""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        from dramatiq.brokers.redis import RedisBroker

        # a worker's unacknowledged messages go back to the queue this long after its
        # last heartbeat; the sweeper usually acts first (within SWEEP_S) on PostgreSQL
        return RedisBroker(url=url, namespace="utterly", heartbeat_timeout=15_000)
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise SystemExit(f"UTTERLY_BROKER_URL={url!r} is not supported: use redis://host:6379/0 "
                     "or amqp://user:password@host:5672/")


class TaskQueue:
    """The jobs' messages on a broker: `send` from any process, `serve` in a worker."""

    def __init__(self, url: str):
        import dramatiq

        self.broker = make_broker(url)
        self._served: tuple | None = None  # (sessions, box) once `serve` is called
        # set when the worker stops: running turns end after their current FAQs
        self.stopping = threading.Event()
        # retries cover a database that is briefly away; past them, the sweeper resends.
        # No time limit: Dramatiq's would interrupt a thread inside a transaction; each
        # generation has its own deadline (the bot's timeout_s).
        self.actor = dramatiq.Actor(self._run, broker=self.broker, actor_name=ACTOR,
                                    queue_name=QUEUE, priority=0,
                                    options={"max_retries": 5, "min_backoff": 1000,
                                             "max_backoff": 30_000,
                                             "time_limit": float("inf")})

    def send(self, job_id: int, turn: int) -> None:
        self.actor.send(job_id, turn)

    def _run(self, job_id: int, turn: int) -> None:
        sessions, box = self._served
        run_turn(sessions, box, job_id, turn, self.send, stop=self.stopping)

    def serve(self, sessions, box: SecretBox, *, threads: int = 4) -> "QueueWorker":
        self._served = (sessions, box)
        return QueueWorker(self, sessions, threads)

    def close(self) -> None:
        self.broker.close()


def run_turn(sessions, box: SecretBox, job_id: int, turn: int, send, *,
             stop: threading.Event | None = None, lease_s: float = jobs.LEASE_S) -> dict:
    """One turn of a job, then the next turn's message if FAQs are left: the task code,
    whether a broker's worker or the Studio's own JobWorker runs it."""
    try:
        view = jobs.run_job(sessions, job_id, box, turn=turn, stop=stop, lease_s=lease_s)
    except jobs.NotFound:
        return {}  # the job was deleted with its bot: nothing to do
    if view.get("next_turn") is not None:
        send(job_id, view["next_turn"])
    return view


def sweep(sessions, send, lease_s: float = jobs.LEASE_S, sent: dict | None = None,
          again_s: float = 10.0) -> list[int]:
    """Send again the current turn of each job nobody runs; the ids of those sent.

    The turn is not raised: the message sent again and the first one (if it still waits in
    the queue, or comes back from a dead worker) carry the same turn, so the one that
    arrives first runs it and the other finds the job moved on. A job waiting its turn in
    a long queue so keeps its place. `sent` remembers what this sweeper sent when, so that
    it sends a running job's turn again at most every `again_s`."""
    sent = {} if sent is None else sent
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_s)
    with sessions() as session:
        rows = session.execute(select(GenerationJob.id, GenerationJob.status,
                                      GenerationJob.turn, GenerationJob.updated_at)
                               .where(GenerationJob.status.in_(jobs.ACTIVE))).all()
    resent = []
    for job_id, status, turn, updated_at in rows:
        if status == "queued":
            if updated_at >= cutoff:
                continue
            # its message was lost, or waits in a long queue: touch it, so that the
            # sweepers of other workers do not send it too
            with sessions() as session, session.begin():
                if not session.execute(update(GenerationJob).where(
                        GenerationJob.id == job_id, GenerationJob.turn == turn,
                        GenerationJob.status == "queued").values(updated_at=now)
                        .execution_options(synchronize_session=False)).rowcount:
                    continue
        else:
            last = sent.get(job_id)
            if last and last[0] == turn and (now - last[1]).total_seconds() < again_s:
                continue
            if not jobs.abandoned(sessions, job_id, updated_at, cutoff):
                continue
        log.info("job %s: no live worker has turn %s; sending it again", job_id, turn)
        send(job_id, turn)
        sent[job_id] = (turn, now)
        resent.append(job_id)
    return resent


class QueueWorker:
    """A Dramatiq worker on the jobs' queue and the sweeper beside it (`utterly worker`)."""

    def __init__(self, queue: TaskQueue, sessions, threads: int):
        from dramatiq import Worker

        self.queue = queue
        self.sessions = sessions
        self.worker = Worker(queue.broker, queues={QUEUE}, worker_threads=threads,
                             worker_timeout=100)
        # take no more turns than it can run: Dramatiq's default (twice the threads) would
        # hold turns back from idle workers
        self.worker.queue_prefetch = threads
        self.sweeper = threading.Thread(target=self._sweep, daemon=True,
                                        name="utterly-sweeper")

    def start(self) -> None:
        self.worker.start()
        self.sweeper.start()

    def _sweep(self) -> None:
        sent: dict = {}
        while not self.queue.stopping.wait(SWEEP_S):
            try:
                sweep(self.sessions, self.queue.send, sent=sent)
            except Exception:  # the database or the broker is away: try again later
                log.warning("sweep failed", exc_info=True)

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop cleanly: running turns end after their current FAQs and hand their jobs
        back with the next turn's message, for another worker to go on at once."""
        self.queue.stopping.set()
        self.worker.stop(timeout=int(timeout_s * 1000))
        self.sweeper.join(5)
