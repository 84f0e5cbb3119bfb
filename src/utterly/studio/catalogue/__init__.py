"""The Studio's words, one catalogue per language (en.py, fr.py) under the same stable
keys: the pages say them (web/i18n.py, the templates, static/*.js) and so do the API's
problem titles (problems.py). A new language is one more module here and one line below.

The providers' names and their settings' labels are the registry's (utterly.providers):
`settings.provider.<name>`, and `settings.<field>` and `field.<field>` for each setting, so
that a new provider brings its own words."""

from __future__ import annotations

from ...providers import PROVIDERS, setting_fields
from . import en, fr

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


def _provider_words(lang: str) -> dict[str, str]:
    words = {f"settings.provider.{info.name}": info.label_in(lang)
             for info in PROVIDERS.values()}
    for spec in setting_fields():
        words[f"settings.{spec.name}"] = words[f"field.{spec.name}"] = spec.label_in(lang)
    return words


MESSAGES: dict[str, dict[str, str]] = {
    "en": {**en.MESSAGES, **_provider_words("en")},
    "fr": {**fr.MESSAGES, **_provider_words("fr")},
}


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
