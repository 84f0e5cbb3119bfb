"""What every chat provider offers the pipeline, whatever its wire protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from ..outbound import OutboundPolicy

DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ProviderConfig:
    """Connection fields for one provider. Unused fields stay None.

    `api_key` is a secret: never log it, never put it in an error message.
    """

    provider: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # Azure OpenAI
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = 3
    # OpenAI's and Azure's reasoning models (minimal, low, medium, high); None: not sent
    reasoning_effort: str | None = None
    # local provider: llama.cpp settings
    n_ctx: int = 4096
    n_threads: int | None = None
    # False for settings that a server's users wrote (the Studio): the key, URL and version
    # come from this config only, never from the server's environment (OPENAI_*,
    # AZURE_OPENAI_*, OLLAMA_*), which holds the operator's credentials. No key is no key.
    read_env: bool = True
    # Where the client may connect, checked on the resolved address; None: anywhere.
    outbound: OutboundPolicy | None = None
    # False: no error or check result quotes the server's answer (its error messages, the
    # models it lists), only its status and our own words. For checks of settings that a
    # server's users wrote: their URL may point at any internal service.
    quote_server: bool = True
    # Limits the calls at once and pauses after a 429, shared with other generations
    # (providers/gate.py); None: this generation's calls go unhindered.
    gate: Any = field(default=None, repr=False, compare=False)
    # A provider's own settings that no other takes and that are no field above (its
    # ProviderInfo.fields name them)
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, provider: str, **values) -> ProviderConfig:
        """A config from keywords where None means "not given": the field keeps its default
        (a timeout_s=None must not replace the default timeout). A name that is no field
        of the config is one of the provider's own options."""
        given = {k: v for k, v in values.items() if v is not None}
        options = dict(given.pop("options", {}))
        options.update({k: given.pop(k) for k in list(given) if k not in _CONFIG_FIELDS})
        return cls(provider=provider, **given, options=options)

    def value(self, name: str) -> Any:
        """The setting `name`: a field of the config or one of the provider's options."""
        return getattr(self, name) if name in _CONFIG_FIELDS else self.options.get(name)


@dataclass(frozen=True)
class ProviderField:
    """One setting a user gives a provider: the CLI's option, the Studio API's field and
    the settings page's input are all built from it."""

    name: str  # a ProviderConfig field, or a key of its `options`
    label: str
    label_fr: str
    # "text"; "url": checked against the server's outbound policy before any connection;
    # "secret": stored encrypted, never shown back in clear nor logged
    kind: str = "text"
    # Where the CLI and the library read it when it is not given (None: nowhere)
    env: str | None = None
    help: str = ""  # the CLI's help, one sentence without its full stop
    hint: str = ""  # what to do when it is missing
    example: str | None = None
    max_length: int = 500

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    def label_in(self, language: str) -> str:
        return self.label_fr if language == "fr" else self.label


# The settings most providers take, stored by the Studio in columns of their own; a
# provider's other fields go in its options.
MODEL = ProviderField(
    "model", "Language model (LLM)", "Modèle de langage (LLM)", max_length=200,
    help="Model name (local: a catalogue name or a .gguf path; Azure: the deployment)",
    hint="name the model, e.g. `tinyllama` for Ollama or `gpt-4o-mini` for OpenAI")
BASE_URL = ProviderField(
    "base_url", "Base URL", "URL de base", kind="url",
    help="Server URL (Ollama, or any OpenAI-compatible server)",
    hint="give the server's URL, e.g. http://127.0.0.1:8080/v1")
API_KEY = ProviderField("api_key", "API key", "Clé d'API", kind="secret", help="API key",
                        hint="paste the provider's API key")
COMMON_FIELDS = (MODEL, BASE_URL, API_KEY)


_CONFIG_FIELDS = {f.name for f in fields(ProviderConfig)}


