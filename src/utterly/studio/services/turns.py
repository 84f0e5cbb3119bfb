"""Whose turn it is: bulk jobs take turns by namespace, then by job inside a namespace.

A namespace has at most one turn given out at a time: a job of it is running, or one of
its queued jobs has its turn on the way (`sent_turn` is its current `turn`: the turn's
message is in the broker, or a Studio's worker thread is about to run it). A namespace
with twelve jobs so holds one worker, as one with a single job does, and a namespace whose
provider never answers ties up one worker, not the fleet. `dispatch` gives a turn to each
namespace that has none, the namespace served least recently first, and inside it the job
served least recently.

With a broker, a given-out turn is one message: nothing sends a queued job's turn again
while it is on the way (the sweeper used to, every 30 s, and the copies piled up behind
turns stuck on a dead provider). A turn is given back when its message could not be sent
or did not run it, and taken for lost only after `MESSAGE_LOST_S` (the broker lost it, or
its retries ran out).

Every choice is made under one lock (PostgreSQL: a transaction-level advisory lock;
SQLite: its write lock, taken first), so that two processes never give out two turns of
one namespace, nor let a namespace start more jobs than it may have.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import false, func, or_, select, text, update
from sqlalchemy.orm import Session

from ..errors import StudioError
from ..models import Bot, GenerationJob, Namespace, utcnow

log = logging.getLogger("utterly.studio.turns")

ACTIVE = ("queued", "running")
# The first key of the advisory lock under which turns are given out (the jobs' own locks
# use 0x5554, services/jobs.py).
DISPATCH_LOCK = 0x5555
# A turn's message not run after this long is taken for lost and its turn given out again.
# A message waits behind at most one turn per namespace, but those may hang for the bots'
# time limits; the broker's retries of a failing turn (services/queue.py) end before this.
MESSAGE_LOST_S = 600.0


def serialize(session: Session) -> None:
    """Hold the dispatch lock until `session`'s transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": DISPATCH_LOCK})
    else:
        # a write, even of no row, takes SQLite's write lock: what is read after it is
        # the latest, and no other writer comes in until the commit
        session.execute(update(GenerationJob).where(false()).values(turn=GenerationJob.turn)
                        .execution_options(synchronize_session=False))


class TooManyJobs(StudioError):
    status, code, title = 429, "too_many_jobs", "Too many jobs"


def check_room(session: Session, namespace_id: int, limit: int) -> None:
    """Refuse a new job when the namespace has `limit` queued or running already. Call
    it in the transaction that adds the job: it takes the dispatch lock, so that jobs
    created at once are counted one after the other."""
    serialize(session)
    active = session.execute(
        select(GenerationJob.id, GenerationJob.bot_id, GenerationJob.status)
        .join(Bot, Bot.id == GenerationJob.bot_id)
        .where(Bot.namespace_id == namespace_id, GenerationJob.status.in_(ACTIVE))
        .order_by(GenerationJob.id)).all()
    if len(active) < limit:
        return
    name = session.scalar(select(Namespace.name).where(Namespace.id == namespace_id))
    raise TooManyJobs(
        f"namespace “{name}” already has {len(active)} bulk generation job(s) queued or "
        f"running, the most it may have at once ({limit}): this job was not started",
        hint="wait for one of the jobs listed in `jobs` to finish, or cancel one (POST "
             "/api/bots/{bot_id}/generation-jobs/{id}/cancel), then start this one again; "
             "an operator can raise UTTERLY_MAX_JOBS_PER_NAMESPACE",
        limit=limit, jobs=[{"id": j.id, "bot_id": j.bot_id, "status": j.status}
                           for j in active])


class Given(NamedTuple):
    job_id: int
    turn: int
    # when the job had a turn before this one: what `give_back` puts back if this one
    # never left, so that the job keeps its place
    served_before: datetime | None


