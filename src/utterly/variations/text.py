"""Text helpers shared by the transforms: accents, protected chunks, edits."""

from __future__ import annotations

import re
import unicodedata


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(
        c for c in decomposed if not unicodedata.combining(c)))


def key(text: str) -> str:
    """How table phrases and matched text meet: no case, no accents, one apostrophe, one space."""
    text = strip_accents(text.casefold()).replace("’", "'").replace("'", "")
    return re.sub(r"\s+", " ", text.replace("-", " ")).strip()


def is_latin(word: str) -> bool:
    return all(unicodedata.name(c, "").startswith("LATIN") for c in word)


# URLs, e-mails, handles, numbers and codes are copied as they are: a typo or an SMS
# spelling there changes what the sentence refers to.
_PROTECTED_CHUNK = re.compile(r"[\d@/#_\\]|://|^www\.|\w\.\w", re.IGNORECASE)


def protected_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text) if _PROTECTED_CHUNK.search(m.group())]


def overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, new) of non-overlapping `edits` replaced."""
    out, last = [], 0
    for start, end, new in sorted(edits):
        out += [text[last:start], new]
        last = end
    return "".join(out) + text[last:]


_SENTENCE_START = re.compile(r"(?:^|[.!?…]\s+)[\s\"'«“(¿¡]*")


def sentence_starts(text: str) -> set[int]:
    """Where sentences begin in `text`: its start, and after a full stop, ? or !."""
    return {m.end() for m in _SENTENCE_START.finditer(text)}
