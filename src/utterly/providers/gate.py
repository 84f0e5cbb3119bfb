"""Gates on remote model calls: how many may run at once, and a pause after a rate limit.

The retry layer asks a provider config's gate for a slot before each attempt and tells it
of each 429, so that a limit holds across every generation sharing the gate, and one
429 slows them all rather than the one call that met it. This module's gate is shared by
the threads of one process; the Studio's fleet gate (studio/gates.py) shares the same
contract through Redis across processes and machines.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .. import waiting

# A waiting call sleeps until a change could let it in (a slot freed, a call came, left or
# got one); it also looks again after this long with no wake-up (s): a safety net, not the
# way it finds a slot. The fleet's gate (studio/gates.py) does the same through Redis.
WAKE_NET_S = 1.0


@runtime_checkable
class CallGate(Protocol):
    def slot(self) -> AsyncIterator[None]:
        """An async context manager: a model call runs inside it."""

    async def rate_limited(self, delay_s: float) -> None:
        """The provider answered 429: no call through this gate starts for `delay_s`."""


class SharedCount:
    """One endpoint's calls for one process: how many are in flight, by caller and by
    tenant; who waits for a slot (see LocalGate); when the endpoint may be called again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.busy = 0
        self.by_caller: Counter[str] = Counter()
        self.by_tenant: Counter[str] = Counter()
        # calls a free slot would serve, by class (bulk True, interactive False) and tenant
        self.waiting_tenants: dict[bool, Counter[str]] = {False: Counter(), True: Counter()}
        # interactive calls waiting, by caller, also those at their caller's own limit
        self.waiting_callers: Counter[str] = Counter()
        self.paused_until = 0.0
        # every waiting call, in the order it came: where each one stands (`place`)
        self.line: list[_Marks] = []
        # how to wake each waiting call: generations run in threads of their own, each
        # with its own event loop, so each waiter is woken on its own loop
        self.sleepers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def wake_all(self, but: tuple | None = None) -> None:
        """A slot freed, or a call came, left or got a slot: every waiter (but the one that
        came) tries again, each under the lock, so the rules of LocalGate decide who gets
        what, and tells its place in line anew."""
        with self.lock:
            sleepers = list(self.sleepers)
        for loop, event in sleepers:
            if (loop, event) == but:
                continue
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its loop has closed: the call is gone
                pass

    def place(self, marks: _Marks, bulk: bool) -> int:
        """Where a waiting call stands, in the order calls came (1: the next served if the
        fair shares let it); a bulk call after every interactive one."""
        ahead = 0
        for other in self.line:
            if other is marks:
                break
            ahead += other.bulk == bulk
        if bulk:
            ahead += sum(not other.bulk for other in self.line)
        return ahead + 1

    @property
    def waiting(self) -> int:
        """Interactive calls waiting that a free slot would serve."""
        return sum(self.waiting_tenants[False].values())


