"""What every embedding provider offers the quality filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EmbeddingProvider(Protocol):
    name: str
    model: str

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, d) float32 array of L2-normalised vectors. Raises ProviderError."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class EmbeddingInfo:
    """An embedding provider's facts, declared by its module next to its class: the CLI's
    choices and `create_embeddings` read them. `create` imports no engine nor SDK before it
    is called."""

    name: str
    label: str
    create: Callable[..., EmbeddingProvider]
    # The keywords of create_embeddings it takes (the others do not concern it)
    fields: tuple[str, ...] = ("model",)
    # Other names accepted for it
    aliases: tuple[str, ...] = ()
    # Where it finds its key when none is given; None: it takes none
    key_env: str | None = None


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
