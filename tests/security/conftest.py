"""Security tests: each makes one attack of the review (issue 13) on a running Studio and
asserts the refusal. The Studio fixtures are tests/studio's (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.servers.run import ASGIServer
from tests.studio.conftest import (
    database_url,
    password_hash,
    postgres_url,
    running_studio,
    studio,
    world,
)
from utterly.studio.config import StudioConfig

from .capture import create_app

__all__ = ["database_url", "password_hash", "postgres_url", "studio", "world"]


@pytest.fixture
def capture():
    """The recording server (a fresh one per test: what it saw is the test's)."""
    app = create_app()
    with ASGIServer(app) as url:
        yield url, app.state.seen


@pytest.fixture
def sqlite_studio(tmp_path):
    """A Studio on SQLite only, for attacks that no database changes."""
    with running_studio(StudioConfig(data_dir=tmp_path / "data",
                                     database_url=f"sqlite:///{tmp_path / 'utterly.db'}")) as st:
        yield st


@pytest.fixture
def studio_overrides() -> dict:
    """The Studio's configuration as tests/studio's `studio` fixture builds it (a module may
    override fields, as there)."""
    return {}
