"""parse_sentences() on what models really print, and on whatever else they might."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utterly.normalize import normalize, tidy
from utterly.parse import ItemReader, ParsedOutput, parse_sentences


def sentences(text: str, **kwargs) -> list[str]:
    return parse_sentences(text, **kwargs).sentences


# Strict and near-strict JSON ----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('{"sentences": ["Where is my parcel?", "Where\'s my package?"]}',
     ["Where is my parcel?", "Where's my package?"]),
    ('{"paraphrases": ["Où est mon colis ?", "Il est où mon colis ?"]}',
     ["Où est mon colis ?", "Il est où mon colis ?"]),
    ('{"questions": ["a?", "b?"]}', ["a?", "b?"]),
    ('{"whatever": ["a?", "b?"]}', ["a?", "b?"]),
    ('{"original": "x?", "paraphrases": ["a?", "b?"]}', ["a?", "b?"]),
    ('["a?", "b?"]', ["a?", "b?"]),
    ('[{"text": "a?"}, {"text": "b?"}]', ["a?", "b?"]),
    ('[{"sentence": "a?"}, {"sentence": "b?", "tone": "casual"}]', ["a?", "b?"]),
    ('{"sentences": [{"text": "a?"}, {"text": "b?"}]}', ["a?", "b?"]),
    ('{"response": {"sentences": ["a?", "b?"]}}', ["a?", "b?"]),
    ('{"Sentences": ["a?", "b?"]}', ["a?", "b?"]),
    ('{"1": "a?", "2": "b?"}', ["a?", "b?"]),
    ('{"sentence1": "a?", "sentence2": "b?"}', ["a?", "b?"]),
    ('{"sentences": [["a?", "b?"]]}', ["a?", "b?"]),
    ('{"sentences": ["a?", 3, null, "b?"]}', ["a?", "b?"]),
    ('{"sentences": ["  Où   est\\nmon colis ?  ", "", "   "]}', ["Où est mon colis ?"]),
    ('{"sentences": ["Il a dit \\"oui\\"", "caf\\u00e9 ?", "\\ud83d\\udce6 colis ?"]}',
     ['Il a dit "oui"', "café ?", "📦 colis ?"]),
    ('{"sentences": ["1. Where is it?", "Sentence 2: Where\'s it?", "- where?"]}',
     ["Where is it?", "Where's it?", "where?"]),
    ('{"sentences": "Où est mon colis ?"}', ["Où est mon colis ?"]),
    ('{"sentences": "1. Où est mon colis ?\\n2. Il est où ?"}',
     ["Où est mon colis ?", "Il est où ?"]),
])
def test_json_shapes(text, expected):
    parsed = parse_sentences(text)
    assert parsed.sentences == expected
    assert parsed.format == "json"


def test_expected_key_wins():
    text = '{"examples": ["x?"], "rewrites": ["a?", "b?"]}'
    assert sentences(text, expected_key="rewrites") == ["a?", "b?"]
    assert sentences(text) == ["x?"]


@pytest.mark.parametrize("text, expected", [
    # chatter and fences around the JSON (SmolLM2 and TinyLlama do both)
    ('Sure! Here are 3 paraphrases:\n```json\n{"sentences": ["Where is my parcel?", '
     '"Where\'s my order?", "Can you tell me where my package is?"]}\n```\n'
     "I hope this helps!",
     ["Where is my parcel?", "Where's my order?", "Can you tell me where my package is?"]),
    ('Voici les phrases demandées :\n\n```\n{"sentences": ["Il est où mon colis ?", '
     '"Je ne trouve pas mon colis", "Mon colis est arrivé où ?"]}\n```\n\n'
     "N'hésitez pas si vous avez besoin d'autres reformulations.",
     ["Il est où mon colis ?", "Je ne trouve pas mon colis", "Mon colis est arrivé où ?"]),
    ('Answer: {"sentences": ["Comment changer mon mdp ?", "jveux changer mon mot de passe"]}',
     ["Comment changer mon mdp ?", "jveux changer mon mot de passe"]),
    # the model echoes a format hint, then answers
    ('Format: {"sentences": [...]}\n{"sentences": ["a?", "b?"]}', ["a?", "b?"]),
])
def test_json_in_chatter(text, expected):
    parsed = parse_sentences(text)
    assert parsed.sentences == expected
    assert parsed.format == "json"


@pytest.mark.parametrize("text, expected", [
    ("{'sentences': ['Where is my parcel?', 'Where is my order?']}",
     ["Where is my parcel?", "Where is my order?"]),
    ('{"sentences": ["a?", "b?",]}', ["a?", "b?"]),
    ('{sentences: ["a?", "b?"]}', ["a?", "b?"]),
    ('{"sentences": ["l\\\'adresse ?", "b?"]}', ["l'adresse ?", "b?"]),
    ('{"sentences": ["a?", "b?"], "done": True}', ["a?", "b?"]),
])
def test_lenient_json(text, expected):
    parsed = parse_sentences(text)
    assert parsed.sentences == expected
    assert parsed.format == "json_fragment"
    assert any("not strict" in p for p in parsed.problems)


@pytest.mark.parametrize("text, expected", [
    ('{"sentences": ["a", "b", "c', ["a", "b"]),
    ('{"sentences": ["a", "b", "c"', ["a", "b", "c"]),
    ('{"sentences": ["a", "b\\"', ["a"]),
    ('{"sentences": ["a", "caf\\u00', ["a"]),
    ('{"sentences": ["a", "\\ud83d', ["a"]),
    ('{"sentences": ["a", "b\\', ["a"]),
    ('{"sentences": [{"text": "a"}, {"text": "b', ["a"]),
    ('{"sentences": [{"text": "a"}, {"text": "b", "ton', ["a", "b"]),
    ('```json\n{\n  "sentences": [\n    "Où est mon colis ?",\n    "Il est où mon col',
     ["Où est mon colis ?"]),
    ('["a", "b", 12', ["a", "b"]),
    ('["a", "b", tr', ["a", "b"]),
])
def test_truncated_json(text, expected):
    parsed = parse_sentences(text)
    assert parsed.sentences == expected
    assert parsed.format == "json_fragment"
    assert any("truncated" in p for p in parsed.problems)


def test_truncated_before_any_sentence_is_reported():
    parsed = parse_sentences('{"language": "fr", "sentences": ["Où est mon co')
    assert parsed.sentences == []
    assert parsed.format == "json_fragment"
    assert "cut off" in parsed.problems[0]


def test_malformed_json_keeps_what_came_before():
    parsed = parse_sentences('{"sentences": ["a?", "b?"] oops, "c?"]}')
    assert parsed.sentences == ["a?", "b?"]
    assert parsed.format == "json_fragment"
    assert any("malformed" in p for p in parsed.problems)


def test_unescaped_quote_drops_the_cut_string():
    # '"He said "' is not the model's sentence: the unescaped quote cut it.
    parsed = parse_sentences('{"sentences": ["x?", "He said "hi" to me", "b?"]}')
    assert parsed.sentences == ["x?"]


def test_json_lines():
    parsed = parse_sentences('{"sentence": "a?"}\n{"sentence": "b?"}\n{"sentence": "c?"}')
    assert parsed.sentences == ["a?", "b?", "c?"]


def test_largest_json_value_wins():
    text = 'Example: {"sentences": ["x?"]}\nAnswer: {"sentences": ["a?", "b?"]}'
    parsed = parse_sentences(text)
    assert parsed.sentences == ["a?", "b?"]
    assert any("2 JSON values" in p for p in parsed.problems)


def test_empty_json_list():
    parsed = parse_sentences('{"sentences": []}')
    assert parsed == ParsedOutput([], "json", ["the JSON held no sentences"])


def test_wordless_items_are_dropped():
    assert sentences('{"sentences": ["...", "?", "a?"]}') == ["a?"]
    # a placeholder in an echoed format hint must not hide the real list
    assert sentences('{"sentences": ["..."]}\n1. Où est mon colis ?\n2. Mon colis ?') == [
        "Où est mon colis ?", "Mon colis ?"]


# Lists ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1. Where is my parcel?\n2. Where's my order?\n3. Can you track my package?",
     ["Where is my parcel?", "Where's my order?", "Can you track my package?"]),
    ("1) a?\n2) b?", ["a?", "b?"]),
    ("(1) a?\n(2) b?", ["a?", "b?"]),
    ("- a?\n- b?", ["a?", "b?"]),
    ("* a?\n* b?", ["a?", "b?"]),
    ("• a?\n• b?", ["a?", "b?"]),
    ("– a?\n– b?", ["a?", "b?"]),
    ('1. "Where is my parcel?"\n2. “Where\'s my order?”\n3. « Où est mon colis ? »\n'
     "4. 'Any news on my parcel?'",
     ["Where is my parcel?", "Where's my order?", "Où est mon colis ?",
      "Any news on my parcel?"]),
    ("1. **Where is my parcel?**\n2. **Where's my order?**",
     ["Where is my parcel?", "Where's my order?"]),
    ("**1.** Where is my parcel?\n**2.** Where's my order?",
     ["Where is my parcel?", "Where's my order?"]),
    ("1. **Formal:** Could you tell me where my parcel is?\n2. **Casual**: where's my stuff",
     ["Could you tell me where my parcel is?", "where's my stuff"]),
    ("Sentence 1: Where is my parcel?\nSentence 2: Where's my order?",
     ["Where is my parcel?", "Where's my order?"]),
    ("1. Paraphrase: a?\n2. Q: b?", ["a?", "b?"]),
    ('1. "Where is my parcel?" (more formal)\n2. "Where\'s my stuff?" - casual',
     ["Where is my parcel?", "Where's my stuff?"]),
    ('- "a?",\n- "b?",', ["a?", "b?"]),
    ("1. Where is a? 2. Where is b? 3. Where is c?",
     ["Where is a?", "Where is b?", "Where is c?"]),
    ("1. Formal:\n   - Could you help me?\n2. Casual:\n   - help pls",
     ["Could you help me?", "help pls"]),
    ("1.Where is a?\n2.Where is b?", ["Where is a?", "Where is b?"]),
])
def test_lists(text, expected):
    parsed = parse_sentences(text)
    assert parsed.sentences == expected
    assert parsed.format == "list"


def test_small_model_english_list():
    text = """Sure! Here are 5 paraphrases of "How do I reset my password?":

