"""The pages' language: chosen from the cookie or the browser, and the words of the
catalogue (studio/catalogue) in it, with their values and plural forms."""

from __future__ import annotations

from ..catalogue import DEFAULT_LANGUAGE, LANGUAGES, MESSAGES, accepted_language


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    return accepted_language(accept_language) or DEFAULT_LANGUAGE


def plural(lang: str, count) -> str:
    """The CLDR plural category of `count` ("one" or "other"), as Intl.PluralRules gives it
    in app.js: French counts 0 and 1 as one ("0 phrase"), English only 1."""
    try:
        n = abs(float(count))
    except (TypeError, ValueError):
        return "other"
    if lang == "fr":
        return "one" if n < 2 else "other"
    return "one" if n == 1 else "other"


def text(lang: str, key: str, **values) -> str:
    """The message `key` in `lang` with its values; a key with a `<key>.one` form takes it
    when `count` is singular in that language."""
    table = MESSAGES[lang]
    if "count" in values and plural(lang, values["count"]) == "one" and f"{key}.one" in table:
        key = f"{key}.one"
    message = table.get(key) or MESSAGES[DEFAULT_LANGUAGE].get(key, key)
    return message.format(**values) if values else message


def translator(lang: str):
    def t(key: str, **values) -> str:
        return text(lang, key, **values)

    return t
