"""The Studio's words, one catalogue per language (en.py, fr.py) under the same stable
keys: the pages say them (web/i18n.py, the templates, static/*.js) and so do the API's
problem titles (problems.py). A new language is one more module here and one line below."""

from __future__ import annotations

from . import en, fr

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
MESSAGES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "fr": fr.MESSAGES}


def problem_title(lang: str, title: str) -> str | None:
    """A problem's English `title` in `lang`, or None when the catalogue has no word for it
    (a status phrase it does not know)."""
    return MESSAGES[lang].get("problem_title." + title.lower().replace(" ", "_"))


def accepted_language(accept_language: str | None) -> str | None:
    """The first language of an Accept-Language header that the catalogue has, or None."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return None