1. "How can I reset my password?"
2. "What's the way to reset my password?"
3. "I forgot my password, how do I change it?"
4. "Can you help me reset my password?"
5. "Reset password how?"

Note: These paraphrases keep the original meaning. I hope this helps!"""
    parsed = parse_sentences(text)
    assert parsed.sentences == [
        "How can I reset my password?", "What's the way to reset my password?",
        "I forgot my password, how do I change it?", "Can you help me reset my password?",
        "Reset password how?"]
    assert parsed.format == "list"
    assert parsed.problems == []


def test_small_model_french_list():
    text = """Voici 4 reformulations de la question :

- « Comment je fais pour réinitialiser mon mot de passe ? »
- « J'ai oublié mon mdp, je fais comment ? »
- **Réinitialiser mot de passe**
- « Je veux changer mon mot de passe svp »

J'espère que cela vous aide !"""
    assert sentences(text) == [
        "Comment je fais pour réinitialiser mon mot de passe ?",
        "J'ai oublié mon mdp, je fais comment ?",
        "Réinitialiser mot de passe",
        "Je veux changer mon mot de passe svp"]


def test_list_ignores_other_lines_and_says_so():
    parsed = parse_sentences("1. a?\nsome stray line\n2. b?")
    assert parsed.sentences == ["a?", "b?"]
    assert parsed.problems == ["ignored 1 line(s) that were not list items"]


