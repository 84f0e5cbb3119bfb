"""What the bridge is told at start-up: which provider writes the sentences, how long an
answer may take, which prompt, who may call it, where the rest of Tock's routes go."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from ..observability import TracingConfig
from ..outbound import OutboundPolicy
from ..providers import ProviderConfig
from ..tock.translate import SecretsDir


class Mode(StrEnum):
    # the bridge's own provider (or the linked Studio bot's): Tock's llm_setting gives only
    # the temperature
    SERVER = "server"
    # Tock's provider, model, URL and key, through the outbound policy
    PASS_THROUGH = "pass-through"


class PromptChoice(StrEnum):
    UTTERLY = "utterly"
    TOCK = "tock"


# Tock Studio's client gives up after 55 s (tock_gen_ai_orchestrator_client_request_timeout_
# _ms); an answer with what was kept by 45 s leaves room for a slow network and a busy
# model's last sentence.
DEFAULT_DEADLINE_S = 45.0
MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Utterly-Bridge-Secret"


@dataclass(frozen=True)
class StudioLink:
    """A Studio bot that mirrors the Tock bot: its FAQs give the context, and each
    generation is stored as a run of the FAQ it was asked for, by `username`."""

    bot_id: int
    username: str
    data_dir: str | None = None
    database_url: str | None = None


@dataclass(frozen=True)
class BridgeConfig:
    mode: Mode = Mode.SERVER
    # the server-side provider when no Studio bot is linked
    provider: ProviderConfig = field(default_factory=lambda: ProviderConfig(provider="local"))
    # Tock's template (as its admin wrote it) read with Utterly's filters: on the few-shot
    # bench, ahead of Utterly's own prompt on every seed of both sets for requests that carry
    # examples only, as Tock's do (docs/tock.md, "Which prompt, measured")
    prompt: PromptChoice = PromptChoice.TOCK
    deadline_s: float = DEFAULT_DEADLINE_S
    # "local", "none" or another embedder name (utterly.embeddings): the meaning filters
    embeddings: str = "local"
    studio: StudioLink | None = None
    # Tock's other routes (RAG, playground, …) go there; None: a Tock-shaped error
    upstream_url: str | None = None
    # the value of SECRET_HEADER a caller must send; None: no header asked
    shared_secret: str | None = field(default=None, repr=False)
    # client networks allowed; empty: any client that reaches the socket
    allowed_clients: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    secrets: SecretsDir | None = None
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy.from_env)
    # the bridge's own trace destinations (LANGFUSE_*, OTEL_EXPORTER_OTLP_ENDPOINT)
    tracing: TracingConfig | None = None
    # Preload the model and the filters at start-up, so that the first click is fast.
    warm_up: bool = True
