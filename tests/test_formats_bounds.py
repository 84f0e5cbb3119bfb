"""The formats bounded in rows and streamed (utterly.formats, issue 24): a reader counts
sentences and FAQs as it parses and stops at one past its limit, whatever follows, at a
cost of the limit and not of the file; a writer gives the file piece by piece, and the
pieces are exactly the document written whole."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_formats import ROUND_TRIP, bots
from utterly.errors import InvalidRequest
from utterly.formats import (
    FORMATS,
    BotData,
    BotSource,
    FaqData,
    Limits,
    SentenceData,
    TooMany,
    bounded_json,
    detect,
    rasa,
    tock,
)
from utterly.formats.csv import HEADER, neutralise

# ---- the writers: pieces, exactly the document written whole -----------------------------
# The references are the writers as they were before they streamed: one document, dumped.


def whole_tock(bot: BotData) -> str:
    names = tock.intent_names([f.title for f in bot.faqs])
    sentences = []
    for faq in bot.faqs:
        for s in faq.sentences:
            item = {"text": s.text, "intent": names[faq.title], "entities": [],
                    "language": tock.java_locale(s.locale), "status": "validated",
                    "forReview": False}
            extra = {}
            if s.origin != "human":
                extra["origin"] = s.origin
            if tock.from_java_locale(item["language"], "") != s.locale:
                extra["locale"] = s.locale
            if extra:
                item["utterly"] = extra
            sentences.append(item)
    faqs = []
    for faq in bot.faqs:
        entry = {"intent": names[faq.title], "title": faq.title}
        for key in ("locale", "answer", "description", "tags"):
            if getattr(faq, key) is not None:
                entry[key] = getattr(faq, key)
        faqs.append(entry)
    document = {"applicationName": tock.slug(bot.name, "utterly"), "sentences": sentences,
                "utterly": {"version": 1, "bot": {"name": bot.name, "locales": bot.locales},
                            "faqs": faqs}}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def whole_rasa(bot: BotData) -> str:
    items = []
    for faq in bot.faqs:
        item: dict = {"intent": faq.title}
        metadata = {k: getattr(faq, k) for k in ("locale", "answer", "description", "tags")
                    if getattr(faq, k) is not None}
        if metadata:
            item["metadata"] = metadata
        item["examples"] = [{"text": s.text, "metadata": {"origin": s.origin,
                                                          "locale": s.locale}}
                            for s in faq.sentences]
        items.append(item)
    name = rasa._one_line(bot.name)
    header = (f"# Rasa NLU training data exported by Utterly"
              f"{' from the bot ' + name if name else ''}.\n"
              f"# Each example's metadata keeps its locale and origin (human or generated).\n")
    body = yaml.dump({"nlu": items}, Dumper=rasa._Dumper, allow_unicode=True,
                     sort_keys=False, default_flow_style=False, width=1_000_000)
    return f'{header}version: "3.1"\n{body}'


def whole_csv(bot: BotData) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for faq in bot.faqs:
        for s in faq.sentences:
            writer.writerow([neutralise(c) for c in (faq.title, s.text, s.locale, s.origin)])
    return out.getvalue()


def whole_jsonl(bot: BotData) -> str:
    def line(value):
        return json.dumps(value, ensure_ascii=False) + "\n"

    lines = [line({"type": "bot", "name": bot.name, "locales": bot.locales})]
    for faq in bot.faqs:
        entry = {"type": "faq", "intent": faq.title}
        for key in ("locale", "answer", "description", "tags"):
            if getattr(faq, key) is not None:
                entry[key] = getattr(faq, key)
        lines.append(line(entry))
        lines += [line({"intent": faq.title, "text": s.text, "locale": s.locale,
                        "origin": s.origin}) for s in faq.sentences]
    return "".join(lines)


WHOLE = {"tock": whole_tock, "rasa": whole_rasa, "csv": whole_csv, "jsonl": whole_jsonl}


def one_pass_source(bot: BotData, passes: list[bool]) -> BotSource:
    """A source as the Studio's: each pass a fresh iterator, read once, FAQ by FAQ; a pass
    without sentences hands FAQs without them."""
    def faqs(sentences: bool = True):
        passes.append(sentences)
        for faq in bot.faqs:
            yield faq if sentences else FaqData(faq.title, [], faq.answer, faq.description,
                                                faq.locale, faq.tags)
    return BotSource(bot.name, list(bot.locales), faqs)


@ROUND_TRIP
@given(bots, st.sampled_from(list(FORMATS)))
def test_the_streamed_file_is_the_document_written_whole(bot, name):
    passes: list[bool] = []
    pieces = list(FORMATS[name].stream(one_pass_source(bot, passes)))
    assert "".join(pieces) == WHOLE[name](bot)
    assert FORMATS[name].dump(bot) == WHOLE[name](bot)
    assert passes == ([True, False] if name == "tock" else [True])  # one pass with sentences


@settings(max_examples=50, deadline=None)
@given(bots)
def test_a_long_faq_goes_out_in_parts_as_yaml_dump_writes_it_whole(bot):
    many = BotData(bot.name, bot.locales, [
        FaqData(f.title, f.sentences * 3, f.answer, f.description, f.locale, f.tags)
        for f in bot.faqs])
    before = rasa.EXAMPLES_AT_ONCE
    rasa.EXAMPLES_AT_ONCE = 2
    try:
        assert rasa.dump(many) == whole_rasa(many)
    finally:
        rasa.EXAMPLES_AT_ONCE = before


@pytest.mark.parametrize("name", list(FORMATS))
def test_a_writer_holds_one_faq_at_a_time(name):
    """Each FAQ is written out before the next is read: a writer's memory is one FAQ."""
    bot = BotData("b", ["fr"], [FaqData(f"FAQ {i}", [SentenceData(f"phrase {i}", "fr")])
                                for i in range(6)])
    read = []

    def faqs(sentences: bool = True):
        for faq in bot.faqs:
            if sentences:
                read.append(faq.title)
            yield faq

    written = ""
    for piece in FORMATS[name].stream(BotSource("b", ["fr"], faqs)):
        written += piece
        out = sum(f"phrase {i}" in written for i in range(6))
        assert len(read) <= out + 1
    assert out == 6


