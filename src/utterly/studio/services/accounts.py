"""Users, namespaces, memberships and tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..access import ROLES, Actor, require_namespace, require_site_admin, user_by_name
from ..errors import Conflict, Invalid, NotAuthenticated, NotFound, TooManyAttempts
from ..models import Membership, Namespace, Token, User, utcnow
from ..passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    password_problem,
    verify_password,
)
from .throttle import LoginThrottle

TOKEN_PREFIX = {"access": "ut_acc_", "session": "ut_ses_", "api": "ut_api_"}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str | None, username: str = "",
                            field: str = "password") -> str:
    problem = password_problem(password, username)
    if problem:
        length = len(password or "")
        fits = MIN_PASSWORD_LENGTH <= length <= MAX_PASSWORD_LENGTH
        raise Invalid(f"{field} {problem}", field=field,
                      hint=f"choose a password that is hard to guess, {MIN_PASSWORD_LENGTH} to "
                           f"{MAX_PASSWORD_LENGTH} characters long (a few unrelated words work)",
                      reason="password_too_easy" if fits else "password_length",
                      params={"min_length": MIN_PASSWORD_LENGTH,
                              "max_length": MAX_PASSWORD_LENGTH})
    return password


def create_user(session: Session, username: str, password: str, *,
                site_admin: bool = False) -> User:
    username = username.strip().lower()
    if user_by_name(session, username):
        raise Conflict(f"user `{username}` already exists", field="username",
                       hint="choose another username", code="user_exists")
    user = User(username=username,
                password_hash=hash_password(check_password_strength(password, username)),
                is_site_admin=site_admin)
    session.add(user)
    session.flush()
    return user


def ensure_namespace(session: Session, name: str) -> Namespace:
    namespace = session.scalar(select(Namespace).where(Namespace.name == name))
    if namespace is None:
        namespace = Namespace(name=name)
        session.add(namespace)
        session.flush()
    return namespace


def set_role(session: Session, user: User, namespace: Namespace, role: str) -> Membership:
    assert role in ROLES
    membership = session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.namespace_id == namespace.id))
    if membership is None:
        membership = Membership(user_id=user.id, namespace_id=namespace.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def authenticate(sessions: sessionmaker[Session], throttle: LoginThrottle, username: str,
                 password: str, address: str) -> User:
    """The user with these credentials; slows down guessing from `address`. Takes the
    session factory: the attempt is counted (and committed) before the password is
    checked, so that attempts sent at once are counted one after the other."""
    wait = throttle.reserve(sessions, username, address)
    if wait > 0:
        seconds = int(wait) + 1
        raise TooManyAttempts("too many failed login attempts for this username",
                              hint=f"wait {seconds} seconds and try again",
                              headers={"Retry-After": str(seconds)})
    with sessions() as session:
        user = user_by_name(session, username)
    if not verify_password(user.password_hash if user else None, password) or user.disabled:
        raise NotAuthenticated("wrong username or password", code="invalid_credentials",
                               hint="check both; after 3 failures each try waits longer")
    throttle.succeeded(sessions, username, address)
    return user


def issue_token(session: Session, user: User, kind: str, *, hours: float | None,
                name: str = "", with_csrf: bool = False) -> tuple[str, str | None, Token]:
    token = TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if with_csrf else None
    row = Token(user_id=user.id, kind=kind, name=name, token_hash=digest(token),
                csrf_hash=digest(csrf) if csrf else None,
                expires_at=utcnow() + timedelta(hours=hours) if hours else None)
    session.add(row)
    session.flush()
    return token, csrf, row


def token_owner(session: Session, token: str, kinds: tuple[str, ...]) -> Token | None:
    row = session.scalar(select(Token).where(Token.token_hash == digest(token)))
    if row is None or row.kind not in kinds or row.user.disabled:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row


def revoke(session: Session, token: str) -> None:
    session.execute(delete(Token).where(Token.token_hash == digest(token)))


def api_token_hours(days: int | None, default_days: int, max_days: int) -> float:
    """Every API token expires: after `days`, or the default; never beyond the maximum."""
    days = default_days if days is None else days
    if days > max_days:
        raise Invalid(f"expires_in_days must be at most {max_days}", field="expires_in_days",
                      reason="less_than_equal", params={"le": max_days},
                      hint=f"ask for {max_days} days or fewer, and make a new token then")
    return days * 24.0


def revoke_all(session: Session, user_id: int, keep: str | None = None) -> None:
    """End every session and token of the user, but `keep` (a token value) if given."""
    query = delete(Token).where(Token.user_id == user_id)
    if keep:
        query = query.where(Token.token_hash != digest(keep))
    session.execute(query)


def change_password(sessions: sessionmaker[Session], throttle: LoginThrottle, actor: Actor,
                    current: str, new: str, address: str, keep: str | None) -> None:
    """The user's own change: the current password is checked (and throttled as a login
    is), the new one must pass the policy; every other session and token ends."""
    authenticate(sessions, throttle, actor.username, current, address)
    check_password_strength(new, actor.username, field="new_password")
    with sessions() as session, session.begin():
        session.get(User, actor.user_id).password_hash = hash_password(new)
        revoke_all(session, actor.user_id, keep=keep)


def update_user(session: Session, actor: Actor, user_id: int, *, password: str | None,
                disabled: bool | None, site_admin: bool | None) -> User:
    """A site administrator resets a password, disables or enables an account, or gives or
    takes the site-admin right. A reset or a disabling ends the user's sessions and tokens."""
    require_site_admin(actor, "change accounts")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if user_id == actor.user_id and (disabled or site_admin is False):
        raise Conflict("you cannot disable yourself or drop your own site-admin right",
                       code="self_lockout", hint="ask another site administrator")
    if password is not None:
        user.password_hash = hash_password(check_password_strength(password, user.username))
    if disabled is not None:
        user.disabled = disabled
    if site_admin is not None:
        user.is_site_admin = site_admin
    if password is not None or disabled:
        revoke_all(session, user.id)
    session.flush()
    return user


