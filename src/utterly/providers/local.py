"""The embedded provider: llama.cpp on a GGUF model shipped in a PyPI package.

No key, no server, no network. The model is loaded once per process and shared by every
provider instance; llama.cpp contexts are not thread-safe, so calls are serialised.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from pathlib import Path

from ..catalogue import resolve_model_path
from ..errors import ErrorCode, ProviderError
from .base import CheckResult, Completion, Message, ProviderConfig

_models: dict[tuple[str, int], object] = {}
_models_lock = threading.Lock()
# One generation at a time per process: llama.cpp shares one KV cache per model.
_generate_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models while the interpreter still works; left to garbage collection at
    # exit, llama-cpp-python's destructor runs after its module is torn down and prints errors.
    with _models_lock:
        for llm in _models.values():
            llm.close()
        _models.clear()


def _default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def load_model(path: Path, n_ctx: int, n_threads: int | None = None):
    """Load (or reuse) a llama.cpp model; raise ProviderError, not llama's ValueError."""
    key = (str(path), n_ctx)
    with _models_lock:
        llm = _models.get(key)
        if llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ProviderError(
                    ErrorCode.CONFIGURATION, "llama-cpp-python is not installed",
                    hint="run `make install` (it builds a portable llama-cpp-python wheel)",
                    provider="local") from exc
            try:
                llm = Llama(model_path=str(path), n_ctx=n_ctx,
                            n_threads=n_threads or _default_threads(), verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(
                    ErrorCode.MODEL_NOT_FOUND, f"llama.cpp could not load {path.name}: {exc}",
                    hint="check that the file is a GGUF model", provider="local") from exc
            _models[key] = llm
        return llm


class LocalProvider:
    name = "local"

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.model, self.path = resolve_model_path(config.model)

    def _llm(self):
        return load_model(self.path, self.config.n_ctx, self.config.n_threads)

    async def complete(self, messages: list[Message], *, temperature: float, max_tokens: int,
                       json_schema: dict | None = None, seed: int | None = None) -> Completion:
        deadline = time.monotonic() + self.config.timeout_s
        return await asyncio.to_thread(self._complete_blocking, messages, temperature,
                                       max_tokens, json_schema, seed, deadline)

    def _complete_blocking(self, messages, temperature, max_tokens, json_schema, seed,
                           deadline) -> Completion:
        llm = self._llm()
        kwargs = dict(messages=messages, temperature=temperature, max_tokens=max_tokens,
                      stream=True, seed=seed if seed is not None else 0)
        if json_schema is not None:
            # llama.cpp compiles the schema into a grammar: the output is valid JSON even
            # from a 135M model.
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        pieces: list[str] = []
        finish_reason = None
        output_tokens = 0
        with _generate_lock:
            # Start from an empty context: reusing the previous prompt's cache changes the
            # numerics slightly, and the same seed must give the same sentences.
            llm.reset()
            try:
                # Streaming lets us stop at the deadline: a local call has a timeout too.
                for chunk in llm.create_chat_completion(**kwargs):
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        pieces.append(text)
                        output_tokens += 1
                    finish_reason = choice.get("finish_reason") or finish_reason
                    if time.monotonic() > deadline:
                        raise ProviderError(
                            ErrorCode.TIMEOUT,
                            f"the local model did not finish within {self.config.timeout_s:g} s",
                            hint="raise the timeout (--timeout) or ask for fewer sentences",
                            provider=self.name)
            except ValueError as exc:
                if "context window" in str(exc) or "exceed" in str(exc):
                    raise ProviderError(
                        ErrorCode.CONTEXT_TOO_LONG, f"the prompt does not fit the model: {exc}",
                        hint="give fewer or shorter example sentences, or a shorter template",
                        provider=self.name) from exc
                raise ProviderError(ErrorCode.INVALID_RESPONSE, f"llama.cpp failed: {exc}",
                                    provider=self.name) from exc
            # n_tokens counts the context llama.cpp evaluated: the prompt plus what it wrote.
            input_tokens = max(0, int(llm.n_tokens) - output_tokens)
        return Completion(text="".join(pieces), model=self.model, input_tokens=input_tokens,
                          output_tokens=output_tokens, structured=json_schema is not None,
                          finish_reason=finish_reason)

    async def check(self) -> CheckResult:
        started = time.monotonic()
        await asyncio.to_thread(self._llm)
        size_mb = self.path.stat().st_size / 1e6
        return CheckResult(
            ok=True, provider=self.name, model=self.model,
            message=f"local model {self.model} loaded ({size_mb:.0f} MB)",
            details={"path": str(self.path), "load_s": round(time.monotonic() - started, 2)})

    async def aclose(self) -> None:
        return None