@dataclass(frozen=True)
class ProviderInfo:
    """What the shells need to know of a provider without building one: the CLI's choices,
    the Studio's settings form, its validation and its job concurrency all read these.

    Declared by each provider module next to its class; `create` builds the provider and
    must not import an SDK before it is called (the registry is read by `utterly --help`).
    """

    name: str
    label: str
    create: Callable[[ProviderConfig], ChatProvider]
    # The settings a user fills in for it, and the names of those it cannot work without
    fields: tuple[ProviderField, ...] = ()
    required: tuple[str, ...] = ()
    # Where the CLI and the library find its key when none is given; None: it takes none
    key_env: str | None = None
    # Generations run side by side by a Studio job: servers take a few at once without
    # tripping rate limits; the embedded model runs one at a time anyway.
    concurrency: int = 2
    models: tuple[str, ...] = ()
    # Where it connects when no base_url is given (None: it needs one, or takes none)
    default_base_url: str | None = None
    # Its name in French; None: the same as in English
    label_fr: str | None = None
    # Runs inside this process (the embedded model): no server to gate or to blame, a
    # missing model is the settings' fault.
    in_process: bool = False
    # The time a Studio generation may take when its settings say none: the embedded model
    # runs on the server's CPU, loads on first use and writes slower than a hosted one.
    default_timeout_s: float = DEFAULT_TIMEOUT_S
    # Costs nothing per token (runs here or on the user's own server): a run's cost is 0
    free: bool = False
    # gen_ai.provider.name in the OpenTelemetry conventions; None: `name`
    otel_name: str | None = None

    def label_in(self, language: str) -> str:
        return (self.label_fr or self.label) if language == "fr" else self.label

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def options(self) -> tuple[ProviderField, ...]:
        """Its own fields, beyond the common ones."""
        common = {f.name for f in COMMON_FIELDS}
        return tuple(f for f in self.fields if f.name not in common)

    @property
    def telemetry_name(self) -> str:
        return self.otel_name or self.name


@dataclass
class Completion:
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    # True when the provider constrained the output to the JSON schema we passed
    structured: bool = False
    finish_reason: str | None = None


@dataclass
class CheckResult:
    ok: bool
    provider: str
    model: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}


@dataclass
class Piece:
    """Text just written by the model for answer number `stream`."""

    stream: int
    text: str


class TextStream:
    """Answers being written, one per prompt: `async with` it, `async for piece in it`.

    Leaving the `async with` block (at any time) stops the writing. Then `finish_reasons`
    (per answer: "stop", "length" or "cancelled"), the token counts and `model` are set.
    `prefilled`: the answers continue the prompts' last `assistant` message (their text
    does not repeat it).
    """

    prefilled = False

    def __init__(self, prompts: Sequence[list[Message]]):
        self.prompts = list(prompts)
        self.texts = [""] * len(self.prompts)
        self.finish_reasons: list[str | None] = [None] * len(self.prompts)
        self.input_tokens = 0
        self.output_tokens = 0
        self.model = ""
        self.stopped: set[int] = set()

    def stop(self, stream: int) -> None:
        """Stop writing answer number `stream` (the others go on)."""
        self.stopped.add(stream)

    async def __aenter__(self) -> "TextStream":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Piece]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[Piece]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    async def aclose(self) -> None:
        return None


class CompletionStream(TextStream):
    """The stream of a provider that only answers whole completions: one piece per prompt,
    the prompts asked one after the other."""

    def __init__(self, provider: "ChatProvider", prompts: Sequence[list[Message]], *,
                 temperature: float, max_tokens: int, seed: int | None):
        super().__init__(prompts)
        self._provider = provider
        self._options = {"temperature": temperature, "max_tokens": max_tokens}
        self._seed = seed
        self.model = provider.model

    async def _pieces(self) -> AsyncIterator[Piece]:
        for i, messages in enumerate(self.prompts):
            if i in self.stopped:
                self.finish_reasons[i] = "cancelled"
                continue
            seed = None if self._seed is None else self._seed + i
            completion = await self._provider.complete(without_prefill(messages), seed=seed,
                                                       **self._options)
            self.input_tokens += completion.input_tokens or 0
            self.output_tokens += completion.output_tokens or 0
            self.model = completion.model or self.model
            self.texts[i] = completion.text
            self.finish_reasons[i] = completion.finish_reason or "stop"
            yield Piece(i, completion.text)


def without_prefill(messages: list[Message]) -> list[Message]:
    """The messages without a last `assistant` one (the start of the answer that only the
    local provider can continue): remote chat APIs would take it as a finished answer."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1]
    return messages


def open_stream(provider: "ChatProvider", prompts: Sequence[list[Message]], *,
                temperature: float, max_tokens: int, seed: int | None) -> TextStream:
    """The provider's own stream when it has one, else its completions as a stream."""
    stream = getattr(provider, "stream", None)
    if stream is not None:
        return stream(prompts, temperature=temperature, max_tokens=max_tokens, seed=seed)
    return CompletionStream(provider, prompts, temperature=temperature,
                            max_tokens=max_tokens, seed=seed)


@runtime_checkable
class ChatProvider(Protocol):
    """A model behind a wire protocol. A provider may also offer
    `stream(prompts, *, temperature, max_tokens, seed) -> TextStream`, and say with
    `max_streams` how many answers it writes side by side (1 when absent)."""

    name: str
    model: str

    async def complete(self, messages: list[Message], *, temperature: float,
                       max_tokens: int, json_schema: dict | None = None,
                       seed: int | None = None) -> Completion:
        """One chat completion. Raises ProviderError, never an SDK exception."""

    async def check(self) -> CheckResult:
        """Verify the server answers and the model exists. Raises ProviderError."""

    async def aclose(self) -> None: ...
