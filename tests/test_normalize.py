"""normalize() is the duplicate key of the cleaner; tidy() is what users see."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utterly.normalize import normalize, tidy


@pytest.mark.parametrize("a, b", [
    ("Comment réinitialiser mon mot de passe ?", "comment reinitialiser  mon mot-de-passe"),
    ("Où est mon colis ?", "OU EST MON COLIS"),
    ("Il est où, mon colis ?!", "il est ou mon colis"),
    ("Where's my parcel?", "Where’s my parcel"),
    ("l’adresse e-mail", "l'adresse e‑mail"),  # typographic apostrophe, non-breaking hyphen
    ("« Mot de passe oublié »", '"mot de passe oublie"'),
    ("Ｆｕｌｌｗｉｄｔｈ １２", "fullwidth 12"),
    ("Straße", "strasse"),
    ("pass\u00adword", "password"),  # soft hyphen is invisible
    ("café", "cafe\u0301"),  # composed and decomposed é
    ("a\tb\n c", "a b c"),
])
def test_same_key(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize("a, b", [
    ("mot de passe", "motdepasse"),
    ("colis", "colis perdu"),
    ("か", "が"),  # the dakuten makes another kana, not an accent
    ("नमस्ते", "नमसत"),  # Devanagari signs are part of the letters
])
def test_different_key(a, b):
    assert normalize(a) != normalize(b)


@pytest.mark.parametrize("text, key", [
    ("Comment réinitialiser mon mot de passe ?", "comment reinitialiser mon mot de passe"),
    ("Don't   forget!", "don t forget"),
    ("100 % d'accord — vraiment", "100 d accord vraiment"),
    ("???", ""),
    ("", ""),
    ("Привет, как дела?", "привет как дела"),
    ("Ελληνικά", "ελληνικα"),
    ("我的包裹在哪里？", "我的包裹在哪里"),
    ("مرحبا، كيف حالك؟", "مرحبا كيف حالك"),
    ("emoji 👍 ok", "emoji ok"),
])
def test_keys(text, key):
    assert normalize(text) == key


@pytest.mark.parametrize("raw, shown", [
    ('  1. "Où est   mon colis ?" ', "Où est mon colis ?"),
    ("« Où est mon colis ? »", "Où est mon colis ?"),
    ("“Where is my parcel?”", "Where is my parcel?"),
    ("'I can't log in'", "I can't log in"),
    ("- Where is my parcel?", "Where is my parcel?"),
    ("• Où est mon colis ?", "Où est mon colis ?"),
    ("(3) Where is it?", "Where is it?"),
    ("Sentence 1: Where is it?", "Where is it?"),
    ("Paraphrase #2 - Where is it?", "Where is it?"),
    ("Q: Where is it?", "Where is it?"),
    ('"Where is it?', "Where is it?"),  # a quote left over from a sloppy list
    ("Where is my \"parcel\"", "Where is my \"parcel\""),
    ('"Reset" and "Cancel" do nothing', '"Reset" and "Cancel" do nothing'),
    ("“a” and “b”", "“a” and “b”"),
    ("'a' or 'b'", "'a' or 'b'"),
    ("1.5 million of what?", "1.5 million of what?"),
    ("Questionnaire: where?", "Questionnaire: where?"),
    ("the users'", "the users'"),
    ("Cafe\u0301 ?", "Café ?"),
    ("\ufeffHello\u200b", "Hello"),
    ("a\x00b", "a b"),
    ("1.", ""),
    ("   ", ""),
])
def test_tidy(raw, shown):
    assert tidy(raw) == shown


def test_tidy_keeps_case_and_punctuation():
    assert tidy("Mon MDP ne marche plus !!! :(") == "Mon MDP ne marche plus !!! :("


# Property tests -----------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzéèêàâçôîïûùœ"
_words = st.lists(st.text(alphabet=_LETTERS, min_size=1, max_size=8), min_size=1, max_size=8)
_ACCENTS = str.maketrans("éèêàâçôîïûù", "eeeaacoiiuu")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tidy_is_idempotent(text):
    once = tidy(text)
    assert tidy(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_normalize_only_keeps_words(text):
    key = normalize(text)
    assert key == key.strip() and "  " not in key
    assert all(c == " " or unicodedata.category(c)[0] in "LNM" for c in key)


@settings(max_examples=200, deadline=None)
@given(_words, st.data())
def test_normalize_ignores_case_accents_punctuation_whitespace(words, data):
    sentence = " ".join(words)
    separators = st.sampled_from([" ", "  ", "\t", " - ", "-", "'", "’", ", ", " ; ", "\n",
                                  "\u00a0", " — ", "/"])
    variant = words[0]
    for word in words[1:]:
        variant += data.draw(separators) + word
    variant = data.draw(st.sampled_from(["", " ", "« ", "¿", '"'])) + variant
    variant += data.draw(st.sampled_from(["", "?", " ?", "!!", "...", " ?!", '"', " »"]))
    variant = data.draw(st.sampled_from([str.upper, str.title, str.lower, str]))(variant)
    if data.draw(st.booleans()):
        variant = variant.translate(_ACCENTS)
    assert normalize(variant) == normalize(sentence)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_tidy_only_trims(text):
    # tidy never adds words: what it keeps is part of the collapsed input.
    shown = tidy(text)
    visible = "".join(" " if unicodedata.category(c) == "Cc" else c
                      for c in unicodedata.normalize("NFC", text))
    assert shown in " ".join(visible.split())
