"""Generate, import, undo, and the history of generation runs."""

from __future__ import annotations

import asyncio
import json
import threading

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..db import transaction_retrying
from ..errors import NotFound, StudioError
from ..generation_threads import Withdrawn, wait_event
from ..schemas import (
    GenerateIn,
    GenerateOut,
    ImportIn,
    ImportOut,
    ImportRefused,
    Page,
    RunDetail,
    RunOut,
    RunStatus,
)
from ..services import generation
from .deps import ActorDep, SessionDep, state

router = APIRouter(prefix="/api/bots/{bot_id}", tags=["generation"])


# Each generation takes a place in its namespace's and its user's share of the generation
# threads (studio/fair_share.py) once checked, before it waits for a thread: over the
# share, 429 at once. The threads give the place back when the generation ends.
_BUSY = {429: {"description": "the namespace's or the user's share of the server's "
                              "generations is taken (`namespace_busy`, `user_busy`; "
                              "Retry-After)"}}


async def _checked(request: Request, who, bot_id: int, faq_id: int,
                   body: GenerateIn | None):
    """The plan (refusals of access and input first), and its place in the shares."""
    st = state(request)
    plan = await run_in_threadpool(generation.prepare, st.sessions, who, bot_id, faq_id,
                                   body or GenerateIn(), st.box)
    return plan, st.shares.admit(plan.namespace_id, who.user_id)


@router.post("/faqs/{faq_id}/generate", response_model=GenerateOut, responses=_BUSY)
async def generate(bot_id: int, faq_id: int, request: Request, who: ActorDep,
                   body: GenerateIn | None = None):
    """Generate candidate sentences for the FAQ with the bot's settings. Nothing is added to
    the FAQ until a person imports a selection."""
    st = state(request)
    plan, share = await _checked(request, who, bot_id, faq_id, body)
    return await st.generations.run(share, generation.execute, st.sessions, plan)


@router.post("/faqs/{faq_id}/generate/warm-up", responses=_BUSY)
async def warm_up(bot_id: int, faq_id: int, request: Request, who: ActorDep,
                  body: GenerateIn | None = None) -> dict[str, bool]:
    """Have the model read the prompt that `generate` with this body would send, ahead of
    it (the Studio calls this when the generate dialog opens): with the embedded model, the
    generation then shows its first sentence sooner. Refused like `generate`; stores
    nothing; `warmed` is false for providers that cannot keep what they read."""
    plan, share = await _checked(request, who, bot_id, faq_id, body)
    return {"warmed": await state(request).generations.run(share, generation.warm_up, plan)}


class _Stream(StreamingResponse):
    """A stream that runs `on_close` however it ends, even when its body never started (a
    client gone before the first byte): an async generator that never ran never runs its
    `finally`."""

    def __init__(self, content, on_close, **kwargs):
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


@router.post("/faqs/{faq_id}/generate/stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}, **_BUSY})
async def generate_stream(bot_id: int, faq_id: int, request: Request, who: ActorDep,
                          body: GenerateIn | None = None):
    """The same as generate, as server-sent events: `started` (the `stream_id` that Cancel
    names), `progress` as the model writes (each kept sentence, each rejected one with its
    reason; `waiting` with its `reason` and `place` while it waits its turn for the model,
    `waited` when its turn comes), then `result` (the generate response; a cancelled run is
    `partial` and keeps what was kept), `cancelled` (cancelled while it waited for a server
    thread: nothing ran, no run is stored) or `error` (a problem+json object). A client that
    leaves stops the model too (the run's `stopped` is then `closed`)."""
    st = state(request)
    # Refusals (access, disabled generation, bad input, a full share) are plain problem
    # responses.
    plan, share = await _checked(request, who, bot_id, faq_id, body)
    try:
        stream_id, cancelled = st.live.start(
            who.user_id, bot_id, on_cancel=lambda: st.generations.withdraw(share))
    except StudioError:
        share.release()
        raise
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    left = threading.Event()

    def progress(event: dict) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, ("progress", event))
        except RuntimeError:  # the server's loop has closed: nobody reads it any more
            pass

    def should_stop() -> str | None:
        # the run's record tells a Cancel from a client that left (`trace.stopped`)
        if cancelled.is_set():
            return "cancelled"
        return "closed" if left.is_set() else None

    async def work() -> None:
        try:
            result = await st.generations.run(
                share, generation.execute, st.sessions, plan, progress, should_stop,
                on_wait=lambda place: progress(wait_event(place)))
            events.put_nowait(("result", result.model_dump(mode="json")))
        except Withdrawn:
            events.put_nowait(("cancelled", {}))
        except StudioError as exc:
            events.put_nowait(("error", exc.to_problem()))
        except Exception:  # a bug: say so without leaking its message
            events.put_nowait(("error", StudioError(
                "an unexpected error happened on the server", status=500,
                code="internal_error", hint="this is a bug: please report it").to_problem()))
        finally:
            # Here, not where the response ends: a client that left ends the response at
            # once, while the generation holds its thread until it has stopped (0.1 s) and
            # stored its run.
            st.live.finish(stream_id)

    def sse(kind: str, data: dict) -> str:
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def stream():
        task = asyncio.create_task(work())
        try:
            yield sse("started", {"stream_id": stream_id, "cancel_url": str(request.url_for(
                "cancel_stream", bot_id=bot_id, stream_id=stream_id).path)})
            while True:
                kind, data = await events.get()
                yield sse(kind, data)
                if kind != "progress":
                    break
        finally:
            left.set()
            # Shielded: a client that left cancels this response, and with it whatever it
            # awaits; the generation must still end on its own and be stored.
            await asyncio.shield(task)

    def closed() -> None:
        left.set()  # the generation, if it runs, stops: nobody reads it any more
        st.live.finish(stream_id)
        share.release_unless_submitted()

    return _Stream(stream(), closed, media_type="text/event-stream",
                   headers={"Cache-Control": "no-cache"})


