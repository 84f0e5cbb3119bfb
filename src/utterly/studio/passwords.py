"""Password hashing (argon2) and the brake on repeated failed logins."""

from __future__ import annotations

import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# A hash to verify against when the user does not exist, so that timing does not tell
# which usernames exist.
_DUMMY_HASH = _hasher.hash("utterly-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


class LoginThrottle:
    """After a few failures for one username, each further attempt must wait longer.

    In memory: it protects one process, which is what `utterly serve` runs.
    """

    free_failures = 3
    max_delay_s = 60.0
    forget_after_s = 15 * 60.0

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}

    def retry_after(self, username: str) -> float:
        """Seconds the caller must still wait before trying this username again."""
        with self._lock:
            count, last = self._failures.get(username.lower(), (0, 0.0))
        now = self._clock()
        if now - last > self.forget_after_s or count < self.free_failures:
            return 0.0
        delay = min(2.0 ** (count - self.free_failures), self.max_delay_s)
        return max(0.0, last + delay - now)

    def failed(self, username: str) -> None:
        key = username.lower()
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
            if self._clock() - last > self.forget_after_s:
                count = 0
            self._failures[key] = (count + 1, self._clock())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.lower(), None)
