"""The import/export formats (utterly.formats): round trips lose nothing, genuine Tock and
Rasa files load, and bad input is refused with the line or field to fix.

The fixtures under tests/data/ are shaped as Tock serialises its classes
(theopenconversationkit/tock; Jackson with NON_NULL inclusion, ISO-8601 instants, Locale
as "fr"/"en_GB"):
- tock-sentences-dump.json: `SentencesDump`/`SentenceDump`/`SentenceEntityDump` of
  nlp/front/shared/src/main/kotlin/codec/SentencesDump.kt, as `exportSentences`
  (nlp/front/service/src/main/kotlin/ApplicationCodecService.kt) writes it: qualified
  application and intent names, `tock:unknown`, and an `inbox` sentence.
- tock-application-dump.json: `ApplicationDump` of codec/ApplicationDump.kt with
  `IntentDefinition`, `ClassifiedSentence` and `FaqDefinition` (nlp/front/shared/.../config).
- rasa-nlu.yml: Rasa 3 NLU data as people write it (block examples, entity annotations,
  a synonym, list examples with metadata).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utterly.errors import InvalidRequest
from utterly.formats import FORMATS, ORIGINS, BotData, FaqData, SentenceData, detect

DATA = Path(__file__).parent / "data"

# Any text but lone surrogates (UTF-8 cannot carry them): quotes, commas, separators,
# newlines, control characters, YAML's `yes`/`null`/`- `/`: `, emoji.
TRICKY = ['"', "'", ",", ";", "\n", "\r\n", ":", ": ", "- ", "#", "yes", "null", "~", "1.0",
          "[a](b)", "{", "}", "\t", "\x00", "\x85", "\u2028", "\ufeff", "é", "😀", "…"]
any_text = st.text(st.characters(exclude_categories=("Cs",))) | st.lists(
    st.sampled_from(TRICKY) | st.text(max_size=3), max_size=6).map("".join)
words = any_text.filter(str.strip)
locales = st.sampled_from(["fr", "en", "en-GB", "pt-BR", "es-419", "zh-Hant-TW", "sr-Latn"])
sentences = st.builds(SentenceData, text=words, locale=locales,
                      origin=st.sampled_from(ORIGINS))
faqs = st.builds(FaqData, title=words, sentences=st.lists(sentences, max_size=4),
                 answer=any_text, description=any_text, locale=locales,
                 tags=st.lists(any_text, max_size=3))
bots = st.builds(BotData, name=any_text, locales=st.lists(locales, unique=True, max_size=3),
                 faqs=st.lists(faqs, max_size=4, unique_by=lambda f: f.title))
ROUND_TRIP = settings(max_examples=300, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


def rows(bot: BotData) -> list[tuple[str, str, str, str]]:
    return [(f.title, s.text, s.locale, s.origin) for f in bot.faqs for s in f.sentences]


def round_trip(name: str, bot: BotData) -> BotData:
    written = FORMATS[name].dump(bot)
    assert detect(None, written.encode()) == name
    return FORMATS[name].load(written.encode("utf-8"))


# ---- round trips ------------------------------------------------------------------------

@ROUND_TRIP
@given(bots)
def test_tock_dump_round_trip_keeps_the_whole_bot(bot):
    assert round_trip("tock", bot) == bot


@ROUND_TRIP
@given(bots)
def test_jsonl_round_trip_keeps_the_whole_bot(bot):
    assert round_trip("jsonl", bot) == bot


@ROUND_TRIP
@given(bots)
def test_rasa_round_trip_keeps_every_faq_and_sentence(bot):
    back = round_trip("rasa", bot)
    assert back.faqs == bot.faqs  # titles, answers, descriptions, locales, tags, sentences


@ROUND_TRIP
@given(bots)
def test_csv_round_trip_keeps_intent_text_locale_and_origin(bot):
    assert rows(round_trip("csv", bot)) == rows(bot)


@ROUND_TRIP
@given(bots, st.sampled_from(list(FORMATS)), st.sampled_from(list(FORMATS)))
def test_converting_through_any_format_keeps_the_sentences(bot, first, second):
    via = FORMATS[second].load(FORMATS[second].dump(FORMATS[first].load(
        FORMATS[first].dump(bot))))
    assert rows(via) == rows(bot)


# ---- Tock: what Tock Studio's import requires ---------------------------------------------

JACKSON_LOCALE = re.compile(r"^[a-z]{2,3}(_([A-Z]{2}|[0-9]{3}))?$")
TOCK_STATUSES = {"inbox", "validated", "model", "deleted"}


def assert_tock_importable(document: dict) -> None:
    """Tock's rules for a sentences dump (SentencesDump.kt, ApplicationCodecService
    .importSentences, Strings.kt): mandatory applicationName and sentences, and per
    sentence text and intent; a language on every sentence (or on the dump) that Jackson
    reads as a java.util.Locale; a status of the enum; names without a second ':'."""
    assert isinstance(document["applicationName"], str) and document["applicationName"]
    assert ":" not in document["applicationName"]
    for s in document["sentences"]:
        assert isinstance(s["text"], str) and s["text"]
        assert re.fullmatch(r"[a-z0-9_]+", s["intent"]), s["intent"]
        assert JACKSON_LOCALE.match(s["language"]), s["language"]
        assert s["status"] in TOCK_STATUSES
        assert s["entities"] == [] and s["forReview"] is False


@ROUND_TRIP
@given(bots)
def test_tock_dump_is_what_tock_studio_imports(bot):
    document = json.loads(FORMATS["tock"].dump(bot))
    assert_tock_importable(document)
    assert len(document["sentences"]) == len(rows(bot))
    # One intent per FAQ, distinct even when two titles make the same name.
    intents = {f["title"]: f["intent"] for f in document["utterly"]["faqs"]}
    assert len(set(intents.values())) == len(bot.faqs)


def test_tock_dump_shape_and_where_utterly_keeps_origin():
    bot = BotData("Acme bot", ["fr", "en-GB"], [FaqData(
        "Mot de passe", [SentenceData("Comment réinitialiser mon mot de passe ?", "fr"),
                         SentenceData("Forgot my password", "en-GB", "generated")],
        answer="Cliquez sur « oublié ».", description="", locale="fr", tags=["compte"])])
    document = json.loads(FORMATS["tock"].dump(bot))
    assert document["applicationName"] == "acme_bot"
    assert document["sentences"] == [
        {"text": "Comment réinitialiser mon mot de passe ?", "intent": "mot_de_passe",
         "entities": [], "language": "fr", "status": "validated", "forReview": False},
        {"text": "Forgot my password", "intent": "mot_de_passe", "entities": [],
         "language": "en_GB", "status": "validated", "forReview": False,
         "utterly": {"origin": "generated"}},
    ]
    assert document["utterly"]["faqs"] == [
        {"intent": "mot_de_passe", "title": "Mot de passe", "locale": "fr",
         "answer": "Cliquez sur « oublié ».", "description": "", "tags": ["compte"]}]


def test_a_genuine_tock_sentences_dump_loads():
    bot = FORMATS["tock"].load((DATA / "tock-sentences-dump.json").read_bytes())
    assert bot.name == "assistant"
    assert rows(bot) == [
        ("suivi_colis", "Où est mon colis ?", "fr", "human"),
        ("suivi_colis", "Where is my parcel?", "en-GB", "human"),
        ("voyage", "Je veux aller à Nice demain", "fr", "human"),
    ]
    assert bot.locales == ["fr", "en-GB"]
    assert all(f.answer is None for f in bot.faqs)  # the dump does not say: keep the stored
    assert bot.warnings == ["left out 1 sentence(s) classified as tock:unknown",
                            "left out 1 sentence(s) with status inbox"]


def test_a_genuine_tock_application_dump_loads():
    bot = FORMATS["tock"].load((DATA / "tock-application-dump.json").read_text())
    assert bot.name == "assistant"
    assert rows(bot) == [("Suivi de colis", "Où est mon colis ?", "fr", "human"),
                         ("horaires", "What are your opening hours?", "en", "human")]
    parcel = bot.faqs[0]
    assert parcel.description == "Où en est une livraison" and parcel.tags == ["livraison"]
    assert bot.locales == ["fr", "en"]
    assert len(bot.warnings) == 1 and "left out 1 sentence" in bot.warnings[0]


def test_a_tock_dump_language_on_the_dump_applies_to_its_sentences():
    text = json.dumps({"applicationName": "a", "language": "fr",
                       "sentences": [{"text": "Bonjour", "intent": "a:hello"}]})
    assert rows(FORMATS["tock"].load(text)) == [("hello", "Bonjour", "fr", "human")]


def test_a_tock_dump_read_back_writes_the_same_intents():
    bot = FORMATS["tock"].load((DATA / "tock-sentences-dump.json").read_bytes())
    document = json.loads(FORMATS["tock"].dump(bot))
    assert_tock_importable(document)
    assert {s["intent"] for s in document["sentences"]} == {"suivi_colis", "voyage"}


# ---- Rasa -------------------------------------------------------------------------------

def test_rasa_file_starts_with_version_3_1_and_lists_examples_with_metadata():
    bot = BotData("b", ["fr"], [FaqData("Colis", [SentenceData("Où est mon colis ?", "fr",
                                                                "generated")],
                                        answer="Suivez-le en ligne.", locale="fr")])
    written = FORMATS["rasa"].dump(bot)
    assert '\nversion: "3.1"\nnlu:\n- intent: Colis\n' in written
    import yaml

    document = yaml.safe_load(written)
    assert document["nlu"] == [{
        "intent": "Colis", "metadata": {"locale": "fr", "answer": "Suivez-le en ligne."},
        "examples": [{"text": "Où est mon colis ?",
                      "metadata": {"origin": "generated", "locale": "fr"}}]}]


def test_a_genuine_rasa_file_loads_with_plain_texts_and_the_default_locale():
    bot = FORMATS["rasa"].load((DATA / "rasa-nlu.yml").read_text(), locale="en")
    assert rows(bot) == [
        ("greet", "hey", "en", "human"),
        ("greet", "hello there", "en", "human"),
        ("greet", "yes", "en", "human"),
        ("book_flight", "I want to fly to Paris tomorrow", "en", "human"),
        ("book_flight", "book a flight to New York", "en", "human"),
        ("chitchat/ask_name", "what's your name?", "en", "human"),
        ("chitchat/ask_name", "who are you", "en", "human"),
    ]
    assert bot.warnings == ["left out 1 `synonym` item(s): only intents are FAQs"]


# ---- CSV and JSONL ----------------------------------------------------------------------

def test_csv_is_rfc_4180_and_reads_a_bom_and_semicolons():
    bot = BotData("b", ["fr"], [FaqData('Prix, "tarifs"', [
        SentenceData('Combien ça coûte,\nen "euros" ?', "fr")])])
    written = FORMATS["csv"].dump(bot)
    assert written == ('intent,text,locale,origin\r\n'
                       '"Prix, ""tarifs""","Combien ça coûte,\nen ""euros"" ?",fr,human\r\n')
    assert rows(FORMATS["csv"].load(b"\xef\xbb\xbf" + written.encode())) == rows(bot)
    semicolons = "text;intent;locale\r\nOù est mon colis ?;Colis;fr\r\n"
    assert rows(FORMATS["csv"].load(semicolons)) == [("Colis", "Où est mon colis ?", "fr",
                                                      "human")]


