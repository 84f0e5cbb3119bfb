"""Embedding providers for the quality filters (near-duplicates, drift in meaning).

    from utterly.embeddings import create_embeddings, cosine_matrix
    embedder = create_embeddings("local")            # offline, in-process
    vectors = await embedder.embed(["Où est ma commande ?", "Elle est où ma commande"])

PROVIDERS lists them, as each module declares its own (EmbeddingInfo). The modules load the
local engines and the HTTP SDKs only when a provider is built, so a process that does not
use them never loads them.
"""

from __future__ import annotations

import numpy as np

from ..errors import ErrorCode, ProviderError
from . import local, ollama, openai
from .base import EmbeddingInfo, EmbeddingProvider, normalise_rows

# The one list of embedding providers, each declared by its module (which imports its engine
# or SDK only when one is built); in the order the CLI offers them.
PROVIDERS: dict[str, EmbeddingInfo] = {info.name: info for info in (
    local.INFO, ollama.INFO, openai.INFO, openai.AZURE)}
_NAMES = {alias: info for info in PROVIDERS.values() for alias in (info.name, *info.aliases)}

__all__ = ["PROVIDERS", "EmbeddingInfo", "EmbeddingProvider", "cosine_matrix",
           "create_embeddings", "normalise_rows"]


def create_embeddings(provider: str = "local", *, model: str | None = None,
                      base_url: str | None = None, api_key: str | None = None,
                      timeout_s: float = 30.0, **options: str | None) -> EmbeddingProvider:
    """Build the embedding provider called `provider` (a name of PROVIDERS or an alias).

    Unset (None) options are left to each provider's own defaults and environment; each
    provider is given only the options it takes. `options`: a provider's own settings (an
    Azure endpoint, deployment and API version), as its EmbeddingInfo.fields name them."""
    unknown = set(options) - {name for info in PROVIDERS.values() for name in info.fields}
    if unknown:
        raise TypeError(f"create_embeddings() got unexpected keyword arguments {sorted(unknown)}")
    info = _NAMES.get((provider or "").strip().lower())
    if info is None:
        raise ProviderError(ErrorCode.CONFIGURATION,
                            f"unknown embedding provider {provider!r}",
                            hint=f"use one of {', '.join(PROVIDERS)}", provider=str(provider))
    given = {"model": model, "base_url": base_url, "api_key": api_key, "timeout_s": timeout_s,
             **options}
    return info.create(**{name: given.get(name) for name in info.fields})


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities; rows need not be normalised beforehand."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"vectors of different sizes: {a.shape[1]} and {b.shape[1]}")
    # Rounding can push a unit vector's self-similarity a hair past 1.
    return np.clip(normalise_rows(a) @ normalise_rows(b).T, -1.0, 1.0)
