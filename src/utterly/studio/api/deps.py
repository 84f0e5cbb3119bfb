"""What every route needs: the Studio's state, a transaction, the authenticated actor."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from ..access import Actor
from ..config import StudioConfig
from ..errors import Forbidden, NotAuthenticated
from ..fair_share import Shares
from ..generation_threads import GenerationThreads
from ..live import LiveGenerations
from ..secrets import SecretBox
from ..services import accounts
from ..services.throttle import LoginThrottle
from ..template_renders import TemplateRenders

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
    generations: GenerationThreads
    # each namespace's and user's share of the generation threads (studio/fair_share.py)
    shares: Shares
    live: LiveGenerations = field(default_factory=LiveGenerations)
    # studio/queue.TaskQueue when bulk jobs run on a broker's workers
    queue: Any = None
    # prompt templates rendered while a request waits (previews, settings checks)
    renders: TemplateRenders | None = None


def state(request: Request) -> StudioState:
    return request.app.state.studio


@contextmanager
def transaction(request: Request):
    """One unit of work: committed when the route succeeds, rolled back when it raises."""
    with state(request).sessions() as session, session.begin():
        yield session


def client_address(request: Request) -> str:
    """The client's address: the TCP peer's, or, from a reverse proxy that `utterly serve`
    is told to trust (UTTERLY_TRUSTED_PROXIES), what its X-Forwarded-For names (uvicorn
    reads it: cli.proxy_options)."""
    return request.client.host if request.client else "unknown"


def actor(request: Request) -> Actor:
    """The user behind a bearer token (API, CLI) or a session cookie (Studio pages).

    It looks the token up in a session of its own: routes that run long work outside any
    transaction (generate) must not hold a connection for it.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        with state(request).sessions() as session:
            row = accounts.token_owner(session, token.strip(), ("access", "api"))
            if row is None:
                raise NotAuthenticated("the token is invalid or expired",
                                       code="invalid_token",
                                       hint="get a new one from POST /api/auth/token",
                                       headers={"WWW-Authenticate": "Bearer"})
            return Actor(row.user_id, row.user.username, row.user.is_site_admin)
    who = cookie_actor(request)
    if who is None:
        raise NotAuthenticated("authentication required",
                               hint="log in, or send `Authorization: Bearer <token>` "
                                    "(POST /api/auth/token)",
                               headers={"WWW-Authenticate": "Bearer"})
    return who


def cookie_actor(request: Request) -> Actor | None:
    """The user of a valid Studio session cookie, or None (the pages then ask to log in).

    Cookie-authenticated writes must echo the CSRF token: another site can make a browser
    send the cookie, but cannot read the token to put it in a header.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with state(request).sessions() as session:
        row = accounts.token_owner(session, cookie, ("session",))
        if row is None:
            return None
        if request.method not in SAFE_METHODS:
            csrf = request.headers.get(CSRF_HEADER, "")
            if not csrf or accounts.digest(csrf) != row.csrf_hash:
                raise Forbidden("missing or wrong CSRF token", code="csrf_failed",
                                hint=f"send the {CSRF_HEADER} header with the value "
                                     f"of the {CSRF_COOKIE} cookie")
        return Actor(row.user_id, row.user.username, row.user.is_site_admin)


def _unit_of_work(request: Request):
    with transaction(request) as session:
        yield session


ActorDep = Annotated[Actor, Depends(actor)]
# scope="function": the transaction ends once the route has returned and its answer is
# built, before the answer is sent (the default scope would commit after sending it), so a
# failed commit is still the answer; a raise rolls back before the problem response.
SessionDep = Annotated[Session, Depends(_unit_of_work, scope="function")]
