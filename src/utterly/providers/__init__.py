"""Chat providers: one module per wire protocol, chosen by name.

PROVIDERS is the one list of them: each module declares its provider's facts (ProviderInfo)
next to its class, and the CLI, the library and the Studio read them from here. The modules
import their SDK (and llama.cpp) only when a provider is built, so that reading the registry,
as `utterly --help` does, loads none.
"""

from __future__ import annotations

from ..errors import ErrorCode, ProviderError
from . import azure, local, ollama, openai
from .base import (
    ChatProvider,
    CheckResult,
    Completion,
    ProviderConfig,
    ProviderField,
    ProviderInfo,
)

# In the order the CLI and the Studio offer them.
PROVIDERS: dict[str, ProviderInfo] = {info.name: info for info in (
    local.INFO, ollama.INFO, openai.INFO, openai.COMPATIBLE, azure.INFO)}


def provider_info(name: str) -> ProviderInfo:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ProviderError(
            ErrorCode.CONFIGURATION, f"unknown provider {name!r}",
            hint="choose one of: " + ", ".join(PROVIDERS), provider=name,
        ) from None


def setting_fields() -> tuple[ProviderField, ...]:
    """Every setting some provider takes, once each, in the registry's order: the CLI's
    options, the Studio API's fields and the settings page's inputs."""
    found: dict[str, ProviderField] = {}
    for info in PROVIDERS.values():
        for spec in info.fields:
            found.setdefault(spec.name, spec)
    return tuple(found.values())


def create_provider(config: ProviderConfig) -> ChatProvider:
    return provider_info(config.provider).create(config)


__all__ = ["ChatProvider", "CheckResult", "Completion", "ProviderConfig", "ProviderField",
           "ProviderInfo", "PROVIDERS", "create_provider", "provider_info", "setting_fields"]
