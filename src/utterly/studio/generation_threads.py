"""Where the Studio's generations run: threads of their own, not the web server's, handed
out fairly between namespaces.

A generation can wait on a provider for as long as the bot's time limit; run in the web
server's thread pool, 40 of them waiting on a provider that never answered stalled every
page and /api/health. Here they wait in a pool of their own while the web threads serve
reads; generations beyond the pool wait for a free thread without holding a web thread.

Each generation comes with its share (studio/fair_share.py), which bounds how many one
namespace or one user holds. When every thread is busy, a thread that frees goes to the
waiting generation whose namespace runs the fewest, then whose user does, the earliest on
a tie; not to the first in line, so that a namespace that queued many never makes another
wait behind all of them. A waiting generation may be told its place in that order at each
change (`on_wait`), and when its thread starts. The share is released when the
generation's thread is done (or when it is dropped before starting), before its caller
hears the result. A generation still waiting can be withdrawn (Cancel): it leaves the queue
at once and its caller hears `Withdrawn`, without waiting for a thread to free.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .fair_share import Share

# Why a generation waits, in the words of utterly.waiting's events: every generation thread
# of this process is busy.
THREADS = "threads"


class Withdrawn(Exception):
    """The generation was withdrawn while it waited for a thread: it never ran."""


def wait_event(place: int | None) -> dict:
    """A wait for a generation thread (`on_wait`'s place), as the pipeline tells its waits
    for the model: `waiting` with the place, `waited` when a thread took it."""
    if place is None:
        return {"event": "waited", "reason": THREADS}
    return {"event": "waiting", "reason": THREADS, "place": place}


@dataclass(eq=False)
class _Job:
    share: Share
    call: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    order: int
    # told its place while it waits (1: the next to start), None when it starts
    on_wait: Callable[[int | None], None] | None = None
    state: str = "waiting"  # then running, done; or dropped before it ran
    place: int | None = None  # the place last told
    keys: tuple = field(init=False)

    def __post_init__(self) -> None:
        self.keys = (("namespace", self.share.namespace_id), ("user", self.share.user_id))


class GenerationThreads:
    def __init__(self, threads: int):
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="generation")
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._running: Counter = Counter()  # per namespace and per user
        self._busy = 0
        self._order = itertools.count()
        self._closed = False

    async def run(self, share: Share, fn, *args,
                  on_wait: Callable[[int | None], None] | None = None):
        """`fn(*args)` in a generation thread, in `share`'s turn; its result, or what it
        raised. The share is the threads' to release from here on. `on_wait(place)` hears,
        under the threads' lock (it must be quick), its place at each change while it waits
        for a thread, then None when it gets one (only if it waited)."""
        loop = asyncio.get_running_loop()
        job = _Job(share, functools.partial(fn, *args), loop, loop.create_future(),
                   next(self._order), on_wait)
        if share.released:  # its request ended before it came here (a stream left at once)
            raise RuntimeError("this generation's share was given back before it started")
        share.submitted = True
        with self._lock:
            closed = self._closed
            if not closed:
                self._waiting.append(job)
                self._dispatch()
        if closed:
            share.release()
            raise RuntimeError("the Studio is shutting down: its generation threads are closed")
        try:
            return await job.future
        except asyncio.CancelledError:
            self._drop(job)  # its caller is gone: a generation not yet started never starts
            raise

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def running(self) -> int:
        with self._lock:
            return self._busy

    def _turn(self, job: _Job) -> tuple:
        """What decides who starts first: the fewest running of its namespace, then of its
        user, then the earliest."""
        return self._running[job.keys[0]], self._running[job.keys[1]], job.order

    def _dispatch(self) -> None:
        """Start waiting jobs on free threads, the fairest first (under the lock)."""
        while self._waiting and self._busy < self.threads and not self._closed:
            job = min(self._waiting, key=self._turn)
            self._waiting.remove(job)
            job.state = "running"
            job.share.running = True
            self._busy += 1
            self._running.update(job.keys)
            if job.place is not None:
                job.place = None
                job.on_wait(None)
            self._pool.submit(self._work, job)
        self._tell()

    def _tell(self) -> None:
        """Each waiting job that listens hears its place, if it changed (under the lock)."""
        for place, job in enumerate(sorted(self._waiting, key=self._turn), start=1):
            if job.on_wait is not None and job.place != place:
                job.place = place
                job.on_wait(place)

    def _work(self, job: _Job) -> None:
        result = error = None
        try:
            result = job.call()
        except BaseException as exc:  # handed to the caller as it is
            error = exc
        finally:
            with self._lock:
                job.state = "done"
                self._busy -= 1
                self._running.subtract(job.keys)
                for key in job.keys:
                    if self._running[key] <= 0:
                        del self._running[key]
                self._dispatch()
            # before the caller hears the result: its next generation finds the place free
            job.share.release()
        _settle(job, result, error)

    def withdraw(self, share: Share) -> bool:
        """Take `share`'s generation out of the queue if it still waits for a thread (its
        caller hears `Withdrawn`); False when it runs already, or ended. Any thread may
        call it."""
        with self._lock:
            job = next((j for j in self._waiting if j.share is share), None)
            if job is not None:
                self._waiting.remove(job)
                job.state = "dropped"
                self._tell()
        if job is None:
            return False
        share.release()
        _settle(job, None, Withdrawn())
        return True

    def _drop(self, job: _Job) -> None:
        with self._lock:
            dropped = job.state == "waiting"
            if dropped:
                self._waiting.remove(job)
                job.state = "dropped"
                self._tell()
        if dropped:
            job.share.release()

    def close(self) -> None:
        # Running generations end at their deadline; waiting ones are dropped.
        with self._lock:
            self._closed = True
            dropped, self._waiting = self._waiting, []
        for job in dropped:
            job.state = "dropped"
            job.share.release()
            _settle(job, None, RuntimeError("the Studio shut down before this generation "
                                            "started"))
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(job: _Job, result, error: BaseException | None) -> None:
    def settle() -> None:
        if job.future.done():  # its caller was cancelled meanwhile
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    try:
        job.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the event loop is closed: nobody is waiting any more
        pass
