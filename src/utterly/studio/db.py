"""Engine, sessions and migrations: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]):
    """A session whose work is committed together, or not at all."""
    with factory() as session, session.begin():
        yield session
