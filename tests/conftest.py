"""Shared fixtures. The real local model (SmolLM2 through llama.cpp) is loaded once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from utterly.providers import ProviderConfig, create_provider

pytest_plugins = ["tests.servers.fixtures", "tests.servers.phoenix",
                  "tests.servers.langfuse_recorder", "tests.servers.scripted_openai",
                  "tests.servers.tock_orchestrator"]

ROOT = Path(__file__).resolve().parent.parent
TEST_MODEL = "smollm2-135m"


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = Path(os.environ.get("UTTERLY_TEST_OUTPUT", ROOT / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def local_config() -> ProviderConfig:
    return ProviderConfig(provider="local", model=TEST_MODEL, n_ctx=2048)


@pytest.fixture(scope="session")
def local_provider(local_config):
    return create_provider(local_config)


@pytest.fixture(scope="session")
def local_embeddings():
    from utterly.embeddings import create_embeddings

    return create_embeddings("local")
