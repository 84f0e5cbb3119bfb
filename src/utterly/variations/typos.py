"""Spelling mistakes as people make them.

By frequency: accents left out ("reinitialiser", "deja"), apostrophes and hyphens left out
("jai", "cest", "dont", "est ce que"), known misspellings and lazy spellings from
data/typos.json ("recieve", "connection", "pk", "wanna"), a slip onto a neighbouring key of
the language's keyboard, two letters swapped ("chnage"), one of a doubled letter dropped
("adress"), rarely another letter dropped; and, alongside, a lower-case first letter or a
missing final mark. A transform makes one or two of them, never on the first letter of a word
(but for case and the table's misspellings), never tripling a letter or doubling one the
table does not, and never in numbers, URLs, e-mails, acronyms or brand names.

At least one mistake is one `shows_variation` recognises, when the language has a lexicon,
and one that survives `normalize` (which drops accents, case and punctuation): a sentence
whose only mistakes are accents is, for the pipeline, the same sentence.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..normalize import normalize
from .keyboard import keyboard_neighbours, layout_for
from .lexicon import WORD, Lexicon, lexicon, phrase_key
from .text import (
    is_latin,
    overlaps,
    protected_spans,
    sentence_starts,
    splice,
    strip_accents,
)
from .typo_check import shows_typo


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    new: str
    kind: str
    word: tuple[int, int]  # the words it touches: a second mistake goes elsewhere
    weight: float = 1.0  # among the mistakes of its kind


# How often each kind of mistake is chosen, among those the sentence allows.
_WEIGHTS = {
    "accent": 6.0, "apostrophe": 5.0, "known": 5.0, "hyphen": 1.5, "neighbour": 1.8,
    "swap": 1.2, "pronoun": 2.0, "dedouble": 1.0, "drop": 0.3, "lower": 1.0,
    "punctuation": 1.0,
}
_COSMETIC = {"lower", "punctuation"}  # never a mistake on their own
# Does the mistake survive `normalize`? Accents, case, punctuation and hyphens do not; a table
# misspelling or a split compound may or may not ("probleme", "email").
_VISIBLE = {
    "accent": False, "pronoun": False, "lower": False, "punctuation": False,
    "apostrophe": True, "neighbour": True, "swap": True, "dedouble": True, "drop": True,
}
_SECOND = 0.45  # chance of a second mistake
_TRIES = 40  # first mistakes tried for one that shows before taking any

_CONTRACTION = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)+")
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
_PRONOUN_I = re.compile(r"(?<![\w'’-])I(?=['’][a-z]|[\s,;:!?]|$)")
_FINAL_PUNCTUATION = re.compile(r"\s*[?!.…]+\s*$")


def _bare(text: str) -> str:
    return strip_accents(text.lower())


def _doubles(word: str) -> set[str]:
    bare = _bare(word)
    return {bare[i:i + 2] for i in range(len(bare) - 1) if bare[i] == bare[i + 1]}


def _tripled(word: str) -> bool:
    bare = _bare(word)
    return any(bare[i] == bare[i + 1] == bare[i + 2] for i in range(len(bare) - 2))


def _plausible(before: str, after: str) -> bool:
    # "paasse", "troouve" are no one's typos: no new doubled letter, no tripled one
    return not _tripled(after) and _doubles(after) <= _doubles(before)


def _plain(match: re.Match[str], protected: list[tuple[int, int]]) -> bool:
    """A word the mistakes may touch: Latin, no digits or URL, no capital past the first."""
    word = match.group()
    return (not overlaps(match.span(), protected) and is_latin(re.sub(r"['’-]", "", word))
            and not any(c.isupper() for c in word[1:]))


def _kind_of(correct: str, wrong: str) -> str:
    # a table misspelling that only drops accents, apostrophes or hyphens is one of those
    bare = strip_accents(correct)
    if wrong in (bare, correct.lower(), bare.lower()) and bare != correct:
        return "accent"
    for mark, kind in (("'", "apostrophe"), ("’", "apostrophe"), ("-", "hyphen")):
        if mark in correct:
            joined = correct.replace(mark, "" if kind == "apostrophe" else " ")
            if wrong in (joined, strip_accents(joined)):
                return kind
    return "known"


def _known(text: str, lex: Lexicon, protected: list[tuple[int, int]]) -> list[_Edit]:
    if lex.correct_forms is None:
        return []
    edits = []
    for m in lex.correct_forms.finditer(text):
        matched = m.group()
        if overlaps(m.span(), protected) or any(
                len(w) > 1 and w.isupper() for w in WORD.findall(matched)):
            continue  # "PASSWORD", "NASA": shouted or an acronym
        for entry in lex.by_correct.get(phrase_key(matched), ()):
            new = entry.wrong
            if matched[0].isupper() and entry.correct[0].islower():
                new = new[:1].upper() + new[1:]  # "Pourquoi" -> "Pk", but "I'm" -> "im"
            if new != matched and not _tripled(new):
                kind = _kind_of(matched, new)
                # "teh", "adn": real, but "the" is in every sentence
                weight = 0.25 if kind == "known" and len(matched) <= 3 else 1.0
                edits.append(_Edit(m.start(), m.end(), new, kind, m.span(), weight))
    return edits


def _words(text: str, protected: list[tuple[int, int]], language: str) -> list[_Edit]:
    edits = []
    for m in _CONTRACTION.finditer(text):
        if _plain(m, protected):
            new = m.group().replace("'", "").replace("’", "")
            edits.append(_Edit(m.start(), m.end(), new, "apostrophe", m.span()))
    for m in _COMPOUND.finditer(text):
        if _plain(m, protected):
            parts = m.group().split("-")
            # "e-mail" -> "email", "est-ce" -> "est ce"
            new = parts[0] + "".join(("" if len(parts[0]) == 1 else " ") + p for p in parts[1:])
            edits.append(_Edit(m.start(), m.end(), new, "hyphen", m.span()))
    for m in WORD.finditer(text):
        word = m.group()
        if not _plain(m, protected):
            continue
        # accents: all of them but a first letter's (German umlauts are keys of their own)
        if language != "de" and strip_accents(word[0]) == word[0]:
            new = word[0] + strip_accents(word[1:])
            if new != word and not _tripled(new):
                edits.append(_Edit(m.start(), m.end(), new, "accent", m.span()))
    return edits


def _slips(text: str, protected: list[tuple[int, int]], lex: Lexicon | None,
           layout: str) -> list[_Edit]:
    edits = []
    for m in WORD.finditer(text):
        word = m.group()
        n = len(word)
        if n < 4 or not _plain(m, protected):
            continue
        made: list[tuple[str, str]] = []
        for i in range(1, n - 1):  # never the first letter, nor the last (grammar)
            made += [(word[:i] + k + word[i + 1:], "neighbour")
                     for k in keyboard_neighbours(word[i], layout)]
            if i + 1 < n - 1 and _bare(word[i]) != _bare(word[i + 1]):
                made.append((word[:i] + word[i + 1] + word[i] + word[i + 2:], "swap"))
            if word[i].lower() == word[i - 1].lower():
                made.append((word[:i] + word[i + 1:], "dedouble"))  # "adress", "comande"
            elif n >= 6 and word[i].lower() != word[i + 1].lower():
                made.append((word[:i] + word[i + 1:], "drop"))
        for new, kind in made:
            if not _plausible(word, new):
                continue
            if lex is not None and new.lower() in lex.correct:
                continue  # "where" -> "were" is a typo nobody sees
            edits.append(_Edit(m.start(), m.end(), new, kind, m.span()))
    return edits


def _surface(text: str, protected: list[tuple[int, int]], language: str) -> list[_Edit]:
    edits = []
    if language == "en":
        edits += [_Edit(m.start(), m.end(), "i", "pronoun", m.span())
                  for m in _PRONOUN_I.finditer(text) if not overlaps(m.span(), protected)]
    if m := re.match(r"\s*([^\W\d_]+)", text):
        word = m.group(1)
        if (word[0].isupper() and is_latin(word) and not any(c.isupper() for c in word[1:])
                and not overlaps(m.span(1), protected)):
            edits.append(_Edit(m.start(1), m.start(1) + 1, word[0].lower(), "lower", m.span(1)))
    if (m := _FINAL_PUNCTUATION.search(text)) and WORD.search(text[:m.start()]) \
            and not overlaps(m.span(), protected):
        edits.append(_Edit(m.start(), m.end(), "", "punctuation", m.span()))
    return edits


def _candidates(text: str, language: str, lex: Lexicon | None) -> list[_Edit]:
    protected = protected_spans(text)
    # A capitalised word inside a sentence is a name or a brand ("Orange", "Nest"), but in
    # German, where every noun has its capital.
    starts = sentence_starts(text)
    names = [] if language == "de" else [
        m.span() for m in WORD.finditer(text)
        if len(m.group()) > 1 and m.group()[0].isupper() and m.start() not in starts]
    shielded = protected + names
    found = (_known(text, lex, shielded) if lex is not None else []) \
        + _words(text, shielded, language) + _slips(text, shielded, lex, layout_for(language)) \
        + _surface(text, protected, language)
    seen, out = set(), []
    for edit in found:
        if (edit.start, edit.end, edit.new) not in seen and text[edit.start:edit.end] != edit.new:
            seen.add((edit.start, edit.end, edit.new))
            out.append(edit)
    return out


def _pick(pool: list[_Edit], rng: random.Random) -> _Edit:
    # a kind of mistake by its weight (less when all it offers is unlikely), then one of it
    best: dict[str, float] = {}
    for e in pool:
        best[e.kind] = max(best.get(e.kind, 0.0), e.weight)
    kinds = sorted(best)
    kind = rng.choices(kinds, weights=[_WEIGHTS[k] * best[k] for k in kinds])[0]
    chosen = [e for e in pool if e.kind == kind]
    return rng.choices(chosen, weights=[e.weight for e in chosen])[0]


def _clash(a: _Edit, b: _Edit) -> bool:
    return a.word[0] < b.word[1] and b.word[0] < a.word[1]


def spelling_transform(text: str, language: str, rng: random.Random) -> str | None:
    lex = lexicon(language)
    candidates = _candidates(text, language, lex)
    key = normalize(text)
    visible = {e: _VISIBLE.get(e.kind, None) for e in candidates}
    for e in candidates:
        if visible[e] is None:
            visible[e] = normalize(splice(text, [(e.start, e.end, e.new)])) != key

    def render(edits: list[_Edit]) -> str:
        return splice(text, [(e.start, e.end, e.new) for e in edits])

    def completions(anchor: _Edit) -> list[_Edit]:
        # what may join `anchor`; when it alone would vanish in `normalize`, something that won't
        return [e for e in candidates if not _clash(e, anchor)
                and (visible[anchor] or visible[e])]

    # The first mistake: one that shows, and that is seen (itself or with a second one).
    pool = [e for e in candidates if e.kind not in _COSMETIC]
    anchor = None
    for _ in range(_TRIES):
        if not pool:
            break
        edit = _pick(pool, rng)
        pool.remove(edit)
        if (visible[edit] or completions(edit)) and (
                lex is None or shows_typo(render([edit]), language)):
            anchor = edit
            break
    if anchor is None:
        usable = [e for e in candidates if e.kind not in _COSMETIC
                  and (visible[e] or completions(e))]
        if not usable:
            return None
        anchor = _pick(usable, rng)
    edits = [anchor]
    if rng.random() < _SECOND or not visible[anchor]:
        if others := completions(anchor):
            edits.append(_pick(others, rng))
    out = render(edits)
    if len(edits) == 2 and lex is not None and shows_typo(render([anchor]), language) \
            and not shows_typo(out, language) and visible[anchor]:
        out = render([anchor])  # the second mistake hid the first
    return out if normalize(out) != key else None
