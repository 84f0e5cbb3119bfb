"""The brake on password guessing: per (username, client address), stored in the database.

Each attempt is counted before its password is checked, in a short transaction that
locks the pair's row: forty guesses sent at once are three attempts and thirty-seven
waits, in one process or many. After `free_attempts` attempts each further one must wait
longer (1 s, 2 s, 4 s … `max_delay_s`); a success forgets the pair. Keyed by the client's
address too, so that someone else's failures never hold back a user: the brake backs off
a guesser, it does not lock an account.
"""

from __future__ import annotations

import hashlib
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


class LoginThrottle:
    free_attempts = 3
    max_delay_s = 60.0
    forget_after_s = 15 * 60.0

    def __init__(self, clock=time.time):
        self._clock = clock

    def delay(self, attempts: int) -> float:
        """The wait owed after `attempts` counted attempts."""
        if attempts < self.free_attempts:
            return 0.0
        return min(2.0 ** (attempts - self.free_attempts), self.max_delay_s)

    @staticmethod
    def key(username: str, address: str) -> str:
        return hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()

    def reserve(self, sessions: sessionmaker[Session], username: str, address: str) -> float:
        """Count an attempt and return 0, or return the seconds still to wait (and count
        nothing)."""
        key = self.key(username, address)
        with sessions() as session, session.begin():
            # The insert takes SQLite's write lock (its transactions then run one at a
            # time); on PostgreSQL the row lock below does the same for this pair.
            insert = _insert(session.get_bind().dialect.name)
            session.execute(insert(LoginAttempts).values(
                key=key, attempts=0, last_attempt_at=0.0, next_allowed_at=0.0
            ).on_conflict_do_nothing())
            row = session.scalar(select(LoginAttempts).where(LoginAttempts.key == key)
                                 .with_for_update())
            now = self._clock()
            if now - row.last_attempt_at > self.forget_after_s:
                row.attempts = 0
                row.next_allowed_at = 0.0
            if now < row.next_allowed_at:
                return row.next_allowed_at - now
            row.attempts += 1
            row.last_attempt_at = now
            row.next_allowed_at = now + self.delay(row.attempts)
        return 0.0

    def succeeded(self, sessions: sessionmaker[Session], username: str, address: str) -> None:
        with sessions() as session, session.begin():
            row = session.get(LoginAttempts, self.key(username, address))
            if row is not None:
                session.delete(row)

    def prune(self, session: Session) -> None:
        """Forget pairs whose last attempt is older than the window."""
        from sqlalchemy import delete

        session.execute(delete(LoginAttempts).where(
            LoginAttempts.last_attempt_at < self._clock() - self.forget_after_s))
