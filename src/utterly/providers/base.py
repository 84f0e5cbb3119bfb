"""What every chat provider offers the pipeline, whatever its wire protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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
    # local provider: llama.cpp settings
    n_ctx: int = 4096
    n_threads: int | None = None


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


@runtime_checkable
class ChatProvider(Protocol):
    name: str
    model: str

    async def complete(self, messages: list[Message], *, temperature: float,
                       max_tokens: int, json_schema: dict | None = None,
                       seed: int | None = None) -> Completion:
        """One chat completion. Raises ProviderError, never an SDK exception."""

    async def check(self) -> CheckResult:
        """Verify the server answers and the model exists. Raises ProviderError."""

    async def aclose(self) -> None: ...
