"""Chat providers: one module per wire protocol, chosen by name.

Modules are imported on first use so that `utterly --help` does not load llama.cpp or SDKs.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import ErrorCode, ProviderError
from .base import ChatProvider, CheckResult, Completion, ProviderConfig

PROVIDERS = {
    "local": ("utterly.providers.local", "LocalProvider"),
    "ollama": ("utterly.providers.ollama", "OllamaProvider"),
    "openai": ("utterly.providers.openai", "OpenAIProvider"),
    "azure-openai": ("utterly.providers.azure", "AzureOpenAIProvider"),
}


def create_provider(config: ProviderConfig) -> ChatProvider:
    try:
        module_name, class_name = PROVIDERS[config.provider]
    except KeyError:
        raise ProviderError(
            ErrorCode.CONFIGURATION, f"unknown provider {config.provider!r}",
            hint="choose one of: " + ", ".join(PROVIDERS), provider=config.provider,
        ) from None
    return getattr(import_module(module_name), class_name)(config)


__all__ = ["ChatProvider", "CheckResult", "Completion", "ProviderConfig", "PROVIDERS",
           "create_provider"]
