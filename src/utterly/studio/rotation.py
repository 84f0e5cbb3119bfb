"""Key rotation: re-encrypt every stored secret with a new key, all or nothing."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from ..providers import setting_fields
from .config import StudioConfig
from .models import ObservabilitySettings, SentenceGenerationSettings
from .secrets import SecretBox, SecretKeyError, _parse_keys, write_key_file

# (model, column) of every encrypted value
ENCRYPTED = [(SentenceGenerationSettings, "api_key_encrypted"),
             (ObservabilitySettings, "langfuse_secret_key_encrypted")]


def rotate(config: StudioConfig, sessions, new_key: str | None) -> tuple[int, str]:
    """Returns how many secrets moved and where the new key now lives."""
    old = SecretBox.load(config.secret_key, config.key_file)
    if config.secret_key and not new_key:
        raise SecretKeyError(
            "the current key comes from UTTERLY_SECRET_KEY, so the new one must too",
            hint="run `utterly secrets new-key`, pass it as --new-key, then set "
                 "UTTERLY_SECRET_KEY to it")
    new_text = new_key or Fernet.generate_key().decode()
    new = SecretBox(_parse_keys(new_text, "the new key")[:1])
    count = 0
    if not config.secret_key:
        # Until the commit, both keys must open the stored values: the key file lists the
        # new key first (it encrypts) and the old one after (it still decrypts).
        previous = config.key_file.read_bytes().strip()
        write_key_file(config.key_file, new_text.encode() + b"," + previous)
    with sessions() as session, session.begin():
        for model, column in ENCRYPTED:
            for row in session.scalars(select(model).where(getattr(model, column).is_not(None))):
                setattr(row, column, new.encrypt(old.decrypt(getattr(row, column))))
                count += 1
        # a provider's own secrets, among its options
        secret = {spec.name for spec in setting_fields() if spec.secret}
        for row in session.scalars(select(SentenceGenerationSettings).where(
                SentenceGenerationSettings.provider_options.is_not(None))):
            options = dict(row.provider_options)
            for name in secret & set(options):
                options[name] = new.encrypt(old.decrypt(options[name]))
                count += 1
            row.provider_options = options
    if config.secret_key:
        return count, "now set UTTERLY_SECRET_KEY to the new key before the next start"
    write_key_file(config.key_file, new_text.encode())
    return count, f"the new key is in {config.key_file}"