def revoke_user(session: Session, actor: Actor, user_id: int) -> None:
    require_site_admin(actor, "end other users' sessions")
    if session.get(User, user_id) is None:
        raise NotFound("user")
    revoke_all(session, user_id)


def list_api_tokens(session: Session, actor: Actor) -> list[Token]:
    return list(session.scalars(select(Token).where(
        Token.user_id == actor.user_id, Token.kind == "api").order_by(Token.id)))


def delete_api_token(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(Token, token_id)
    if row is None or row.user_id != actor.user_id or row.kind != "api":
        raise NotFound("API token")
    session.delete(row)


def memberships(session: Session, actor: Actor) -> list[tuple[Namespace, str]]:
    rows = session.execute(select(Namespace, Membership.role).join(
        Membership, Membership.namespace_id == Namespace.id).where(
        Membership.user_id == actor.user_id).order_by(Namespace.name))
    return [(ns, role) for ns, role in rows]


def list_users(session: Session, actor: Actor) -> list[User]:
    require_site_admin(actor, "list the accounts")
    return list(session.scalars(select(User).order_by(User.username)))


def create_account(session: Session, actor: Actor, username: str, password: str,
                   site_admin: bool) -> User:
    """An account, in no namespace yet: namespace admins then add it as a member."""
    require_site_admin(actor, "create accounts")
    return create_user(session, username, password, site_admin=site_admin)


def create_namespace(session: Session, actor: Actor, name: str) -> Namespace:
    """A namespace, its creator (a site administrator) its first admin."""
    require_site_admin(actor, "create namespaces")
    if session.scalar(select(Namespace).where(Namespace.name == name)):
        raise Conflict(f"namespace `{name}` already exists", field="name",
                       hint="choose another name", code="namespace_exists")
    namespace = ensure_namespace(session, name)
    set_role(session, session.get(User, actor.user_id), namespace, "admin")
    return namespace


def members(session: Session, actor: Actor, namespace_id: int) -> list[tuple[User, str]]:
    require_namespace(session, actor, namespace_id, "viewer")
    rows = session.execute(select(User, Membership.role).join(
        Membership, Membership.user_id == User.id).where(
        Membership.namespace_id == namespace_id).order_by(User.username))
    return [(u, r) for u, r in rows]


def add_member(session: Session, actor: Actor, namespace_id: int, username: str,
               role: str) -> tuple[User, str]:
    """Give an existing account a role here; accounts are created by site administrators."""
    lock_namespace(session, namespace_id)
    require_namespace(session, actor, namespace_id, "admin")
    user = user_by_name(session, username)
    if user is None:
        raise NotFound("user", field="username")
    current = session.scalar(select(Membership).where(
        Membership.namespace_id == namespace_id, Membership.user_id == user.id))
    if current is not None and role != "admin":  # adding a member again changes their role
        _keep_an_admin(session, namespace_id, current)
    set_role(session, user, session.get(Namespace, namespace_id), role)
    return user, role


def _membership(session: Session, namespace_id: int, user_id: int) -> Membership:
    membership = session.scalar(select(Membership).where(
        Membership.namespace_id == namespace_id, Membership.user_id == user_id))
    if membership is None:
        raise NotFound("member")
    return membership


def lock_namespace(session: Session, namespace_id: int) -> None:
    """Hold the namespace until this transaction ends, so that two admins demoting each
    other at the same moment are counted one after the other. PostgreSQL locks the row;
    SQLite has no row locks, but a write takes its database-wide write lock, which the
    other transaction then waits for before it counts."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Namespace).where(Namespace.id == namespace_id)
                        .values(id=Namespace.id))
    else:
        session.execute(select(Namespace.id).where(Namespace.id == namespace_id)
                        .with_for_update())


def _keep_an_admin(session: Session, namespace_id: int, leaving: Membership) -> None:
    admins = session.scalars(select(Membership).where(
        Membership.namespace_id == namespace_id, Membership.role == "admin")).all()
    if leaving.role == "admin" and len(admins) == 1:
        raise Conflict("a namespace needs at least one admin", code="last_admin",
                       hint="make another member admin first")


def change_role(session: Session, actor: Actor, namespace_id: int, user_id: int,
                role: str) -> tuple[User, str]:
    lock_namespace(session, namespace_id)  # the checks below see the other admins' changes
    require_namespace(session, actor, namespace_id, "admin")
    membership = _membership(session, namespace_id, user_id)
    if role != "admin":
        _keep_an_admin(session, namespace_id, membership)
    membership.role = role
    return session.get(User, user_id), role


def remove_member(session: Session, actor: Actor, namespace_id: int, user_id: int) -> None:
    lock_namespace(session, namespace_id)
    require_namespace(session, actor, namespace_id, "admin")
    membership = _membership(session, namespace_id, user_id)
    _keep_an_admin(session, namespace_id, membership)
    session.delete(membership)


def prune_expired_tokens(session: Session, now: datetime | None = None) -> None:
    session.execute(delete(Token).where(Token.expires_at < (now or utcnow())))
