"""llama.cpp decoding for the local provider: a cached prompt prefix, parallel streams.

On two CPU cores the model reads a prompt at about 40 tokens/s and writes about 12 tokens/s,
but it writes 4 tokens of 4 different sequences in about twice the time of one. So:

* the prompt's common prefix (system prompt, instructions) is evaluated once and kept as a
  snapshot of its KV cache, reused by the next call that starts with the same tokens;
* one call decodes several streams side by side (one sequence each in one unified KV cache),
  each its own prompt suffix and sampler seed, so that a batch of 4 tokens is decoded per
  step: about twice the sentences per second of a single stream.

Same seed, same output, whatever ran before: prompts are evaluated in chunks aligned on
absolute positions, and a call starts from an empty cache into which a snapshot taken at
such a boundary is restored. A cached prefix therefore gives bit-identical logits to a
fresh evaluation.
"""

from __future__ import annotations

import codecs
import ctypes
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import llama_cpp

# The high-level `Llama` class has one sequence per context; the private wrappers of the
# same package (pinned) are the thinnest safe path to several.
from llama_cpp import _internals as internals
from llama_cpp._logger import set_verbose
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import LlamaGrammar

from .. import waiting
from .turns import Turns

# Prompt chunks are aligned on multiples of this many positions (see the module's docstring).
CHUNK = 32
# Snapshots of prompt prefixes kept per model, least recently used dropped first.
SNAPSHOT_BYTES = 96 * 1024 * 1024
# How often a run waiting for the engine (another run holds it) asks whether to give up (s).
LOCK_POLL_S = 0.1


@dataclass
class Sampling:
    temperature: float
    seed: int
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    # JSON schema (as text) the output must follow, compiled into a llama.cpp grammar
    json_schema: str | None = None
    # DRY ("don't repeat yourself"): a penalty on extending a run of tokens the answer has
    # already written, growing with the run's length; 0 turns it off
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 5


@dataclass
class StreamStats:
    prompt_tokens: int = 0       # tokens of the prompt this stream reads
    output_tokens: int = 0
    finish_reason: str | None = None  # "stop" (end of text), "length" or "cancelled"


@dataclass
class RunStats:
    streams: list[StreamStats] = field(default_factory=list)
    prefix_tokens: int = 0       # tokens shared by every stream's prompt
    cached_tokens: int = 0       # of those, restored from a snapshot
    evaluated_tokens: int = 0    # prompt tokens the model actually read this call
    prompt_s: float = 0.0
    decode_s: float = 0.0
    steps: int = 0


class Cancelled(Exception):
    """Raised inside a run by its `stop_all` check."""


