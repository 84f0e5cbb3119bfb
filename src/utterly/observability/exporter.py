"""OTLP/HTTP (protobuf) span export over httpx, configured by the TracingConfig alone.

The OpenTelemetry SDK's exporter also takes headers, TLS client certificates and a session
from OTEL_EXPORTER_OTLP_* in the environment whenever it is not given them, and sends
through `requests`, whose connections an outbound policy cannot check: a tracer built from
settings that a server's users wrote would hand the operator's credentials to whatever
endpoint they named.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..outbound import OutboundPolicy, sync_transport

# What a collector answers when waiting may help (OTLP/HTTP specification).
RETRYABLE = (429, 502, 503, 504)
# A request that got no answer because its connection failed under it: above all a kept-alive
# connection that the server closed for idleness just as the request went out on it (the
# pool's check that it is still open and the server's close cross). Servers close idle
# connections after a few seconds (uvicorn 5 s, the test servers 1 s), and the batch
# processor exports on a fixed schedule: unanswered, such a request lost whole batches, a
# trace's root span among them.
CONNECTION_LOST = (httpx.NetworkError, httpx.RemoteProtocolError)


def http_client(timeout_s: float, outbound: OutboundPolicy | None, **options) -> httpx.Client:
    """An httpx client for telemetry: with a policy, connections checked by it, and no
    proxy, netrc or redirect from the environment or the server."""
    if outbound is not None:
        options.update(transport=sync_transport(outbound), trust_env=False,
                       follow_redirects=False)
    return httpx.Client(timeout=timeout_s, **options)


def post(client: httpx.Client, url: str, *, deadline: float | None = None,
         **options) -> httpx.Response:
    """`client.post`, sent once more at once when its connection was lost (CONNECTION_LOST):
    the failed connection has left the pool, so the second one goes out on a new one, as
    OpenTelemetry's own exporter does. With a `deadline` (time.monotonic()), both attempts
    together wait no longer than it; a timeout is not retried (the server may be slow)."""
    def once() -> httpx.Response:
        if deadline is not None:
            options["timeout"] = max(deadline - time.monotonic(), 0.001)
        return client.post(url, **options)

    try:
        return once()
    except CONNECTION_LOST:
        return once()


class OTLPHttpExporter(SpanExporter):
    def __init__(self, url: str, headers: dict[str, str], timeout_s: float,
                 outbound: OutboundPolicy | None = None):
        self._url = url
        self._timeout_s = timeout_s
        self._client = http_client(timeout_s, outbound, headers={
            **headers, "Content-Type": "application/x-protobuf"})
        self._closed = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS if self.send(spans) is None else SpanExportResult.FAILURE

    def send(self, spans: Sequence[ReadableSpan]) -> str | None:
        """Export `spans`: None once the collector took them, else why it did not, without
        the address ("HTTP 503", "ReadTimeout", "shut down", …)."""
        if self._closed.is_set():
            return "shut down"
        body = encode_spans(spans).SerializePartialToString()
        deadline = time.monotonic() + self._timeout_s
        delay = 0.25
        while True:
            try:
                response = post(self._client, self._url, content=body, deadline=deadline)
            except RuntimeError:  # the client was closed meanwhile
                return "shut down"
            except httpx.HTTPError as exc:
                return type(exc).__name__
            if response.is_success:
                return None
            if (response.status_code not in RETRYABLE
                    or time.monotonic() + delay > deadline
                    or self._closed.wait(delay)):
                return f"HTTP {response.status_code}"
            delay *= 2

    def shutdown(self) -> None:
        self._closed.set()
        self._client.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered here
