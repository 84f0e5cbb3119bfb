"""SMS language and abbreviations: table phrases replaced by their short spellings.

The tables are data/sms.json and data/abbreviations.json, one entry per language:

    "phrases":   [{"match": ["mot de passe", "mots de passe"], "write": ["mdp"], "weight": 0.6}]
                 each "match" phrase may be written as any of "write"; "weight" (default 1) is
                 the chance of replacing a match in SMS: short function words are not always
                 shortened, which also gives different seeds different sentences
    "extra":     spellings users and models write that the table does not (taken as evidence)
    "ambiguous": spellings the table writes that are also ordinary words or symbols ("2
                 tickets", "vs" for versus): written, but not taken as evidence
    "tail":      (SMS) politeness markers that can close any request
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from .datafiles import load
from .text import key, overlaps, protected_spans, splice, strip_accents

_FILES = {"sms_language": "sms", "abbreviated_language": "abbreviations"}


@dataclass(frozen=True)
class Entry:
    phrase: str
    alternatives: tuple[str, ...]
    weight: float


@cache
def entries(language: str, kind: str) -> tuple[Entry, ...]:
    table = load(_FILES[kind]).get(language)
    if table is None:
        return ()
    return tuple(Entry(phrase, tuple(item["write"]), float(item.get("weight", 1.0)))
                 for item in table["phrases"] for phrase in item["match"])


def languages() -> set[str]:
    """Languages with both an SMS and an abbreviation table."""
    return set(load("sms")) & set(load("abbreviations"))


@cache
def tokens(language: str, kind: str) -> frozenset[str]:
    """The spellings (lower case, no final dot) that show `kind` in `language`."""
    table = load(_FILES[kind]).get(language) if kind in _FILES else None
    if table is None:
        return frozenset()
    written = {alt.rstrip(".") for entry in entries(language, kind) for alt in entry.alternatives}
    found = {t.lower() for t in written | set(table.get("extra", ()))}
    return frozenset(found - set(table.get("ambiguous", ())))


@cache
def _token_pattern(language: str, kind: str) -> re.Pattern[str] | None:
    ordered = sorted(tokens(language, kind), key=len, reverse=True)
    if not ordered:
        return None
    parts = []
    for token in ordered:
        # An apostrophe may precede ("l'appli"), but "c'est" is not the SMS "c", and
        # "U.S." is not the SMS "u".
        tail = r"(?![\w@/-]|['’]\w|\.\w)" if token[-1].isalnum() else ""
        parts.append(re.escape(token) + tail)
    return re.compile(r"(?<![\w@/.-])(?:" + "|".join(parts) + ")", re.IGNORECASE)


def shows_token(text: str, language: str, kind: str) -> bool:
    pattern = _token_pattern(language, kind)
    if pattern is None:
        return False
    for m in pattern.finditer(text):
        found = m.group()
        letters = [c for c in found if c.isalpha()]
        if len(letters) == 1 and len(found) == 1 and not found.islower():
            continue  # "C" and "U" are letters and initials; the SMS ones are lower case
        if found.isalpha() and found.isupper() and len(found) < 3:
            continue  # "PR", "DS", "BC" are acronyms more often than SMS
        return True
    return False


def phrase_regex(phrase: str) -> str:
    """A regex for `phrase` as users write it: apostrophe optional, any space, accents optional."""
    regex = []
    for ch in phrase:
        if ch in "'’":
            regex.append("['’]?")  # users often drop it: "cest", "dont know"
        elif ch == " ":
            regex.append(r"\s+")
        elif ch == "-":
            regex.append(r"[-\s]")
        elif (base := strip_accents(ch)) != ch:
            regex.append(f"[{ch}{base}]")  # "s'il vous plait" is still "svp"
        else:
            regex.append(re.escape(ch))
    return "".join(regex)


@cache
def _phrase_pattern(language: str, kind: str) -> tuple[re.Pattern[str], dict[str, Entry]] | None:
    table = entries(language, kind)
    if not table:
        return None
    by_key: dict[str, Entry] = {}
    parts = []
    for entry in sorted(table, key=lambda e: len(e.phrase), reverse=True):
        by_key.setdefault(key(entry.phrase), entry)
        parts.append(phrase_regex(entry.phrase))
    # A hyphen on either side means another word: "rendez-vous" is not "vous".
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)
    return pattern, by_key


def cased(replacement: str, matched: str) -> str:
    """`replacement` in the case of `matched`: all capitals, or a capital first letter."""
    letters = [c for c in matched if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if matched[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _table_transform(text: str, language: str, kind: str, rng: random.Random) -> str | None:
    compiled = _phrase_pattern(language, kind)
    if compiled is None:
        return None
    pattern, by_key = compiled
    protected = protected_spans(text)
    matches = [(m, by_key[key(m.group())]) for m in pattern.finditer(text)
               if not overlaps(m.span(), protected) and key(m.group()) in by_key]
    if not matches:
        return None
    chosen: dict[int, str | None] = {}
    for i, (_, entry) in enumerate(matches):
        # Written abbreviations are optional, one by one: which ones a sentence uses is
        # where seeds differ, since most have a single spelling.
        weight = entry.weight if kind == "sms_language" or len(matches) == 1 else 0.7
        alt = rng.choice(entry.alternatives)  # drawn even when unused: keeps draws aligned
        chosen[i] = alt if rng.random() < weight else None

    def render() -> str:
        edits = []
        for i, (m, _) in enumerate(matches):
            if (alt := chosen[i]) is not None:
                new = alt.lower() if kind == "sms_language" else cased(alt, m.group())
                edits.append((m.start(), m.end(), new))
        return splice(text, edits)

    out = render()
    if not shows_token(out, language, kind):
        # The dice kept only ambiguous spellings ("2", "vs"): force one that reads as the variation.
        order = list(range(len(matches)))
        rng.shuffle(order)
        for i in order:
            alternatives = matches[i][1].alternatives
            good = [a for a in alternatives if shows_token(a.lower(), language, kind)]
            if good:
                chosen[i] = rng.choice(good)
                out = render()
                break
    return out if shows_token(out, language, kind) else None


_FINAL_PUNCTUATION = re.compile(r"\s*[?!.…]+\s*$")


def _sms_finish(text: str, rng: random.Random) -> str:
    # SMS writers rarely capitalise or punctuate; acronyms keep their capitals.
    if m := re.match(r"\s*([^\W\d_]+)", text):
        word = m.group(1)
        if word[:1].isupper() and not any(c.isupper() for c in word[1:]):
            text = text[:m.start(1)] + word[0].lower() + word[1:] + text[m.end(1):]
    if rng.random() < 0.8:
        stripped = re.sub(r"^(\s*)[¿¡]\s*", r"\1", _FINAL_PUNCTUATION.sub("", text))
        if stripped.strip():
            text = stripped
    return text


def _sms_fallback(text: str, language: str, rng: random.Random) -> str | None:
    # An SMS politeness marker: adds no content, reads naturally at the end of a request.
    tails = tuple(load("sms").get(language, {}).get("tail", ()))
    if not tails or len(re.findall(r"[^\W\d_]{2,}", text)) < 2:
        return None
    if language == "fr":
        # "svp" for a sentence that says "vous", "stp" otherwise: keep the register
        polite = re.search(r"(?<![\w])(?:vous|vos|votre)(?![\w])", text, re.IGNORECASE)
        tails = ("svp",) if polite else ("stp",)
    body = _FINAL_PUNCTUATION.sub("", text).rstrip()
    if not body:
        return None
    return _sms_finish(f"{body} {rng.choice(tails)}", random.Random(rng.random()))


def sms_transform(text: str, language: str, rng: random.Random) -> str | None:
    out = _table_transform(text, language, "sms_language", rng)
    out = _sms_finish(out, rng) if out is not None else _sms_fallback(text, language, rng)
    return out if out is not None and shows_token(out, language, "sms_language") else None


def abbreviation_transform(text: str, language: str, rng: random.Random) -> str | None:
    return _table_transform(text, language, "abbreviated_language", rng)