def test_jsonl_writes_bot_and_faq_lines_so_answers_survive():
    bot = BotData("b", ["fr"], [FaqData("Colis", [SentenceData("Où est mon colis ?", "fr")],
                                        answer="En ligne.", description="", locale="fr",
                                        tags=[])])
    lines = [json.loads(line) for line in FORMATS["jsonl"].dump(bot).splitlines()]
    assert lines == [
        {"type": "bot", "name": "b", "locales": ["fr"]},
        {"type": "faq", "intent": "Colis", "locale": "fr", "answer": "En ligne.",
         "description": "", "tags": []},
        {"intent": "Colis", "text": "Où est mon colis ?", "locale": "fr", "origin": "human"},
    ]
    only_sentences = '{"intent": "Colis", "text": "Où est mon colis ?", "locale": "fr"}\n'
    assert rows(FORMATS["jsonl"].load(only_sentences)) == [("Colis", "Où est mon colis ?",
                                                            "fr", "human")]


@pytest.mark.parametrize("filename, name", [
    ("tock-sentences-dump.json", "tock"), ("tock-application-dump.json", "tock"),
    ("rasa-nlu.yml", "rasa")])
def test_formats_are_told_from_the_content_without_a_file_name(filename, name):
    assert detect(None, (DATA / filename).read_bytes()) == name


