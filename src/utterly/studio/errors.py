"""Studio errors, each rendered as RFC 9457 problem+json by the API (api/problems.py)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ..errors import ErrorCode, ProviderError, UtterlyError
from ..providers import PROVIDERS


class StudioError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, hint: str = "",
                 code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, reason: str | None = None,
                 params: dict[str, Any] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.hint = hint
        # What exactly is wrong (an invalid input's `reason`) and the values that say it:
        # the pages word the problem from these, in their language (studio/catalogue).
        self.reason = reason
        self.params = dict(params or {})
        self.headers = headers or {}
        self.extra = extra
        if code:
            self.code = code
        if status:
            self.status = status
            if type(self).status != status:
                self.title = HTTPStatus(status).phrase

    def to_problem(self) -> dict[str, Any]:
        problem = {"type": f"urn:utterly:problem:{self.code}", "title": self.title,
                   "status": self.status, "detail": self.detail, "code": self.code}
        if self.field:
            problem["field"] = self.field
        if self.hint:
            problem["hint"] = self.hint
        if self.reason:
            problem["reason"] = self.reason
        if self.params:
            problem["params"] = dict(self.params)
        problem.update(self.extra)
        return problem


class NotAuthenticated(StudioError):
    status, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(StudioError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(StudioError):
    status, code, title = 404, "not_found", "Not found"

    def __init__(self, what: str, *, field: str | None = None):
        super().__init__(f"{what} not found", field=field,
                         hint="check the id; you only see what your namespaces hold")


class Conflict(StudioError):
    status, code, title = 409, "conflict", "Conflict"


class Invalid(StudioError):
    status, code, title = 422, "invalid_input", "Invalid input"


class TooManyAttempts(StudioError):
    status, code, title = 429, "too_many_attempts", "Too many attempts"


# Provider failures are the upstream's fault (502), or its slowness (504); a configuration
# the caller can fix is theirs (422).
_PROVIDER_STATUS = {ErrorCode.TIMEOUT: 504, ErrorCode.CONFIGURATION: 422,
                    ErrorCode.INVALID_INPUT: 422, ErrorCode.OUTBOUND_REFUSED: 422}


def from_core(error: UtterlyError) -> StudioError:
    """The same failure, as the Studio reports it."""
    if isinstance(error, ProviderError):
        status = _PROVIDER_STATUS.get(error.code, 502)
        info = PROVIDERS.get(error.provider or "")
        if info is not None and info.in_process and error.code == ErrorCode.MODEL_NOT_FOUND:
            status = 422  # no upstream to blame: the settings name a model this server lacks
        headers = ({"Retry-After": str(int(error.retry_after + 0.999))}
                   if error.retry_after else {})
        problem = StudioError(error.message, hint=error.hint, code=str(error.code),
                              status=status, headers=headers, provider=error.provider,
                              reason=error.reason, params=error.params)
        problem.title = "Model provider failed" if status >= 500 else "Provider settings"
        return problem
    problem = Invalid(error.message, field=error.field, hint=error.hint, code=str(error.code),
                      reason=error.reason, params=error.params)
    return problem
