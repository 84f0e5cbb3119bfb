"""Bulk generation: one job generates for many FAQs of a bot, a few at a time.

The job and each FAQ's item live in the database, so a job survives a crash or a restart:
running it again picks up the items not done. Nothing is imported without a person unless
the job says `auto_import`, and then only new, conflict-free candidates scoring at least
`min_score`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..access import Actor, bot_for
from ..errors import Conflict, Invalid, NotFound, StudioError
from ..models import (Faq, GenerationJob, GenerationJobItem, TrainingSentence, User)
from ..schemas import GenerateIn, ImportIn, JobIn
from ..secrets import SecretBox
from . import generation
from .settings import generation_row

log = logging.getLogger("utterly.studio.jobs")

# Concurrent generations per provider: the embedded model runs one at a time anyway;
# servers take a few in parallel without tripping rate limits.
CONCURRENCY = {"local": 1, "ollama": 2, "openai": 4, "openai-compatible": 4, "azure-openai": 4}


def create_job(session: Session, actor: Actor, bot_id: int, data: JobIn) -> GenerationJob:
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
                          hint="list the bot's FAQs with GET /api/bots/{bot_id}/faqs")
        faqs = [f for f in faqs if f.id in set(data.faq_ids)]
    if data.below is not None:
        faqs = [f for f in faqs if counts.get(f.id, 0) < data.below]
    # an FAQ without any sentence has nothing to paraphrase
    faqs = [f for f in faqs if counts.get(f.id, 0) > 0]
    if not faqs:
        raise Invalid("no FAQ matches", field="below" if data.below is not None else "faq_ids",
                      hint="FAQs need at least one sentence; raise `below` or pick others")
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


def list_jobs(session: Session, actor: Actor, bot_id: int) -> list[dict]:
    bot = bot_for(session, actor, bot_id)
    jobs = session.scalars(select(GenerationJob).where(GenerationJob.bot_id == bot.id)
                           .order_by(GenerationJob.id.desc()).limit(50)).all()
    return [job_view(session, j) for j in jobs]


def cancel_job(session: Session, actor: Actor, bot_id: int, job_id: int) -> dict:
    bot = bot_for(session, actor, bot_id, "bot_user")
    job = _job(session, bot.id, job_id)
    if job.status in ("queued", "running"):
        job.status = "cancelled"
        session.execute(update(GenerationJobItem).where(
            GenerationJobItem.job_id == job.id, GenerationJobItem.status == "pending").values(
            status="skipped"))
    session.flush()
    return job_view(session, job)


def _auto_import(sessions, actor: Actor, bot_id: int, faq_id: int, result, min_score: float,
                 box: SecretBox) -> int:
    texts = [c.text for c in result.candidates
             if c.status == "new" and c.conflict_risk is None
             and c.scores.get("similarity", 1.0) >= min_score]
    if not texts:
        return 0
    with sessions() as session, session.begin():
        report = generation.import_sentences(session, actor, bot_id, faq_id,
                                             ImportIn(run_id=result.run_id, texts=texts), box)
    return report.imported


def _status(sessions, job_id: int) -> str:
    with sessions() as session:
        return session.scalar(select(GenerationJob.status).where(GenerationJob.id == job_id))


def run_job(sessions, job_id: int, box: SecretBox, *, on_progress=None,
            stop: threading.Event | None = None) -> dict:
    """Process the job's pending items; resumable, cancellable between items."""
    with sessions() as session, session.begin():
        job = session.get(GenerationJob, job_id)
        if job is None:
            raise NotFound("generation job")
        if job.status in ("done", "cancelled"):
            return job_view(session, job)
        user = session.get(User, job.user_id)
        actor = Actor(user.id, user.username)
        bot_id, params = job.bot_id, dict(job.params)
        # items a crash left "running" start again
        session.execute(update(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id, GenerationJobItem.status == "running").values(
            status="pending"))
        job.status = "running"
        provider = generation_row(session, bot_id).provider
        items = [(i.id, i.faq_id) for i in session.scalars(select(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id, GenerationJobItem.status == "pending")
            .order_by(GenerationJobItem.id))]
    request = GenerateIn(options=params.get("options") or {}, n=params.get("n"),
                         temperature=params.get("temperature"))

    def one(item_id: int, faq_id: int | None) -> None:
        if (stop is not None and stop.is_set()) or _status(sessions, job_id) != "running":
            return
        with sessions() as session, session.begin():
            session.execute(update(GenerationJobItem).where(
                GenerationJobItem.id == item_id).values(status="running"))
        status, run_id, imported, error = "done", None, 0, None
        try:
            if faq_id is None:
                raise NotFound("FAQ")
            result = generation.generate(sessions, actor, bot_id, faq_id, request, box)
            run_id = result.run_id
            if params.get("auto_import"):
                imported = _auto_import(sessions, actor, bot_id, faq_id, result,
                                        params.get("min_score", 0.0), box)
        except StudioError as exc:
            status, error = "failed", exc.to_problem()
            run_id = exc.extra.get("run_id")
        except Exception as exc:  # one FAQ's bug must not stop the others
            log.exception("job %s item %s failed", job_id, item_id)
            status, error = "failed", {"code": "internal_error", "detail": type(exc).__name__}
        with sessions() as session, session.begin():
            session.execute(update(GenerationJobItem).where(
                GenerationJobItem.id == item_id).values(status=status, run_id=run_id,
                                                        imported=imported, error=error))
        if on_progress is not None:
            on_progress({"item_id": item_id, "faq_id": faq_id, "status": status,
                         "run_id": run_id, "imported": imported})

    with ThreadPoolExecutor(max_workers=CONCURRENCY.get(provider, 2),
                            thread_name_prefix=f"job-{job_id}") as pool:
        for future in as_completed([pool.submit(one, i, f) for i, f in items]):
            future.result()

    with sessions() as session, session.begin():
        job = session.get(GenerationJob, job_id)
        left = session.scalar(select(func.count()).select_from(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id, GenerationJobItem.status.in_(
                ("pending", "running"))))
        if job.status == "running" and not left:
            job.status = "done"
        return job_view(session, job)


class JobWorker:
    """Runs queued jobs in the Studio process, one at a time; resumes interrupted ones."""

    def __init__(self, sessions, box: SecretBox, poll_s: float = 1.0):
        self.sessions = sessions
        self.box = box
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="utterly-jobs")

    def start(self) -> None:
        self.thread.start()

    def _next(self) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(GenerationJob.id).where(
                GenerationJob.status.in_(("running", "queued"))).order_by(
                (GenerationJob.status != "running"), GenerationJob.id).limit(1))

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                job_id = self._next()
                if job_id is None:
                    self.stop.wait(self.poll_s)
                    continue
                run_job(self.sessions, job_id, self.box, stop=self.stop)
            except Exception:  # keep the worker alive; the job's state says what happened
                log.exception("generation job worker error")
                self.stop.wait(self.poll_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self.stop.set()
        self.thread.join(timeout_s)
