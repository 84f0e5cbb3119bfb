"""One OpenTelemetry tracer provider per destination set, with exports that can fail, hang
or refuse without a user noticing: bounded queues, short timeouts, bounded shutdown, and
dropped telemetry counted and logged once."""

from __future__ import annotations

import atexit
import base64
import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import httpx
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .config import TracingConfig
from .exporter import OTLPHttpExporter, http_client, post

log = logging.getLogger("utterly.tracing")

# The exporter and the batch processor log every failed export; a dead backend would flood
# the logs with one line per batch. Failures are counted and reported once here instead.
for _noisy in ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.sdk._shared_internal",
               "opentelemetry.sdk.trace.export"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)


class DropCounter:
    """Counts what a destination failed to take, and why (`reasons`: items per reason, such
    as "HTTP 503" or "ReadTimeout"; `last_failure`); logs the first failure only."""

    def __init__(self, destination: str, kind: str = ""):
        self.destination = destination
        # langfuse, otlp or langfuse_scores: names it without its address (the Studio shows
        # it to roles that may not read the observability settings)
        self.kind = kind
        self.dropped = 0
        # never an address nor a message that could hold one: a status or an exception's
        # class name (the Studio shows it with the counts)
        self.last_failure: str | None = None
        self.reasons: dict[str, int] = {}
        self._lock = threading.Lock()
        self._logged = False

    def __repr__(self) -> str:
        return (f"DropCounter({self.destination!r}, dropped={self.dropped}, "
                f"reasons={self.reasons})")

    def add(self, count: int, reason: str) -> None:
        with self._lock:
            self.dropped += count
            self.reasons[reason] = self.reasons.get(reason, 0) + count
            self.last_failure = reason
            first = not self._logged
            self._logged = True
        if first:
            log.warning("telemetry to %s is being dropped (%s); generations are not affected, "
                        "further drops are only counted", self.destination, reason)


# httpx's errors of a connection that failed or broke, by name (DropCounter keeps names)
_CONNECTION_ERRORS = {"ConnectError", "NetworkError", "ReadError", "WriteError", "CloseError",
                      "RemoteProtocolError", "LocalProtocolError", "ProxyError",
                      "UnsupportedProtocol"}


def failure_code(reason: str | None) -> tuple[str, dict] | None:
    """A DropCounter's reason ("HTTP 503", "ReadTimeout", …) as a stable code and its
    values, for a caller that says it in its own words (the Studio's trace view):
    http_status {status}, timeout, connection, shutdown, queue_full or other {name}."""
    if not reason:
        return None
    status = re.fullmatch(r"HTTP (\d{3})", reason)
    if status:
        return "http_status", {"status": int(status.group(1))}
    if reason.endswith("Timeout") or reason == "TimeoutException":
        return "timeout", {}
    if reason in _CONNECTION_ERRORS:
        return "connection", {}
    if reason.startswith("shut"):  # "shut down", "shutdown before they were sent"
        return "shutdown", {}
    if reason == "score queue full":
        return "queue_full", {}
    return "other", {"name": reason}


# Traces whose delivery is remembered, and callers waiting to hear one (TraceDelivery).
DELIVERY_TRACES = 4096


