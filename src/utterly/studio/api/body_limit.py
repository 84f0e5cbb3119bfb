"""The body size limit (studio/body_limit.py) enforced while a request body is read.

A declared Content-Length over the limit is answered 413 before a byte of the body is read;
a body without one (chunked) is cut off at the limit.
"""

from __future__ import annotations

from starlette.requests import Request

from ..body_limit import BodyTooLarge, limit_for, too_large
from ..problems import problem_response


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
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
