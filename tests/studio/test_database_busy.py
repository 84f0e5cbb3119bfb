"""A database that is busy (every pooled connection taken, a lock held by another
transaction) answers 503 database_busy with Retry-After, never 500, and the Studio serves
again as soon as it is free; on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3

import psycopg
import pytest

from tests.studio.conftest import problem, running_studio
from utterly.studio.config import StudioConfig


@pytest.fixture
def tight(database_url, tmp_path):
    """A Studio with one pooled connection, short waits for it and for locks."""
    config = StudioConfig(data_dir=tmp_path / "data", database_url=database_url,
                          db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.5,
                          db_lock_timeout_s=1.0)
    with running_studio(config) as st:
        yield st


def assert_busy(response) -> None:
    body = problem(response, 503)
    assert body["code"] == "database_busy"
    assert response.headers["Retry-After"] == "2"
    assert "UTTERLY_DB_POOL_SIZE" in body["hint"]


def test_an_exhausted_pool_answers_database_busy_then_recovers(tight):
    client = tight.anonymous()
    held = tight.app.state.engine.connect()  # the pool's only connection
    try:
        assert_busy(client.get("/api/health"))
    finally:
        held.close()
    assert client.get("/api/health").status_code == 200


@contextlib.contextmanager
def write_lock_held(studio):
    """Another transaction holding the lock a login needs (it records the attempt)."""
    url = studio.config.url
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        other.execute("LOCK TABLE login_attempts IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        other.rollback() if not isinstance(other, sqlite3.Connection) \
            else other.execute("ROLLBACK")
        other.close()


def test_a_lock_held_past_the_lock_timeout_answers_database_busy(tight):
    client = tight.anonymous()
    login = {"username": "nobody", "password": "not-the-password-1"}
    with write_lock_held(tight):
        assert_busy(client.post("/api/auth/token", json=login))
    # free again: the same request gets its ordinary answer
    assert problem(client.post("/api/auth/token", json=login), 401)


def test_pool_and_lock_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UTTERLY_DB_POOL_SIZE", "3")
    monkeypatch.setenv("UTTERLY_DB_POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("UTTERLY_DB_LOCK_TIMEOUT", "4")
    config = StudioConfig.from_env()
    assert config.pool == {"pool_size": 3, "max_overflow": 10, "pool_timeout_s": 2.5,
                           "lock_timeout_s": 4.0}
    monkeypatch.setenv("UTTERLY_DB_POOL_SIZE", "0")
    with pytest.raises(SystemExit, match="UTTERLY_DB_POOL_SIZE='0' is not valid: use a whole number of at least 1"):
        StudioConfig.from_env()
