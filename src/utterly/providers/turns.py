"""The embedded model taken in turn: first come, first served, each waiter knowing its place.

A plain lock serves whichever waiting thread the system wakes: a generation could be
overtaken by one that asked after it, and none could say where it stands. Turns keeps the
line, so that a person whose generation waits is told its place (utterly.waiting).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Turns:
    """A lock whose waiters are served in the order they came. `take` waits with a way out
    and a place; `acquire`/`release` (and `with`) are a lock's."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._line: list[object] = []
        self._held = False

    def take(self, *, should_stop: Callable[[], bool] = lambda: False,
             on_place: Callable[[int], None] | None = None, poll_s: float = 0.1) -> bool:
        """Wait for the turn: True once it is taken, False when `should_stop()` said so
        first (it is asked every `poll_s`). `on_place(n)` hears the place in line at each
        look (1: the next served)."""
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            try:
                while self._held or self._line[0] is not ticket:
                    if on_place is not None:
                        on_place(self._line.index(ticket) + 1)
                    if should_stop():
                        return False
                    self._cond.wait(poll_s)
                self._held = True
                return True
            finally:
                self._line.remove(ticket)
                self._cond.notify_all()  # the next in line moves up, or is served

    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        deadline = None if blocking and timeout < 0 else time.monotonic() + max(timeout, 0)
        return self.take(should_stop=lambda: deadline is not None
                         and time.monotonic() >= deadline, poll_s=0.05)

    def release(self) -> None:
        with self._cond:
            if not self._held:
                raise RuntimeError("release of turns not taken")
            self._held = False
            self._cond.notify_all()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
