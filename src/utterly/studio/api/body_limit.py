"""The size limit of every request body, enforced while the body is read, and the problem
a body over it gets.

A declared Content-Length over the limit is answered 413 before a byte of the body is read;
a body without one (chunked) is cut off at the limit. JSON bodies are small; a route that
takes files declares its own limit here. The routes that take large bodies authenticate
before they read them (api/transfer.py); a JSON route's body, read before its handler
runs, is never larger than the default.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from ..errors import StudioError
from .problems import RaisedProblem, problem_response

DEFAULT_LIMIT = 1024 * 1024  # 1 MiB: the largest JSON body (a 10,000-sentence batch) fits
# a file to import (api/transfer.py streams it, counting its rows as it parses)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# (method, path) → limit, for routes that take more than the default
ROUTE_LIMITS = [
    ("POST", re.compile(r"^/api/bots/[^/]+/import$"), MAX_IMPORT_BYTES),
]


def limit_for(method: str, path: str) -> int:
    for route_method, pattern, limit in ROUTE_LIMITS:
        if method == route_method and pattern.match(path):
            return limit
    return DEFAULT_LIMIT


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


def too_large(limit: int) -> StudioError:
    error = StudioError(f"the request body is larger than {_megabytes(limit)}", status=413,
                        code="body_too_large",
                        hint="send less at once: split a file and import the parts one "
                             "after the other")
    error.title = "Content too large"
    return error


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            # with the request: its title follows Accept-Language, as every problem's does
            return await problem_response(too_large(limit), Request(scope))(scope, receive,
                                                                            send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # raised inside the route's body parsing: an HTTPException gets through
                    raise RaisedProblem(too_large(limit))
            return message

        await self.app(scope, limited_receive, send)