@router.post("/generate/streams/{stream_id}/cancel", status_code=202)
def cancel_stream(bot_id: int, stream_id: str, request: Request, who: ActorDep,
                  session: SessionDep) -> dict[str, str | bool]:
    """Stop a streamed generation this user started on this bot (Cancel in the dialog). The
    stream then ends with its `result`: a `partial` run holding what was kept. 404 when the
    stream has ended or is not yours."""
    generation.require_generator(session, who, bot_id)
    if not state(request).live.cancel(stream_id, who.user_id, bot_id):
        raise NotFound("generation stream", field="stream_id")
    return {"stream_id": stream_id, "cancelled": True}


@router.post("/faqs/{faq_id}/import", response_model=ImportOut, responses={
    409: {"model": ImportRefused, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/ImportRefused"}}},
          "description": "a selected sentence conflicts with another FAQ or is not from the "
                         "run: nothing was imported"}})
def import_sentences(bot_id: int, faq_id: int, body: ImportIn, request: Request,
                     who: ActorDep):
    """Import candidates of a run into the FAQ: all or nothing, idempotent. Its rejected
    candidates may be chosen too ("keep anyway"); conflicts are still refused. Two
    identical imports at once both succeed, each reporting `already_present` for what the
    other imported."""
    st = state(request)
    return transaction_retrying(st.sessions, lambda session: generation.import_sentences(
        session, who, bot_id, faq_id, body, st.box))


@router.delete("/generation-runs/{run_id}/sentences")
def undo_import(bot_id: int, run_id: int, who: ActorDep,
                session: SessionDep) -> dict[str, int]:
    """Remove every sentence this run imported."""
    return {"run_id": run_id, "deleted": generation.undo_import(session, who, bot_id, run_id)}


@router.get("/generation-runs", response_model=Page)
def list_runs(bot_id: int, who: ActorDep, session: SessionDep, faq_id: int | None = None,
              status: RunStatus | None = Query(
                  default=None, description="only the runs that ended so"),
              user: str | None = Query(
                  default=None, min_length=1, max_length=64,
                  description="only the runs this username started"),
              job_id: int | None = Query(default=None, ge=1, le=2**31 - 1,
                                         description="only the runs of this bulk job"),
              limit: int = Query(default=50, ge=1, le=500),
              offset: int = Query(default=0, ge=0, le=10**9)):
    """The bot's generation runs, newest first; the filters combine."""
    total, runs = generation.list_runs(session, who, bot_id, faq_id=faq_id, status=status,
                                       user=user, job_id=job_id, limit=limit, offset=offset)
    return Page(total=total, limit=limit, offset=offset,
                items=[RunOut(**r).model_dump(mode="json") for r in runs])


@router.get("/generation-runs/{run_id}", response_model=RunDetail)
def get_run(bot_id: int, run_id: int, who: ActorDep, session: SessionDep):
    return RunDetail(**generation.get_run(session, who, bot_id, run_id))