def dispatch(sessions, *, limit: int | None = None) -> list[Given]:
    """Give a turn to each namespace that has queued jobs and no turn out, the namespace
    served least recently first; `limit` of them at most. The caller sends each turn's
    message, or runs it."""
    with sessions() as session:
        # most polls find nothing to give out: they need not take the lock
        if session.scalar(select(GenerationJob.id).where(
                GenerationJob.status == "queued",
                or_(GenerationJob.sent_turn.is_(None),
                    GenerationJob.sent_turn != GenerationJob.turn)).limit(1)) is None:
            return []
    now = utcnow()
    with sessions() as session, session.begin():
        serialize(session)
        rows = session.execute(
            select(GenerationJob.id, GenerationJob.status, GenerationJob.turn,
                   GenerationJob.sent_turn, GenerationJob.sent_at, Bot.namespace_id)
            .join(Bot, Bot.id == GenerationJob.bot_id)
            .where(GenerationJob.status.in_(ACTIVE))).all()
        busy = {r.namespace_id for r in rows
                if r.status == "running" or r.sent_turn == r.turn}
        waiting: dict[int, list] = {}
        for r in rows:
            if r.namespace_id not in busy:
                waiting.setdefault(r.namespace_id, []).append(r)
        if not waiting:
            return []
        # when each namespace last had a turn, its finished jobs' turns included
        served = dict(session.execute(
            select(Bot.namespace_id, func.max(GenerationJob.sent_at))
            .join(Bot, Bot.id == GenerationJob.bot_id)
            .where(Bot.namespace_id.in_(list(waiting))).group_by(Bot.namespace_id)).all())
        order = sorted(waiting, key=lambda ns: (*_least_recent(served.get(ns)),
                                                min(r.id for r in waiting[ns])))
        given = []
        for ns in order[:limit]:
            job = min(waiting[ns], key=lambda r: (*_least_recent(r.sent_at), r.id))
            session.execute(update(GenerationJob).where(
                GenerationJob.id == job.id, GenerationJob.status == "queued",
                GenerationJob.turn == job.turn).values(sent_turn=job.turn, sent_at=now)
                .execution_options(synchronize_session=False))
            given.append(Given(job.id, job.turn, job.sent_at))
        return given


def _least_recent(when: datetime | None) -> tuple:
    """A sort key: never first, then the oldest."""
    return (when is not None, when.timestamp() if when else 0.0)


def give_back(sessions, job_id: int, turn: int, *,
              served_before: datetime | None = None, unsent: bool = False) -> bool:
    """The turn given out to the job did not start: the next `dispatch` gives its
    namespace a turn again. `unsent` (its message never left): the job had no turn, and
    keeps its place (`served_before`, from `Given`)."""
    values: dict = {"sent_turn": None}
    if unsent:
        values["sent_at"] = served_before
    with sessions() as session, session.begin():
        return session.execute(update(GenerationJob).where(
            GenerationJob.id == job_id, GenerationJob.status == "queued",
            GenerationJob.turn == turn, GenerationJob.sent_turn == turn)
            .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def given(sessions, job_id: int, turn: int) -> bool:
    """Whether the job waits, queued, for this turn given out to it."""
    with sessions() as session:
        return session.scalar(select(GenerationJob.id).where(
            GenerationJob.id == job_id, GenerationJob.status == "queued",
            GenerationJob.turn == turn, GenerationJob.sent_turn == turn)) is not None


def forget_lost(sessions, older_than_s: float) -> list[int]:
    """Take back the turns given out to queued jobs longer ago than `older_than_s`: their
    messages were lost (or the worker thread that took them died). The ids of those jobs."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    lost = (GenerationJob.status == "queued", GenerationJob.sent_turn == GenerationJob.turn,
            GenerationJob.sent_at < cutoff)
    with sessions() as session, session.begin():
        ids = list(session.scalars(select(GenerationJob.id).where(*lost)))
        if ids:
            session.execute(update(GenerationJob).where(GenerationJob.id.in_(ids), *lost)
                            .values(sent_turn=None)
                            .execution_options(synchronize_session=False))
    for job_id in ids:
        log.warning("job %s: its turn was given out %.0f s ago and has not run; giving "
                    "it out again", job_id, older_than_s)
    return ids
