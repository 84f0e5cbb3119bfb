"""The embedded provider: llama.cpp on a GGUF model shipped in a PyPI package.

No key, no server, no network. Each model is loaded once per process and shared by every
provider instance; its calls are serialised (one context, one KV cache). The decoding
itself, with its cached prompt prefix and parallel streams, is in `local_engine`.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from ..catalogue import CATALOGUE, resolve_model_path
from ..errors import ErrorCode, ProviderError
from .base import (
    MODEL,
    CheckResult,
    Completion,
    Message,
    Piece,
    ProviderConfig,
    ProviderInfo,
    TextStream,
)

# Answers one call writes side by side: 4 tokens per step cost about twice one on 2 cores,
# more buy little (measured in bench/generation_speed.py, see docs/quality.md).
MAX_STREAMS = 4

DRY_MULTIPLIER = 0.8

_engines: dict[tuple[str, int, int], object] = {}
_engines_lock = threading.Lock()


@atexit.register
def _close_engines() -> None:
    # Free llama.cpp models while the interpreter still works: left to garbage collection
    # at exit, the destructors run after their module is torn down and print errors.
    with _engines_lock:
        for engine in _engines.values():
            engine.close()
        _engines.clear()


def _default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def load_engine(path: Path, n_ctx: int, n_threads: int | None = None):
    """Load (or reuse) a model; raise ProviderError, not llama.cpp's ValueError."""
    threads = n_threads or _default_threads()
    key = (str(path), n_ctx, threads)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            try:
                from .local_engine import Engine
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ProviderError(
                    ErrorCode.CONFIGURATION, "llama-cpp-python is not installed",
                    hint="run `make install` (it builds a portable llama-cpp-python wheel)",
                    provider="local") from exc
            try:
                engine = Engine(str(path), n_ctx=n_ctx, n_threads=threads,
                                max_streams=MAX_STREAMS)
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(
                    ErrorCode.MODEL_NOT_FOUND, f"llama.cpp could not load {path.name}: {exc}",
                    hint="check that the file is a GGUF model", provider="local") from exc
            _engines[key] = engine
        return engine


class LocalProvider:
    name = "local"
    max_streams = MAX_STREAMS

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.model, self.path = resolve_model_path(config.model)

    def _engine(self):
        return load_engine(self.path, self.config.n_ctx, self.config.n_threads)

    async def complete(self, messages: list[Message], *, temperature: float, max_tokens: int,
                       json_schema: dict | None = None, seed: int | None = None) -> Completion:
        grammar = None
        if json_schema is not None:
            # llama.cpp compiles the schema into a grammar: the output is valid JSON even
            # from a 135M model.
            grammar = json.dumps(json_schema)
        stream = LocalStream(self, [messages], temperature=temperature, max_tokens=max_tokens,
                             seed=seed, json_schema=grammar)
        async with stream:
            async for _ in stream:
                pass
        return Completion(text=stream.texts[0], model=self.model,
                          input_tokens=stream.input_tokens, output_tokens=stream.output_tokens,
                          structured=json_schema is not None,
                          finish_reason=stream.finish_reasons[0])

    def stream(self, prompts: Sequence[list[Message]], *, temperature: float, max_tokens: int,
               seed: int | None) -> "LocalStream":
        return LocalStream(self, prompts, temperature=temperature, max_tokens=max_tokens,
                           seed=seed)

    async def prepare(self, prompts: Sequence[list[Message]]) -> None:
        """Read these prompts ahead of the `stream` call that will send them."""
        def read() -> None:
            engine = self._engine()
            engine.prepare([engine.tokenize(engine.prompt_text(m)) for m in prompts])

        await asyncio.to_thread(read)

    async def check(self) -> CheckResult:
        started = time.monotonic()
        await asyncio.to_thread(self._engine)
        size_mb = self.path.stat().st_size / 1e6
        return CheckResult(
            ok=True, provider=self.name, model=self.model,
            message=f"local model {self.model} loaded ({size_mb:.0f} MB)",
            details={"path": str(self.path), "load_s": round(time.monotonic() - started, 2)})

    async def aclose(self) -> None:
        return None


