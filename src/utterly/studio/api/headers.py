"""Security headers on every response: pages run only the Studio's own scripts and
styles, no site may frame them, no response is sniffed into another type, and no URL
leaks to another site in a Referer. API answers are not stored by a browser or a proxy:
some carry a secret (a token at login, an exported API key)."""

from __future__ import annotations

# No inline script or style anywhere (web/templates, the API docs page): 'self' only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


# Every API answer, unless its route says otherwise (a stream's `no-cache`): the ones that
# carry a token or a key (login, tokens, settings export) and any added later.
API_PREFIX = "/api/"
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        extra = HEADERS + [NO_STORE] if scope["path"].startswith(API_PREFIX) else HEADERS

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)