# ---- the readers: one past the limit, and no further ---------------------------------------

LIMIT = 10


def sentences_then_garbage(name: str, count: int, garbage: bool = True) -> str:
    """`count` valid sentences, then (`garbage`) what a reader that read on would refuse."""
    texts = [f"phrase numéro {i}" for i in range(count)]
    if name == "csv":
        return ("intent,text,locale\n" + "".join(f"A,{t},fr\n" for t in texts)
                + ("A,,robot\n" if garbage else ""))
    if name == "jsonl":
        return "".join(json.dumps({"intent": "A", "text": t, "locale": "fr"}) + "\n"
                       for t in texts) + ("{not json\n" if garbage else "")
    if name == "rasa":
        return ("nlu:\n- intent: A\n  examples:\n"
                + "".join(f"  - text: {t}\n    metadata: {{locale: fr, origin: human}}\n"
                          for t in texts) + ("- : : [\n" if garbage else ""))
    return ('{"applicationName": "a", "sentences": ['
            + ", ".join(json.dumps({"text": t, "intent": "A", "language": "fr"}) for t in texts)
            + ("], broken}" if garbage else "]}"))


@pytest.mark.parametrize("name", list(FORMATS))
def test_a_reader_stops_at_one_sentence_past_its_limit(name):
    over = sentences_then_garbage(name, LIMIT + 1 + 500)
    with pytest.raises(TooMany) as caught:
        FORMATS[name].load(over, locale="fr", limits=Limits(sentences=LIMIT))
    error = caught.value
    assert (error.what, error.limit) == ("sentences", LIMIT)
    assert "more than 10 sentences" in error.message and "split the file" in error.hint
    # at the limit exactly, the reader reads on, to the garbage
    with pytest.raises(InvalidRequest) as caught:
        FORMATS[name].load(sentences_then_garbage(name, LIMIT), locale="fr",
                           limits=Limits(sentences=LIMIT))
    assert not isinstance(caught.value, TooMany)


def rasa_block(faqs: int) -> str:
    return "nlu:\n" + "".join(f"- intent: F{i}\n  examples: |\n    - phrase {i}\n"
                              for i in range(faqs))