# ---- bad input --------------------------------------------------------------------------

BAD = [
    ("tock", '{"applicationName": "a",\n "sentences": [\n  {"text": "x", }\n]}',
     "line 3", "not valid JSON"),
    ("tock", '{"applicationName": "a", "sentences": [{"text": "x", "intent": "i", '
             '"language": "fr"}, {"text": "y", "language": "fr"}]}',
     "sentences.1", "`intent` is missing"),
    ("tock", '{"applicationName": "a", "sentences": [{"text": "x", "intent": "i"}]}',
     "sentences.0", "`language` is missing"),
    ("tock", '{"applicationName": "a", "sentences": [{"text": "x", "intent": "i", '
             '"language": "fr", "utterly": {"origin": "robot"}}]}',
     "sentences.0", "`utterly.origin` is `robot`"),
    ("tock", '[1, 2]', "", "not a Tock dump"),
    ("csv", "intent,text,locale,origin\r\nA,x,fr,human\r\nB,\"multi\nline\",fr,human\r\n"
            "C,z,fr,robot\r\n", "line 5", "`origin` is `robot`"),
    ("csv", "intent,text,locale\r\nA,x,french language\r\n", "line 2", "not a locale"),
    ("csv", "question,answer\r\nA,x\r\n", "line 1", "no intent and no text column"),
    ("csv", "intent,text,locale\r\nA,\"unclosed\r\n", "line", "not valid CSV"),
    ("csv", "intent,text\r\nA,x\r\n", "line 2", "`locale` is missing"),
    ("jsonl", '{"intent": "A", "text": "x", "locale": "fr"}\n{"intent": "B", "text": \n',
     "line 2", "not valid JSON"),
    ("jsonl", '{"intent": "A", "text": "", "locale": "fr"}\n', "line 1", "`text` is empty"),
    ("jsonl", '{"type": "story"}\n', "line 1", "`type` is `story`"),
    ("rasa", 'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - x\n   - y: [\n',
     "line 6", "not valid YAML"),
    ("rasa", 'version: "3.1"\nnlu:\n- intent: a\n  metadata: {locale: fr}\n  examples: |\n'
             '    - x\n    y\n', "line 7", "does not start with `- `"),
    ("rasa", 'version: "3.1"\nnlu:\n- intent: a\n  examples:\n  - text: x\n    metadata:\n'
             '      origin: robot\n', "line 5", "`origin` is `robot`"),
    ("rasa", 'version: "3.1"\nrules: []\n', "line 1", "no `nlu:` list"),
    ("rasa", "nlu: " + "[" * 100_000, "", "the YAML nests too deeply"),
    ("rasa", "nlu:\n- &a {intent: a, examples: [x]}\n- *a\n", "line 3", "uses an alias"),
    ("tock", "[" * 100_000, "", "the JSON nests too deeply"),
    ("rasa", 'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - x\n',
     "line 5", "`locale` is missing"),
]


@pytest.mark.parametrize("name, content, where, message", BAD)
def test_bad_input_names_the_line_or_field_and_the_fix(name, content, where, message):
    with pytest.raises(InvalidRequest) as caught:
        FORMATS[name].load(content)
    error = caught.value
    assert message in error.message and error.message.startswith(where)
    assert error.hint


@pytest.mark.parametrize("name", list(FORMATS))
def test_bytes_that_are_not_utf8_are_refused_with_their_line(name):
    with pytest.raises(InvalidRequest) as caught:
        FORMATS[name].load("intent,text\nA,".encode() + b"caf\xe9\n")
    assert caught.value.message.startswith("line 2: the file is not UTF-8")


def test_an_unknown_format_asks_for_one():
    with pytest.raises(InvalidRequest) as caught:
        detect(None, "just some words\nand more")
    assert caught.value.field == "format" and "tock, rasa, csv or jsonl" in caught.value.hint
