"""Migration 0007 on a database at 0006 holding a bot's settings and a run: SQLite and
PostgreSQL (a database of its own, made for this test)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select

from utterly.studio.db import alembic_config, make_engine, migrate
from utterly.studio.models import (
    Bot,
    GenerationRun,
    Namespace,
    SentenceGenerationSettings,
)
from utterly.studio.services.settings import default_timeout, timeout_of

from .conftest import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with postgres_database("utterly_migration") as url:
        yield url


def columns(engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_upgrade_from_0006_keeps_rows_and_adds_the_limit_and_the_trace(empty_database):
    engine = make_engine(empty_database)
    try:
        command.upgrade(alembic_config(engine), "0006")
        assert "timeout_s" not in columns(engine, "sentence_generation_settings")
        with engine.begin() as conn:
            namespace = conn.execute(Namespace.__table__.insert().values(name="acme")
                                     ).inserted_primary_key[0]
            bot = conn.execute(Bot.__table__.insert().values(
                namespace_id=namespace, name="bot", locales=["fr"])).inserted_primary_key[0]
            conn.execute(SentenceGenerationSettings.__table__.insert().values(
                bot_id=bot, enabled=True, provider="ollama", model="tinyllama",
                prompt_version="v1"))
            conn.execute(GenerationRun.__table__.insert().values(
                bot_id=bot, status="succeeded", provider="ollama", request={"n": 3},
                latency_s=4.5))

        migrate(engine)
        assert "timeout_s" in columns(engine, "sentence_generation_settings")
        assert "trace" in columns(engine, "generation_runs")
        with engine.connect() as conn:
            settings = conn.execute(select(SentenceGenerationSettings.__table__)).one()
            run = conn.execute(select(GenerationRun.__table__)).one()
        # what was there is unchanged; the new columns say "the default" and "no trace"
        assert (settings.provider, settings.model, settings.timeout_s) == \
            ("ollama", "tinyllama", None)
        assert timeout_of(settings) == default_timeout("ollama")
        assert (run.request, run.latency_s, run.trace) == ({"n": 3}, 4.5, None)

        command.downgrade(alembic_config(engine), "0006")
        assert "trace" not in columns(engine, "generation_runs")
        migrate(engine)
        assert "timeout_s" in columns(engine, "sentence_generation_settings")
    finally:
        engine.dispose()