def test_decimal_is_not_numbering():
    assert sentences("1.5 million people ask this\nand this too?") == [
        "1.5 million people ask this", "and this too?"]


# Plain lines ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Where is my parcel?\nWhere's my order?", ["Where is my parcel?", "Where's my order?"]),
    ("Here are some paraphrases:\nWhere is my parcel?\nWhere's my order?\nI hope this helps!",
     ["Where is my parcel?", "Where's my order?"]),
    ('"Où est mon colis ?"\n"Il est où mon colis ?"', ["Où est mon colis ?",
                                                       "Il est où mon colis ?"]),
    ("Bien sûr ! Voici :\nOù est mon colis ?\nIl est où mon colis\n\nNote : ce sont des "
     "questions.", ["Où est mon colis ?", "Il est où mon colis"]),
    # a single line counts when it is a question, quoted, or announced by a header
    ("Where is my parcel?", ["Where is my parcel?"]),
    ('"Mon colis n\'est pas arrivé"', ["Mon colis n'est pas arrivé"]),
    ("Here is one:\nMy parcel did not arrive", ["My parcel did not arrive"]),
    # JSON broken beyond repair degrades to lines of quoted items
    ('sentences:\n"Où est mon colis ?",\n"Il est où ?",', ["Où est mon colis ?",
                                                         "Il est où ?"]),
])
def test_lines(text, expected):
    assert sentences(text) == expected


