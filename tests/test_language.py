"""Language checks must catch clear drift and leave informal chatbot French alone."""

from __future__ import annotations

import pytest

from utterly.language import detect_language, expected_languages, is_wrong_language


@pytest.mark.parametrize(("text", "code"), [
    ("Je voudrais savoir comment réinitialiser mon mot de passe.", "fr"),
    ("I would like to know how to reset my password please.", "en"),
    ("Wie kann ich mein Passwort zurücksetzen?", "de"),
    ("¿Cómo puedo restablecer mi contraseña?", "es"),
])
def test_detects_clear_sentences(text, code):
    detected, confidence = detect_language(text)
    assert detected == code
    assert 0.5 < confidence <= 1.0


def test_detect_nothing():
    assert detect_language("") == (None, 0.0)
    assert detect_language("12 345 ?!") == (None, 0.0)


@pytest.mark.parametrize("expected", ["fr", "fr-FR", "fr_CA"])
def test_english_flagged_when_french_expected(expected):
    wrong, why = is_wrong_language("Could you help me with my invoice please?", expected)
    assert wrong
    assert "English" in why


def test_spanish_flagged_when_english_expected():
    assert is_wrong_language("¿Cómo puedo restablecer mi contraseña?", "en-GB")[0]


@pytest.mark.parametrize("text", [
    "slt cmt je change mn mdp stp",
    "ok merci",
    "wsh g pa recu mon colis",
    "ma cb march pa pr payer",
    "Le Black Friday c'est quand ?",
    "Je n'arrive pas à me connecter à Microsoft Teams",
    "Comment activer le roaming sur mon iPhone 15 Pro ?",
    "Je veux résilier mon abonnement Netflix Premium",
])
def test_informal_french_not_flagged(text):
    wrong, why = is_wrong_language(text, "fr")
    assert not wrong, why


def test_right_language_not_flagged():
    assert not is_wrong_language("how 2 reset my pasword pls", "en")[0]
    assert not is_wrong_language("Wie kann ich mein Passwort zurücksetzen?", "de-AT")[0]


def test_short_text_never_flagged():
    assert is_wrong_language("Thanks a lot", "fr") == (False, "too short to judge the language")


@pytest.mark.parametrize("expected", ["xx", "tlh", "", "und"])
def test_unknown_language_never_flagged(expected):
    assert not is_wrong_language("Could you help me with my invoice please?", expected)[0]


def test_expected_language_outside_the_common_set():
    # Finnish is not among the common languages: it is added to the detector on demand.
    assert [lang.name for lang in expected_languages("fi-FI")] == ["FINNISH"]
    assert not is_wrong_language("Miten voin vaihtaa salasanani?", "fi")[0]
    assert is_wrong_language("Could you help me with my invoice please?", "fi")[0]
    assert [lang.name for lang in expected_languages("no")] == ["BOKMAL", "NYNORSK"]
