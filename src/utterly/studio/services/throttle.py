"""The brake on password guessing, stored in the database: per (username, client address),
and per username from any address.

Each attempt is counted before its password is checked, in a short transaction that
locks the rows: forty guesses sent at once are three attempts and thirty-seven waits, in
one process or many. After `free_attempts` attempts from one address each further one must
wait longer (1 s, 2 s, 4 s … `max_delay_s`); a success forgets the pair. Keyed by the
client's address, so that someone else's few failures never hold back a user: the brake
backs off a guesser, it does not lock an account.

A guesser with many addresses (a botnet, an IPv6 /64, or a forged X-Forwarded-For where a
proxy is trusted) would get `free_attempts` per address: the per-username brake counts the
failures of every address, and past `user_free_attempts` of them each further attempt for
that username waits as above. It slows the account's logins only while it is under attack,
by `max_delay_s` at most, and a success takes back its own count (failures are what it
counts: a script that logs in often is not held back).
"""

from __future__ import annotations

import hashlib
import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..models import LoginAttempts


def _insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _backoff(attempts: int, free: int, cap: float) -> float:
    if attempts < free:
        return 0.0
    return min(2.0 ** (attempts - free), cap)


class LoginThrottle:
    free_attempts = 3
    max_delay_s = 60.0
    forget_after_s = 15 * 60.0
    user_free_attempts = 10

    def __init__(self, clock=time.time, user_free_attempts: int | None = None):
        self._clock = clock
        if user_free_attempts is not None:
            self.user_free_attempts = user_free_attempts

    def delay(self, attempts: int) -> float:
        """The wait owed after `attempts` counted attempts from one address."""
        return _backoff(attempts, self.free_attempts, self.max_delay_s)

    def user_delay(self, attempts: int) -> float:
        """The wait owed after `attempts` counted failures of a username, any address."""
        return _backoff(attempts, self.user_free_attempts, self.max_delay_s)

    @staticmethod
    def key(username: str, address: str) -> str:
        return hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()

    @staticmethod
    def user_key(username: str) -> str:
        # JSON escapes a newline: this text never equals a pair's, which has a raw one
        text = json.dumps(["user", username.strip().lower()])
        return hashlib.sha256(text.encode()).hexdigest()

    def _rows(self, session: Session, keys: list[str]) -> list[LoginAttempts]:
        # Always the pair's row first, then the username's: two logins never wait on
        # each other's rows in opposite orders. The insert takes SQLite's write lock (its
        # transactions then run one at a time); on PostgreSQL the row locks do the same.
        insert = _insert(session.get_bind().dialect.name)
        rows = []
        for key in keys:
            session.execute(insert(LoginAttempts).values(
                key=key, attempts=0, last_attempt_at=0.0, next_allowed_at=0.0
            ).on_conflict_do_nothing())
            rows.append(session.scalar(select(LoginAttempts).where(LoginAttempts.key == key)
                                       .with_for_update()))
        return rows

    def reserve(self, sessions: sessionmaker[Session], username: str, address: str) -> float:
        """Count an attempt and return 0, or return the seconds still to wait (and count
        nothing)."""
        with sessions() as session, session.begin():
            pair, user = self._rows(session, [self.key(username, address),
                                              self.user_key(username)])
            now = self._clock()
            for row in (pair, user):
                if now - row.last_attempt_at > self.forget_after_s:
                    row.attempts = 0
                    row.next_allowed_at = 0.0
            wait = max(pair.next_allowed_at, user.next_allowed_at) - now
            if wait > 0:
                return wait
            for row, delay in ((pair, self.delay), (user, self.user_delay)):
                row.attempts += 1
                row.last_attempt_at = now
                row.next_allowed_at = now + delay(row.attempts)
        return 0.0

    def succeeded(self, sessions: sessionmaker[Session], username: str, address: str) -> None:
        """Forget the pair; take this attempt back from the username's count."""
        with sessions() as session, session.begin():
            row = session.get(LoginAttempts, self.key(username, address))
            if row is not None:
                session.delete(row)
            user = session.scalar(select(LoginAttempts)
                                  .where(LoginAttempts.key == self.user_key(username))
                                  .with_for_update())
            if user is not None and user.attempts > 0:
                user.attempts -= 1
                user.next_allowed_at = user.last_attempt_at + self.user_delay(user.attempts)

    def prune(self, session: Session) -> None:
        """Forget pairs and usernames whose last attempt is older than the window."""
        from sqlalchemy import delete

        session.execute(delete(LoginAttempts).where(
            LoginAttempts.last_attempt_at < self._clock() - self.forget_after_s))