@pytest.mark.parametrize("name, content", [
    ("csv", "intent,text,locale\n" + "".join(f"F{i},phrase {i},fr\n" for i in range(5))),
    ("jsonl", "".join(json.dumps({"type": "faq", "intent": f"F{i}"}) + "\n" for i in range(5))),
    ("rasa", rasa_block(5)),
    ("tock", json.dumps({"applicationName": "a", "sentences": [], "utterly": {
        "faqs": [{"intent": f"f{i}", "title": f"F{i}"} for i in range(5)]}})),
    ("tock", json.dumps({"application": {"name": "a"}, "intents": [
        {"_id": str(i), "name": f"f{i}"} for i in range(5)]})),
])
def test_a_reader_stops_at_one_faq_past_its_limit(name, content):
    with pytest.raises(TooMany) as caught:
        FORMATS[name].load(content, locale="fr", limits=Limits(faqs=4))
    assert (caught.value.what, caught.value.limit) == ("FAQs", 4)
    assert len(FORMATS[name].load(content, locale="fr", limits=Limits(faqs=5)).faqs) == 5


def peak_while(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(action) -> None:
    with pytest.raises(TooMany):
        action()


@pytest.mark.parametrize("name", list(FORMATS))
def test_a_file_far_over_the_limit_costs_the_limit_not_the_file(name):
    """The attack: a file of 30,000 sentences against a limit of 100. Reading it whole
    allocates 5 to 13 times the file; refusing it, the file's text and no rows."""
    text = sentences_then_garbage(name, 30_000).encode()
    valid = sentences_then_garbage(name, 30_000, garbage=False).encode()
    whole = peak_while(lambda: FORMATS[name].load(valid, locale="fr"))
    bounded = peak_while(lambda: refused(lambda: FORMATS[name].load(
        text, locale="fr", limits=Limits(sentences=100))))
    assert bounded < 3.5 * len(text)  # the file's text, copied (decoded, parsed) at most
    assert whole > 1.8 * bounded  # what reading every row costs on top


# ---- bounded_json: json.loads, with counted lists ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["sentences", "faqs", "utterly", "x", "é", ""]), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(json_values, st.sampled_from([0, 2, None]))
def test_bounded_json_reads_what_json_loads_reads(value, indent):
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    counted: list[tuple] = []
    counters = {path: (lambda i, path=path: counted.append((path, i)))
                for path in [("sentences",), ("utterly", "faqs"), ("faqs",)]}
    assert bounded_json.loads(text, counters) == json.loads(text)
    for path, _ in counted:
        held = json.loads(text)
        for key in path:
            held = held[key]
        assert isinstance(held, list)
    spaced = " \n" + text + " \n"
    assert bounded_json.loads(spaced, counters) == json.loads(spaced)


@pytest.mark.parametrize("text", ['{"sentences": [1, 2,]}', '{"sentences": [1 2]}',
                                  '{"sentences": [1, 2]', '{"sentences" [1]}', '{"a": 1,}',
                                  '{"sentences": [1]} x', '{sentences: []}', '',
                                  '{"sentences": [}'])
def test_bounded_json_refuses_what_json_loads_refuses(text):
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        bounded_json.loads(text, {("sentences",): lambda i: None})


@pytest.mark.parametrize("layout", ["tock-compact", "tock-indented", "jsonl"])
def test_telling_the_format_reads_a_line_not_the_file(layout):
    """A Tock dump is often one line (Tock's Jackson writes it compact): telling its format
    from its content must not parse it whole before the bounded reader counts its rows."""
    bot = BotData("b", ["fr"], [FaqData("A", [SentenceData(f"phrase {i}", "fr")
                                              for i in range(30_000)])])
    text = FORMATS["jsonl" if layout == "jsonl" else "tock"].dump(bot)
    if layout == "tock-compact":
        text = json.dumps(json.loads(text), ensure_ascii=False)
    data = text.encode()
    name = "jsonl" if layout == "jsonl" else "tock"
    assert detect(None, data) == name
    assert peak_while(lambda: detect(None, data)) < 3 * len(data)  # its text, no rows
