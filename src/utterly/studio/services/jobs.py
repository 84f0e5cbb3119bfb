"""Bulk generation: one job generates for many FAQs of a bot, a few at a time.

The job and each FAQ's item live in the database, so a job survives a crash or a restart:
running it again picks up the items not done. Nothing is imported without a person unless
the job says `auto_import`, and then only new, conflict-free candidates whose similarity
score is at least `min_score`; a candidate without a score (the embedding filter was
skipped) is never auto-imported.

A job whose every item failed ends `failed`, its `error` summing up the failures; a job
with some failures ends `done`, its counts showing them.

Several processes may work on one database: the Studio's worker and any number of
`utterly generate-all`. This rule keeps them from generating an FAQ twice:

- A job is run by one worker at a time, its owner. While it runs the job, the owner
  touches the job's `updated_at` every HEARTBEAT_S seconds.
- A worker becomes the owner with one conditional UPDATE, which only matches a `queued`
  job or a `running` one not touched for LEASE_S seconds (its owner was killed, crashed or
  lost the database). When two workers try at once, one UPDATE matches.
- The new owner puts the items left `running` back to `pending`: the previous owner, if
  any, is gone, so nobody works on them.
- Each item is claimed with a conditional UPDATE too (`pending` → `running`; go on only if
  it changed one row). Even two workers that both believe they own the job (an owner that
  stalled for longer than the lease) never generate a pending FAQ twice. Only the item the
  stalled owner was generating can be generated again.
- A worker that stops cleanly (Studio shutdown, Ctrl-C in the CLI) lets its running items
  finish and hands the job back as `queued`, so another can take it over at once.

- On PostgreSQL the owner also holds a session advisory lock on the job, which PostgreSQL
  releases the moment the owner's connection dies (kill -9, a lost machine). A worker
  that gets the lock knows no live owner is left. The task queue (services/queue.py) acts on
  that at once, instead of waiting for the lease; without a queue the lease still decides.

Workers run jobs in turns, given out by namespace (services/turns.py): a namespace has
one turn out at a time, whatever its number of jobs, and may have at most
UTTERLY_MAX_JOBS_PER_NAMESPACE jobs queued or running (`create_job` refuses one more).

Clocks: `updated_at` is written with each process's clock, so processes sharing a database
from several machines need clocks within a few seconds of each other.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, false, func, or_, select, text, update
from sqlalchemy.orm import Session

from ..access import Actor, bot_for
from ..config import StudioConfig
from ..errors import Conflict, Invalid, NotFound, StudioError
from ..gates import GATES
from ..models import Faq, GenerationJob, GenerationJobItem, TrainingSentence, User, utcnow
from ..schemas import GenerateIn, ImportIn, JobIn
from ..secrets import SecretBox
from . import generation, turns
from .settings import DEFAULT_CONCURRENCY, concurrency_of, endpoint_config, generation_row

log = logging.getLogger("utterly.studio.jobs")

# Each provider's default for the generations a job runs side by side, when its bot sets no
# `max_concurrency`: the settings' own table (the same dict), which tests can lower.
CONCURRENCY = DEFAULT_CONCURRENCY

# A running job's owner touches it this often (seconds) …
HEARTBEAT_S = 5.0
# … and is taken for gone when it has not for this long: another worker may take over.
LEASE_S = 30.0
# A turn runs this many items per concurrent slot, then lets the jobs that wait have theirs.
TURN_ROUNDS = 2

ACTIVE = ("queued", "running")

# The first key of the jobs' advisory locks on PostgreSQL (the second is the job's id).
LOCK_CLASS = 0x5554


class OwnerLock:
    """The job's advisory lock on PostgreSQL, held on a connection of its own for as long
    as this process owns the job. On SQLite, which has no such lock (one machine), it
    always succeeds and proves nothing."""

    def __init__(self, sessions, job_id: int):
        self.engine = sessions.kw["bind"]
        self.job_id = job_id
        self.connection = None

    @property
    def meaningful(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        if not self.meaningful:
            return True
        connection = self.engine.connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:c, :j)"),
                                     {"c": LOCK_CLASS, "j": self.job_id}).scalar()
            connection.commit()  # the lock is the session's: it outlives the transaction
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self.connection = connection
        return True

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:c, :j)"),
                                    {"c": LOCK_CLASS, "j": self.job_id})
            self.connection.commit()
        finally:  # closing the connection releases the lock anyway
            self.connection.close()
            self.connection = None


def owner_gone(sessions, job_id: int) -> bool:
    """True when nobody holds the job's lock: its owner, if it had one, is dead. Only
    PostgreSQL can tell; on SQLite always False (the lease decides)."""
    lock = OwnerLock(sessions, job_id)
    if not lock.meaningful or not lock.acquire():
        return False
    lock.release()
    return True


def abandoned(sessions, job_id: int, updated_at, cutoff) -> bool:
    """Whether a running job's owner is gone: its lock is free (PostgreSQL), or it has been
    silent since `cutoff` (the lease)."""
    return owner_gone(sessions, job_id) or updated_at < cutoff


def create_job(session: Session, actor: Actor, bot_id: int, data: JobIn, *,
               max_jobs: int = StudioConfig.max_jobs_per_namespace) -> GenerationJob:
    """A queued job; refused (429 too_many_jobs) when the bot's namespace has `max_jobs`
    queued or running already."""
    bot = bot_for(session, actor, bot_id, "bot_user")
    if not generation_row(session, bot.id).enabled:
        raise Conflict("sentence generation is disabled for this bot",
                       code="generation_disabled",
                       hint="an admin can enable it in Gen AI › Sentence generation settings")
    counts = dict(session.execute(select(TrainingSentence.faq_id, func.count()).where(
        TrainingSentence.bot_id == bot.id).group_by(TrainingSentence.faq_id)).all())
    faqs = session.scalars(select(Faq).where(Faq.bot_id == bot.id).order_by(Faq.id)).all()
    if data.faq_ids is not None:
        unknown = set(data.faq_ids) - {f.id for f in faqs}
        if unknown:
            raise Invalid(f"FAQ ids not in this bot: {sorted(unknown)}", field="faq_ids",
                          reason="unknown_faqs",
                          params={"ids": ", ".join(map(str, sorted(unknown)))},
                          hint="list the bot's FAQs with GET /api/bots/{bot_id}/faqs")
        faqs = [f for f in faqs if f.id in set(data.faq_ids)]
    if data.below is not None:
        faqs = [f for f in faqs if counts.get(f.id, 0) < data.below]
    # an FAQ without any sentence has nothing to paraphrase
    faqs = [f for f in faqs if counts.get(f.id, 0) > 0]
    if not faqs:
        raise Invalid("no FAQ matches", field="below" if data.below is not None else "faq_ids",
                      reason="no_faq_matches",
                      hint="FAQs need at least one sentence; raise `below` or pick others")
    turns.check_room(session, bot.namespace_id, max_jobs)
    job = GenerationJob(bot_id=bot.id, user_id=actor.user_id, status="queued",
                        params=data.model_dump())
    session.add(job)
    session.flush()
    session.add_all(GenerationJobItem(job_id=job.id, faq_id=f.id, status="pending")
                    for f in faqs)
    session.flush()
    return job


def job_view(session: Session, job: GenerationJob) -> dict:
    items = session.scalars(select(GenerationJobItem).where(
        GenerationJobItem.job_id == job.id).order_by(GenerationJobItem.id)).all()
    titles = dict(session.execute(select(Faq.id, Faq.title).where(
        Faq.id.in_([i.faq_id for i in items if i.faq_id]))).all())
    by_status: dict[str, int] = {}
    for item in items:
        by_status[item.status] = by_status.get(item.status, 0) + 1
    user = session.get(User, job.user_id) if job.user_id else None
    return {"id": job.id, "bot_id": job.bot_id, "status": job.status, "params": job.params,
            "username": user.username if user else None, "created_at": job.created_at,
            "updated_at": job.updated_at, "error": job.error, "total": len(items),
            "done": by_status.get("done", 0), "failed": by_status.get("failed", 0),
            "pending": by_status.get("pending", 0) + by_status.get("running", 0),
            "imported": sum(i.imported for i in items),
            "items": [{"faq_id": i.faq_id, "faq_title": titles.get(i.faq_id),
                       "status": i.status, "run_id": i.run_id, "imported": i.imported,
                       "error": i.error} for i in items]}


def _job(session: Session, bot_id: int, job_id: int) -> GenerationJob:
    job = session.get(GenerationJob, job_id)
    if job is None or job.bot_id != bot_id:
        raise NotFound("generation job")
    return job


def get_job(session: Session, actor: Actor, bot_id: int, job_id: int) -> dict:
    bot = bot_for(session, actor, bot_id)
    return job_view(session, _job(session, bot.id, job_id))


def resume_job(session: Session, actor: Actor, bot_id: int, job_id: int) -> dict:
    """The job, if `actor` may run it: bot_user on its bot, as for creating one. The job
    still runs as its creator (`run_job`), whoever resumes it."""
    bot = bot_for(session, actor, bot_id, "bot_user")
    return job_view(session, _job(session, bot.id, job_id))


def list_jobs(session: Session, actor: Actor, bot_id: int) -> list[dict]:
    bot = bot_for(session, actor, bot_id)
    jobs = session.scalars(select(GenerationJob).where(GenerationJob.bot_id == bot.id)
                           .order_by(GenerationJob.id.desc()).limit(50)).all()
    return [job_view(session, j) for j in jobs]


def cancel_job(session: Session, actor: Actor, bot_id: int, job_id: int) -> dict:
    bot = bot_for(session, actor, bot_id, "bot_user")
    job = _job(session, bot.id, job_id)
    if job.status in ACTIVE:
        job.status = "cancelled"
        session.execute(update(GenerationJobItem).where(
            GenerationJobItem.job_id == job.id, GenerationJobItem.status == "pending").values(
            status="skipped"))
    session.flush()
    return job_view(session, job)


def _importable(candidates, min_score: float) -> list[str]:
    """What auto-import takes: new, conflict-free candidates scored at least `min_score`.
    A candidate without a similarity score (the embedding filter was skipped) was never
    checked for meaning drift: it waits for a person, whatever min_score is."""
    return [c.text for c in candidates
            if c.status == "new" and c.conflict_risk is None
            and c.scores.get("similarity") is not None
            and c.scores["similarity"] >= min_score]


def _auto_import(sessions, actor: Actor, bot_id: int, faq_id: int, result, min_score: float,
                 box: SecretBox) -> int:
    texts = _importable(result.candidates, min_score)
    if not texts:
        return 0
    with sessions() as session, session.begin():
        report = generation.import_sentences(session, actor, bot_id, faq_id,
                                             ImportIn(run_id=result.run_id, texts=texts), box)
    return report.imported


def _status(sessions, job_id: int) -> str:
    with sessions() as session:
        return session.scalar(select(GenerationJob.status).where(GenerationJob.id == job_id))


def _item_counts(session: Session, job_id: int) -> dict[str, int]:
    return dict(session.execute(select(GenerationJobItem.status, func.count()).where(
        GenerationJobItem.job_id == job_id).group_by(GenerationJobItem.status)).all())


def _others_waiting(sessions, job_id: int) -> bool:
    """Whether another job is queued, waiting for a turn."""
    with sessions() as session:
        return session.scalar(select(GenerationJob.id).where(
            GenerationJob.status == "queued", GenerationJob.id != job_id).limit(1)) is not None


def _take_over(session: Session, job_id: int, lease_s: float, turn: int | None = None,
               gone: bool = False) -> bool:
    """Become the job's owner, if it is queued or its owner is gone (see the module doc):
    silent for the lease, or `gone` (we hold its lock). With a `turn`, only if it is the
    job's current one, and a queued job only if that turn was given out to it
    (turns.dispatch): a message whose turn was taken back runs nothing. One conditional
    UPDATE: of two workers trying at once, only one matches."""
    now = utcnow()
    abandoned = GenerationJob.status == "running"
    if not gone:
        abandoned = and_(abandoned, GenerationJob.updated_at < now - timedelta(seconds=lease_s))
    queued = GenerationJob.status == "queued"
    if turn is not None:
        queued = and_(queued, GenerationJob.sent_turn == turn)
    where = [GenerationJob.id == job_id, or_(queued, abandoned)]
    if turn is not None:
        where.append(GenerationJob.turn == turn)
    result = session.execute(
        update(GenerationJob).where(*where).values(status="running", updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _claim(sessions, item_id: int) -> bool:
    """Take one pending item; False when another worker has it (or it was cancelled)."""
    with sessions() as session, session.begin():
        result = session.execute(
            update(GenerationJobItem).where(GenerationJobItem.id == item_id,
                                            GenerationJobItem.status == "pending")
            .values(status="running").execution_options(synchronize_session=False))
        return result.rowcount == 1


def _heartbeat(sessions, job_id: int, every_s: float, done: threading.Event) -> None:
    while not done.wait(every_s):
        try:
            with sessions() as session, session.begin():
                session.execute(update(GenerationJob).where(
                    GenerationJob.id == job_id, GenerationJob.status == "running")
                    .values(updated_at=utcnow()).execution_options(synchronize_session=False))
        except Exception:  # a missed beat is not fatal; several in a row lose the lease
            log.warning("job %s: heartbeat failed", job_id, exc_info=True)


@dataclass
class _Owned:
    actor: Actor
    bot_id: int
    params: dict
    # generations run side by side: the bot's max_concurrency (or its provider's
    # default), at most its endpoint's slots
    concurrency: int
    items: list[tuple[int, int | None]]


def _start(sessions, job_id: int, lease_s: float, turn: int | None = None,
           gone: bool = False) -> tuple[_Owned | None, dict]:
    """Take the job over if it is free: what to run (None when not ours) and its state."""
    with sessions() as session, session.begin():
        # the conditional UPDATE comes first: SQLite takes its write lock there
        owned = _take_over(session, job_id, lease_s, turn, gone)
        job = session.get(GenerationJob, job_id)
        if job is None:
            raise NotFound("generation job")
        if not owned:
            return None, job_view(session, job)
        user = session.get(User, job.user_id) if job.user_id else None
        if user is None:
            job.status = "failed"
            job.error = {"code": "creator_deleted",
                         "detail": "the user who created this job no longer exists",
                         "hint": "start a new job"}
            session.execute(update(GenerationJobItem).where(
                GenerationJobItem.job_id == job_id,
                GenerationJobItem.status.in_(("pending", "running"))).values(status="skipped"))
            session.flush()
            return None, job_view(session, job)
        # the previous owner, if any, is gone: nobody works on what it left running
        session.execute(update(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id, GenerationJobItem.status == "running").values(
            status="pending"))
        items = [(i.id, i.faq_id) for i in session.scalars(select(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id, GenerationJobItem.status == "pending")
            .order_by(GenerationJobItem.id))]
        return _Owned(actor=Actor(user.id, user.username), bot_id=job.bot_id,
                      params=dict(job.params),
                      concurrency=_side_by_side(generation_row(session, job.bot_id)),
                      items=items), {}


def _side_by_side(row) -> int:
    """The generations a job runs side by side: its bot's limit, and no more than its
    endpoint's slots, beyond which an FAQ would only wait (the wait counts in its
    `timeout_s`)."""
    own = concurrency_of(row)
    endpoint = GATES.limit_for(endpoint_config(row))
    return own if endpoint is None else min(own, endpoint)


def _failure_summary(session: Session, job_id: int, failed: int) -> dict:
    first = session.scalars(select(GenerationJobItem).where(
        GenerationJobItem.job_id == job_id, GenerationJobItem.status == "failed")
        .order_by(GenerationJobItem.id).limit(1)).first()
    problem = first.error or {}
    title = session.scalar(select(Faq.title).where(Faq.id == first.faq_id)) \
        if first.faq_id else None
    code, detail = problem.get("code", "internal_error"), problem.get("detail", "")
    which = f"“{title}”" if title else "a deleted FAQ"
    # the first failure as the problem it was (its code, reason and params for the pages)
    first_problem = {"faq_id": first.faq_id, "faq_title": title, "code": code, "detail": detail,
                     **{k: problem[k] for k in ("field", "reason", "params") if k in problem}}
    summary = {"code": "all_items_failed", "failed": failed,
               "detail": f"all {failed} FAQ(s) failed; the first, {which}: [{code}] {detail}",
               "first": first_problem}
    if problem.get("hint"):
        summary["hint"] = problem["hint"]
    return summary


def _finish(sessions, job_id: int, release: bool, turn: int | None = None) -> dict:
    """End the job when no item is left: `failed` if every item failed, else `done`. With
    items left and `release` (a clean stop, or the end of a `turn`), hand the job back as
    `queued`; after a turn, under the next turn's number (the view's `next_turn`)."""
    next_turn = None
    with sessions() as session, session.begin():
        job = session.get(GenerationJob, job_id)
        counts = _item_counts(session, job_id)
        if job.status == "running":
            if not counts.get("pending") and not counts.get("running"):
                if counts.get("failed") and not counts.get("done"):
                    job.status = "failed"
                    job.error = _failure_summary(session, job_id, counts["failed"])
                else:
                    job.status = "done"
            elif release and not counts.get("running"):
                job.status = "queued"
                job.sent_turn = None  # no turn of it is out: the next dispatch gives one
                if turn is not None:
                    job.turn = next_turn = turn + 1
            session.flush()
        return {**job_view(session, job), "next_turn": next_turn}


def _view(sessions, job_id: int) -> dict:
    with sessions() as session:
        job = session.get(GenerationJob, job_id)
        if job is None:
            raise NotFound("generation job")
        return job_view(session, job)


def run_job(sessions, job_id: int, box: SecretBox, *, on_progress=None,
            stop: threading.Event | None = None, wait: bool = False,
            lease_s: float = LEASE_S, heartbeat_s: float = HEARTBEAT_S,
            poll_s: float = 1.0, turn: int | None = None) -> dict:
    """Run the job's pending items as its owner; resumable, cancellable between items.

    When another live worker owns the job, return its state at once; or, with `wait`,
    follow it (`on_progress` gets `{"waiting": True, "finished", "total", "silent_s"}`
    every `poll_s`) until it ends, or until its owner has been silent for `lease_s` and
    this call takes the job over. Item events are `{"item_id", "faq_id", "status",
    "run_id", "imported"}`.

    With a `turn` (the task queue's), run only if it is the job's current turn, and take
    over at once a job whose owner's lock is free; after TURN_ROUNDS items per concurrent
    slot, if another job is queued, hand the job back `queued` under the view's
    `next_turn`."""
    lock = OwnerLock(sessions, job_id)
    while True:
        if lock.acquire():
            owned, view = _start(sessions, job_id, lease_s, turn,
                                 gone=turn is not None and lock.meaningful)
            if owned is not None:
                break
            lock.release()
        else:  # a live owner holds it
            view = _view(sessions, job_id)
        if not wait or view["status"] not in ACTIVE or (stop is not None and stop.is_set()):
            return view
        if on_progress is not None:
            silent = (utcnow() - view["updated_at"]).total_seconds()
            on_progress({"waiting": True, "finished": view["total"] - view["pending"],
                         "total": view["total"], "silent_s": max(0.0, silent)})
        (stop or threading.Event()).wait(poll_s)
    try:
        return _run_owned(sessions, job_id, box, owned, on_progress, stop, heartbeat_s, turn)
    finally:
        lock.release()


def _run_owned(sessions, job_id: int, box: SecretBox, owned: _Owned,  # noqa: C901
               on_progress, stop: threading.Event | None, heartbeat_s: float,
               turn: int | None) -> dict:
    halt = threading.Event()  # ours: set on an error or an interrupt, never the caller's

    def stopping() -> bool:
        return halt.is_set() or (stop is not None and stop.is_set())

    params = owned.params
    request = GenerateIn(options=params.get("options") or {}, n=params.get("n"),
                         temperature=params.get("temperature"))

    def one(item_id: int, faq_id: int | None) -> None:
        if stopping() or _status(sessions, job_id) != "running":
            return
        if not _claim(sessions, item_id):
            return  # another worker has it, or the job was cancelled
        status, run_id, imported, error = "done", None, 0, None

        def stored(session: Session, run) -> None:
            # in the run's transaction: a crash after it finds the item ended, not pending
            session.execute(update(GenerationJobItem).where(
                GenerationJobItem.id == item_id,
                GenerationJobItem.status.in_(("pending", "running"))).values(
                status="failed" if run.status == "failed" else "done", run_id=run.id,
                error=run.error))

        try:
            if faq_id is None:
                raise NotFound("FAQ")
            result = generation.generate(sessions, owned.actor, owned.bot_id, faq_id,
                                         request, box, on_stored=stored, bulk=True)
            run_id = result.run_id
            if params.get("auto_import"):
                imported = _auto_import(sessions, owned.actor, owned.bot_id, faq_id, result,
                                        params.get("min_score", 0.0), box)
        except StudioError as exc:
            status, error = "failed", exc.to_problem()
            run_id = exc.extra.get("run_id")
        except Exception as exc:  # one FAQ's bug must not stop the others
            log.exception("job %s item %s failed", job_id, item_id)
            status, error = "failed", {"code": "internal_error", "detail": type(exc).__name__}
        with sessions() as session, session.begin():
            # what the run's transaction could not know: the import, the problem's words
            ended_with_its_run = (GenerationJobItem.run_id == run_id) if run_id else false()
            session.execute(update(GenerationJobItem).where(
                GenerationJobItem.id == item_id,
                or_(GenerationJobItem.status.in_(("pending", "running")),
                    ended_with_its_run)).values(
                status=status, run_id=run_id, imported=imported, error=error))
        if on_progress is not None:
            on_progress({"item_id": item_id, "faq_id": faq_id, "status": status,
                         "run_id": run_id, "imported": imported})

    beat_done = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(sessions, job_id, heartbeat_s, beat_done),
                            daemon=True, name=f"job-{job_id}-heartbeat")
    beat.start()
    try:
        slots = owned.concurrency
        left = iter(owned.items)
        started = 0
        running: set = set()

        def turn_over() -> bool:
            # a turn ends after its share, but only if another job waits for one: alone,
            # a job keeps every slot busy rather than stopping to queue behind nobody
            return (turn is not None and started >= slots * TURN_ROUNDS
                    and _others_waiting(sessions, job_id))

        with ThreadPoolExecutor(max_workers=slots,
                                thread_name_prefix=f"job-{job_id}") as pool:
            try:
                while True:
                    while len(running) < slots and not stopping() and not turn_over():
                        item = next(left, None)
                        if item is None:
                            break
                        running.add(pool.submit(one, *item))
                        started += 1
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
            except BaseException:
                halt.set()  # the items not started stay pending; running ones finish
                raise
    except BaseException as exc:
        beat_done.set()
        try:  # interrupted (Ctrl-C): hand the job back; on an error, the lease decides
            _finish(sessions, job_id, release=not isinstance(exc, Exception))
        except Exception:
            log.exception("job %s: could not record where the job stopped", job_id)
        raise
    beat_done.set()
    return _finish(sessions, job_id, release=stopping() or turn is not None, turn=turn)


# A turn that finds the job's lock held for a moment (a worker checking whether the
# job's owner lives) is tried this many times before it is given back.
TURN_TRIES = 3


def run_turn(sessions, box: SecretBox, job_id: int, turn: int, *,
             stop: threading.Event | None = None, lease_s: float = LEASE_S) -> dict:
    """Run the turn turns.dispatch gave out to the job: the task code, whether a broker's
    worker or the Studio's own JobWorker runs it. A turn that could not start although it
    is still the job's, given out, is given back, for the next dispatch to give out again:
    the job never waits for a message that is not coming."""
    view: dict = {}
    for attempt in range(TURN_TRIES):
        try:
            view = run_job(sessions, job_id, box, turn=turn, stop=stop, lease_s=lease_s)
        except NotFound:
            return {}  # the job was deleted with its bot: nothing to do
        if "next_turn" in view or not turns.given(sessions, job_id, turn):
            return view  # it ran, or it is not this turn's any more (a duplicate)
        if stop is not None and stop.is_set():
            break
        (stop or threading.Event()).wait(0.1 * 2 ** attempt)
    turns.give_back(sessions, job_id, turn)
    return view


class JobWorker:
    """Runs jobs in the Studio process when there is no task queue: `threads` turns at
    once, the same turns as the queue's workers (services/queue.py). Each thread runs the
    turn turns.dispatch gives out next: the namespace served least recently, one turn per
    namespace at a time, so that a namespace whose provider hangs holds one thread and the
    others go on. Takes over the running jobs whose owner is gone (its lock free on
    PostgreSQL, silent for `lease_s` on SQLite), e.g. after a crash or a restart."""

    def __init__(self, sessions, box: SecretBox, poll_s: float = 1.0,
                 lease_s: float = LEASE_S, threads: int = StudioConfig.job_threads):
        self.sessions = sessions
        self.box = box
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True,
                                         name=f"utterly-jobs-{i}") for i in range(threads)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _next(self) -> tuple[int, int] | None:
        """The next turn this thread runs: an abandoned running job's first, then the one
        dispatch gives out."""
        cutoff = utcnow() - timedelta(seconds=self.lease_s)
        with self.sessions() as session:
            running = session.execute(select(
                GenerationJob.id, GenerationJob.turn, GenerationJob.updated_at).where(
                GenerationJob.status == "running").order_by(GenerationJob.id)).all()
        for job_id, turn, updated_at in running:
            if abandoned(self.sessions, job_id, updated_at, cutoff):
                return job_id, turn
        # given out by a thread that died with its process (this one runs its turns at once)
        turns.forget_lost(self.sessions, self.lease_s)
        given = turns.dispatch(self.sessions, limit=1)
        return (given[0].job_id, given[0].turn) if given else None

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                found = self._next()
                if found is None:
                    self.stop.wait(self.poll_s)
                    continue
                # not ours if another worker took it meanwhile: run_job returns at once
                run_turn(self.sessions, self.box, found[0], found[1], stop=self.stop,
                         lease_s=self.lease_s)
            except Exception:  # keep the worker alive; the job's state says what happened
                log.exception("generation job worker error")
                self.stop.wait(self.poll_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