def test_broken_json_array_on_lines():
    text = 'sentences = [\n  "Où est mon colis ?"\n  "Il est où ?"\n]'
    parsed = parse_sentences(text)
    assert parsed.sentences == ["Où est mon colis ?", "Il est où ?"]
    assert parsed.format == "lines"


@pytest.mark.parametrize("text", [
    "",
    "   \n\t ",
    "I'm sorry, but I cannot help with that request.",
    "To reset your password, go to Settings and click on Forgot password.",
    "Sure! Here are 5 paraphrases:",
    "Voici les phrases :\n\nJ'espère que cela vous aide !",
    "...",
    "```json\n```",
    "{}",
    "[1, 2, 3]",
])
def test_nothing(text):
    parsed = parse_sentences(text)
    assert parsed.sentences == []
    assert parsed.format in ("none", "json", "json_fragment")
    assert parsed.problems  # the pipeline shows why in its invalid_response hint


def test_refusal_is_not_a_sentence():
    parsed = parse_sentences("As an AI language model, I cannot rephrase this question.")
    assert parsed.format == "none"
    assert "no JSON, list or sentence lines" in parsed.problems[0]


# Robustness -----------------------------------------------------------------------------

@pytest.mark.parametrize("garbage", [
    "[" * 100_000, "{" * 100_000, "[{" * 50_000, '"' * 100_000, "«" * 50_000 + "»" * 50_000,
    "- " * 50_000, "1. " * 33_000, "a\n" * 50_000, '["' + 'a", "' * 20_000,
    '["' + "\\" * 100_000, "{a:" * 33_000, "Sentence 1: " * 8_000, "(1) " * 25_000,
    "\\u" * 50_000, '{"a' + ":" * 100_000, "**" * 50_000, "1. «" * 25_000,
], ids=lambda garbage: repr(garbage[:8]))
def test_pathological_input_does_not_hang(garbage):
    # A guard against catastrophic backtracking (which never finishes), not a speed test:
    # parsing 100,000 characters takes about 0.5 s here, so 60 s only fails on a real hang,
    # never on a busy machine. Speed belongs in bench/.
    start = time.perf_counter()
    parsed = parse_sentences(garbage)
    assert time.perf_counter() - start < 60.0
    assert isinstance(parsed, ParsedOutput)


def test_deep_nesting_does_not_recurse():
    parse_sentences("[" * 5000 + '"a"' + "]" * 5000)
    parse_sentences('{"a":' * 5000 + '"b"' + "}" * 5000)


# Properties -----------------------------------------------------------------------------

def _expected(xs: list[str]) -> list[str]:
    # Items without a letter or digit are dropped on purpose (see the module docstring).
    return [tidy(x) for x in xs if normalize(tidy(x))]


def _is_prefix(part: list[str], whole: list[str]) -> bool:
    return whole[:len(part)] == part


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text):
    parsed = parse_sentences(text)
    assert parsed.format in ("json", "json_fragment", "list", "lines", "none")
    assert all(s and tidy(s) == s and normalize(s) for s in parsed.sentences)
    if not parsed.sentences:
        assert parsed.problems


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('[]{}"\',:\\ \n1.-*«»utrefalsn0ab'), max_size=60))
def test_never_raises_on_jsonish_text(text):
    parse_sentences(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=6), st.booleans())
def test_json_round_trip(xs, ascii_only):
    text = json.dumps({"sentences": xs}, ensure_ascii=ascii_only)
    assert sentences(text) == _expected(xs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), max_size=5), st.sampled_from(["paraphrases", "questions", "x"]))
