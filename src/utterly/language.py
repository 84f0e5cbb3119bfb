"""Is a generated sentence in the language we asked for? Lenient on purpose.

Chatbot users write "slt cmt je change mn mdp stp", mistype, and name brands ("iPhone",
"PayPal"); such sentences are valuable training data and a language detector is unsure of
them. So a sentence is flagged only when it is long enough, lingua clearly prefers another
language, and the expected language scores almost nothing (thresholds below). A miss costs one off-language
sentence; a false alarm silently drops exactly the informal sentences we want.

Detector (measured on the 2-core dev host, see docs/quality.md): high-accuracy mode,
because low-accuracy mode (trigrams only) is wrong on short texts ("How do I reset my
password?" -> Italian 0.996). All 75 languages cost ~925 MB RSS and ~4.9 s on first use;
the 20 common languages below ~300 MB and ~1.5 s (models load lazily, per script, so
Cyrillic/CJK ones cost nothing until such text shows up). Fewer competitors also make the
expected language's score less diluted on noisy text, which is what leniency needs. An
expected language outside the list is added to it on demand.
"""

from __future__ import annotations

import threading
import unicodedata

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from .request import language_of
from .result import Why

COMMON_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "sv", "da", "tr", "ru",
                    "uk", "el", "ar", "he", "hi", "zh", "ja", "ko")

# lingua's top language must be at least this sure, the expected one at most this likely.
# Not 0.8 for the top: lingua spreads short English over Dutch, Danish, Italian... ("How do
# I reset my password please?" gets English 0.49), so 0.8 misses most English drift. What
# protects informal French is the expected-language ceiling: on 36 SMS / typo / brand-name
# French sentences French never scored under 0.08 ("Le Black Friday c'est quand ?": English
# 0.45, French 0.08), while foreign questions give French 0.00-0.02. With these values: 0/36
# French flagged, 16/22 English/Spanish/German... questions caught (the misses are short).
MIN_OTHER_CONFIDENCE = 0.25
MAX_EXPECTED_CONFIDENCE = 0.03

# BCP 47 primary subtags that lingua knows under another code (or as two languages).
_SYNONYMS = {"iw": ("he",), "in": ("id",), "ji": ("yi",), "no": ("nb", "nn"),
             "tl": ("tl",), "fil": ("tl",)}

_detectors: dict[frozenset[Language], LanguageDetector] = {}
_lock = threading.Lock()


def _language(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code.upper()))
    except (ValueError, AttributeError, TypeError):
        return None


def expected_languages(locale: str) -> tuple[Language, ...]:
    """lingua languages for a BCP 47 tag ("fr", "fr-FR", "en_GB"); empty if unknown."""
    primary = language_of(locale)
    codes = _SYNONYMS.get(primary, (primary,))
    return tuple(lang for lang in map(_language, codes) if lang is not None)


def _base_languages() -> frozenset[Language]:
    return frozenset(lang for lang in map(_language, COMMON_LANGUAGES) if lang is not None)


def get_detector(extra: tuple[Language, ...] = ()) -> LanguageDetector:
    """The detector over the common languages (plus `extra`), built once per set."""
    languages = _base_languages() | frozenset(extra)
    detector = _detectors.get(languages)
    if detector is None:
        with _lock:
            detector = _detectors.get(languages)
            if detector is None:
                # lingua keeps its models in a process-wide cache, so a second detector
                # sharing languages costs no memory for those.
                detector = LanguageDetectorBuilder.from_languages(*languages).build()
                _detectors[languages] = detector
    return detector


def _code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def _display(language: Language) -> str:
    return language.name.capitalize()


def _letter_weight(text: str) -> int:
    """Letters, with a CJK character worth three: one carries about a word."""
    weight = 0
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            weight += 3 if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) else 1
    return weight


def detect_language(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, confidence 0-1) of the most likely common language; (None, 0.0)."""
    if not text or not any(ch.isalpha() for ch in text):
        return None, 0.0
    values = get_detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return None, 0.0
    return _code(values[0].language), float(values[0].value)


def is_wrong_language(text: str, expected: str, *, min_chars: int = 12,
                      min_confidence: float = MIN_OTHER_CONFIDENCE,
                      max_expected: float = MAX_EXPECTED_CONFIDENCE) -> tuple[bool, str]:
    """(True, why) only when `text` is clearly not in `expected` (a BCP 47 tag).

    Never flags text under `min_chars` letters, nor a language lingua does not know."""
    languages = expected_languages(expected)
    if not languages:
        return False, f"language {expected!r} cannot be checked"
    if _letter_weight(text or "") < min_chars:
        return False, "too short to judge the language"
    values = get_detector(languages).compute_language_confidence_values(text)
    if not values:
        return False, "no language recognised"
    scores = {cv.language: float(cv.value) for cv in values}
    top = values[0].language
    top_score = scores[top]
    expected_score = sum(scores.get(lang, 0.0) for lang in languages)
    if top in languages or top_score < min_confidence or expected_score > max_expected:
        return False, f"{_display(top)} {top_score:.2f}, {_display(languages[0])} " \
                      f"{expected_score:.2f}"
    return True, Why("other_language", f"looks like {_display(top)} ({top_score:.2f}), not "
                     f"{_display(languages[0])} ({expected_score:.2f})", language=_code(top),
                     expected=_code(languages[0]))
