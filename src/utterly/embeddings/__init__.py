"""Embedding providers for the quality filters (near-duplicates, drift in meaning).

    from utterly.embeddings import create_embeddings, cosine_matrix
    embedder = create_embeddings("local")            # offline, in-process
    vectors = await embedder.embed(["Où est ma commande ?", "Elle est où ma commande"])

Providers are imported only when asked for, so the local engines and the HTTP SDKs are
never loaded by a process that does not use them.
"""

from __future__ import annotations

import numpy as np

from ..errors import ErrorCode, ProviderError
from .base import EmbeddingProvider, normalise_rows

PROVIDERS = ("local", "ollama", "openai", "azure")

__all__ = ["PROVIDERS", "EmbeddingProvider", "cosine_matrix", "create_embeddings",
           "normalise_rows"]


def create_embeddings(provider: str = "local", *, model: str | None = None,
                      base_url: str | None = None, api_key: str | None = None,
                      azure_endpoint: str | None = None, azure_deployment: str | None = None,
                      api_version: str | None = None, timeout_s: float = 30.0,
                      ) -> EmbeddingProvider:
    """Build the embedding provider called `provider` ("local", "ollama", "openai", "azure").

    Unset (None) options are left to each provider's own defaults and environment."""
    key = (provider or "").strip().lower()
    if key == "local":
        from .local import LocalEmbeddings

        return LocalEmbeddings(model)
    if key == "ollama":
        from .ollama import OllamaEmbeddings

        return OllamaEmbeddings(model=model, base_url=base_url, api_key=api_key,
                                timeout_s=timeout_s)
    if key == "openai":
        from .openai import OpenAIEmbeddings

        return OpenAIEmbeddings(model=model, base_url=base_url, api_key=api_key,
                                timeout_s=timeout_s)
    if key in ("azure", "azure-openai", "azure_openai"):
        from .openai import AzureOpenAIEmbeddings

        return AzureOpenAIEmbeddings(model=model, base_url=base_url, api_key=api_key,
                                     azure_endpoint=azure_endpoint,
                                     azure_deployment=azure_deployment, api_version=api_version,
                                     timeout_s=timeout_s)
    raise ProviderError(ErrorCode.CONFIGURATION, f"unknown embedding provider {provider!r}",
                        hint=f"use one of {', '.join(PROVIDERS)}", provider=str(provider))


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities; rows need not be normalised beforehand."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"vectors of different sizes: {a.shape[1]} and {b.shape[1]}")
    # Rounding can push a unit vector's self-similarity a hair past 1.
    return np.clip(normalise_rows(a) @ normalise_rows(b).T, -1.0, 1.0)
