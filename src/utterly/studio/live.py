"""Generations streaming to a browser from this process, so that their user can stop them.

A streamed generation has no run id until it ends (the run is stored with what was kept),
so Cancel names the stream instead: an unguessable id given in the stream's first event.
Only the user who started it, on the same bot, can stop it; anyone else is told it does not
exist. The registry lives in the process that runs the generation: with several Studio
processes behind a load balancer, the cancel request must reach the same one (sticky
sessions), or the user closes the dialog, which stops the model all the same.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import StudioError

# Each live stream holds a worker thread: more than the thread pool can run is a bug or an
# attack, not a use.
MAX_LIVE = 256


@dataclass
class _Live:
    user_id: int
    bot_id: int
    cancelled: threading.Event = field(default_factory=threading.Event)
    # what else Cancel does: take a generation still waiting for a thread out of the queue
    on_cancel: Callable[[], None] | None = None


class LiveGenerations:
    def __init__(self, limit: int = MAX_LIVE):
        self._limit = limit
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}

    def start(self, user_id: int, bot_id: int,
              on_cancel: Callable[[], None] | None = None) -> tuple[str, threading.Event]:
        """A new stream id, and the event that Cancel sets (then calls `on_cancel`)."""
        with self._lock:
            if len(self._live) >= self._limit:
                raise StudioError(
                    f"{self._limit} generations are already running on this server",
                    status=503, code="server_busy",
                    hint="wait for a generation to end and try again",
                    headers={"Retry-After": "5"})
            stream_id = secrets.token_urlsafe(16)
            live = self._live[stream_id] = _Live(user_id, bot_id, on_cancel=on_cancel)
        return stream_id, live.cancelled

    def cancel(self, stream_id: str, user_id: int, bot_id: int) -> bool:
        """Stop the stream if this user started it on this bot; False otherwise (unknown,
        ended, or someone else's: the caller cannot tell which)."""
        with self._lock:
            live = self._live.get(stream_id)
        if live is None or live.user_id != user_id or live.bot_id != bot_id:
            return False
        live.cancelled.set()
        if live.on_cancel is not None:
            live.on_cancel()
        return True

    def finish(self, stream_id: str) -> None:
        with self._lock:
            self._live.pop(stream_id, None)

    def __len__(self) -> int:
        return len(self._live)
