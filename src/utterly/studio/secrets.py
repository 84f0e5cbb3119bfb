"""Secrets at rest: Fernet encryption with a key from the environment or a 0600 key file.

`UTTERLY_SECRET_KEY` may hold several keys separated by commas, newest first: the first
encrypts, all decrypt (MultiFernet), which is how a rotation is rolled out by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import ErrorCode, UtterlyError


class SecretKeyError(UtterlyError):
    code = ErrorCode.CONFIGURATION


def _parse_keys(text: str, source: str) -> list[Fernet]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise SecretKeyError(f"{source} holds no key",
                             hint="generate one with `utterly secrets new-key`")
    try:
        return [Fernet(k.encode()) for k in keys]
    except (ValueError, TypeError):
        raise SecretKeyError(f"{source} is not a valid Fernet key",
                             hint="a key is 32 url-safe base64-encoded bytes; generate one "
                                  "with `utterly secrets new-key`") from None


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key readable by its owner only, replacing any previous one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class SecretBox:
    """Encrypts and decrypts the secrets the Studio stores (API keys, Langfuse secret)."""

    def __init__(self, keys: list[Fernet], *, key_file: Path | None = None):
        self._fernet = MultiFernet(keys)
        self.key_file = key_file  # where the key lives when it is not from the environment

    @classmethod
    def load(cls, secret_key: str | None, key_file: Path) -> "SecretBox":
        if secret_key:
            return cls(_parse_keys(secret_key, "UTTERLY_SECRET_KEY"))
        if not key_file.exists():
            write_key_file(key_file, Fernet.generate_key())
        os.chmod(key_file, 0o600)  # a key file copied in with looser rights
        return cls(_parse_keys(key_file.read_text(), str(key_file)), key_file=key_file)

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with the current key",
                hint="start with the key it was encrypted with (UTTERLY_SECRET_KEY may list "
                     "the old key after the new one), or enter the secret again") from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()


def mask(secret: str | None) -> str | None:
    """What the API shows of a secret: its conventional prefix and last 4 characters."""
    if not secret:
        return None
    if len(secret) < 12:
        return "…"
    prefix = ""
    for candidate in ("sk-proj-", "sk-lf-", "pk-lf-", "sk-"):
        if secret.startswith(candidate):
            prefix = candidate
            break
    return f"{prefix}…{secret[-4:]}"
