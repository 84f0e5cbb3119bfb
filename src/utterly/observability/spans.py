"""Spans for the pipeline, following the OpenTelemetry GenAI semantic conventions, plus the
Langfuse attributes the conventions lack. No-ops when no trace is open."""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from ..providers import PROVIDERS
from .pricing import cost_of
from .tracer import Tracer


def telemetry_name(provider: str) -> str:
    """gen_ai.provider.name: the well-known name of the conventions where there is one."""
    info = PROVIDERS.get(provider)
    return info.telemetry_name if info is not None else provider


@dataclass
class TraceHandle:
    trace_id: str
    url: str | None
    tracer: Tracer
    capture_content: bool
    root: Any = field(repr=False, default=None)

    def score(self, name: str, value: float, comment: str | None = None) -> None:
        """A quality score: a root-span attribute everywhere, a Langfuse score there."""
        self.root.set_attribute(f"utterly.score.{name}", float(value))
        send_score(self.tracer, self.trace_id, name, value, comment)


_active: ContextVar[TraceHandle | None] = ContextVar("utterly_trace", default=None)


def current() -> TraceHandle | None:
    return _active.get()


def send_score(tracer: Tracer, trace_id: str, name: str, value: float,
               comment: str | None = None) -> None:
    if tracer.scores is not None:
        tracer.scores.send(trace_id, name, value, comment)


def _flat(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (bool, int, float, str)):
            out[f"{prefix}.{key}"] = value
        else:
            out[f"{prefix}.{key}"] = json.dumps(value, ensure_ascii=False)
    return out


@contextmanager
def start_trace(tracer: Tracer, name: str, *, user_id: str | None = None,
                session_id: str | None = None, tags: list[str] | None = None,
                metadata: dict[str, Any] | None = None, input: Any = None,
                capture_content: bool | None = None):
    """Open a new trace (never a child of whatever is current) and make it current."""
    capture = tracer.config.capture_content if capture_content is None else capture_content
    attributes: dict[str, Any] = {"langfuse.trace.name": name}
    if user_id:
        attributes["user.id"] = user_id
        attributes["langfuse.user.id"] = user_id
    if session_id:
        attributes["session.id"] = session_id
        attributes["langfuse.session.id"] = session_id
    if tags:
        attributes["langfuse.trace.tags"] = list(tags)
    attributes.update(_flat("langfuse.trace.metadata", metadata or {}))
    if capture and input is not None:
        attributes["langfuse.trace.input"] = json.dumps(input, ensure_ascii=False)
    with tracer.otel.start_as_current_span(name, context=otel_context.Context(),
                                           attributes=attributes,
                                           record_exception=False,
                                           set_status_on_exception=False) as root:
        handle = TraceHandle(trace_id=format(root.get_span_context().trace_id, "032x"),
                             url=None, tracer=tracer, capture_content=capture, root=root)
        handle.url = tracer.trace_url(handle.trace_id)
        token = _active.set(handle)
        try:
            yield handle
        except BaseException as exc:
            _fail(root, exc)
            raise
        finally:
            _active.reset(token)


def _fail(span, exc: BaseException) -> None:
    # The code, not the message: messages are for people, and spans leave the process.
    code = str(getattr(exc, "code", type(exc).__name__))
    span.set_status(Status(StatusCode.ERROR, code))
    span.set_attribute("error.type", code)
    span.set_attribute("langfuse.observation.level", "ERROR")


class _Noop:
    def set_attribute(self, *_): ...
    def set_attributes(self, *_): ...
    def record(self, *_, **__): ...


NOOP = _Noop()


@contextmanager
def span(name: str, attributes: dict[str, Any] | None = None):
    """A child span of the current trace, or nothing when there is none."""
    handle = _active.get()
    if handle is None:
        yield NOOP
        return
    with handle.tracer.otel.start_as_current_span(
            name, attributes=attributes or {}, record_exception=False,
            set_status_on_exception=False) as current_span:
        try:
            yield current_span
        except BaseException as exc:
            _fail(current_span, exc)
            raise


def _messages(messages: list[dict[str, str]]) -> str:
    return json.dumps([{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]}
                       for m in messages], ensure_ascii=False)


