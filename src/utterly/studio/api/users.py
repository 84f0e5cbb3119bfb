"""Accounts, for site administrators: namespace admins add existing accounts as members."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..models import User
from ..schemas import UserIn, UserOut, UserPatch
from ..services import accounts
from .deps import ActorDep, SessionDep

router = APIRouter(prefix="/api/users", tags=["users"])


def _user(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, site_admin=user.is_site_admin,
                   disabled=user.disabled, created_at=user.created_at)


@router.get("", response_model=list[UserOut])
def list_users(who: ActorDep, session: SessionDep):
    return [_user(u) for u in accounts.list_users(session, who)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, who: ActorDep, session: SessionDep):
    """Create an account (site administrators)."""
    return _user(accounts.create_account(session, who, body.username, body.password,
                                         body.site_admin))


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: int, body: UserPatch, who: ActorDep, session: SessionDep):
    """Reset a password, disable or enable an account, give or take the site-admin right
    (site administrators). A reset or a disabling ends the user's sessions and tokens."""
    return _user(accounts.update_user(session, who, user_id, password=body.password,
                                      disabled=body.disabled, site_admin=body.site_admin))


@router.post("/{user_id}/revoke-all", status_code=204)
def revoke_all(user_id: int, who: ActorDep, session: SessionDep):
    """End every session and token of the user (site administrators)."""
    accounts.revoke_user(session, who, user_id)
    return Response(status_code=204)
