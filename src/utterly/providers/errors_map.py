"""Translate the exceptions of the `openai` and `ollama` SDKs into ProviderError.

Each failure gets a stable ErrorCode, a message saying what happened and where, and a hint
saying what to do. The API key never appears in either: any text that came from a server
is passed through `redact` first (OpenAI's 401 message, for one, echoes part of the key).

A server's words are quoted only when the answer is in its vendor's error format (OpenAI's
`{"error": {"message": …}}`, Ollama's `{"error": "…"}`); anything else is told by its status
class alone (`HTTP 4xx`): a URL that points at some other service must not turn the error
message into a way to read that service. A check of settings that a server's users wrote
(`Target.quote` False, from ProviderConfig.quote_server) quotes nothing at all, vendor
format or not: it says the status and our own words. Transport failures are all "cannot
connect", whatever broke, and a destination the outbound policy refuses by name says so.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field

from ..errors import ErrorCode, ProviderError
from ..outbound import OutboundPolicy, policy_hint, refused_in
from ..redact import redact, redacted_cut

MAX_SERVER_TEXT = 300


@dataclass(frozen=True)
class Target:
    """What a request was aimed at, for the messages. `api_key` is only used to redact."""

    provider: str
    model: str
    url: str
    timeout_s: float
    api_key: str | None = field(default=None, repr=False)
    deployment: str | None = None  # Azure
    key_env: str = "OPENAI_API_KEY"
    # False: no text of the server's answer goes into a message (a check of settings that
    # a server's users wrote: the URL may be any internal service's)
    quote: bool = True
    # where the client may connect; its rules are named in the hint of "cannot connect"
    outbound: OutboundPolicy | None = field(default=None, repr=False)


def said(detail: str | None, target: Target) -> str | None:
    """The server's own words when they may be quoted, else None."""
    return detail if target.quote else None


def _server_text(text: object, target: Target) -> str:
    """Server text, redacted and cut; callers quote it only when `said` lets them."""
    return redacted_cut(" ".join(str(text).split()), MAX_SERVER_TEXT, target.api_key)


def _error(target: Target, code: ErrorCode, message: str, hint: str = "",
           retry_after: float | None = None) -> ProviderError:
    return ProviderError(code, redact(message, target.api_key), hint=redact(hint, target.api_key),
                         provider=target.provider, retry_after=retry_after)


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ForeignAnswer(Exception):
    """An error status whose body is not in the vendor's error format: only its status may
    be told (raised by the Ollama client's response hook, which can still see the body)."""

    def __init__(self, status_code: int, headers=None):
        super().__init__(f"HTTP {status_code // 100}xx")
        self.status_code = status_code
        self.headers = headers


def status_class(status: int) -> str:
    return f"HTTP {status // 100}xx"


def openai_error(response) -> dict | None:
    """The `{message, code}` of an answer in OpenAI's error format (OpenAI, Azure, llama.cpp,
    vLLM's `{"object": "error", "message": …}`), else None."""
    try:
        body = json.loads(response.text)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return inner
    if body.get("object") == "error" and isinstance(body.get("message"), str):
        return body
    return None


