"""The Studio's UI strings: French typography, plural forms, and a translation for every
problem code the Studio can answer with (the pages translate problems by their code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from utterly.errors import ErrorCode
from utterly.studio.web.i18n import MESSAGES, plural, text

STUDIO = Path(__file__).parents[1] / "src" / "utterly" / "studio"
NO_BREAK = "\u00a0\u202f"
# Problems the pages never show through problemText: the import dialog words a refused
# import itself (gen.refused); bearer tokens and bare HTTP errors are for API clients.
UNTRANSLATED = {"import_refused", "invalid_token", "http_error"}


def test_both_languages_have_the_same_keys():
    assert set(MESSAGES["en"]) == set(MESSAGES["fr"])


@pytest.mark.parametrize("key", sorted(MESSAGES["fr"]))
def test_french_puts_a_no_break_space_before_high_punctuation(key):
    message = MESSAGES["fr"][key]
    for match in re.finditer(r"[:;?!»](?!//)", message):  # not an address's "://"
        before = message[match.start() - 1] if match.start() else ""
        assert before in NO_BREAK, f"{key}: {message!r} at {match.start()}"
    for match in re.finditer("«", message):
        after = message[match.end():match.end() + 1]
        assert after in NO_BREAK, f"{key}: {message!r} at {match.start()}"


def test_no_plain_space_before_punctuation_in_french():
    offenders = {k: m for k, m in MESSAGES["fr"].items() if re.search(r" [:;?!]", m)}
    assert offenders == {}


@pytest.mark.parametrize("lang, count, category", [
    ("fr", 0, "one"), ("fr", 1, "one"), ("fr", 1.5, "one"), ("fr", 2, "other"),
    ("en", 0, "other"), ("en", 1, "one"), ("en", 2, "other"), ("en", "x", "other")])
def test_plural_categories_follow_cldr(lang, count, category):
    assert plural(lang, count) == category


def test_a_count_picks_the_singular_form_in_each_language():
    assert text("fr", "gen.results", count=1) == "1 phrase générée"
    assert text("fr", "gen.results", count=0) == "0 phrase générée"
    assert text("fr", "gen.results", count=8) == "8 phrases générées"
    assert text("en", "gen.results", count=1) == "1 sentence generated"
    assert text("en", "gen.results", count=0) == "0 sentences generated"
    # a key without a singular form is used as it is
    assert text("fr", "history.none") == MESSAGES["fr"]["history.none"]


def test_every_singular_form_has_its_plural_key_and_the_same_placeholders():
    for lang, table in MESSAGES.items():
        for key, message in table.items():
            if key.endswith(".one"):
                base = table[key.removesuffix(".one")]
                assert set(re.findall(r"{(\w+)}", message)) <= set(re.findall(r"{(\w+)}", base)), \
                    (lang, key)


def _studio_codes() -> set[str]:
    codes = set()
    for path in STUDIO.rglob("*.py"):
        codes |= set(re.findall(r'code="([a-z_]+)"', path.read_text()))
        codes |= set(re.findall(r'\d{3}: "([a-z_]+)"', path.read_text()))
    for path in STUDIO.rglob("*.py"):
        for match in re.finditer(r'status, code, title = \d+, "([a-z_]+)"', path.read_text()):
            codes.add(match.group(1))
    return codes | {str(c) for c in ErrorCode}


def test_every_problem_code_a_page_can_show_is_translated():
    codes = _studio_codes()
    assert {"invalid_credentials", "model_not_trained", "unreachable", "not_found"} <= codes
    missing = {c for c in codes - UNTRANSLATED if f"problem.{c}" not in MESSAGES["en"]}
    assert missing == set()


def test_every_generation_notice_code_is_translated():
    source = (STUDIO.parent / "pipeline.py").read_text() + (STUDIO.parent / "clean.py").read_text()
    codes = set(re.findall(r'Notice\(\s*"([a-z_]+)"', source))
    assert codes == {"timed_out", "cancelled", "too_few_passed", "embeddings_skipped"}
    assert {c for c in codes if f"notice.{c}" not in MESSAGES["fr"]} == set()
