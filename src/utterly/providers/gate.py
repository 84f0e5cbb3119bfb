"""Gates on remote model calls: how many may run at once, and a pause after a rate limit.

The retry layer asks a provider config's gate for a slot before each attempt and tells it
of each 429, so that a limit holds across every generation sharing the gate, and one
429 slows them all rather than the one call that met it. This module's gate is shared by
the threads of one process; the Studio's fleet gate (studio/gates.py) shares the same
contract through Redis across processes and machines.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

# How often a waiting call looks again for a free slot (seconds): generations run in
# threads of their own, each with its own event loop, so there is no one loop to wake.
# An interactive call looks every POLL_S; a bulk one waits longer after each miss, up to
# MAX_POLL_S, with jitter: dozens of bulk waiters would otherwise keep their processes (and
# Redis) busy asking, when any one of them looking at a given moment takes a freed slot.
POLL_S = 0.02
MAX_POLL_S = 0.16


def poll_delay(misses: int, bulk: bool) -> float:
    if not bulk:
        return POLL_S
    return min(MAX_POLL_S, POLL_S / 2 * 2 ** min(misses, 5)) * (0.5 + random.random())


@runtime_checkable
class CallGate(Protocol):
    def slot(self) -> AsyncIterator[None]:
        """An async context manager: a model call runs inside it."""

    async def rate_limited(self, delay_s: float) -> None:
        """The provider answered 429: no call through this gate starts for `delay_s`."""


class SharedCount:
    """Calls in flight to one endpoint, interactive calls waiting for a slot, and when the
    endpoint may be called again: for one process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.busy = 0
        self.waiting = 0
        self.paused_until = 0.0


class LocalGate:
    """At most `limit` calls at once among those sharing `count`. A `bulk` gate (a bulk
    job's) takes no slot while an interactive call waits for one: a person waits at most
    for one call to end, never behind a job."""

    def __init__(self, count: SharedCount, limit: int, *, bulk: bool = False):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.count = count
        self.limit = limit
        self.bulk = bulk

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            with self.count.lock:
                self.count.busy -= 1

    async def _acquire(self) -> None:
        if not self.bulk:
            with self.count.lock:
                self.count.waiting += 1
        misses = 0
        try:
            while True:
                paused = self.count.paused_until - time.monotonic()
                if paused > 0:
                    await asyncio.sleep(min(paused, 1.0))
                    continue
                with self.count.lock:
                    free = self.count.busy < self.limit
                    if free and not (self.bulk and self.count.waiting):
                        self.count.busy += 1
                        return
                misses += 1
                await asyncio.sleep(poll_delay(misses, self.bulk))
        finally:
            if not self.bulk:
                with self.count.lock:
                    self.count.waiting -= 1

    async def rate_limited(self, delay_s: float) -> None:
        with self.count.lock:
            self.count.paused_until = max(self.count.paused_until,
                                          time.monotonic() + max(0.0, delay_s))
