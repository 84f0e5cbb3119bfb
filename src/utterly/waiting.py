"""A generation waiting its turn for the model, told to whoever follows it.

The model may be busy with other generations: the embedded model answers one call at a time
(providers/turns.py), a remote endpoint takes so many calls at once (the gates,
providers/gate.py and the Studio's studio/gates.py). What makes a generation wait says so
here, with its place in the line; the pipeline hands it on as progress events, so that a
person watching sees why nothing comes yet:

- `{"event": "waiting", "reason": "model" | "slots", "place": n}` at each change of place
  (1: the next to be served);
- `{"event": "waited", "reason": ...}` when its turn comes.

The listener travels in a context variable: the waits happen in providers and gates that
know nothing of the pipeline, some of them in worker threads (asyncio.to_thread and new
tasks copy the context).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The embedded model is writing another generation's answer.
MODEL = "model"
# Every call slot to the provider's endpoint is taken, by other generations or bulk jobs.
SLOTS = "slots"

Listener = Callable[[dict], None]
_listener: ContextVar[Listener | None] = ContextVar("utterly_waiting", default=None)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Waits of the generation run inside this block go to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class Wait:
    """One wait of the current generation: `place(n)` at each look, `over()` once served.
    Only changes reach the listener; without one, nothing is said."""

    def __init__(self, reason: str):
        self.reason = reason
        self._listener = _listener.get()
        self._place: int | None = None

    def place(self, place: int) -> None:
        if self._listener is None or place == self._place:
            return
        self._place = place
        self._listener({"event": "waiting", "reason": self.reason, "place": place})

    def over(self) -> None:
        if self._listener is None or self._place is None:
            return
        self._place = None
        self._listener({"event": "waited", "reason": self.reason})