def is_ollama_error(content: bytes) -> bool:
    """Ollama's error format: `{"error": "…"}`."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def outbound_refused(target: Target, reason: str) -> ProviderError:
    return _error(target, ErrorCode.OUTBOUND_REFUSED,
                  f"the server's outbound policy refuses {target.url}: {reason}",
                  "use another URL, or ask the server's administrator "
                  "(UTTERLY_OUTBOUND_ALLOW / UTTERLY_OUTBOUND_DENY)")


# --- shared wording -------------------------------------------------------------------------

def unreachable(target: Target) -> ProviderError:
    what = "the Ollama server" if target.provider == "ollama" else "the server"
    message = f"cannot connect to {what} at {target.url}"
    if target.provider == "ollama":
        hint = ("check that Ollama is running (`ollama serve`) and that the URL is right "
                "(option --base-url or the env var OLLAMA_HOST)")
    elif target.provider == "azure-openai":
        hint = ("check the endpoint (option --azure-endpoint or the env var "
                "AZURE_OPENAI_ENDPOINT) and your network")
    else:
        hint = "check that the server is running and that the URL (option --base-url) is right"
    return _error(target, ErrorCode.UNREACHABLE, message, hint + policy_hint(target.outbound))


def timeout(target: Target) -> ProviderError:
    return _error(
        target, ErrorCode.TIMEOUT,
        f"{target.url} did not answer within {target.timeout_s:g} s",
        f"raise the timeout (option --timeout, now {target.timeout_s:g} s) or ask for fewer "
        "sentences; a model that is still loading can also be slow to answer")


def invalid_response(target: Target, detail: str) -> ProviderError:
    return _error(target, ErrorCode.INVALID_RESPONSE,
                  f"{target.url} answered with something that is not a valid reply: "
                  f"{_server_text(detail, target)}",
                  "check that the URL points at the right kind of server (option --base-url)")


def _quoted(detail: str | None, target: Target, answered: str = "") -> str:
    """` (the server's words)`, or ` (HTTP 4xx)` when there are none to quote."""
    if detail:
        return f" ({_server_text(detail, target)})"
    return f" ({answered})" if answered else ""


def authentication(target: Target, detail: str | None, answered: str = "") -> ProviderError:
    detail = said(detail, target)
    if target.provider == "ollama":
        hint = "check the env var OLLAMA_API_KEY"
    else:
        hint = f"check the API key (option --api-key or the env var {target.key_env})"
    return _error(target, ErrorCode.AUTHENTICATION,
                  f"{target.url} refused the credentials{_quoted(detail, target, answered)}",
                  hint)


def context_too_long(target: Target, detail: str | None) -> ProviderError:
    detail = said(detail, target)
    return _error(target, ErrorCode.CONTEXT_TOO_LONG,
                  f"the prompt does not fit the context of {target.model}"
                  f"{_quoted(detail, target)}",
                  "give fewer or shorter example sentences, ask for fewer sentences, "
                  "or use a model with a longer context")


def _looks_like_context_error(text: str) -> bool:
    text = text.lower()
    return any(s in text for s in ("context length", "context window", "context_length",
                                   "maximum context", "too many tokens", "prompt is too long"))


# --- openai ---------------------------------------------------------------------------------

def _body_error(body: object) -> dict:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
        return {"message": str(inner)}
    if body is None:
        return {}
    return {"message": str(body)}


def from_openai(exc: BaseException, target: Target) -> ProviderError:
    """Translate an exception raised by the `openai` SDK (or while reading its result)."""
    import openai

    if isinstance(exc, ProviderError):
        return exc
    refused = refused_in(exc)
    if refused is not None:
        return outbound_refused(target, str(refused))
    if isinstance(exc, openai.APITimeoutError):
        return timeout(target)
    if isinstance(exc, openai.APIConnectionError):
        return unreachable(target)
    if isinstance(exc, openai.APIResponseValidationError):
        return invalid_response(target, "the reply does not have the expected shape")
    if isinstance(exc, openai.APIStatusError):
        return _from_openai_status(exc, target)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return invalid_response(target, "the body is not JSON")
    if isinstance(exc, openai.OpenAIError):
        # The SDK's own words, or a streamed error's message from the server
        what = _server_text(exc, target) if target.quote else \
            f"the {target.provider} client failed ({type(exc).__name__})"
        return _error(target, ErrorCode.CONFIGURATION, what,
                      f"check the options of the {target.provider} provider")
    return invalid_response(target, type(exc).__name__)


def _from_openai_status(exc, target: Target) -> ProviderError:
    status = exc.status_code
    err = openai_error(exc.response) or {}
    code = str(err.get("code") or "")
    # None: not OpenAI's error format; it classifies, and is quoted only when `said`
    wording = err.get("message")
    detail = said(wording, target)
    answered = f"HTTP {status}" if err else status_class(status)
    quoted = _quoted(detail, target, answered)
    azure = target.provider == "azure-openai"

    if status in (401, 403):
        return authentication(target, detail, answered)
    if status == 404:
        if azure or code == "DeploymentNotFound":
            deployment = target.deployment or target.model
            return _error(
                target, ErrorCode.MODEL_NOT_FOUND,
                f"the deployment {deployment!r} does not exist at {target.url}{quoted}",
                "check the deployment name (option --azure-deployment) and the endpoint "
                "(option --azure-endpoint or AZURE_OPENAI_ENDPOINT); a deployment created in "
                "the last few minutes may not be ready yet")
        if code == "model_not_found" or "model" in (wording or "").lower():
            return _error(target, ErrorCode.MODEL_NOT_FOUND,
                          f"the model {target.model!r} does not exist at {target.url}{quoted}",
                          "check the model name (option --model); `utterly check` lists "
                          "what the server offers")
        return _error(target, ErrorCode.BAD_REQUEST,
                      f"{target.url} has no such endpoint{quoted}",
                      "check the base URL (option --base-url); for OpenAI-compatible "
                      "servers it usually ends in /v1")
    if status == 429:
        if code == "insufficient_quota":
            return _error(target, ErrorCode.CONFIGURATION,
                          f"the account has no quota left{quoted}",
                          "check the plan and billing of the account that owns the API key")
        retry_after = parse_retry_after(exc.response.headers)
        wait = f"; the server asks to wait {retry_after:g} s" if retry_after is not None else ""
        return _error(target, ErrorCode.RATE_LIMITED,
                      f"{target.url} is rate limiting requests{quoted}{wait}",
                      "wait a little, or ask for fewer sentences per run",
                      retry_after=retry_after)
    if status in (400, 413, 422):
        if (code == "context_length_exceeded" or status == 413
                or _looks_like_context_error(wording or "")):
            return context_too_long(target, detail)
        what = f"{status}: {_server_text(detail, target)}" if detail else answered
        return _error(target, ErrorCode.BAD_REQUEST,
                      f"{target.url} rejected the request ({what})",
                      "check the model name and the options; the server's message says what "
                      "it did not accept")
    if status >= 500:
        return _error(target, ErrorCode.SERVER_ERROR,
                      f"{target.url} failed with {answered}"
                      + (f" ({_server_text(detail, target)})" if detail else ""),
                      "the server had a problem: try again later",
                      retry_after=parse_retry_after(exc.response.headers))
    return _error(target, ErrorCode.BAD_REQUEST,
                  f"{target.url} answered {answered}"
                  + (f" ({_server_text(detail, target)})" if detail else ""),
                  "check the options of the provider")


# --- ollama ---------------------------------------------------------------------------------

def from_ollama(exc: BaseException, target: Target) -> ProviderError:
    """Translate an exception raised by the `ollama` SDK (or the httpx client under it)."""
    import httpx
    import ollama
    import pydantic

    if isinstance(exc, ProviderError):
        return exc
    refused = refused_in(exc)
    if refused is not None:
        return outbound_refused(target, str(refused))
    if isinstance(exc, httpx.TimeoutException):
        return timeout(target)
    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return unreachable(target)
    if isinstance(exc, ForeignAnswer):
        return _from_ollama_status(exc.status_code, None, target)
    if isinstance(exc, ollama.ResponseError):
        return _from_ollama_status(exc.status_code, str(exc.error), target)
    if isinstance(exc, ollama.RequestError):
        return _error(target, ErrorCode.CONFIGURATION, _server_text(exc.error, target),
                      "check the model name (option --model)")
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return invalid_response(target, "the body is not JSON")
    if isinstance(exc, pydantic.ValidationError):
        return invalid_response(target, f"unexpected JSON ({exc.error_count()} problems)")
    return invalid_response(target, type(exc).__name__)


def _from_ollama_status(status: int, wording: str | None, target: Target) -> ProviderError:
    """`wording`: Ollama's own error message, or None when the answer was not in its format;
    it classifies, and is quoted only when `said`."""
    answered = f"HTTP {status}" if wording is not None else status_class(status)
    detail = said(wording, target)
    quoted = _quoted(detail, target, answered)
    if status == 404 and "not found" in (wording or "").lower():
        return model_not_pulled(target, detail or "")
    if status in (401, 403):
        return authentication(target, detail, answered)
    if status == 429:
        return _error(target, ErrorCode.RATE_LIMITED,
                      f"{target.url} is rate limiting requests{quoted}",
                      "wait a little, or ask for fewer sentences per run")
    if _looks_like_context_error(wording or ""):
        return context_too_long(target, detail)
    if status >= 500 or status < 0:
        what = (f"{'HTTP %d: ' % status if status > 0 else ''}{_server_text(detail, target)}"
                if detail is not None else answered if status > 0 else "while answering")
        return _error(target, ErrorCode.SERVER_ERROR, f"Ollama failed ({what})",
                      "see the Ollama server's log; a model that does not fit in memory "
                      "fails this way")
    if status == 404:
        return _error(target, ErrorCode.BAD_REQUEST,
                      f"{target.url} has no such endpoint{quoted}",
                      "check that the URL (option --base-url) points at an Ollama server")
    what = f"HTTP {status}: {_server_text(detail, target)}" if detail is not None else answered
    return _error(target, ErrorCode.BAD_REQUEST, f"Ollama rejected the request ({what})",
                  "check the model name and the options")


def model_not_pulled(target: Target, detail: str = "") -> ProviderError:
    message = f"the model {target.model!r} is not available on the Ollama server at {target.url}"
    if detail and target.quote:
        message += f" ({_server_text(detail, target)})"
    return _error(target, ErrorCode.MODEL_NOT_FOUND, message,
                  f"run `ollama pull {target.model}`")
