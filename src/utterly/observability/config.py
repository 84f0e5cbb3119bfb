"""Where traces go: Langfuse (keys and host), an OTLP endpoint, or both."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..outbound import OutboundPolicy


@dataclass(frozen=True)
class TracingConfig:
    langfuse_public_key: str | None = None
    langfuse_secret_key: str | None = field(default=None, repr=False)
    langfuse_host: str | None = None
    # OTLP/HTTP base URL (…/v1/traces is added) of any backend: Phoenix, a collector, …
    otlp_endpoint: str | None = None
    otlp_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # prompts and outputs in spans; on by default for a config built by hand, as Langfuse
    # users expect (`from_env` lets a server choose otherwise)
    capture_content: bool = True
    # Telemetry must never slow a generation: exports run in the background with these bounds.
    # 10 s, OpenTelemetry's own default: on a busy 2-core server a local backend took more
    # than 2 s to answer and whole traces were dropped. Exiting is bounded apart
    # (shutdown_timeout_s), so a slow backend never holds a process.
    export_timeout_s: float = 10.0
    max_queue_size: int = 2048
    shutdown_timeout_s: float = 3.0
    # Where exports may connect (settings a server's users wrote); None: anywhere.
    outbound: OutboundPolicy | None = None

    @property
    def langfuse(self) -> bool:
        return bool(self.langfuse_public_key and self.langfuse_secret_key and self.langfuse_host)

    @property
    def enabled(self) -> bool:
        return self.langfuse or bool(self.otlp_endpoint)

    @classmethod
    def from_env(cls, environ=None, *, capture_by_default: bool = True
                 ) -> "TracingConfig | None":
        """LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY / LANGFUSE_HOST and
        OTEL_EXPORTER_OTLP_ENDPOINT (+ OTEL_EXPORTER_OTLP_HEADERS); None when neither is set.
        UTTERLY_TRACE_CONTENT=0 turns content capture off, =1 on; unset, it is
        `capture_by_default` (the Studio's is off: other people's sentences go through it)."""
        env = os.environ if environ is None else environ
        content = (env.get("UTTERLY_TRACE_CONTENT") or "").strip().lower()
        headers = []
        for item in env.get("OTEL_EXPORTER_OTLP_HEADERS", "").split(","):
            key, sep, value = item.partition("=")
            if sep and key.strip():
                headers.append((key.strip(), value.strip()))
        config = cls(
            langfuse_public_key=env.get("LANGFUSE_PUBLIC_KEY") or None,
            langfuse_secret_key=env.get("LANGFUSE_SECRET_KEY") or None,
            langfuse_host=(env.get("LANGFUSE_HOST") or env.get("LANGFUSE_BASE_URL")
                           or ("https://cloud.langfuse.com"
                               if env.get("LANGFUSE_PUBLIC_KEY") else None)),
            otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            otlp_headers=tuple(headers),
            capture_content=(content not in ("0", "false", "no") if content
                             else capture_by_default),
        )
        return config if config.enabled else None

    def key(self) -> tuple:
        """Identity of the destinations, to share one tracer between equal configs."""
        return (self.langfuse_public_key, self.langfuse_secret_key, self.langfuse_host,
                self.otlp_endpoint, self.otlp_headers, self.export_timeout_s,
                self.max_queue_size, self.outbound)
