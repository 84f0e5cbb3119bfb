"""Login (token and session cookie), API tokens, namespaces and their members."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..models import User
from ..schemas import (
    ApiTokenIn,
    ApiTokenOut,
    Credentials,
    LoginOut,
    Me,
    MemberIn,
    MemberOut,
    MemberPatch,
    NamespaceIn,
    NamespaceRole,
    PasswordChange,
    TokenOut,
)
from ..services import accounts
from .deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    ActorDep,
    SessionDep,
    client_address,
    state,
)

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=TokenOut)
def token(body: Credentials, request: Request, session: SessionDep):
    """Exchange a username and password for a bearer token."""
    st = state(request)
    user = accounts.authenticate(st.sessions, st.throttle, body.username, body.password,
                                 client_address(request))
    value, _, _ = accounts.issue_token(session, user, "access",
                                       hours=st.config.access_token_hours)
    return TokenOut(access_token=value, expires_in=int(st.config.access_token_hours * 3600))


@router.post("/auth/login", response_model=LoginOut)
def login(body: Credentials, request: Request, response: Response, session: SessionDep):
    """Open a Studio session: an HttpOnly session cookie and a CSRF token to echo."""
    st = state(request)
    user = accounts.authenticate(st.sessions, st.throttle, body.username, body.password,
                                 client_address(request))
    accounts.prune_expired_tokens(session)
    st.throttle.prune(session)
    value, csrf, _ = accounts.issue_token(session, user, "session",
                                          hours=st.config.session_hours, with_csrf=True)
    max_age = int(st.config.session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, value, max_age=max_age, httponly=True,
                        samesite="strict", secure=st.config.secure_cookies, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False,
                        samesite="strict", secure=st.config.secure_cookies, path="/")
    return LoginOut(username=user.username, csrf_token=csrf, expires_in=max_age)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, who: ActorDep, session: SessionDep):
    """End the Studio session (or revoke the bearer token used)."""
    accounts.revoke(session, _presented_token(request))
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = 204
    return response


def _presented_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.partition(" ")[2].strip() or request.cookies.get(SESSION_COOKIE, "")


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChange, request: Request, who: ActorDep):
    """Change your own password: every other session and token of yours ends."""
    st = state(request)
    accounts.change_password(st.sessions, st.throttle, who, body.current_password,
                             body.new_password, client_address(request),
                             keep=_presented_token(request))
    return Response(status_code=204)


@router.post("/auth/revoke-all", status_code=204)
def revoke_all(response: Response, who: ActorDep, session: SessionDep):
    """End every session and token of yours, this one included."""
    accounts.revoke_all(session, who.user_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/auth/me", response_model=Me)
def me(who: ActorDep, session: SessionDep):
    rows = accounts.memberships(session, who)
    return Me(id=who.user_id, username=who.username, site_admin=who.site_admin,
              namespaces=[NamespaceRole(id=ns.id, name=ns.name, role=role)
                          for ns, role in rows])


@router.get("/auth/api-tokens", response_model=list[ApiTokenOut])
def api_tokens(who: ActorDep, session: SessionDep):
    return [ApiTokenOut(id=t.id, name=t.name, created_at=t.created_at,
                        expires_at=t.expires_at)
            for t in accounts.list_api_tokens(session, who)]


@router.post("/auth/api-tokens", response_model=ApiTokenOut, status_code=201)
def create_api_token(body: ApiTokenIn, request: Request, who: ActorDep,
                     session: SessionDep):
    """A long-lived token for scripts and the CLI; shown once. It expires: after
    `expires_in_days`, or the server's default; never beyond the server's maximum."""
    config = state(request).config
    hours = accounts.api_token_hours(body.expires_in_days, config.api_token_days,
                                     config.api_token_max_days)
    user = session.get(User, who.user_id)
    value, _, row = accounts.issue_token(session, user, "api", hours=hours, name=body.name)
    return ApiTokenOut(id=row.id, name=row.name, created_at=row.created_at,
                       expires_at=row.expires_at, token=value)


@router.delete("/auth/api-tokens/{token_id}", status_code=204)
def delete_api_token(token_id: int, who: ActorDep, session: SessionDep):
    accounts.delete_api_token(session, who, token_id)
    return Response(status_code=204)


@router.get("/namespaces", response_model=list[NamespaceRole], tags=["namespaces"])
def namespaces(who: ActorDep, session: SessionDep):
    return [NamespaceRole(id=ns.id, name=ns.name, role=role)
            for ns, role in accounts.memberships(session, who)]


@router.post("/namespaces", response_model=NamespaceRole, status_code=201, tags=["namespaces"])
def create_namespace(body: NamespaceIn, who: ActorDep, session: SessionDep):
    """Create a namespace (site administrators); its creator is its first admin."""
    ns = accounts.create_namespace(session, who, body.name)
    return NamespaceRole(id=ns.id, name=ns.name, role="admin")


@router.get("/namespaces/{namespace_id}/members", response_model=list[MemberOut],
            tags=["namespaces"])
def members(namespace_id: int, who: ActorDep, session: SessionDep):
    return [MemberOut(user_id=u.id, username=u.username, role=r)
            for u, r in accounts.members(session, who, namespace_id)]


@router.post("/namespaces/{namespace_id}/members", response_model=MemberOut, status_code=201,
             tags=["namespaces"])
def add_member(namespace_id: int, body: MemberIn, who: ActorDep, session: SessionDep):
    """Give an existing user a role in the namespace (site administrators create users)."""
    user, role = accounts.add_member(session, who, namespace_id, body.username, body.role)
    return MemberOut(user_id=user.id, username=user.username, role=role)


@router.patch("/namespaces/{namespace_id}/members/{user_id}", response_model=MemberOut,
              tags=["namespaces"])
def change_role(namespace_id: int, user_id: int, body: MemberPatch, who: ActorDep,
                session: SessionDep):
    user, role = accounts.change_role(session, who, namespace_id, user_id, body.role)
    return MemberOut(user_id=user.id, username=user.username, role=role)


@router.delete("/namespaces/{namespace_id}/members/{user_id}", status_code=204,
               tags=["namespaces"])
def remove_member(namespace_id: int, user_id: int, who: ActorDep, session: SessionDep):
    accounts.remove_member(session, who, namespace_id, user_id)
    return Response(status_code=204)
