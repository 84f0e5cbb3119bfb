"""Tock's orchestrator errors: the codes Tock Studio shows, and Utterly's failures as them.

Tock Studio's client reads the body of a 400 (`{code, message, detail, info: {provider,
error, cause, request}}`) and of a 422; any other status shows as "unknown error". So every
failure the bridge can name leaves as a 400 with one of these codes, its message and detail
as Tock's orchestrator words them (Tock Studio may show or match them), and Utterly's own
explanation and fix in `info.cause`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..errors import ErrorCode, UtterlyError
from ..redact import redact


class TockCode(IntEnum):
    UNKNOWN_ERROR = 1000
    CONNECTION_ERROR = 1001
    AUTHENTICATION_ERROR = 1002
    UNKNOWN_PROVIDER_SETTING = 1003
    PROMPT_TEMPLATE_ERROR = 1005
    PROVIDER_UNKNOWN = 2000
    PROVIDER_BAD_REQUEST = 2001
    PROVIDER_API_ERROR = 2002
    PROVIDER_RESOURCE_NOT_FOUND = 2003
    PROVIDER_MODEL_NOT_FOUND = 2004
    PROVIDER_DEPLOYMENT_NOT_FOUND = 2005
    PROVIDER_API_BAD_REQUEST = 2006
    CONTEXT_LENGTH_EXCEEDED = 2007
    OBSERVABILITY_UNKNOWN_PROVIDER = 5000
    OBSERVABILITY_UNKNOWN_PROVIDER_SETTING = 5001
    OBSERVABILITY_API_ERROR = 5002


# (message, detail) as Tock's orchestrator says them
MESSAGES: dict[TockCode, tuple[str, str | None]] = {
    TockCode.UNKNOWN_ERROR: ("Unknown error.", None),
    TockCode.CONNECTION_ERROR: (
        "Connection error.", "Check the requested URL, your network settings, proxy "
        "configuration, SSL certificates, or firewall rules."),
    TockCode.AUTHENTICATION_ERROR: (
        "Authentication error.", "Check the API key or token, and make sure it is correct."),
    TockCode.UNKNOWN_PROVIDER_SETTING: ("Unknown AI provider setting.", None),
    TockCode.PROMPT_TEMPLATE_ERROR: ("Prompt Template Error.", "Check the template syntax."),
    TockCode.PROVIDER_UNKNOWN: ("Unknown AI Provider.", None),
    TockCode.PROVIDER_BAD_REQUEST: ("Bad request.", "The request seems to be invalid."),
    TockCode.PROVIDER_API_ERROR: ("AI Provider API error.", None),
    TockCode.PROVIDER_RESOURCE_NOT_FOUND: (
        "An AI Provider resource was not found.",
        "The request URL base is correct, but the path or a query parameter is not."),
    TockCode.PROVIDER_MODEL_NOT_FOUND: (
        "Unknown AI Provider model.", "Consult the official documentation for accepted values."),
    TockCode.PROVIDER_DEPLOYMENT_NOT_FOUND: (
        "Unknown AI Provider deployment.",
        "Consult the official documentation for accepted values."),
    TockCode.PROVIDER_API_BAD_REQUEST: ("AI Provider API error.", "Bad request."),
    TockCode.CONTEXT_LENGTH_EXCEEDED: (
        "The model's context length has been exceeded.",
        "Reduce the length of the prompt message."),
    TockCode.OBSERVABILITY_UNKNOWN_PROVIDER: ("Unknown Observability Provider.", None),
    TockCode.OBSERVABILITY_UNKNOWN_PROVIDER_SETTING: (
        "Unknown Observability Provider Settings.", None),
    TockCode.OBSERVABILITY_API_ERROR: ("Observability API error.", None),
}

MAX_CAUSE_CHARS = 1000


@dataclass
class TockError(Exception):
    """A failure as Tock Studio reads it. `cause` is for people: what failed and the fix."""

    code: TockCode
    cause: str = ""
    provider: str = ""
    error: str = ""
    request: str = ""

    def body(self) -> dict:
        message, detail = MESSAGES[self.code]
        return {"code": int(self.code), "message": message, "detail": detail,
                "info": {"provider": self.provider, "error": self.error,
                         "cause": self.cause[:MAX_CAUSE_CHARS], "request": self.request}}


_BY_UTTERLY_CODE = {
    ErrorCode.UNREACHABLE: TockCode.CONNECTION_ERROR,
    # Tock's orchestrator reports an SDK timeout as a connection error too
    ErrorCode.TIMEOUT: TockCode.CONNECTION_ERROR,
    ErrorCode.OUTBOUND_REFUSED: TockCode.CONNECTION_ERROR,
    ErrorCode.AUTHENTICATION: TockCode.AUTHENTICATION_ERROR,
    ErrorCode.MODEL_NOT_FOUND: TockCode.PROVIDER_MODEL_NOT_FOUND,
    ErrorCode.RATE_LIMITED: TockCode.PROVIDER_API_ERROR,
    ErrorCode.CONTEXT_TOO_LONG: TockCode.CONTEXT_LENGTH_EXCEEDED,
    ErrorCode.INVALID_RESPONSE: TockCode.PROVIDER_API_ERROR,
    ErrorCode.SERVER_ERROR: TockCode.PROVIDER_API_ERROR,
    ErrorCode.BAD_REQUEST: TockCode.PROVIDER_API_BAD_REQUEST,
    ErrorCode.CONFIGURATION: TockCode.UNKNOWN_PROVIDER_SETTING,
    ErrorCode.INVALID_INPUT: TockCode.PROVIDER_BAD_REQUEST,
    ErrorCode.TEMPLATE_TOO_COSTLY: TockCode.PROMPT_TEMPLATE_ERROR,
}


# What Tock's orchestrator puts in `info.error`: the class of the SDK's exception.
_ERROR_NAMES = {
    ErrorCode.UNREACHABLE: "APIConnectionError", ErrorCode.TIMEOUT: "APITimeoutError",
    ErrorCode.OUTBOUND_REFUSED: "OutboundRefused",
    ErrorCode.AUTHENTICATION: "AuthenticationError", ErrorCode.MODEL_NOT_FOUND: "NotFoundError",
    ErrorCode.RATE_LIMITED: "RateLimitError",
    # LangChain's, which Tock's orchestrator reports for OpenAI's context_length_exceeded
    ErrorCode.CONTEXT_TOO_LONG: "OpenAIContextOverflowError",
    ErrorCode.INVALID_RESPONSE: "APIResponseValidationError",
    ErrorCode.SERVER_ERROR: "InternalServerError", ErrorCode.BAD_REQUEST: "BadRequestError",
    ErrorCode.CONFIGURATION: "ConfigurationError", ErrorCode.INVALID_INPUT: "ValidationError",
    ErrorCode.TEMPLATE_TOO_COSTLY: "TemplateError",
}


def from_utterly(error: UtterlyError, *, provider: str, request: str,
                 secrets: tuple[str | None, ...] = ()) -> TockError:
    """Utterly's error as Tock's, its message and hint in `cause` with every given secret
    taken out, however the provider echoed it."""
    code = _BY_UTTERLY_CODE.get(error.code, TockCode.UNKNOWN_ERROR)
    if error.code == ErrorCode.MODEL_NOT_FOUND and provider == "AzureOpenAIService":
        code = TockCode.PROVIDER_DEPLOYMENT_NOT_FOUND
    name = _ERROR_NAMES.get(error.code, type(error).__name__)
    if error.code == ErrorCode.INVALID_INPUT and error.field == "prompt.template":
        code = TockCode.PROMPT_TEMPLATE_ERROR
        name = getattr(error, "error_name", None) or "TemplateError"
    cause = f"{error.message} ({error.hint})" if error.hint else error.message
    return TockError(code, cause=redact(cause, *secrets), provider=provider, error=name,
                     request=request)
