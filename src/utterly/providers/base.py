"""What every chat provider offers the pipeline, whatever its wire protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
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

    @classmethod
    def of(cls, provider: str, **fields) -> ProviderConfig:
        """A config from keywords where None means "not given": the field keeps its default
        (a timeout_s=None must not replace the default timeout)."""
        return cls(provider=provider, **{k: v for k, v in fields.items() if v is not None})


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
    # ProviderConfig fields a user fills in for it, and those it cannot work without
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    # Where the CLI and the library find its key when none is given; None: it takes none
    key_env: str | None = None
    # Generations run side by side by a Studio job: servers take a few at once without
    # tripping rate limits; the embedded model runs one at a time anyway.
    concurrency: int = 2
    models: tuple[str, ...] = ()
    # Where it connects when no base_url is given (None: it needs one, or takes none)
    default_base_url: str | None = None


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
