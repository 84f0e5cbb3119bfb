"""Two views of a sentence: `normalize` is the comparison key, `tidy` is what we show.

    normalize("Comment réinitialiser mon mot-de-passe ?") == "comment reinitialiser mon mot de passe"
    tidy('  1. "Où est   mon colis ?" ') == "Où est mon colis ?"

`normalize` keeps only words: letters and digits of any script, in lower case, without the
accents of alphabetic scripts, separated by single spaces. Every other character (punctuation,
apostrophes, hyphens, symbols, emoji) separates words, so "mot-de-passe", "mot de passe" and
"mot_de passe!" are one key, and so are "l'adresse" and "l adresse" (but not "ladresse").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["LABEL_WORDS", "PAIRS", "normalize", "tidy"]


def _strips_accents(base: str) -> bool:
    # Accents are optional decorations in Latin, Greek, Cyrillic, Hebrew and Arabic text
    # (users type "reinitialiser" for "réinitialiser"), but in kana, Thai or the Indic
    # scripts the marks are part of the letter: か and が are different words.
    code = ord(base)
    return (code < 0x0700 or 0x1D00 <= code < 0x2000 or 0x2C60 <= code < 0x2C80
            or 0xA720 <= code < 0xA800 or 0xAB30 <= code < 0xAB70 or 0xFB00 <= code < 0xFB50)


def _words(text: str) -> str:
    out: list[str] = []
    keep_marks = False  # do the combining marks that follow belong to a kept letter?
    for ch in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold()):
        category = unicodedata.category(ch)
        first = category[0]
        if first == "M":
            if keep_marks:
                out.append(ch)
        elif first in "LN":
            out.append(ch)
            keep_marks = not _strips_accents(ch)
        elif category == "Cf":
            # Zero-width spaces, soft hyphens and joiners are invisible: "pass\u00adword"
            # must stay one word.
            pass
        else:
            out.append(" ")
            keep_marks = False
    return unicodedata.normalize("NFC", " ".join("".join(out).split()))


def normalize(text: str) -> str:
    """The key under which two sentences count as the same words (idempotent)."""
    key = _words(text)
    if key.isascii():
        return key
    # NFKC and casefold do not commute for a handful of characters (and composing after
    # dropping marks can expose new compatibility forms), so iterate to the fixed point
    # rather than trust one pass; in practice the second pass changes nothing.
    for _ in range(4):
        again = _words(key)
        if again == key:
            break
        key = again
    return key


# Quote pairs that may wrap a whole sentence. The apostrophe-like ones also occur inside
# words ("can't", "l’adresse"), which _unwrap_quotes has to tell apart.
PAIRS = {
    '"': '"', "“": "”", "”": "”", "„": "“", "«": "»", "»": "«", "‹": "›", "「": "」",
    "『": "』", "'": "'", "‘": "’", "’": "’", "`": "`", "‚": "‘", "＂": "＂",
}
_APOSTROPHES = frozenset("'’`")
# Quotes that are never apostrophes; a lone one at either end is a leftover of the list
# or JSON it came from (`"Où est mon colis ?` from a sloppy list).
_DOUBLE_QUOTES = frozenset('"“”„«»‹›「」『』＂')

LABEL_WORDS = (
    r"sentences?|paraphrases?|paraphrased|questions?|q|queries|query|utterances?|variations?|"
    r"variants?|versions?|options?|examples?|rephrasings?|rephrased|reformulations?|"
    r"reformulée?s?|reformul[ée]s?|phrases?|alternatives?|exemples?|variantes?|"
    r"new sentence|nouvelle phrase|question reformulée"
)
# What precedes the sentence itself in the items small models print: bullets, numbering
# and labels ("- ", "2. ", "(3) ", "Sentence 4:", "Q:", "Paraphrase #2 -"). Every branch
# consumes at least one character and the quantifiers are bounded, so a run of markers is
# stripped in one linear pass.
_LEADER = re.compile(
    r"(?:"
    r"[-*•–—·▪►◦‣+]\s+"
    r"|\d{1,3}\s?[.)](?!\d)\s*"
    r"|\d{1,3}\s?[-–—:]\s+"
    r"|[(\[]\d{1,3}[)\]]\s*"
    r"|#\d{1,3}\s?[.:)-]?\s+"
    r"|(?:" + LABEL_WORDS + r")\s{0,3}(?:#?\d{1,3})?\s{0,3}[:：]\s*"
    r"|(?:" + LABEL_WORDS + r")\s{0,3}#?\d{1,3}\s{0,3}(?:[.)]|[-–—]\s)\s*"
    r")+",
    re.IGNORECASE,
)
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff"


def _collapse(text: str) -> str:
    # Control characters (a stray \x00 or \x1b from a model) are never part of a sentence.
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(text.split())


def _balanced(inner: str, opening: str, closing: str) -> bool:
    """Could `opening + inner + closing` be one quotation (not `"a" and "b"`)?"""
    if opening == closing and opening not in _APOSTROPHES:
        return opening not in inner
    if opening not in inner and closing not in inner:
        return True
    if opening == closing:
        if opening in _APOSTROPHES:
            # Inside the quotation an apostrophe may only sit between two letters (can't).
            for i, ch in enumerate(inner):
                if ch == opening and not (0 < i < len(inner) - 1 and inner[i - 1].isalnum()
                                          and inner[i + 1].isalnum()):
                    return False
            return True
    if closing not in _APOSTROPHES and inner.count(opening) != inner.count(closing):
        return False
    depth = 0
    for i, ch in enumerate(inner):
        if ch == opening:
            depth += 1
        elif ch == closing:
            if closing in _APOSTROPHES and 0 < i < len(inner) - 1 and inner[i - 1].isalnum() \
                    and inner[i + 1].isalnum():
                continue
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _unwrap_quotes(text: str, budget: list[int]) -> str:
    start, end = 0, len(text)
    # Index arithmetic instead of slicing; the budget bounds the layers one tidy() call
    # peels, because each layer costs a scan of the text: 100 KB of «««…»»» must not be
    # quadratic. No sentence is wrapped in 64 layers of quotes.
    while end - start >= 2 and budget[0] > 0:
        budget[0] -= 1
        opening, closing = text[start], text[end - 1]
        if PAIRS.get(opening) != closing and not (opening in _DOUBLE_QUOTES
                                                   and closing in _DOUBLE_QUOTES):
            break
        if not _balanced(text[start + 1:end - 1], opening, closing):
            break
        start += 1
        end -= 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
    text = text[start:end]
    # A single leftover double quote at one end, with no other quote of its kind.
    if text and text[0] in _DOUBLE_QUOTES and text[0] not in text[1:] \
            and PAIRS.get(text[0], text[0]) not in text[1:]:
        text = text[1:].lstrip()
    if text and text[-1] in _DOUBLE_QUOTES and text[-1] not in text[:-1] \
            and not any(PAIRS.get(q) == text[-1] for q in set(text[:-1]) & _DOUBLE_QUOTES):
        text = text[:-1].rstrip()
    return text


def tidy(text: str) -> str:
    """The sentence as we show and store it: NFC, single spaces, no wrapping quotes,
    bullets, numbering or labels; its own words, case and punctuation untouched."""
    text = _collapse(unicodedata.normalize("NFC", text))
    budget = [64]
    while True:
        before = text
        text = text.strip(_INVISIBLE_EDGES + " ")
        match = _LEADER.match(text)
        if match:
            text = text[match.end():]
        text = _unwrap_quotes(text, budget).strip(_INVISIBLE_EDGES + " ")
        if text == before:
            return text
