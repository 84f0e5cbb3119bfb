"""Embeddings from OpenAI, OpenAI-compatible servers and Azure OpenAI (`embeddings.create`)."""

from __future__ import annotations

import numpy as np

from ..providers.azure import INFO as AZURE_CHAT
from ..providers.azure import AzureOpenAIProvider
from ..providers.base import ProviderConfig
from ..providers.errors_map import invalid_response
from ..providers.openai import OpenAIProvider
from .base import EmbeddingInfo, normalise_rows

DEFAULT_MODEL = "text-embedding-3-small"
BATCH = 512  # OpenAI accepts up to 2048 inputs per request; stay well below


class _EmbeddingsMixin:
    """Reuses the chat provider's client set-up (keys, URLs, Azure) for embeddings."""

    async def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            rows.extend(await self._embed_batch(list(texts[start:start + BATCH])))
        if len({len(r) for r in rows}) != 1:
            raise invalid_response(self.target, "vectors of different lengths")
        return normalise_rows(np.asarray(rows, dtype=np.float32))

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        response = await self._call(lambda: self._client.embeddings.create(
            model=self._model_param, input=batch, encoding_format="float"))
        rows = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        if len(rows) != len(batch):
            raise invalid_response(self.target, f"{len(rows)} vectors for {len(batch)} texts")
        return rows


class OpenAIEmbeddings(_EmbeddingsMixin, OpenAIProvider):
    name = "openai"
    default_model = DEFAULT_MODEL

    def __init__(self, config: ProviderConfig | None = None, **fields):
        """Either a ProviderConfig, or its fields as keywords (model=, api_key=, base_url=…)."""
        super().__init__(config or ProviderConfig.of("openai", **fields))


class AzureOpenAIEmbeddings(_EmbeddingsMixin, AzureOpenAIProvider):
    name = "azure-openai"

    def __init__(self, config: ProviderConfig | None = None, **fields):
        """Either a ProviderConfig, or its fields as keywords (the endpoint, api_key=…)."""
        super().__init__(config or ProviderConfig.of("azure-openai", **fields))


_REMOTE = ("model", "base_url", "api_key", "timeout_s")
INFO = EmbeddingInfo(name="openai", label="OpenAI", create=OpenAIEmbeddings, fields=_REMOTE,
                     key_env=OpenAIProvider.key_env)
AZURE = EmbeddingInfo(name="azure-openai", label="Azure OpenAI", create=AzureOpenAIEmbeddings,
                      fields=(*_REMOTE, *(spec.name for spec in AZURE_CHAT.options)),
                      aliases=("azure", "azure_openai"), key_env=AzureOpenAIProvider.key_env)