class TraceDelivery:
    """Whether each recent trace reached each span destination: "sent", or why not (a
    status or an error's name, as DropCounter's). A trace's root span ends last, after
    every span of the trace was queued: a destination's outcome is known once it took the
    batch holding the root, or at the first batch of the trace it failed to take.

    `watch(trace_id, callback)` calls `callback(outcome)` once every destination's outcome
    is known: at once if it already is, else from the export thread (so it must be quick).
    A trace whose root never reached an exporter (its queue was full, the process stopped)
    is never called back: nothing says it arrived."""

    def __init__(self, limit: int = DELIVERY_TRACES):
        self.kinds: list[str] = []
        self._limit = limit
        self._lock = threading.Lock()
        self._outcomes: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._watchers: OrderedDict[str, Callable[[dict[str, str]], None]] = OrderedDict()

    def record(self, kind: str, spans: Sequence[ReadableSpan], failure: str | None) -> None:
        heard = []
        with self._lock:
            for span in spans:
                if span.context is None or (failure is None and span.parent is not None):
                    continue  # a child span taken says nothing yet: its root may fail
                trace_id = format(span.context.trace_id, "032x")
                outcome = self._outcomes.get(trace_id)
                if outcome is None:
                    outcome = self._outcomes[trace_id] = {}
                    _bound(self._outcomes, self._limit)
                outcome.setdefault(kind, failure or "sent")  # a failure is final
                if self._known(outcome) and trace_id in self._watchers:
                    heard.append((self._watchers.pop(trace_id), dict(outcome)))
        for callback, outcome in heard:
            callback(outcome)

    def outcome(self, trace_id: str) -> dict[str, str] | None:
        """Every destination's outcome for the trace, once all are known."""
        with self._lock:
            outcome = self._outcomes.get(trace_id)
            return dict(outcome) if outcome is not None and self._known(outcome) else None

    def watch(self, trace_id: str, callback: Callable[[dict[str, str]], None]) -> None:
        with self._lock:
            outcome = self._outcomes.get(trace_id)
            if outcome is None or not self._known(outcome):
                self._watchers[trace_id] = callback
                _bound(self._watchers, self._limit)
                return
            outcome = dict(outcome)
        callback(outcome)

    def _known(self, outcome: dict[str, str]) -> bool:
        return all(kind in outcome for kind in self.kinds)


def _bound(entries: OrderedDict, limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)


