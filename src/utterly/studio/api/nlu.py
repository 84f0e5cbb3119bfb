"""The NLU loop (train, parse, evaluate) and bulk generation jobs."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request

from ..schemas import JobIn, NluEvaluateIn, NluParseIn, NluTrainIn
from ..services import jobs, nlu
from .deps import ActorDep, SessionDep, state

router = APIRouter(prefix="/api/bots/{bot_id}")


@router.post("/nlu/train", tags=["nlu"])
def train(bot_id: int, who: ActorDep, session: SessionDep,
          body: NluTrainIn | None = None) -> dict:
    """Train the bot's intent classifier on its sentences of one locale and store it."""
    body = body or NluTrainIn()
    return nlu.train(session, who, bot_id, body.locale, body.features)


@router.post("/nlu/parse", tags=["nlu"])
def parse(bot_id: int, body: NluParseIn, who: ActorDep, session: SessionDep) -> dict:
    """Which FAQ a sentence asks, with the confidence and the runners-up; `unknown` when
    the confidence is below `threshold` (the sentence is out of scope)."""
    return nlu.parse(session, who, bot_id, body.text, body.locale, threshold=body.threshold)


@router.post("/nlu/evaluate", tags=["nlu"])
def evaluate(bot_id: int, who: ActorDep, session: SessionDep,
             body: NluEvaluateIn | None = None) -> dict:
    """Human sentences only vs human + generated, on the same held-out human sentences
    (k folds): accuracy, macro-F1, per-FAQ precision/recall, the most confused pairs."""
    body = body or NluEvaluateIn()
    return nlu.evaluate(session, who, bot_id, body.locale, body.k, body.features)


@router.post("/generation-jobs", status_code=202, tags=["generation"])
def create_job(bot_id: int, body: JobIn, who: ActorDep, session: SessionDep,
               request: Request, after: BackgroundTasks) -> dict:
    """Generate for every FAQ (or those with fewer than `below` sentences) in the
    background; results wait for review unless `auto_import`. A namespace may have
    UTTERLY_MAX_JOBS_PER_NAMESPACE jobs queued or running at once (429 too_many_jobs)."""
    studio = state(request)
    job = jobs.create_job(session, who, bot_id, body,
                          max_jobs=studio.config.max_jobs_per_namespace)
    if studio.queue is not None:  # once the job is committed, or dispatch could miss it
        after.add_task(studio.queue.dispatch, studio.sessions)
    return jobs.job_view(session, job)


@router.get("/generation-jobs", tags=["generation"])
def list_jobs(bot_id: int, who: ActorDep, session: SessionDep) -> list[dict]:
    return jobs.list_jobs(session, who, bot_id)


@router.get("/generation-jobs/{job_id}", tags=["generation"])
def get_job(bot_id: int, job_id: int, who: ActorDep, session: SessionDep) -> dict:
    return jobs.get_job(session, who, bot_id, job_id)


@router.post("/generation-jobs/{job_id}/cancel", tags=["generation"])
def cancel_job(bot_id: int, job_id: int, who: ActorDep, session: SessionDep) -> dict:
    return jobs.cancel_job(session, who, bot_id, job_id)
