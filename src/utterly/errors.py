"""Every failure Utterly reports has a stable code, a message and a hint.

Callers (CLI, API, Studio) switch on `code`; people read `message` and `hint`. A bare
traceback never reaches a user: providers translate their SDK's exceptions into these.
An invalid input may also carry a `reason` (what exactly is wrong with the value, stable)
and its `params`, for a caller that words it in another language (the Studio's pages).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTHENTICATION = "authentication"
    MODEL_NOT_FOUND = "model_not_found"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    INVALID_RESPONSE = "invalid_response"
    SERVER_ERROR = "server_error"
    BAD_REQUEST = "bad_request"
    CONFIGURATION = "configuration"
    INVALID_INPUT = "invalid_input"
    # the server's outbound policy refuses the destination (UTTERLY_OUTBOUND_ALLOW / _DENY)
    OUTBOUND_REFUSED = "outbound_refused"
    # a prompt template over the rendering limits (time, memory, output, loops, operands)
    TEMPLATE_TOO_COSTLY = "template_too_costly"


class UtterlyError(Exception):
    """Base of every error Utterly raises on purpose."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, hint: str = "", code: ErrorCode | None = None,
                 field: str | None = None, reason: str | None = None,
                 params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field
        self.reason = reason
        self.params = dict(params or {})
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        data = {"code": str(self.code), "message": self.message, "hint": self.hint}
        if self.field:
            data["field"] = self.field
        if self.reason:
            data["reason"] = self.reason
        if self.params:
            data["params"] = dict(self.params)
        return data

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidRequest(UtterlyError):
    """The caller asked for something out of range; `field` names what to fix."""

    code = ErrorCode.INVALID_INPUT


class ProviderError(UtterlyError):
    """A model provider failed; `code` says how, `retry_after` when it asked us to wait."""

    def __init__(self, code: ErrorCode, message: str, *, hint: str = "",
                 provider: str = "", retry_after: float | None = None):
        super().__init__(message, hint=hint, code=code)
        self.provider = provider
        self.retry_after = retry_after
        # set by the pipeline: its calls to the model up to the failure (result.trace), and
        # the tokens they used (result.usage): a call that timed out was paid for too
        self.trace: list[dict] | None = None
        self.usage = None

    def to_dict(self) -> dict:
        data = super().to_dict()
        if self.provider:
            data["provider"] = self.provider
        return data


def validation_reason(error: dict) -> tuple[str, dict]:
    """A pydantic error (one of `ValidationError.errors()`) as an invalid input's `reason`
    and `params`: its type (pydantic's, e.g. `less_than_equal`, or ours, e.g.
    `locale_format`) and the numbers of its context (`{"le": 1}`); its other context values
    are English words or Python objects."""
    kind = str(error.get("type", "")) or "invalid"
    context = error.get("ctx") or {}
    if kind == "string_too_short" and context.get("min_length") == 1:
        return "empty", {}
    return kind, {k: v for k, v in context.items()
                  if isinstance(v, int | float) and not isinstance(v, bool)}
