"""The Studio's UI strings: French typography, plural forms, and a translation for every
problem code the Studio can answer with (the pages translate problems by their code), every
reason of an invalid input, every detail of a rejection and every export failure, each in
French words with all its values."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.problem_walk import ENGLISH, PLACEHOLDER, UNTRANSLATED, studio_codes
from utterly.clean import Cleaner
from utterly.errors import validation_reason
from utterly.observability.tracer import failure_code
from utterly.parse import parse_sentences
from utterly.studio.web.i18n import MESSAGES, plural, text

STUDIO = Path(__file__).parents[1] / "src" / "utterly" / "studio"
SOURCE = STUDIO.parent
NO_BREAK = "\u00a0\u202f"
# The errors of pydantic that the API's bodies can give (their `type`, an invalid input's
# `reason`), beyond the ones tests/studio/test_api_problems_french.py causes
PYDANTIC_REASONS = {
    "missing", "extra_forbidden", "json_invalid", "json_type", "string_too_short",
    "string_too_long", "too_short", "too_long", "greater_than_equal", "less_than_equal",
    "greater_than", "less_than", "int_parsing", "int_type", "int_from_float", "float_parsing",
    "float_type", "finite_number", "bool_parsing", "bool_type", "string_type", "list_type",
    "dict_type", "model_type", "model_attributes_type", "literal_error", "enum",
    "string_pattern_mismatch", "value_error",
    "empty"}  # errors.validation_reason's name for a string_too_short of one character


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


def test_every_problem_code_a_page_can_show_is_translated():
    codes = studio_codes()
    assert {"invalid_credentials", "model_not_trained", "unreachable", "not_found",
            "all_items_failed", "creator_deleted"} <= codes
    for lang in MESSAGES:
        missing = {c for c in codes - UNTRANSLATED if f"problem.{c}" not in MESSAGES[lang]}
        assert missing == set(), lang


def _source_reasons() -> set[str]:
    """The `reason` of every invalid input raised in the source (an error shortly before)."""
    reasons = set()
    for path in SOURCE.rglob("*.py"):
        source = path.read_text()
        for match in re.finditer(r'reason="([a-z_0-9]+)"', source):
            if re.search(r"(Invalid|InvalidRequest|StudioError)\(", source[match.start() - 400:
                                                                          match.start()]):
                reasons.add(match.group(1))
        reasons |= set(re.findall(r'PydanticCustomError\(\s*"([a-z_]+)"', source))
    return reasons


def _template_reasons() -> set[str]:
    # prompt.render names them template_<problem>, the problems of template_limits
    source = (SOURCE / "template_limits.py").read_text()
    problems = set(re.findall(r'"problem": "([a-z_]+)"', source))
    problems |= set(re.findall(r'\), "([a-z_]+)", (?:None|"\w+")\)', source))
    return {f"template_{p}" for p in problems | {"runtime"}}


def test_every_reason_of_an_invalid_input_is_worded_in_both_languages():
    reasons = _source_reasons() | _template_reasons() | PYDANTIC_REASONS
    assert {"url_spaces", "locale_not_in_bot", "template_unexpected", "template_unclosed",
            "template_undefined", "empty", "name_format", "locale_format"} <= reasons
    for lang in MESSAGES:
        assert {r for r in reasons if f"invalid.{r}" not in MESSAGES[lang]} == set(), lang


@pytest.mark.parametrize("error, reason, params", [
    ({"type": "string_too_short", "ctx": {"min_length": 1}}, "empty", {}),
    ({"type": "string_too_short", "ctx": {"min_length": 2}}, "string_too_short",
     {"min_length": 2}),
    ({"type": "greater_than_equal", "ctx": {"ge": 1}}, "greater_than_equal", {"ge": 1}),
    # words and objects of the context stay out: only its numbers are values to show
    ({"type": "literal_error", "ctx": {"expected": "'admin' or 'viewer'"}}, "literal_error", {}),
    ({"type": "value_error", "ctx": {"error": ValueError("x")}}, "value_error", {}),
    ({"type": "bool_parsing"}, "bool_parsing", {})])
def test_a_pydantic_error_gives_its_type_and_its_numbers(error, reason, params):
    assert validation_reason(error) == (reason, params)


def _families(lang: str) -> dict[str, str]:
    prefixes = ("problem.", "invalid.", "rejection.", "export_failure.", "field.", "parse.")
    return {k: m for k, m in MESSAGES[lang].items() if k.startswith(prefixes)}


def test_server_messages_take_the_same_values_in_both_languages():
    for key, english in _families("en").items():
        french = MESSAGES["fr"][key]
        assert set(re.findall(r"{(\w+)}", french)) == set(re.findall(r"{(\w+)}", english)), key


def test_server_messages_in_french_have_no_english_word():
    for key, french in _families("fr").items():
        filled = re.sub(r"{\w+}", "X", french)
        assert not ENGLISH.search(filled), (key, french)


def test_french_never_writes_a_plural_as_s_in_brackets():
    # "1 appel(s)": a count takes the `.one` form, or the sentence is said another way
    assert {k: m for k, m in MESSAGES["fr"].items() if "(s)" in m} == {}


def _rejections() -> list:
    """Rejections of the cheap filters, as a generation gets them (no embedder)."""
    cleaner = Cleaner(inputs=["Où est mon colis ?"], locale="fr")
    # in a thread of its own: a browser test run before may leave its loop in this one
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, cleaner.add([
        "Où est mon colis ?", "Ou est mon coli ?", "!!", "x" * 201,
        "Bonjour, votre colis arrive demain.", "Voici le suivi de la commande.",
        "Where is my parcel right now please?",
        "Quand vais-je recevoir ma commande ?", "Quand vais-je recevoir ma commande ?",
        "Quand vais-je recevoir ma commande ? Je l'attends toujours"])).result()


def test_every_rejection_detail_is_worded_in_french_with_its_values():
    rejected = _rejections()
    codes = {r.code for r in rejected}
    assert {"same_words_as_example", "letters_as_example", "no_words", "too_many_characters",
            "reply_opener", "speaks_to_user", "other_language", "same_words_as_other",
            "words_added"} <= codes
    for r in rejected:
        shown = text("fr", f"rejection.{r.code}", **r.params)
        assert not PLACEHOLDER.search(shown) and not ENGLISH.search(shown), (r, shown)
    written = set()
    for path in SOURCE.rglob("*.py"):
        written |= set(re.findall(r'Why\(\s*"([a-z_]+)"', path.read_text()))
    assert {c for c in written if f"rejection.{c}" not in MESSAGES["fr"]} == set()
    assert {c for c in written if f"rejection.{c}" not in MESSAGES["en"]} == set()


@pytest.mark.parametrize("reason, code", [
    ("HTTP 503", "http_status"), ("ReadTimeout", "timeout"), ("ConnectError", "connection"),
    ("shut down", "shutdown"), ("shutdown before they were sent", "shutdown"),
    ("score queue full", "queue_full"), ("KeyError", "other")])
def test_every_export_failure_is_worded_in_french(reason, code):
    found, params = failure_code(reason)
    assert found == code
    shown = text("fr", f"export_failure.{code}", **params)
    assert not PLACEHOLDER.search(shown) and not ENGLISH.search(shown) and "Error" not in shown


def test_every_generation_notice_code_is_translated():
    source = (STUDIO.parent / "pipeline.py").read_text() + (STUDIO.parent / "clean.py").read_text()
    codes = set(re.findall(r'Notice\(\s*"([a-z_]+)"', source))
    assert codes == {"timed_out", "cancelled", "too_few_passed", "embeddings_skipped",
                     "variation_short", "variation_no_table"}
    assert {c for c in codes if f"notice.{c}" not in MESSAGES["fr"]} == set()


# Answers that give every note of the parser (parse.py), each with its values
_ODD_ANSWERS = [
    "", '{"sentences": []}', '{"sentences": [', '{"sentences": ["a b", "c', '{"sentences": [}',
    "Sorry, I cannot help with that.", "Hello there friend\n!!!\n???", "\t\n",
    '{"s": "Un"}\n{"s": "Deux"}', '["Un"] puis ["Deux", "Trois"]',
    '{"sentences": ["Un", "Deux", "!!"', '{"sentences": ["Un", "Deux"], "x": [}',
    "{'sentences': ['Un', 'Deux']}", "Voici :\n1. Un ?\n2. Deux ?\n3. ...\nFin du texte",
    "Voici :\nUn ?\nDeux ?\n...\n" + "x " * 200,
    "Votre colis arrive demain."]


def test_every_parse_note_is_worded_in_both_languages_with_its_values():
    notes = [note for answer in _ODD_ANSWERS for note in parse_sentences(answer).problems]
    written = set(re.findall(r'ParseNote\(\s*"([a-z_]+)"', (SOURCE / "parse.py").read_text()))
    written = written - {"no_word_"} | {"no_word_items", "no_word_lines"}  # see _dropped
    assert {n.code for n in notes} == written
    for note in notes:
        for lang in ("en", "fr"):
            shown = text(lang, f"parse.{note.code}", **note.values)
            assert not PLACEHOLDER.search(shown) and "(s)" not in shown, (note, shown)
        french = text("fr", f"parse.{note.code}", **note.values)
        values = set(map(str, note.values.values()))
        assert not ENGLISH.search(re.sub("|".join(map(re.escape, values)) or "^$", "X", french)), \
            (note, french)
    assert {c for c in written if f"parse.{c}" not in MESSAGES["fr"]} == set()
    one = next(n for n in notes if n.values.get("count") == 1 and n.code == "no_word_lines")
    assert text("en", "parse.no_word_lines", **one.values) == "dropped 1 line without any word"
    assert text("fr", "parse.no_word_lines", **one.values) == "1 ligne sans aucun mot écartée"
