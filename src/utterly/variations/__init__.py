"""Deterministic, locale-aware variations: spelling mistakes, SMS language, abbreviations.

Small models mostly ignore "write some sentences in SMS language"; the pipeline uses these
transforms to keep that promise on valid paraphrases.

    shows_variation("cmt réinitialiser mon mdp svp", "fr", "sms_language")          # True
    apply_variation("Comment réinitialiser mon mot de passe ?", "fr", "sms_language", seed=1)
    # -> "cmt réinitialiser mon mdp ?"  (another spelling with another seed)
    apply_variation("Pourquoi ma carte est bloquée ?", "fr", "spelling_mistakes", seed=1)
    # -> a sentence with one or two typos people make: "bloquee", "pk", "cest", "commnade"

Every transform is a pure function of (text, locale, kind, seed), seeded with its own
`random.Random`, so a run can be replayed. SMS and abbreviation tables exist for the
languages of `supported_languages()`; keyboard typos work for any Latin-script text, and are
recognised where a vocabulary exists (fr, en).

The modules: `tables` (SMS and abbreviations), `typos` (making spelling mistakes),
`typo_check` (recognising them), `lexicon` (the words and misspellings they use),
`keyboard` (layouts), `text` (shared helpers), `datafiles` (reads the word tables,
data/*.json).
"""

from __future__ import annotations

import random

from ..request import language_of
from . import tables
from .keyboard import keyboard_neighbours
from .typo_check import shows_typo
from .typos import spelling_transform

__all__ = [
    "KINDS", "apply_variation", "keyboard_neighbours", "shows_variation",
    "supported_languages", "variation_tokens",
]

KINDS = ("spelling_mistakes", "sms_language", "abbreviated_language")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown variation kind {kind!r}; expected one of {KINDS}")


def supported_languages() -> set[str]:
    """Languages with SMS and abbreviation tables (typos work for any Latin-script text)."""
    return tables.languages()


def variation_tokens(locale: str, kind: str) -> set[str]:
    """The spellings (lower case, no final dot) that `shows_variation` takes as evidence.

    Empty for spelling mistakes, which are recognised against a vocabulary instead.
    """
    _check_kind(kind)
    if kind == "spelling_mistakes":
        return set()
    return set(tables.tokens(language_of(locale), kind))


def shows_variation(text: str, locale: str, kind: str) -> bool:
    """Does `text` already visibly carry this variation?

    Conservative: a false "no" costs one more transform, a false "yes" a missing variation.
    """
    _check_kind(kind)
    language = language_of(locale)
    if kind == "spelling_mistakes":
        return shows_typo(text, language)
    return tables.shows_token(text, language, kind)


def apply_variation(text: str, locale: str, kind: str, *, seed: int) -> str | None:
    """`text` with the variation applied, or None when nothing applies.

    SMS and abbreviations need the language's tables (`supported_languages()`); spelling
    mistakes need Latin-script words.
    """
    _check_kind(kind)
    language = language_of(locale)
    rng = random.Random(f"{seed}:{kind}:{language}:{text}")
    if kind == "spelling_mistakes":
        out = spelling_transform(text, language, rng)
    elif kind == "sms_language":
        out = tables.sms_transform(text, language, rng)
    else:
        out = tables.abbreviation_transform(text, language, rng)
    if out is None or not out.strip() or out == text:
        return None
    return out
