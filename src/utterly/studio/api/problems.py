"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from ...errors import UtterlyError, validation_reason
from ...providers import PROVIDERS
from ...sentence_count import BOUNDS_HINT
from ..catalogue import DEFAULT_LANGUAGE, accepted_language, problem_title
from ..db import is_busy
from ..errors import StudioError, from_core
from ..schemas import MAX_CONCURRENCY, MIN_CONCURRENCY

log = logging.getLogger("utterly.studio")
MEDIA_TYPE = "application/problem+json"

# Per field, then per kind of mistake.
_FIELD_HINTS = {
    "temperature": "use a temperature between 0 and 1",
    "nb_sentences": BOUNDS_HINT,
    "n": BOUNDS_HINT,
    "max_concurrency": f"allow {MIN_CONCURRENCY} to {MAX_CONCURRENCY} calls at once, or null "
                       "for the provider's default",
    "locale": "use a BCP 47 tag such as 'fr' or 'en-GB'",
    "locales": "use BCP 47 tags such as 'fr' or 'en-GB'",
    "provider": "choose " + ", ".join(list(PROVIDERS)[:-1]) + " or " + list(PROVIDERS)[-1],
    "role": "choose admin, bot_user or viewer",
}
_HINTS = {
    "missing": "add this field",
    "extra_forbidden": "remove this field; see /api/docs for the fields this endpoint takes",
    "json_invalid": "send a valid JSON body",
    "literal_error": "use one of the values listed",
}


# A problem's `title` is a short summary for people: it follows Accept-Language, worded by
# the Studio's catalogue (catalogue/, `problem_title.*`). `detail`, `hint` and `code` stay
# English and stable, for logs, scripts and support; the Studio's pages translate by
# `code`, and an invalid input by its `reason` and `params` (web/static/app.js).
def problem_response(error: StudioError, request: Request | None = None) -> JSONResponse:
    problem = error.to_problem()
    headers = dict(error.headers or {})
    if request is not None:
        headers["Vary"] = "Accept-Language"
        lang = accepted_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE
        title = problem_title(lang, problem["title"])
        if lang != DEFAULT_LANGUAGE and title:
            problem["title"] = title
            headers["Content-Language"] = lang
    return JSONResponse(problem, status_code=error.status, media_type=MEDIA_TYPE,
                        headers=headers or None)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _error_field(error: dict) -> str:
    # A JSON syntax error's loc is ("body", <character offset>): what is wrong is the body.
    if error.get("type") == "json_invalid":
        return "body"
    return _field(tuple(error.get("loc", ())))


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    field = _error_field(first)
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    top = field.split(".")[0]
    hint = _FIELD_HINTS.get(top) or _HINTS.get(first.get("type", ""), "")
    reason, params = validation_reason(first)
    entries = []
    for e in errors[:20]:
        entry_reason, entry_params = validation_reason(e)
        entries.append({"field": _error_field(e), "message": str(e.get("msg", "")),
                        "reason": entry_reason, "params": entry_params})
    error = StudioError(f"{field}: {message}", status=422, code="invalid_input", field=field,
                        hint=hint, reason=reason, params=params, errors=entries)
    error.title = "Invalid input"
    return problem_response(error, request)


def _studio(request: Request, exc: StudioError) -> JSONResponse:
    return problem_response(exc, request)


def _core(request: Request, exc: UtterlyError) -> JSONResponse:
    return problem_response(from_core(exc), request)


class RaisedProblem(HTTPException):
    """A problem raised where only an HTTPException gets through: FastAPI turns any other
    exception raised while it reads a body into a 400 (api/body_limit.py raises one there)."""

    def __init__(self, error: StudioError):
        super().__init__(error.status, error.detail)
        self.error = error


def _http(request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, RaisedProblem):
        return problem_response(exc.error, request)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
    error = StudioError(str(exc.detail), status=exc.status_code,
                        code=codes.get(exc.status_code, "http_error"),
                        headers=getattr(exc, "headers", None))
    error.title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return problem_response(error, request)


def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
    # A unique constraint lost a race with a concurrent request: the caller may retry.
    error = StudioError("this conflicts with data saved at the same moment", status=409,
                        code="conflict", hint="reload and try again")
    error.title = "Conflict"
    return problem_response(error, request)


_RETRY_AFTER_S = "2"


def _database_busy(request: Request) -> JSONResponse:
    error = StudioError("the database is busy", status=503, code="database_busy",
                        hint=f"try again in {_RETRY_AFTER_S} s; if it lasts, raise "
                             "UTTERLY_DB_POOL_SIZE or look for long transactions",
                        headers={"Retry-After": _RETRY_AFTER_S})
    error.title = "Service unavailable"
    return problem_response(error, request)


def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
    if is_busy(exc):
        log.warning("database busy: %s", type(exc.orig).__name__)
        return _database_busy(request)
    log.error("database error: %s", type(exc).__name__)
    error = StudioError("the database is unavailable", status=503, code="database_unavailable",
                        hint="try again in a moment; if it lasts, check the database server",
                        headers={"Retry-After": "5"})
    error.title = "Service unavailable"
    return problem_response(error, request)


def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
    # Every connection of the pool is in use and none came back in time: load, not a bug.
    log.warning("database connection pool exhausted")
    return _database_busy(request)


def _bug(request: Request | None, exc: Exception) -> JSONResponse:
    # Only the type goes to the log: an exception message may quote a secret.
    log.error("unexpected error %s", type(exc).__name__, exc_info=False)
    error = StudioError("an unexpected error happened on the server", status=500,
                        code="internal_error", hint="this is a bug: please report it")
    error.title = "Internal server error"
    return problem_response(error, request)


def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value of the request: an id beyond its integer range (SQLite
    # raises OverflowError, PostgreSQL a DataError) or a NUL character in a PostgreSQL text.
    if isinstance(exc, OverflowError) and "SQLite INTEGER" not in str(exc):
        return _bug(request, exc)
    log.info("value refused by the database: %s", type(exc).__name__)
    error = StudioError("a value of the request cannot be stored: a number is out of range "
                        "or a text holds a NUL character", status=422, code="invalid_input",
                        reason="unstorable",
                        hint="ids are integers below 2147483648; remove NUL (\\u0000) "
                             "characters from texts")
    error.title = "Invalid input"
    return problem_response(error, request)


class _CatchBugs:
    """Answers an unexpected exception with the 500 problem and does not re-raise it.

    Starlette's own handler for `Exception` re-raises after answering: uvicorn then logs
    the full traceback (message included, which may quote a secret) and closes the
    connection, so a client's next request on that keep-alive connection is reset.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for a problem response
                raise
            await _bug(Request(scope), exc)(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(_CatchBugs)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StudioError, _studio)
    app.add_exception_handler(UtterlyError, _core)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)
    app.add_exception_handler(Exception, _bug)
