"""Secrets out of text that others will read: a provider's error echoing the key, a cause
sent back to Tock. Servers echo a key as is, lowercased or URL-encoded; every form goes, and
text is redacted before it is cut, so that a cut can never keep part of a secret."""

from __future__ import annotations

import re
from urllib.parse import quote

MASK = "***"
# Shorter strings are too likely to be ordinary words to be taken out of a message.
MIN_SECRET_CHARS = 4


def redact(text: str, *secrets: str | None) -> str:
    """`text` without any of `secrets`, in any case, as is or URL-encoded."""
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET_CHARS:
            continue
        for form in sorted({secret, quote(secret, safe=""), quote(secret)}, key=len,
                           reverse=True):
            text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
    return text


def redacted_cut(text: str, limit: int, *secrets: str | None) -> str:
    """`text` redacted, then cut to `limit` characters (an ellipsis marks the cut)."""
    text = redact(text, *secrets)
    return text if len(text) <= limit else text[:limit] + "…"
