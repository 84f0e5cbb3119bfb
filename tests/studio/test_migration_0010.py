"""Migration 0010 (a provider's own settings into provider_options) on a database at 0009
holding an Azure bot's and an Ollama bot's settings, up and down: SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from utterly.studio.db import alembic_config, make_engine, migrate
from utterly.studio.models import Bot, Namespace, SentenceGenerationSettings
from utterly.studio.secrets import SecretBox
from utterly.studio.services.settings import config_of, generation_out

from . import test_migration_0007
from .test_migration_0007 import columns

# The throwaway SQLite and PostgreSQL databases of 0007's test, as a fixture of this module
empty_database = test_migration_0007.empty_database

AZURE = {"azure_endpoint": "https://acme.openai.azure.com",
         "azure_deployment": "gpt-4o-mini-prod", "api_version": "2024-10-21"}
KEY = "azure-key-0123456789"


def old_settings_table() -> sa.Table:
    """The table as revision 0009 left it."""
    return sa.table(
        "sentence_generation_settings", *(sa.column(name) for name in (
            "bot_id", "enabled", "provider", "model", "api_key_encrypted", "temperature",
            "nb_sentences", "prompt_version", "updated_at", *AZURE)))


def test_the_settings_survive_the_move_and_its_undoing(empty_database):
    box = SecretBox([Fernet(Fernet.generate_key())])
    engine = make_engine(empty_database)
    try:
        command.upgrade(alembic_config(engine), "0009")
        with engine.begin() as conn:
            namespace = conn.execute(Namespace.__table__.insert().values(name="acme")
                                     ).inserted_primary_key[0]
            bots = [conn.execute(Bot.__table__.insert().values(
                namespace_id=namespace, name=name, locales=["fr"])).inserted_primary_key[0]
                for name in ("azure-bot", "ollama-bot")]
            common = {"enabled": True, "temperature": 0.5, "nb_sentences": 7,
                      "prompt_version": "v1", "updated_at": sa.func.now()}
            conn.execute(old_settings_table().insert().values(
                bot_id=bots[0], provider="azure-openai", model=None,
                api_key_encrypted=box.encrypt(KEY), **AZURE, **common))
            conn.execute(old_settings_table().insert().values(
                bot_id=bots[1], provider="ollama", model="tinyllama", **common))

        migrate(engine)
        assert "provider_options" in columns(engine, "sentence_generation_settings")
        assert not set(AZURE) & columns(engine, "sentence_generation_settings")
        with Session(engine) as session:
            azure = session.get(SentenceGenerationSettings, bots[0])
            ollama = session.get(SentenceGenerationSettings, bots[1])
            assert azure.provider_options == AZURE and ollama.provider_options is None
            config = config_of(azure, box)
            assert (config.azure_endpoint, config.azure_deployment, config.api_version,
                    config.api_key) == (*AZURE.values(), KEY)
            assert (ollama.model, ollama.nb_sentences) == ("tinyllama", 7)
            shown = generation_out(azure, box, session)
            assert {name: getattr(shown, name) for name in AZURE} == AZURE
            assert KEY not in shown.model_dump_json()

        command.downgrade(alembic_config(engine), "0009")
        assert "provider_options" not in columns(engine, "sentence_generation_settings")
        with engine.connect() as conn:
            rows = {row.bot_id: row for row in conn.execute(select(old_settings_table()))}
        assert {name: getattr(rows[bots[0]], name) for name in AZURE} == AZURE
        assert box.decrypt(rows[bots[0]].api_key_encrypted) == KEY
        assert [getattr(rows[bots[1]], name) for name in AZURE] == [None] * 3

        migrate(engine)
        with Session(engine) as session:
            assert session.get(SentenceGenerationSettings, bots[0]).provider_options == AZURE
    finally:
        engine.dispose()
