"""Recognising spelling mistakes: does a text show one? Conservative by design.

A false "yes" costs a missing variation (the pipeline skips a sentence it takes for already
misspelled), a false "no" only one more transform; so only what is surely a typo counts:
a known misspelling (data/typos.json), a frequent word without its accents, a French
elision without its apostrophe ("jai", "lapplication"), a keyboard slip, swap, doubled or
dropped letter in a frequent word, and the English lower-case "i". Capitalised words inside
a sentence (names, brands), acronyms, numbers, URLs and e-mails are never taken for typos.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .keyboard import keyboard_neighbours, layout_for
from .lexicon import WORD, Lexicon, lexicon, phrase_key
from .text import is_latin, overlaps, protected_spans, sentence_starts, strip_accents

# French elisions, longest first: "qu'il", "l'appli", "j'arrive"
_ELISIONS = ("jusqu", "lorsqu", "puisqu", "qu", "l", "d", "j", "m", "t", "s", "c", "n")
_VOWELS = set("aeiouyhâàéèêëîïôûù")
_LOWER_I = re.compile(r"(?<![\w'’.@/(-])i(?:['’](?:m|ve|ll|d))?(?![\w'’@/)-]|\.\w)")
_ELIDED = re.compile(r"['’]\w")


def accents_dropped(word: str, known: str) -> bool:
    """Is `word` the frequent word `known` missing accents, neither first nor last letter?

    A missing final accent is often another word ("commande", "livre"), and a capital without
    its accent ("Etat") is an old typographic habit, not a typo.
    """
    if len(word) != len(known):
        return False
    diff = [i for i in range(len(word)) if word[i] != known[i]]
    return (bool(diff) and diff[0] > 0 and diff[-1] < len(word) - 1
            and all(strip_accents(known[i]) == word[i] for i in diff))


def is_typo_of(word: str, known: str, layout: str) -> bool:
    """One slip away from `known`: a doubled letter, a dropped letter, accents dropped, a
    neighbouring key, two letters swapped. Never the first letter, and never the last,
    whose changes read as grammar ("orders", "commandé")."""
    if word[:1] != known[:1]:
        return False
    if len(word) == len(known) + 1:  # doubled letter
        return any(word[i] == word[i - 1] and word[:i] + word[i + 1:] == known
                   for i in range(1, len(word)))
    if len(word) == len(known) - 1:  # dropped letter, not the last one
        return any(known[:i] + known[i + 1:] == word for i in range(1, len(known) - 1))
    if len(word) != len(known):
        return False
    diff = [i for i in range(len(word)) if word[i] != known[i]]
    if not diff or diff[-1] == len(word) - 1:
        return False
    if all(strip_accents(known[i]) == word[i] for i in diff):
        return True
    if len(diff) == 1:
        i = diff[0]
        return word[i] in keyboard_neighbours(known[i], layout)
    return (len(diff) == 2 and diff[1] == diff[0] + 1
            and word[diff[0]] == known[diff[1]] and word[diff[1]] == known[diff[0]])


def _without_apostrophe(word: str, lex: Lexicon) -> bool:
    # "lapplication", "jarrive", "narrive", "lecran": an elision and a frequent word
    for prefix in _ELISIONS:
        rest = word[len(prefix):]
        if word.startswith(prefix) and len(rest) >= 4 and rest[0] in _VOWELS:
            if rest in lex.words or strip_accents(rest) in lex.accented:
                return True
    return False


@lru_cache(maxsize=65536)
def misspelt(word: str, language: str) -> bool:
    """Is this lower-case word, alone, surely a spelling mistake in `language`?"""
    lex = lexicon(language)
    if lex is None or word in lex.correct:
        return False
    if any(accents_dropped(word, known) for known in lex.accented.get(strip_accents(word), ())):
        return True
    if language == "fr":
        if _without_apostrophe(word, lex):
            return True
        # "bloquee", "annulees": French has no "-ee" ending but the accented one
        if len(word) >= 6 and word.isascii() and re.fullmatch(r"[a-z]+[^e]ees?", word):
            return True
    layout = layout_for(language)
    n = len(word)
    return any(is_typo_of(word, known, layout)
               for length in (n - 1, n, n + 1)
               for known in lex.targets.get((word[0], length), ()))


def _known_misspelling(text: str, lex: Lexicon, protected: list[tuple[int, int]],
                       starts: set[int]) -> bool:
    found = []
    if lex.evidence is not None:
        found += list(lex.evidence.finditer(text))
    if lex.at_start is not None:
        found += [m for start in sorted(starts) if (m := lex.at_start.match(text, start))]
    for m in found:
        written = m.group()
        if overlaps(m.span(), protected):
            continue
        letters = [c for c in written if c.isalpha()]
        if len(letters) == 1 and not written.islower():
            continue  # "C" and "U" are letters and initials
        if all(c.isupper() for c in letters) and len(letters) < 4:
            continue  # "PK", "CA", "NY", "IM" are acronyms
        if written[0].isupper() and m.start() not in starts and " " not in written:
            continue  # a capitalised word inside a sentence is a name ("Nest")
        meant = lex.evidence_by_key.get(phrase_key(written), ())
        if written[0].isupper() and any(
                x.correct[0] != x.wrong[0] and strip_accents(x.correct[0]) == x.wrong[0]
                for x in meant):
            continue  # "Ca", "A la": capitals often go without their accent
        return True
    return False


def shows_typo(text: str, language: str) -> bool:
    lex = lexicon(language)
    if lex is None:
        return False  # not knowing the words, we cannot tell a typo from a rare word
    protected = protected_spans(text)
    starts = sentence_starts(text)
    if _known_misspelling(text, lex, protected, starts):
        return True
    if language == "en" and any(not overlaps(m.span(), protected)
                                for m in _LOWER_I.finditer(text)):
        return True
    for m in WORD.finditer(text):
        word = m.group()
        if len(word) < 4 or overlaps(m.span(), protected) or not is_latin(word):
            continue
        if any(c.isupper() for c in word[1:]):
            continue  # acronyms and brand names ("SNCF", "iPhone", "McDo")
        if word[0].isupper() and m.start() not in starts:
            continue  # names and brands inside a sentence ("Nest", "Orange")
        if _ELIDED.match(text, m.end()):
            continue  # "jusqu'", "aujourd'": half a word
        if misspelt(word.lower(), language):
            return True
    return False
