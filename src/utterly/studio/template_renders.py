"""Prompt templates rendered while a request waits (a preview, a settings check): never in a
web thread, a few at a time per user and per namespace, in workers of their own.

Issue 24, finding 4: 80 previews from one viewer each held a web thread while they queued
for the four template workers that generations use too; /api/health waited 9.3 s and
another namespace's generation 13.8 s. Here a render waits as a future (no thread of the
web server's), admission is decided at once (a user or namespace over its bound gets a 429
with Retry-After, nothing queues), and the renders run in the `requests` lane of
template_limits: workers that no generation uses, handed round robin between namespaces.

The bounds are this process's: with several Studio processes, each admits its own.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import UtterlyError
from ..prompt import RenderedPrompt, validate_template
from ..template_limits import Limits, rendering, set_lane_size
from .errors import StudioError, from_core

LANE = "requests"


class TooManyRenders(StudioError):
    status, code, title = 429, "too_many_renders", "Too Many Requests"


class TemplateRenders:
    def __init__(self, *, workers: int, per_user: int, per_namespace: int):
        self.per_user, self.per_namespace = per_user, per_namespace
        set_lane_size(LANE, workers)
        # Threads that wait on the lane's workers for admitted renders: as many as the
        # namespaces that could each have their share waiting, so that the lane's round
        # robin, not this pool's queue, decides whose render goes next.
        self._threads = ThreadPoolExecutor(max_workers=max(8, 4 * per_namespace),
                                           thread_name_prefix="template-render")
        self._lock = threading.Lock()
        self._running: Counter = Counter()

    def _count_in(self, key: tuple[str, int], bound: int, detail: str, whose: str) -> None:
        with self._lock:
            if self._running[key] >= bound:
                raise self._refusal(detail.format(running=self._running[key]), whose)
            self._running[key] += 1

    def _count_out(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._running[key] -= 1
            if self._running[key] <= 0:
                del self._running[key]

    @staticmethod
    def _refusal(detail: str, whose: str) -> TooManyRenders:
        # A render ends within the template time limit: it is killed then.
        limit = Limits.from_env().timeout_s
        retry = max(1, math.ceil(limit))
        return TooManyRenders(
            f"{detail}; this one was refused rather than kept waiting",
            hint=f"wait for {whose} to end (each within {limit:g} s), then try again",
            headers={"Retry-After": str(retry)})

    async def validate(self, user_id: int, template: str,
                       scope_of: Callable[[], tuple[int, str]]) -> RenderedPrompt:
        """`validate_template(template, locale)` for a request of `user_id` on a bot whose
        namespace and locale `scope_of()` returns (it raises when the user may not): the
        rendered example, in the bot's language, or the 422 naming the problem, or a 429
        when the user or the namespace has its bound of renders running."""
        # The user's bound first, on the event loop: a flood from one user is refused
        # without a database query or a thread.
        user = ("user", user_id)
        self._count_in(user, self.per_user, "you already have {running} prompt template "
                       f"renders running (at most {self.per_user} per user)",
                       "your previews or checks")

        def job() -> RenderedPrompt:
            namespace_id, locale = scope_of()
            namespace = ("namespace", namespace_id)
            self._count_in(namespace, self.per_namespace, "this namespace already has "
                           "{running} prompt template renders running (at most "
                           f"{self.per_namespace} per namespace)",
                           "the namespace's previews or checks")
            try:
                with rendering(lane=LANE, owner=namespace):
                    return validate_template(template, locale)
            finally:
                self._count_out(namespace)

        try:
            future = self._threads.submit(job)
        except BaseException:
            self._count_out(user)
            raise
        # Counted out when the render has ended, not when the request has: a client that
        # leaves does not stop a render, and must not free its place before that.
        future.add_done_callback(lambda _: self._count_out(user))
        try:
            return await asyncio.wrap_future(future)
        except UtterlyError as exc:
            raise from_core(exc) from None

    def running(self) -> dict[tuple[str, int], int]:
        """The renders running, per ("user", id) and ("namespace", id)."""
        with self._lock:
            return dict(self._running)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
