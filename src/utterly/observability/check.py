"""Check a Langfuse project's keys and an OTLP endpoint before traces are sent to them.

Like a provider's `check`: a CheckResult when the service answers as it should, else an
UtterlyError whose code (ErrorCode) and hint say what to fix. Neither check writes a trace.
Neither quotes what the URL answered (its status class and our own words only): the URL is
whatever a user typed, and may be some internal service's.
"""

from __future__ import annotations

import httpx

from ..errors import ErrorCode, UtterlyError
from ..outbound import OutboundPolicy, policy_hint, refused_in
from ..providers.base import CheckResult
from .exporter import http_client

__all__ = ["check_langfuse", "check_otlp"]


def check_langfuse(host: str, public_key: str, secret_key: str, *, timeout_s: float,
                   outbound: OutboundPolicy | None) -> CheckResult:
    """Verify the keys on Langfuse's projects endpoint."""
    url = host.rstrip("/") + "/api/public/projects"
    try:
        with http_client(timeout_s, outbound) as client:
            response = client.get(url, auth=(public_key, secret_key))
    except httpx.HTTPError as exc:
        raise _unreached(f"Langfuse at {host}", exc, timeout_s, outbound) from None
    if response.status_code in (401, 403):
        raise UtterlyError("Langfuse refused the keys", code=ErrorCode.AUTHENTICATION,
                           hint="check the public and secret keys belong to the same "
                                "project and this host")
    if response.status_code != 200:
        raise UtterlyError(f"{host} answered {_status_class(response.status_code)}",
                           code=ErrorCode.SERVER_ERROR,
                           hint="check the host is a Langfuse server")
    if _project_names(response) is None:
        raise UtterlyError(f"{host} is not a Langfuse server",
                           code=ErrorCode.INVALID_RESPONSE, hint="check the host")
    # Not the project names, nor their number: the host may be any service that answers in
    # this shape, and a check must not become a way to read it. Its status and our words.
    return CheckResult(ok=True, provider="langfuse", model="",
                       message=f"Langfuse at {host} accepts the keys")


def check_otlp(endpoint: str, *, timeout_s: float,
               outbound: OutboundPolicy | None) -> CheckResult:
    """POST an empty OTLP export request: a collector accepts it and stores nothing."""
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    try:
        with http_client(timeout_s, outbound) as client:
            response = client.post(url, content=b"",
                                   headers={"Content-Type": "application/x-protobuf"})
    except httpx.HTTPError as exc:
        raise _unreached(f"the OTLP endpoint {endpoint}", exc, timeout_s, outbound) from None
    if not 200 <= response.status_code < 300:
        raise UtterlyError(f"{url} answered {_status_class(response.status_code)}",
                           code=ErrorCode.SERVER_ERROR,
                           hint="give the collector's OTLP/HTTP base URL, e.g. "
                                "http://127.0.0.1:4318")
    return CheckResult(ok=True, provider="otlp", model="", message=f"{url} accepts OTLP traces")


def _project_names(response: httpx.Response) -> list[str | None] | None:
    """The project names of a Langfuse answer; None when it is not one."""
    try:
        projects = [p.get("name") for p in response.json().get("data", [])]
    except (ValueError, AttributeError, TypeError):
        return None
    return projects if all(isinstance(p, str | None) for p in projects) else None


def _unreached(target: str, exc: httpx.HTTPError, timeout_s: float,
               outbound: OutboundPolicy | None) -> UtterlyError:
    refused = refused_in(exc)
    if refused is not None:
        return UtterlyError(f"the server's outbound policy refuses {target}: {refused}",
                            code=ErrorCode.OUTBOUND_REFUSED,
                            hint="use another host, or ask the server's administrator "
                                 "(UTTERLY_OUTBOUND_ALLOW / UTTERLY_OUTBOUND_DENY)")
    if isinstance(exc, httpx.TimeoutException):
        return UtterlyError(f"{target} did not answer within {timeout_s:g} s",
                            code=ErrorCode.TIMEOUT, hint="check the host and your network")
    return UtterlyError(f"cannot connect to {target}", code=ErrorCode.UNREACHABLE,
                        hint="check the URL and that the server is running"
                             + policy_hint(outbound))


def _status_class(status: int) -> str:
    # Only the class: the URL may point at a service that is not Langfuse nor a collector.
    return f"HTTP {status // 100}xx"
