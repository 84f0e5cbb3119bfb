"""Each namespace's, and each user's, bounded share of the Studio's interactive generations.

A generation holds a thread of this process (studio/generation_threads.py) for as long as
its provider takes, up to the bot's time limit, and a thread cannot be taken back from a
generation that waits on its provider. Without a bound, one namespace holding 260 streams
open on a provider that never answered held every thread: another namespace's generation
waited 80 s behind them, or was refused 503 server_busy. So a namespace may hold at most
`namespace_limit` generations, running or waiting for a thread, in this process, and a
user `user_limit` (counted across their namespaces: one person is one share, however many
namespaces they belong to). One more is refused at once (429 `namespace_busy` or
`user_busy`, with Retry-After) rather than queued where it would delay anyone else.

A share is held until its generation's thread is done, however it ended: a client that
leaves while its provider hangs has not given the thread back, so it keeps the share.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from .errors import StudioError

# A hint for a client to poll again: generations end at their bot's time limit at worst,
# most within seconds.
RETRY_AFTER_S = 5


class Share:
    """One admitted generation's place in its namespace's and its user's share."""

    def __init__(self, shares: Shares, namespace_id: int, user_id: int):
        self._shares = shares
        self.namespace_id = namespace_id
        self.user_id = user_id
        # set by the generation threads: whether it was handed to them (they release it
        # when it ends), and whether a thread runs it yet
        self.submitted = False
        self.running = False
        self.released = False

    def release(self) -> None:
        """Give the place back; only the first call counts."""
        self._shares._release(self)

    def release_unless_submitted(self) -> None:
        """For a request that ends before its generation reached the threads (a stream
        whose client left before it began): the threads release the others."""
        if not self.submitted:
            self.release()


class Shares:
    def __init__(self, namespace_limit: int, user_limit: int):
        self.namespace_limit = namespace_limit
        self.user_limit = user_limit
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], set[Share]] = defaultdict(set)

    def admit(self, namespace_id: int, user_id: int) -> Share:
        """A place for one more generation of this user on a bot of this namespace, or the
        429 that says whose share is full. The user's own bound is checked first: it is the
        one they can act on."""
        with self._lock:
            mine = self._held[("user", user_id)]
            if len(mine) >= self.user_limit:
                raise _user_busy(mine, self.user_limit)
            ours = self._held[("namespace", namespace_id)]
            if len(ours) >= self.namespace_limit:
                raise _namespace_busy(ours, self.namespace_limit)
            share = Share(self, namespace_id, user_id)
            mine.add(share)
            ours.add(share)
        return share

    def held(self, *, namespace_id: int | None = None, user_id: int | None = None) -> int:
        """Generations holding a place: of a namespace, of a user, or all."""
        with self._lock:
            if namespace_id is not None:
                return len(self._held.get(("namespace", namespace_id), ()))
            if user_id is not None:
                return len(self._held.get(("user", user_id), ()))
            return sum(len(s) for (kind, _), s in self._held.items() if kind == "user")

    def _release(self, share: Share) -> None:
        with self._lock:
            if share.released:
                return
            share.released = True
            for key in (("user", share.user_id), ("namespace", share.namespace_id)):
                held = self._held.get(key)
                if held is not None:
                    held.discard(share)
                    if not held:  # namespaces and users come and go: keep only the busy
                        del self._held[key]


def _counts(held: set[Share]) -> dict[str, int]:
    running = sum(1 for s in held if s.running)
    return {"running": running, "waiting": len(held) - running}


def _user_busy(held: set[Share], limit: int) -> StudioError:
    counts = _counts(held)
    return StudioError(
        f"you already have {len(held)} generations on this server ({counts['running']} "
        f"running, {counts['waiting']} waiting for a thread): {limit} at once is each "
        "user's share, so that other people's generations do not wait behind yours",
        status=429, code="user_busy", limit=limit, **counts,
        hint="wait for one of yours to end, or cancel one (Cancel in the generate dialog), "
             "then try again; the server's operator sets the share "
             "(UTTERLY_GENERATION_USER_LIMIT)",
        headers={"Retry-After": str(RETRY_AFTER_S)})


def _namespace_busy(held: set[Share], limit: int) -> StudioError:
    counts = _counts(held)
    return StudioError(
        f"this bot's namespace already has {len(held)} generations on this server "
        f"({counts['running']} running, {counts['waiting']} waiting for a thread): {limit} "
        "at once is each namespace's share, so that other namespaces' generations do not "
        "wait behind its own",
        status=429, code="namespace_busy", limit=limit, **counts,
        hint="wait for one of your namespace's generations to end, then try again; the "
             "server's operator sets the share (UTTERLY_GENERATION_NAMESPACE_LIMIT)",
        headers={"Retry-After": str(RETRY_AFTER_S)})