# The embedded catalogue's models are the ones offered (the Studio runs no other); one
# engine writes every answer, so a job gains nothing from running two generations at once.
INFO = ProviderInfo(name="local", label="Local (embedded model)",
                    label_fr="Local (modèle embarqué)", create=LocalProvider,
                    fields=(MODEL,), concurrency=1, models=tuple(CATALOGUE),
                    in_process=True, default_timeout_s=300.0, free=True, otel_name="llama.cpp")


class LocalStream(TextStream):
    """Decodes in a worker thread; its pieces cross to the event loop through a queue."""

    prefilled = True

    def __init__(self, provider: LocalProvider, prompts: Sequence[list[Message]], *,
                 temperature: float, max_tokens: int, seed: int | None,
                 json_schema: str | None = None):
        super().__init__(prompts)
        if len(self.prompts) > MAX_STREAMS:
            raise ValueError(f"at most {MAX_STREAMS} prompts per call")
        self._provider = provider
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._seed = seed if seed is not None else 0
        self._json_schema = json_schema
        # A list's items repeat themselves on a small model; DRY discourages writing again
        # a run of more than a few tokens of this answer (a whole sentence), not the words.
        self._dry = 0.0 if json_schema is not None else DRY_MULTIPLIER
        self._cancel = threading.Event()
        self._task: asyncio.Task | None = None
        self.model = provider.model
        self.stats = None

    async def _pieces(self) -> AsyncIterator[Piece]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        deadline = time.monotonic() + self._provider.config.timeout_s

        def on_text(stream: int, text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, Piece(stream, text))

        self._task = asyncio.ensure_future(asyncio.to_thread(
            self._run, on_text, deadline))
        self._task.add_done_callback(lambda _: loop.call_soon_threadsafe(
            queue.put_nowait, None))
        while True:
            piece = await queue.get()
            if piece is None:
                break
            self.texts[piece.stream] += piece.text
            yield piece
        self._task.result()  # raises what the decoding raised

    def _run(self, on_text, deadline: float) -> None:
        from .local_engine import Cancelled, ContextTooLong, DeadlineReached, Sampling

        engine = self._provider._engine()
        try:
            tokens = [engine.tokenize(engine.prompt_text(m)) for m in self.prompts]
            stats = engine.run(
                tokens, sampling=Sampling(temperature=self._temperature, seed=self._seed,
                                          json_schema=self._json_schema,
                                          dry_multiplier=self._dry),
                max_tokens=self._max_tokens, on_text=on_text,
                stop_stream=lambda s: s in self.stopped, stop_all=self._cancel.is_set,
                deadline=deadline)
        except Cancelled:
            self.finish_reasons = ["cancelled"] * len(self.prompts)
            return
        except DeadlineReached:
            raise ProviderError(
                ErrorCode.TIMEOUT,
                f"the local model did not finish within {self._provider.config.timeout_s:g} s",
                hint="raise the timeout or ask for fewer sentences",
                provider="local") from None
        except ContextTooLong as exc:
            raise ProviderError(
                ErrorCode.CONTEXT_TOO_LONG, f"the prompt does not fit the model: {exc}",
                hint="give fewer or shorter example sentences, or a shorter template",
                provider="local") from None
        except RuntimeError as exc:
            raise ProviderError(ErrorCode.INVALID_RESPONSE, f"llama.cpp failed: {exc}",
                                provider="local") from exc
        self.stats = stats
        self.input_tokens = sum(s.prompt_tokens for s in stats.streams)
        self.output_tokens = sum(s.output_tokens for s in stats.streams)
        self.finish_reasons = [s.finish_reason for s in stats.streams]

    async def aclose(self) -> None:
        self._cancel.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:  # noqa: BLE001 - already raised to the reader, or abandoned
                pass