def test_json_round_trip_other_shapes(xs, key):
    assert sentences(json.dumps(xs)) == _expected(xs)
    assert sentences(json.dumps({key: xs})) == _expected(xs)
    assert sentences(json.dumps([{"text": x} for x in xs])) == _expected(xs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), max_size=5),
       st.sampled_from(["", "Sure! Here you go:\n```json\n", "Voici : "]),
       st.sampled_from(["", "\n```", "\nI hope this helps!", " N'hésitez pas !"]))
def test_json_round_trip_with_chatter(xs, before, after):
    assert sentences(before + json.dumps({"sentences": xs}, indent=2) + after) == _expected(xs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=5))
def test_truncated_json_is_a_prefix(xs):
    full = json.dumps({"sentences": xs})
    whole = _expected(xs)
    for cut in range(len(full) + 1):
        assert _is_prefix(sentences(full[:cut]), whole), full[:cut]


# Realistic sentences: words of letters, inner punctuation, an optional final mark (not a
# comma: list items lose trailing commas, the leftovers of JSON-ish lines).
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçôùABCDEFGHIJKLMNOPQRSTUVWXYZ",
                min_size=1, max_size=10)
# A sentence opens with a plain word: one that opens with a quotation reads as a quoted item.
_sentence = st.builds(
    lambda first, words, seps, end: "".join(
        w + s for w, s in zip([first, *words], seps)).rstrip(" ,") + end,
    _word,
    st.lists(st.one_of(_word, _word.map("« {} »".format)), min_size=0, max_size=7),
    st.lists(st.sampled_from([" ", " ", " ", ", ", "'", "-"]), min_size=8, max_size=8),
    st.sampled_from(["", "?", " ?", "!", ".", "…"]),
).filter(lambda s: s.strip() and not s[0].isdigit())


@settings(max_examples=150, deadline=None)
@given(st.lists(_sentence, min_size=1, max_size=8),
       st.sampled_from(["{}. ", "{}) ", "({}) ", "- ", "* ", "• "]),
       st.sampled_from(['{}', '"{}"', "“{}”", "« {} »", "**{}**"]),
       st.booleans())
def test_list_round_trip(xs, marker, quoting, header):
    lines = [marker.format(i + 1) + quoting.format(x) for i, x in enumerate(xs)]
    if header:
        lines = ["Here are the paraphrases:", "", *lines, "", "I hope this helps!"]
    parsed = parse_sentences("\n".join(lines))
    assert parsed.sentences == _expected(xs)
    assert parsed.format == "list"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_never_invents(text):
    # Every sentence is in the input once whitespace is collapsed and markup taken out.
    visible = "".join(" " if unicodedata.category(c) == "Cc" else c
                      for c in unicodedata.normalize("NFC", text))
    haystack = " ".join(visible.replace("**", "").replace("__", "").split())
    for sentence in sentences(text):
        if "\\" not in text:  # without escapes, JSON strings are verbatim too
            assert sentence in haystack


# ---- reading an answer while it is written ---------------------------------------------

def test_item_reader_gives_each_list_item_when_its_line_ends():
    reader = ItemReader("1.")  # the start of the answer the model was given
    pieces = [" Comment", " faire ?\n2", ". Mot de passe", " perdu\n3. Ou", "blié"]
    assert [reader.feed(p) for p in pieces] == [
        [], ["Comment faire ?"], [], ["Mot de passe perdu"], []]
    # cut by the token limit, the unfinished line is not a sentence
    assert reader.finish(complete=False).sentences == []
    assert ItemReader("1. a b\n2. Ou").finish(complete=True).sentences == ["a b", "Ou"]


def test_item_reader_leaves_json_and_plain_lines_to_the_whole_answer():
    reader = ItemReader()
    assert reader.feed('{"sentences": ["Where is it?",\n "Lost parcel"]}\n') == []
    finished = reader.finish()
    assert finished.sentences == ["Where is it?", "Lost parcel"] and finished.format == "json"
    reader = ItemReader()
    assert reader.feed("Here are some:\nWhere is my parcel?\nMy parcel is lost\n") == []
    assert reader.finish().sentences == ["Where is my parcel?", "My parcel is lost"]


def test_item_reader_never_gives_a_sentence_twice():
    reader = ItemReader()
    assert reader.feed("1. Where is it?\n2. Where is it?\n") == ["Where is it?"]
    assert reader.finish().sentences == []
