"""Password hashing (argon2) and the password policy. The brake on guessing is
services/throttle.py."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# The API's fields take no more (schemas.py); the command line is held to it here.
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's score, 0-4: 3 is "safely unguessable: moderate protection from an offline
# slow-hash scenario". Common passwords, keyboard walks, names, dates and the username
# itself score lower, whatever their length.
MIN_SCORE = 3
# zxcvbn's work grows faster than the length (500 characters take seconds), and 4.5 refuses
# more than 72 with a ValueError. Only the start of a password is scored: one that starts
# with 72 weak characters is weak, whatever follows (a hundred `a`s once passed unscored).
SCORED_CHARS = 72
# A hash to verify against when the user does not exist, so that timing does not tell
# which usernames exist.
_DUMMY_HASH = _hasher.hash("utterly-dummy-password")


def password_problem(password: str | None, username: str = "") -> str | None:
    """Why `password` is refused ("must have…", "is too easy to guess…"), or None."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must have at most {MAX_PASSWORD_LENGTH} characters, not {len(password)}"
    from zxcvbn import zxcvbn

    scored = password[:SCORED_CHARS]
    result = zxcvbn(scored, user_inputs=[username, "utterly"] if username else ["utterly"],
                    max_length=SCORED_CHARS)
    if result["score"] >= MIN_SCORE:
        return None
    warning = (result["feedback"].get("warning") or "").rstrip(".")
    why = [f"{warning[0].lower()}{warning[1:]}"] if warning else []
    if len(password) > SCORED_CHARS:
        why.append(f"its first {SCORED_CHARS} characters are what is scored")
    return "is too easy to guess" + (f" ({'; '.join(why)})" if why else "")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
