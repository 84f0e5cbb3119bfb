"""Bulk jobs as queued work: Dramatiq on Redis or RabbitMQ when UTTERLY_BROKER_URL is set.

A job runs in turns (services/jobs.py, `run_turn`): a turn generates a few of its FAQs
side by side and hands the job back `queued` under the next turn's number. Turns are
given out by namespace (services/turns.py): a namespace has one turn out at a time, one
message in the queue or one turn running, so the queue holds at most one message per
namespace and turns go round by namespace, however many jobs each has. A 10,000-FAQ job
holds nobody up, nor do twelve jobs stuck on a provider that never answers.

Delivery is at least once and the effects are idempotent: a message runs its job only if
it carries the job's current turn, that turn was given out, and nobody alive holds the
job's lock, so a duplicate or a late redelivery is dropped; storing a run and marking its
item is one transaction, so a redelivered turn never generates an FAQ twice. The database
stays the record of jobs, items and runs; a message carries two ids.

Each worker also sweeps once a second: it gives out the turns due (a job created while
every Studio's dispatch failed, a namespace whose job was cancelled); a running job whose
lock is free lost its worker (PostgreSQL freed the lock when that worker's connection
died: kill -9, a lost machine), and the sweeper sends its current turn again, so a killed
worker costs a second, not a lease. A queued job's message is never sent twice while it
waits: a message that could not be sent gives its turn back at once, one that never ran
is taken for lost after turns.MESSAGE_LOST_S.

Without a broker the Studio's own JobWorker (services/jobs.py) runs the same turns.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from ..models import GenerationJob, utcnow
from ..secrets import SecretBox
from . import jobs, turns

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
        # retries cover a database away for minutes (1 s, 2 s, … then every 30 s: about
        # 8 min), less than turns.MESSAGE_LOST_S, after which the sweeper gives the turn
        # out again. No time limit: Dramatiq's would interrupt a thread inside a
        # transaction; each generation has its own deadline (the bot's timeout_s).
        self.actor = dramatiq.Actor(self._run, broker=self.broker, actor_name=ACTOR,
                                    queue_name=QUEUE, priority=0,
                                    options={"max_retries": 20, "min_backoff": 1000,
                                             "max_backoff": 30_000,
                                             "time_limit": float("inf")})

    def send(self, job_id: int, turn: int) -> None:
        self.actor.send(job_id, turn)

    def dispatch(self, sessions) -> list[int]:
        """Send the turns due (a job created, a turn ended): see `dispatch`."""
        return dispatch(sessions, self.send)

    def _run(self, job_id: int, turn: int) -> None:
        sessions, box = self._served
        jobs.run_turn(sessions, box, job_id, turn, stop=self.stopping)
        # the turn ended (or was not this message's): its namespace may have the next
        self.dispatch(sessions)

    def serve(self, sessions, box: SecretBox, *, threads: int = 4) -> "QueueWorker":
        self._served = (sessions, box)
        return QueueWorker(self, sessions, threads)

    def close(self) -> None:
        self.broker.close()


def dispatch(sessions, send) -> list[int]:
    """Send the turns turns.dispatch gives out; a turn whose message could not be sent
    (the broker is away) is given back, for a later dispatch. The ids of the jobs sent."""
    given = turns.dispatch(sessions)
    for n, turn in enumerate(given):
        try:
            send(turn.job_id, turn.turn)
        except Exception:
            for unsent in given[n:]:  # this one and those after it never left
                turns.give_back(sessions, unsent.job_id, unsent.turn,
                                served_before=unsent.served_before, unsent=True)
            raise
    return [turn.job_id for turn in given]


def sweep(sessions, send, lease_s: float = jobs.LEASE_S, sent: dict | None = None,
          again_s: float = 10.0, lost_s: float = turns.MESSAGE_LOST_S) -> list[int]:
    """Send again the current turn of each running job whose worker is gone, take back
    the turns whose messages were lost, and give out the turns due; the ids of the jobs
    sent.

    A running job's turn sent again keeps its number: the message sent again and the
    first one (if it comes back from the dead worker) carry the same turn, so the one that
    arrives first runs it and the other finds the job moved on. `sent` remembers what this
    sweeper sent when, so that it sends a running job's turn again at most every
    `again_s`. A queued job's turn on the way is never sent again while it waits, however
    long the queue: only once it is taken for lost, after `lost_s`."""
    sent = {} if sent is None else sent
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_s)
    with sessions() as session:
        rows = session.execute(select(GenerationJob.id, GenerationJob.turn,
                                      GenerationJob.updated_at)
                               .where(GenerationJob.status == "running")).all()
    resent = []
    for job_id, turn, updated_at in rows:
        last = sent.get(job_id)
        if last and last[0] == turn and (now - last[1]).total_seconds() < again_s:
            continue
        if not jobs.abandoned(sessions, job_id, updated_at, cutoff):
            continue
        log.info("job %s: no live worker has turn %s; sending it again", job_id, turn)
        send(job_id, turn)
        sent[job_id] = (turn, now)
        resent.append(job_id)
    turns.forget_lost(sessions, lost_s)
    return resent + dispatch(sessions, send)


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
