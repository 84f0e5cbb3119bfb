"""Accounts, for site administrators: namespace admins add existing accounts as members."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..access import Actor
from ..models import User
from ..schemas import UserIn, UserOut
from ..services import accounts
from .deps import actor, transaction

router = APIRouter(prefix="/api/users", tags=["users"])


def _user(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, site_admin=user.is_site_admin,
                   created_at=user.created_at)


@router.get("", response_model=list[UserOut])
def list_users(request: Request, who: Actor = Depends(actor)):
    with transaction(request) as session:
        return [_user(u) for u in accounts.list_users(session, who)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, request: Request, who: Actor = Depends(actor)):
    """Create an account (site administrators)."""
    with transaction(request) as session:
        return _user(accounts.create_account(session, who, body.username, body.password,
                                             body.site_admin))
