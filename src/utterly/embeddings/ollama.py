"""Embeddings from an Ollama server (/api/embed) through the official `ollama` SDK."""

from __future__ import annotations

import numpy as np

from ..errors import ErrorCode, ProviderError
from ..providers.base import ProviderConfig
from ..providers.errors_map import invalid_response
from ..providers.ollama import OllamaProvider
from .base import EmbeddingInfo, normalise_rows

DEFAULT_MODEL = "nomic-embed-text"


class OllamaEmbeddings(OllamaProvider):
    """Reuses the chat provider's client, error classification and retries."""

    default_model = DEFAULT_MODEL

    def __init__(self, config: ProviderConfig | None = None, **fields):
        """Either a ProviderConfig, or its fields as keywords (model=, base_url=, timeout_s=…)."""
        super().__init__(config or ProviderConfig.of("ollama", **fields))

    async def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        response = await self._call(
            lambda: self._client.embed(model=self.model, input=list(texts)))
        vectors = [list(v) for v in response.embeddings]
        if len(vectors) != len(texts) or not vectors or len({len(v) for v in vectors}) != 1:
            raise invalid_response(self.target, f"{len(vectors)} vectors for {len(texts)} texts")
        array = np.asarray(vectors, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ProviderError(ErrorCode.INVALID_RESPONSE, "the embeddings contain NaN or inf",
                                provider=self.name)
        return normalise_rows(array)

    async def aclose(self) -> None:
        await self._client.close()


INFO = EmbeddingInfo(name="ollama", label="Ollama", create=OllamaEmbeddings,
                     fields=("model", "base_url", "api_key", "timeout_s"))