class ChatSpan:
    def __init__(self, otel_span, provider: str, capture: bool):
        self.span = otel_span
        self.provider = provider
        self.capture = capture
        self.cost: dict[str, float] | None = None

    def record(self, completion) -> None:
        s = self.span
        s.set_attribute("gen_ai.response.model", completion.model or "")
        s.set_attribute("gen_ai.usage.input_tokens", completion.input_tokens or 0)
        s.set_attribute("gen_ai.usage.output_tokens", completion.output_tokens or 0)
        if completion.finish_reason:
            s.set_attribute("gen_ai.response.finish_reasons", [completion.finish_reason])
        s.set_attribute("langfuse.observation.usage_details", json.dumps(
            {"input": completion.input_tokens or 0, "output": completion.output_tokens or 0}))
        self.cost = cost_of(self.provider, completion.model, completion.input_tokens or 0,
                            completion.output_tokens or 0)
        if self.cost is not None:
            s.set_attribute("gen_ai.usage.cost", self.cost["total"])
            s.set_attribute("langfuse.observation.cost_details", json.dumps(self.cost))
        if self.capture:
            output = json.dumps([{"role": "assistant",
                                  "parts": [{"type": "text", "content": completion.text}],
                                  "finish_reason": completion.finish_reason or "stop"}],
                                ensure_ascii=False)
            s.set_attribute("gen_ai.output.messages", output)
            s.set_attribute("langfuse.observation.output", completion.text)


@contextmanager
def streamed_call_spans(provider: str, model: str | None, messages: list[dict[str, str]], *,
                        temperature: float, max_tokens: int, seed: int | None):
    """The spans of one model call read while it is written: `chat` (the call), `parse`
    (its text read into sentences) and `clean` (their judgement) run at the same time, so
    they are siblings under the current span, each lasting the whole call. Yields
    (chat: ChatSpan or None, parse, clean); `with use(clean):` makes `clean` the parent of
    the embedder's spans."""
    handle = _active.get()
    if handle is None:
        yield None, NOOP, NOOP
        return
    otel = handle.tracer.otel
    opened = [otel.start_span(f"chat {model or provider}",
                              attributes=_chat_attributes(handle, provider, model, messages,
                                                          temperature, max_tokens, seed)),
              otel.start_span("parse"), otel.start_span("clean")]
    try:
        yield ChatSpan(opened[0], provider, handle.capture_content), opened[1], opened[2]
    except BaseException as exc:
        _fail(opened[0], exc)
        raise
    finally:
        for s in opened:
            s.end()


@contextmanager
def use(span):
    """Make `span` (from `streamed_call_spans`) the current one for a moment."""
    if span is NOOP:
        yield
        return
    with otel_trace.use_span(span, end_on_exit=False, record_exception=False,
                             set_status_on_exception=False):
        yield


def _chat_attributes(handle, provider, model, messages, temperature, max_tokens, seed):
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": telemetry_name(provider),
        "gen_ai.request.model": model or "",
        "gen_ai.request.temperature": temperature,
        "gen_ai.request.max_tokens": max_tokens,
        "gen_ai.output.type": "text",
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": model or "",
    }
    if seed is not None:
        attributes["gen_ai.request.seed"] = seed
    if handle.capture_content:
        attributes["gen_ai.input.messages"] = _messages(messages)
        attributes["langfuse.observation.input"] = json.dumps(messages, ensure_ascii=False)
    return attributes


@contextmanager
def embeddings_span(provider: str, model: str | None, count: int):
    with span(f"embeddings {model or provider}", {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": telemetry_name(provider),
            "gen_ai.request.model": model or "", "utterly.texts": count}) as s:
        yield s


class _TracedEmbeddings:
    """An embedder whose calls are `embeddings` spans of the current trace."""

    def __init__(self, inner):
        self._inner = inner
        self.name = inner.name
        self.model = inner.model

    async def embed(self, texts):
        with embeddings_span(self.name, self.model, len(texts)):
            return await self._inner.embed(texts)

    async def aclose(self) -> None:
        await self._inner.aclose()


def traced_embeddings(embeddings):
    if embeddings is None or _active.get() is None:
        return embeddings
    return _TracedEmbeddings(embeddings)
