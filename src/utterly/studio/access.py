"""Who may do what: roles per namespace, and foreign ids that do not exist for outsiders."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Forbidden, NotFound
from .models import Bot, Faq, Membership, User

ROLES = ("viewer", "bot_user", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
WHAT_ROLE_DOES = {
    "viewer": "read",
    "bot_user": "manage FAQs and sentences, generate, import and undo",
    "admin": "change settings, providers, observability and members",
}
_ARTICLE = {"viewer": "a", "bot_user": "a", "admin": "an"}


@dataclass(frozen=True)
class Actor:
    """The authenticated user making a request."""

    user_id: int
    username: str
    site_admin: bool = False


def role_in(session: Session, actor: Actor, namespace_id: int) -> str | None:
    return session.scalar(select(Membership.role).where(
        Membership.user_id == actor.user_id, Membership.namespace_id == namespace_id))


def require_namespace(session: Session, actor: Actor, namespace_id: int,
                      role: str = "viewer", *, field: str | None = None) -> str:
    have = role_in(session, actor, namespace_id)
    if have is None:
        raise NotFound("namespace", field=field)
    _require(have, role)
    return have


def _require(have: str, need: str) -> None:
    if _RANK[have] < _RANK[need]:
        raise Forbidden(f"your role `{have}` cannot do this; it needs `{need}`",
                        hint=f"ask an admin of this namespace: {_ARTICLE[need]} {need} can "
                             f"{WHAT_ROLE_DOES[need]}")


def bot_for(session: Session, actor: Actor, bot_id: int, role: str = "viewer") -> Bot:
    """The bot, if the actor's namespaces hold it (404 otherwise) and their role suffices."""
    bot = session.get(Bot, bot_id)
    have = bot and role_in(session, actor, bot.namespace_id)
    if not have:
        raise NotFound("bot")
    _require(have, role)
    return bot


def faq_for(session: Session, actor: Actor, bot_id: int, faq_id: int,
            role: str = "viewer") -> tuple[Bot, Faq]:
    bot = bot_for(session, actor, bot_id, role)
    faq = session.get(Faq, faq_id)
    if faq is None or faq.bot_id != bot.id:
        raise NotFound("FAQ")
    return bot, faq


def require_site_admin(actor: Actor, what: str) -> None:
    if not actor.site_admin:
        raise Forbidden(f"only a site administrator can {what}",
                        hint="ask a site administrator (`utterly users site-admin NAME` "
                             "makes one)")


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))
