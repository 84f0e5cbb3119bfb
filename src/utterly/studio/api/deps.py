"""What every route needs: the Studio's state, a transaction, the authenticated actor."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from ..access import Actor
from ..config import StudioConfig
from ..errors import Forbidden, NotAuthenticated
from ..secrets import SecretBox
from ..services import accounts
from ..services.throttle import LoginThrottle

SESSION_COOKIE = "utterly_session"
CSRF_COOKIE = "utterly_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class StudioState:
    config: StudioConfig
    sessions: sessionmaker[Session]
    box: SecretBox
    throttle: LoginThrottle


def state(request: Request) -> StudioState:
    return request.app.state.studio


@contextmanager
def transaction(request: Request):
    """One unit of work: committed when the route succeeds, rolled back when it raises."""
    with state(request).sessions() as session, session.begin():
        yield session


def client_address(request: Request) -> str:
    """The client's address; behind a reverse proxy, uvicorn takes it from
    X-Forwarded-For when the proxy is trusted (FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def actor(request: Request) -> Actor:
    """The user behind a bearer token (API, CLI) or a session cookie (Studio pages).

    Cookie-authenticated writes must echo the CSRF token: another site can make a browser
    send the cookie, but cannot read the token to put it in a header.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    with state(request).sessions() as session:
        if scheme.lower() == "bearer" and token:
            row = accounts.token_owner(session, token.strip(), ("access", "api"))
            if row is None:
                raise NotAuthenticated("the token is invalid or expired",
                                       code="invalid_token",
                                       hint="get a new one from POST /api/auth/token",
                                       headers={"WWW-Authenticate": "Bearer"})
            return Actor(row.user_id, row.user.username, row.user.is_site_admin)
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            row = accounts.token_owner(session, cookie, ("session",))
            if row is not None:
                if request.method not in SAFE_METHODS:
                    csrf = request.headers.get(CSRF_HEADER, "")
                    if not csrf or accounts.digest(csrf) != row.csrf_hash:
                        raise Forbidden("missing or wrong CSRF token", code="csrf_failed",
                                        hint=f"send the {CSRF_HEADER} header with the value "
                                             f"of the {CSRF_COOKIE} cookie")
                return Actor(row.user_id, row.user.username, row.user.is_site_admin)
    raise NotAuthenticated("authentication required",
                           hint="log in, or send `Authorization: Bearer <token>` "
                                "(POST /api/auth/token)",
                           headers={"WWW-Authenticate": "Bearer"})
