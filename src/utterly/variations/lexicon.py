"""What a language's words look like spelled right and spelled wrong.

data/vocabulary.json, per language:
    "words":        frequent chatbot words, inflections included: a word one slip away from
                    one of them (and not itself known) is a typo, and so is one of them
                    written without its accents
    "also_correct": correct words that lie one slip away from a frequent word ("bought" and
                    "brought"): never taken for typos, never taken as what a typo aimed at.
                    They are the words of a dictionary (Debian's wfrench, wamerican and
                    wbritish lists) that `typo_check.misspelt` took for typos: after a change
                    to "words" or to the rules, run it over such a list and add what it flags

data/typos.json, per language, real misspellings as [correct, misspelling] or
[correct, misspelling, how]: "problème" -> "probleme", "can't" -> "cant", "pourquoi" -> "pk".
The transform writes the misspelling where the text has the correct form. As evidence of a
spelling mistake a misspelling counts everywhere, unless `how` says
    "start":   only where a sentence starts ("Ou est mon colis", not "perdu ou est-il")
    "written": never ("there" for "their": both are words)
and a one-word misspelling that is itself a word ("ou" for "où") never counts either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .datafiles import load
from .text import strip_accents

WORD = re.compile(r"[^\W\d_]+")

_HOWS = ("evidence", "start", "written")


@dataclass(frozen=True)
class Misspelling:
    correct: str
    wrong: str
    how: str  # "evidence", "start" or "written"


@dataclass(frozen=True)
class Lexicon:
    language: str
    words: frozenset[str]
    correct: frozenset[str]  # every word known to be spelled right, lower case
    misspellings: tuple[Misspelling, ...]
    # accent-stripped form -> the frequent words it strips from, when it is no word itself
    accented: dict[str, tuple[str, ...]]
    # (first letter, length) -> frequent words of five letters or more: what slips aim at
    targets: dict[tuple[str, int], tuple[str, ...]]
    # misspellings taken as evidence anywhere / at a sentence start, by `phrase_key`
    evidence: re.Pattern[str] | None
    at_start: re.Pattern[str] | None
    evidence_by_key: dict[str, tuple[Misspelling, ...]]
    # where the transform can write a misspelling: the correct forms, by `phrase_key`
    correct_forms: re.Pattern[str] | None
    by_correct: dict[str, tuple[Misspelling, ...]]


def phrase_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("’", "'")).strip()


def _regex(phrase: str) -> str:
    parts = []
    for ch in phrase:
        if ch in "'’":
            parts.append("['’]")
        elif ch == " ":
            parts.append(r"\s+")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


def _alternation(phrases: set[str]) -> str:
    return "|".join(_regex(p) for p in sorted(phrases, key=lambda p: (-len(p), p)))


# Not inside a word, a URL, an e-mail or a contraction, and not "c" of "c'est" or "u" of "U.S.".
_BEFORE = r"(?<![\w@/.'’-])"
_AFTER = r"(?![\w@/-]|['’]\w|\.\w)"


@cache
def lexicon(language: str) -> Lexicon | None:
    vocabulary = load("vocabulary").get(language)
    if vocabulary is None:
        return None
    words = frozenset(w.lower() for w in vocabulary["words"])
    misspellings = tuple(
        Misspelling(item[0], item[1], item[2] if len(item) > 2 else "evidence")
        for item in load("typos").get(language, ()))
    for m in misspellings:
        if m.how not in _HOWS:
            raise ValueError(f"typos.json: {m.how!r} for {m.wrong!r}; expected one of {_HOWS}")
    correct = frozenset(
        words | {w.lower() for w in vocabulary.get("also_correct", ())}
        | {w.lower() for m in misspellings for w in WORD.findall(m.correct) if len(w) > 1})

    accented: dict[str, list[str]] = {}
    for word in sorted(words):
        bare = strip_accents(word)
        if bare != word and bare not in correct:
            accented.setdefault(bare, []).append(word)
    targets: dict[tuple[str, int], list[str]] = {}
    for word in sorted(words):
        if len(word) >= 5 and WORD.fullmatch(word):
            targets.setdefault((word[0], len(word)), []).append(word)

    def counts(m: Misspelling) -> bool:
        # "there" for "their" is no evidence: it is a word; "rendez vous" is
        return m.how != "written" and not (
            WORD.fullmatch(m.wrong) and m.wrong.lower() in correct)

    anywhere = {m.wrong for m in misspellings if counts(m) and m.how == "evidence"}
    start = {m.wrong for m in misspellings if counts(m) and m.how == "start"}
    evidence_by_key: dict[str, list[Misspelling]] = {}
    for m in misspellings:
        if counts(m):
            evidence_by_key.setdefault(phrase_key(m.wrong), []).append(m)
    by_correct: dict[str, list[Misspelling]] = {}
    for m in misspellings:
        by_correct.setdefault(phrase_key(m.correct), []).append(m)

    def compile_(phrases: set[str], before: str) -> re.Pattern[str] | None:
        if not phrases:
            return None
        return re.compile(before + "(?:" + _alternation(phrases) + ")" + _AFTER, re.IGNORECASE)

    corrects = {m.correct for m in misspellings}
    return Lexicon(
        language=language, words=words, correct=correct, misspellings=misspellings,
        accented={k: tuple(v) for k, v in accented.items()},
        targets={k: tuple(v) for k, v in targets.items()},
        evidence=compile_(anywhere, _BEFORE), at_start=compile_(start, ""),
        evidence_by_key={k: tuple(v) for k, v in evidence_by_key.items()},
        correct_forms=(re.compile(r"(?<![\w'’-])(?:" + _alternation(corrects) + r")(?![\w'’-])",
                                  re.IGNORECASE) if corrects else None),
        by_correct={k: tuple(v) for k, v in by_correct.items()},
    )
