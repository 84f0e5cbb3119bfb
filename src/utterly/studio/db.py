"""Engine, sessions and migrations: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10,
                pool_timeout_s: float = 10.0, lock_timeout_s: float = 10.0) -> Engine:
    """An engine whose waits are bounded: for a pooled connection (`pool_timeout_s`) and
    for another transaction's lock (`lock_timeout_s`); past them the Studio answers 503
    database_busy rather than hold the request."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow,
            "pool_timeout": pool_timeout_s}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _owner_only(Path(path))
        if path == ":memory:" or not path:
            pool = {}  # one connection, no pool to size
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": lock_timeout_s}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # SQLite ignores foreign keys unless asked; WAL lets readers work during writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    milliseconds = max(1, int(lock_timeout_s * 1000))
    return create_engine(url, pool_pre_ping=True, **pool,
                         connect_args={"options": f"-c lock_timeout={milliseconds}"})


def _owner_only(path: Path) -> None:
    """The database holds password hashes and encrypted secrets: readable by its owner
    only. SQLite gives its -wal and -shm files the database file's permissions."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            os.chmod(file, 0o600)


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (run on every start)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


# PostgreSQL SQLSTATEs that mean "busy now, fine in a moment": a lock or statement
# timeout, a deadlock or serialization victim, no connection slot left.
_BUSY_SQLSTATES = {"55P03", "57014", "40P01", "40001", "53300"}


def is_busy(exc: OperationalError) -> bool:
    """The database refused for now (a lock, a lost race), not for good."""
    if getattr(exc.orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig)


def transaction_retrying(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """`work(session)` in a transaction, run once more if it lost a race with a concurrent
    one (it met the other's new row in a unique constraint, or SQLite found its snapshot
    stale): run again, it sees what the other wrote. For idempotent work only."""
    for attempt in (1, 2):
        try:
            with factory() as session, session.begin():
                return work(session)
        except IntegrityError:
            if attempt == 2:
                raise
        except OperationalError as exc:
            if attempt == 2 or not is_busy(exc):
                raise
    raise AssertionError("unreachable")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]):
    """A session whose work is committed together, or not at all."""
    with factory() as session, session.begin():
        yield session