class _CountingExporter(SpanExporter):
    def __init__(self, exporter: OTLPHttpExporter, counter: DropCounter,
                 delivery: TraceDelivery):
        self._exporter = exporter
        self.counter = counter
        self._delivery = delivery

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            failure = self._exporter.send(spans)
        except Exception as exc:  # an exporter bug must not kill the export thread
            failure = type(exc).__name__
        try:
            self._delivery.record(self.counter.kind, spans, failure)
        except Exception:  # a caller's callback must not kill the export thread either
            log.exception("a trace delivery callback failed")
        if failure is None:
            return SpanExportResult.SUCCESS
        self.counter.add(len(spans), failure)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _basic(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def langfuse_otlp_url(host: str) -> str:
    return host.rstrip("/") + "/api/public/otel/v1/traces"


def otlp_traces_url(endpoint: str) -> str:
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


class ScoreSender:
    """Posts scores to Langfuse's public API from a background thread (bounded queue)."""

    def __init__(self, config: TracingConfig, counter: DropCounter):
        self._url = config.langfuse_host.rstrip("/") + "/api/public/scores"
        self._auth = (config.langfuse_public_key, config.langfuse_secret_key)
        self._timeout = config.export_timeout_s
        self._outbound = config.outbound
        self._queue: queue.Queue = queue.Queue(maxsize=1000)
        self.counter = counter
        self._thread = threading.Thread(target=self._run, daemon=True, name="utterly-scores")
        self._thread.start()

    def send(self, trace_id: str, name: str, value: float, comment: str | None = None) -> None:
        body = {"id": f"{trace_id}-{name}", "traceId": trace_id, "name": name,
                "value": float(value), "dataType": "NUMERIC"}
        if comment:
            body["comment"] = comment
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.counter.add(1, "score queue full")

    def _run(self) -> None:
        with http_client(self._timeout, self._outbound, auth=self._auth) as client:
            while True:
                body = self._queue.get()
                if body is None:
                    return
                try:
                    response = post(client, self._url, json=body)
                    if response.status_code >= 300:
                        self.counter.add(1, f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    self.counter.add(1, type(exc).__name__)

    def close(self, timeout_s: float) -> None:
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        left = self._queue.qsize()
        if left:
            self.counter.add(left, "shutdown before they were sent")


class Tracer:
    def __init__(self, config: TracingConfig):
        from .. import __version__

        self.config = config
        self.counters: list[DropCounter] = []
        # whether each trace reached the span destinations
        self.delivery = TraceDelivery()
        # shutdown_on_exit=False: the SDK's own exit hook waits for every destination in
        # turn, each for up to its export timeout; shutdown_all (atexit) bounds it instead.
        self.provider = TracerProvider(resource=Resource.create(
            {"service.name": "utterly", "service.version": __version__}),
            shutdown_on_exit=False)
        if config.langfuse:
            self._add(langfuse_otlp_url(config.langfuse_host),
                      {"Authorization": _basic(config.langfuse_public_key,
                                               config.langfuse_secret_key)},
                      f"Langfuse at {config.langfuse_host}", "langfuse")
        if config.otlp_endpoint:
            self._add(otlp_traces_url(config.otlp_endpoint), dict(config.otlp_headers),
                      f"the OTLP endpoint {config.otlp_endpoint}", "otlp")
        self.scores: ScoreSender | None = None
        if config.langfuse:
            counter = DropCounter(f"Langfuse scores at {config.langfuse_host}",
                                  "langfuse_scores")
            self.counters.append(counter)
            self.scores = ScoreSender(config, counter)
        self.otel = self.provider.get_tracer("utterly", __version__)
        self._closed = False

    def _add(self, url: str, headers: dict, destination: str, kind: str) -> None:
        counter = DropCounter(destination, kind)
        self.counters.append(counter)
        self.delivery.kinds.append(kind)
        exporter = _CountingExporter(
            OTLPHttpExporter(url, headers, self.config.export_timeout_s, self.config.outbound),
            counter, self.delivery)
        self.provider.add_span_processor(BatchSpanProcessor(
            exporter, max_queue_size=self.config.max_queue_size, schedule_delay_millis=500,
            export_timeout_millis=int(self.config.export_timeout_s * 1000)))

    @property
    def dropped(self) -> int:
        return sum(c.dropped for c in self.counters)

    def trace_url(self, trace_id: str) -> str | None:
        if not self.config.langfuse:
            return None
        return f"{self.config.langfuse_host.rstrip('/')}/trace/{trace_id}"

    def flush(self, timeout_s: float | None = None) -> bool:
        return self.provider.force_flush(int((timeout_s or self.config.shutdown_timeout_s) * 1000))

    def shutdown(self, timeout_s: float | None = None) -> None:
        """Stop exporting, waiting at most `timeout_s` whatever the backends do."""
        if self._closed:
            return
        self._closed = True
        timeout_s = self.config.shutdown_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        worker = threading.Thread(target=self.provider.shutdown, daemon=True,
                                  name="utterly-tracing-shutdown")
        worker.start()
        if self.scores is not None:
            self.scores.close(timeout_s / 2)
        # what the scores took counts: the bound is for the whole shutdown
        worker.join(max(0.0, deadline - time.monotonic()))


# Each tracer holds export threads and queues: a server whose users each configure their
# own destinations keeps the most recently used ones only, and shuts down the others.
MAX_TRACERS = 16
_tracers: OrderedDict[tuple, Tracer] = OrderedDict()
_lock = threading.Lock()


def get_tracer(config: TracingConfig) -> Tracer:
    """The process's tracer for these destinations: created once, kept while it is among
    the MAX_TRACERS most recently used (then shut down in the background), closed at
    exit."""
    evicted = []
    with _lock:
        key = config.key()
        tracer = _tracers.get(key)
        if tracer is None:
            tracer = _tracers[key] = Tracer(config)
        _tracers.move_to_end(key)
        while len(_tracers) > MAX_TRACERS:
            evicted.append(_tracers.popitem(last=False)[1])
    for old in evicted:
        # What it still holds is exported (bounded by its shutdown timeout), off this thread.
        threading.Thread(target=old.shutdown, daemon=True,
                         name="utterly-tracing-evict").start()
    return tracer


def shutdown_all(timeout_s: float = 3.0) -> None:
    with _lock:
        tracers = list(_tracers.values())
        _tracers.clear()
    # in parallel, so that many destinations still take at most `timeout_s` in all
    workers = [threading.Thread(target=t.shutdown, args=(timeout_s,), daemon=True)
               for t in tracers]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


atexit.register(shutdown_all)