def _less(counter: Counter, key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


# Why a call did not get a slot on a try, for the message of a generation that ran out of
# time waiting (the Studio's `timeout_s` includes the wait).
OWN_LIMIT, ENDPOINT_FULL, FAIR_SHARE, INTERACTIVE_FIRST, PAUSED = (
    "own_limit", "endpoint_full", "fair_share", "interactive_first", "paused")


@dataclass
class SlotWait:
    """A call waiting for a slot: since when (time.monotonic()) and why, as of its last
    try."""

    since: float
    reason: str


class _Marks:
    """Where one waiting call is counted among the waiting."""

    def __init__(self, bulk: bool = False):
        self.bulk = bulk
        self.tenant = False
        self.caller = False


class LocalGate:
    """At most `limit` calls at once among those sharing `count`: the endpoint's limit,
    which no caller raises. Each call belongs to a `caller` (the Studio: a bot), who holds
    at most `caller_limit` of them, and to a `tenant` (a namespace).

    Who gets a free slot:
    - a caller at its own limit waits for one of its own calls to end; meanwhile it holds
      nobody back;
    - a `bulk` call (a bulk job's) takes none while an interactive call waits for one that
      a free slot would serve, or waits for its own caller's: a person waits at most for
      one call to end, never behind a job;
    - among the tenants waiting in the same class (interactive or bulk), a tenant takes a
      free slot only if none of the others holds fewer: the slots go to whoever holds the
      fewest, so tenants that all keep asking end up with equal shares (within one), and
      one that asks alone may use them all. No call is cut short to make room: a tenant
      that asked alone gives slots back as its calls end.
    """

    def __init__(self, count: SharedCount, limit: int, *, bulk: bool = False,
                 caller: str = "", caller_limit: int | None = None, tenant: str = ""):
        if limit < 1 or (caller_limit is not None and caller_limit < 1):
            raise ValueError("limit must be at least 1")
        self.count = count
        self.limit = limit
        self.caller_limit = limit if caller_limit is None else min(caller_limit, limit)
        self.bulk = bulk
        self.caller = caller
        self.tenant = tenant
        self.wait: SlotWait | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            with self.count.lock:
                self.count.busy -= 1
                _less(self.count.by_caller, self.caller)
                _less(self.count.by_tenant, self.tenant)
            self.count.wake_all()

    async def _acquire(self) -> None:
        marks = _Marks(self.bulk)
        started = time.monotonic()
        told = waiting.Wait(waiting.SLOTS)
        woken = asyncio.Event()
        sleeper = (asyncio.get_running_loop(), woken)
        with self.count.lock:
            self.count.line.append(marks)
            self.count.sleepers.add(sleeper)
        # the others' places may change (an interactive call goes before the bulk ones)
        self.count.wake_all(but=sleeper)
        try:
            while True:
                # cleared before the try: a wake-up sent after it is not lost
                woken.clear()
                paused = self.count.paused_until - time.monotonic()
                if paused > 0:
                    self.wait = SlotWait(started, PAUSED)
                    await asyncio.sleep(paused)
                    continue
                with self.count.lock:
                    counted = marks.tenant
                    reason = self._try(marks)
                    place = None if reason is None else self.count.place(marks, self.bulk)
                if reason is None:
                    self.wait = None
                    told.over()
                    return
                if counted and not marks.tenant:
                    # at its own limit, it stopped counting among its tenant's waiters: a
                    # fair share it held back may now go to another tenant
                    self.count.wake_all()
                self.wait = SlotWait(started, reason)
                told.place(place)
                try:
                    async with asyncio.timeout(WAKE_NET_S):
                        await woken.wait()
                except TimeoutError:
                    pass
        finally:
            with self.count.lock:
                self._unmark(marks)
                self.count.line.remove(marks)
                self.count.sleepers.discard(sleeper)
            # its marks held others back (a fair share, a person first): they look again
            self.count.wake_all()

    def _unmark(self, marks: _Marks, *, caller: bool = True) -> None:
        if marks.tenant:
            _less(self.count.waiting_tenants[self.bulk], self.tenant)
            marks.tenant = False
        if caller and marks.caller:
            _less(self.count.waiting_callers, self.caller)
            marks.caller = False

    def _try(self, marks: _Marks) -> str | None:
        """Under the count's lock: take a slot (None) or say why not."""
        count = self.count
        if not self.bulk and not marks.caller:
            count.waiting_callers[self.caller] += 1
            marks.caller = True
        if count.by_caller[self.caller] >= self.caller_limit:
            self._unmark(marks, caller=False)
            return OWN_LIMIT
        waiting = count.waiting_tenants[self.bulk]
        if not marks.tenant:
            waiting[self.tenant] += 1
            marks.tenant = True
        if self.bulk and (count.waiting or count.waiting_callers[self.caller]):
            return INTERACTIVE_FIRST
        if count.busy >= self.limit:
            return ENDPOINT_FULL
        held = count.by_tenant[self.tenant]
        if any(count.by_tenant[t] < held for t in waiting if t != self.tenant):
            return FAIR_SHARE
        count.busy += 1
        count.by_caller[self.caller] += 1
        count.by_tenant[self.tenant] += 1
        self._unmark(marks)
        return None

    async def rate_limited(self, delay_s: float) -> None:
        with self.count.lock:
            self.count.paused_until = max(self.count.paused_until,
                                          time.monotonic() + max(0.0, delay_s))