class Engine:
    """One loaded GGUF model with one context; `run` calls take it in turn (`lock`, first
    come first served, each waiting run told its place: utterly.waiting)."""

    def __init__(self, path: str, *, n_ctx: int = 4096, n_threads: int, max_streams: int = 4):
        self.path = path
        self.max_streams = max_streams
        set_verbose(False)  # llama.cpp's own log lines would flood stderr
        model_params = llama_cpp.llama_model_default_params()
        self.model = internals.LlamaModel(path_model=path, params=model_params, verbose=False)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = 512
        params.n_ubatch = 512
        params.n_seq_max = max_streams + 1   # the prefix (seq 0) and one per stream
        params.kv_unified = True              # streams share the prefix's cells
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.no_perf = True
        self.ctx = internals.LlamaContext(model=self.model, params=params, verbose=False)
        self.n_ctx = n_ctx
        self.n_batch = 512
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._memory = llama_cpp.llama_get_memory(self.ctx.ctx)
        self._snapshots: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self._snapshot_bytes = 0
        self.lock = Turns()
        template = self.model.metadata().get("tokenizer.chat_template")
        vocab = self.model.vocab
        eos = self.model.token_get_text(self.model.token_eos())
        bos = self.model.token_get_text(self.model.token_bos())
        self._formatter = (Jinja2ChatFormatter(template=template, eos_token=eos,
                                               bos_token=bos) if template else None)
        self._vocab = vocab

    def close(self) -> None:
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self.ctx.close()
        self.model.close()

    # -- prompts -------------------------------------------------------------------------

    def prompt_text(self, messages: Sequence[dict]) -> str:
        """The chat template applied to `messages`. A last `assistant` message is the start
        of the answer: the model continues it rather than answering after it."""
        messages = list(messages)
        prefill = ""
        if messages and messages[-1]["role"] == "assistant":
            prefill = messages.pop()["content"]
        if self._formatter is None:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        else:
            text = self._formatter(messages=messages).prompt
        return text + prefill

    def tokenize(self, text: str) -> list[int]:
        return self.model.tokenize(text.encode("utf-8"), add_bos=self.model.add_bos_token(),
                                   special=True)

    # -- the run -------------------------------------------------------------------------

    def run(self, prompts: Sequence[list[int]], *, sampling: Sampling, max_tokens: int,
            on_text: Callable[[int, str], None], stop_stream: Callable[[int], bool],
            stop_all: Callable[[], bool], deadline: float | None = None) -> RunStats:
        """Decode one answer per prompt, side by side, calling `on_text(stream, text)` with
        each piece of text as it is decoded. A stream ends at the end of text, after
        `max_tokens`, or when `stop_stream(stream)` says so; `stop_all()` ends them all."""
        if not prompts or len(prompts) > self.max_streams:
            raise ValueError(f"1 to {self.max_streams} prompts, not {len(prompts)}")
        stats = RunStats(streams=[StreamStats(prompt_tokens=len(p)) for p in prompts])
        # The prefix is stored once, each stream's own part once per stream.
        shared = len(_common_prefix(prompts))
        needed = shared + sum(len(p) - shared for p in prompts) + len(prompts)
        if needed >= self.n_ctx:
            raise ContextTooLong(needed, self.n_ctx)
        self._lock_unless(stop_all)
        try:
            started = time.perf_counter()
            prefix = self._read_prefix(prompts, stats, stop_all)
            for s in range(len(prompts)):
                llama_cpp.llama_memory_seq_cp(self._memory, 0, s + 1, 0, len(prefix))
            # The suffixes, one batch per chunk of positions, every stream in it.
            samplers = [self._sampler(sampling, s) for s in range(len(prompts))]
            if sampling.dry_multiplier > 0 and sampling.json_schema is None:
                # DRY then also counts the prompt's runs: an example copied whole is
                # discouraged like a sentence written twice.
                for sampler, prompt in zip(samplers, prompts):
                    for token in prompt:
                        sampler.accept(token)
            try:
                logits_at = self._eval_suffixes(prompts, len(prefix), stats, stop_all)
                stats.prompt_s = time.perf_counter() - started
                self._decode(prompts, samplers, logits_at, stats, max_tokens, on_text,
                             stop_stream, stop_all, deadline)
            finally:
                for sampler in samplers:
                    sampler.close()
                stats.decode_s = time.perf_counter() - started - stats.prompt_s
        finally:
            self.lock.release()
        return stats

    def _lock_unless(self, stop_all: Callable[[], bool]) -> None:
        """Take the engine, or raise Cancelled when `stop_all()` says so first: a
        cancelled generation must not wait for another one's run to end. While it waits,
        its place in line is told (utterly.waiting)."""
        wait = waiting.Wait(waiting.MODEL)
        if not self.lock.take(should_stop=stop_all, on_place=wait.place, poll_s=LOCK_POLL_S):
            raise Cancelled()
        wait.over()

    def prepare(self, prompts: Sequence[list[int]]) -> RunStats:
        """Read the prompts' common prefix now and keep it, so that a `run` of the same
        prompts soon after starts writing sooner (its reading is the slow part)."""
        stats = RunStats(streams=[StreamStats(prompt_tokens=len(p)) for p in prompts])
        if not prompts or max(len(p) for p in prompts) >= self.n_ctx:
            return stats
        with self.lock:
            started = time.perf_counter()
            self._read_prefix(prompts, stats)
            stats.prompt_s = time.perf_counter() - started
        return stats

    def _read_prefix(self, prompts: Sequence[list[int]], stats: RunStats,
                     stop_all: Callable[[], bool] = lambda: False) -> list[int]:
        """An empty cache holding the prompts' common prefix (in sequence 0), restored from
        a snapshot as far as one goes, read from there on (`stop_all()` asked between
        chunks)."""
        llama_cpp.llama_memory_clear(self._memory, True)
        prefix = _common_prefix(prompts)
        # Every stream must read at least its last token itself, to get its own logits.
        prefix = prefix[:min(len(prefix), min(len(p) for p in prompts) - 1)]
        stats.prefix_tokens = len(prefix)
        stats.cached_tokens = self._restore(prefix)
        stats.evaluated_tokens = len(prefix) - stats.cached_tokens
        self._eval_prefix(prefix, stats.cached_tokens, stop_all)
        return prefix

    def _eval_prefix(self, prefix: list[int], start: int,
                     stop_all: Callable[[], bool]) -> None:
        """Read the prefix from `start`, keeping two snapshots: at its last chunk boundary
        (the same prompt again: a retry, another answer for the same FAQ) and at the last
        boundary it shares with a prompt seen before (the template's fixed text, which the
        next FAQ's prompt will share too)."""
        keep = {len(prefix) // CHUNK * CHUNK}
        shared = max((_shared(key, prefix) for key in self._snapshots), default=0)
        keep.add(shared // CHUNK * CHUNK)
        for begin in range(start, len(prefix), CHUNK):
            # A long prompt reads for seconds on a busy CPU: a Cancel waits one chunk.
            if stop_all():
                raise Cancelled()
            end = min(begin + CHUNK, len(prefix))
            self._decode_batch([(prefix[i], i, 0, False) for i in range(begin, end)])
            if end in keep:
                self._snapshot(tuple(prefix[:end]))

    def _eval_suffixes(self, prompts, offset: int, stats: RunStats, stop_all) -> list[int]:
        """Evaluate every prompt's tokens after the prefix: all but the last ones first, then
        the last token of each stream in one batch, whose index per stream is returned (a
        decode call replaces the logits of the one before)."""
        body = [(token, offset + j, s + 1, False)
                for s, p in enumerate(prompts) for j, token in enumerate(p[offset:-1])]
        for i in range(0, len(body), self.n_batch):
            if stop_all():
                raise Cancelled()
            self._decode_batch(body[i:i + self.n_batch])
        last = [(p[-1], len(p) - 1, s + 1, True) for s, p in enumerate(prompts)]
        self._decode_batch(last)
        stats.evaluated_tokens += len(body) + len(last)
        return list(range(len(prompts)))

    def _decode(self, prompts, samplers, logits_at, stats: RunStats, max_tokens: int,
                on_text, stop_stream, stop_all, deadline) -> None:
        active = list(range(len(prompts)))
        positions = [len(p) for p in prompts]
        decoders = [codecs.getincrementaldecoder("utf-8")(errors="replace") for _ in prompts]
        index_of = {s: logits_at[s] for s in active}
        while active:
            if stop_all():
                for s in active:
                    stats.streams[s].finish_reason = "cancelled"
                return
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineReached()
            entries = []
            still = []
            for s in active:
                # llama_sampler_sample also accepts the token (grammar state, penalties)
                token = samplers[s].sample(self.ctx, index_of[s])
                stream = stats.streams[s]
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    stream.finish_reason = "stop"
                    tail = decoders[s].decode(b"", final=True)
                    if tail:
                        on_text(s, tail)
                    continue
                stream.output_tokens += 1
                text = decoders[s].decode(self._piece(token))
                if text:
                    on_text(s, text)
                if stream.output_tokens >= max_tokens:
                    stream.finish_reason = "length"
                    continue
                if stop_stream(s):
                    stream.finish_reason = "cancelled"
                    continue
                if positions[s] + 1 >= self.n_ctx:
                    stream.finish_reason = "length"
                    continue
                entries.append((token, positions[s], s + 1, True))
                positions[s] += 1
                still.append(s)
            active = still
            if not entries:
                return
            try:
                self._decode_batch(entries)
            except NoRoom:
                for s in active:
                    stats.streams[s].finish_reason = "length"
                return
            index_of = {s: i for i, s in enumerate(active)}
            stats.steps += 1

    # -- llama.cpp plumbing --------------------------------------------------------------

    def _piece(self, token: int) -> bytes:
        size = 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
            if n >= 0:
                return buffer.raw[:n]
            size = -n

    def _decode_batch(self, entries: list[tuple[int, int, int, bool]]) -> None:
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        code = llama_cpp.llama_decode(self.ctx.ctx, batch)
        if code == 1:
            # llama.h: "could not find a KV slot for the batch": the streams filled the
            # context the prompt left them.
            raise NoRoom()
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")

    def _sampler(self, sampling: Sampling, stream: int):
        sampler = internals.LlamaSampler()
        if sampling.json_schema is not None:
            sampler.add_grammar(self.model, LlamaGrammar.from_json_schema(
                sampling.json_schema, verbose=False))
        if sampling.dry_multiplier > 0:
            sampler.add_dry(self.model, sampling.dry_multiplier, sampling.dry_base,
                            sampling.dry_allowed_length, 512, ["\n"])
        if sampling.temperature <= 0:
            sampler.add_greedy()
            return sampler
        sampler.add_top_k(sampling.top_k)
        sampler.add_top_p(sampling.top_p, 1)
        sampler.add_min_p(sampling.min_p, 1)
        sampler.add_temp(sampling.temperature)
        sampler.add_dist((sampling.seed + 7919 * stream) & 0xFFFFFFFF)
        return sampler

    def _snapshot(self, key: tuple[int, ...]) -> None:
        if key in self._snapshots:
            self._snapshots.move_to_end(key)
            return
        size = llama_cpp.llama_state_seq_get_size(self.ctx.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self.ctx.ctx, buffer, size, 0)
        data = bytes(buffer)[:written]
        self._snapshots[key] = data
        self._snapshot_bytes += len(data)
        while self._snapshot_bytes > SNAPSHOT_BYTES and len(self._snapshots) > 1:
            _, dropped = self._snapshots.popitem(last=False)
            self._snapshot_bytes -= len(dropped)

    def _restore(self, prefix: list[int]) -> int:
        """Restore the longest snapshot that `prefix` starts with; return its length."""
        best: tuple[int, ...] | None = None
        for key in self._snapshots:
            if len(key) <= len(prefix) and (best is None or len(key) > len(best)) \
                    and tuple(prefix[:len(key)]) == key:
                best = key
        if best is None:
            return 0
        data = self._snapshots[best]
        self._snapshots.move_to_end(best)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(self.ctx.ctx, buffer, len(data), 0) == 0:
            llama_cpp.llama_memory_clear(self._memory, True)
            return 0
        return len(best)


class ContextTooLong(Exception):
    def __init__(self, tokens: int, n_ctx: int):
        super().__init__(f"the prompt has {tokens} tokens; the model's context holds {n_ctx}")
        self.tokens, self.n_ctx = tokens, n_ctx


class DeadlineReached(Exception):
    pass


class NoRoom(Exception):
    """The context has no room left for the next tokens."""


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    """How many first tokens `a` and `b` have in common."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _common_prefix(prompts: Sequence[list[int]]) -> list[int]:
    first = prompts[0]
    n = min(len(p) for p in prompts)
    for i in range(n):
        if any(p[i] != first[i] for p in prompts[1:]):
            return list(first[:i])
    return list(first[:n])
