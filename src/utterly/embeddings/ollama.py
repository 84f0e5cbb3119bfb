"""Embeddings from an Ollama server (/api/embed) through the official `ollama` SDK."""

from __future__ import annotations

import asyncio

import numpy as np

from ..errors import ErrorCode, ProviderError
from ..providers.base import ProviderConfig
from ..providers.errors_map import Target, from_ollama, invalid_response
from ..providers.ollama import _base_url
from ..providers.retry import call_with_retries
from .base import normalise_rows

DEFAULT_MODEL = "nomic-embed-text"


class OllamaEmbeddings:
    name = "ollama"
    _sleep = staticmethod(asyncio.sleep)
    max_wait_s = 30.0

    def __init__(self, config: ProviderConfig | None = None, **fields):
        """Either a ProviderConfig, or its fields as keywords (model=, base_url=, timeout_s=…)."""
        import ollama

        if config is None:
            config = ProviderConfig(provider="ollama",
                                    **{k: v for k, v in fields.items() if v is not None})
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.base_url = _base_url(config)
        self.target = Target(provider=self.name, model=self.model, url=self.base_url,
                             timeout_s=config.timeout_s, api_key=config.api_key)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else None
        self._client = ollama.AsyncClient(host=self.base_url, timeout=config.timeout_s,
                                          headers=headers)

    def __repr__(self) -> str:
        return f"OllamaEmbeddings(model={self.model!r}, base_url={self.base_url!r})"

    async def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)

        async def once():
            try:
                return await self._client.embed(model=self.model, input=list(texts))
            except Exception as exc:
                raise from_ollama(exc, self.target) from exc

        response = await call_with_retries(once, max_retries=self.config.max_retries,
                                           provider=self.name, sleep=self._sleep,
                                           max_wait_s=self.max_wait_s)
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
