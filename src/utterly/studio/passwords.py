"""Password hashing (argon2) and the password policy. The brake on guessing is
services/throttle.py."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# zxcvbn's score, 0-4: 3 is "safely unguessable: moderate protection from an offline
# slow-hash scenario". Common passwords, keyboard walks, names, dates and the username
# itself score lower, whatever their length.
MIN_SCORE = 3
# zxcvbn's work grows with the length; beyond this, length alone is strength enough.
_SCORED_CHARS = 100
# A hash to verify against when the user does not exist, so that timing does not tell
# which usernames exist.
_DUMMY_HASH = _hasher.hash("utterly-dummy-password")


def password_problem(password: str | None, username: str = "") -> str | None:
    """Why `password` is refused ("must have…", "is too easy to guess…"), or None."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) >= _SCORED_CHARS:
        return None
    from zxcvbn import zxcvbn

    result = zxcvbn(password, user_inputs=[username, "utterly"] if username else ["utterly"])
    if result["score"] >= MIN_SCORE:
        return None
    warning = (result["feedback"].get("warning") or "").rstrip(".")
    return "is too easy to guess" + (f" ({warning[0].lower()}{warning[1:]})" if warning else "")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
