"""Deterministic variation transforms: no model involved."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from utterly.variations import (
    KINDS, apply_variation, keyboard_neighbours, shows_variation, supported_languages,
    variation_tokens,
)

EXAMPLES = {
    "fr": [
        "Comment réinitialiser mon mot de passe s'il vous plaît ?",
        "Pourquoi ma commande n'est pas encore livrée ?",
        "Est-ce que je peux prendre rendez-vous demain pour avoir des informations ?",
        "Quand est-ce que l'application sera disponible ?",
    ],
    "en": [
        "How do I reset my password please?",
        "Can you tell me why my order is late?",
        "I need an appointment as soon as possible for my account.",
        "Where can I find more information about the application?",
    ],
}
# sentences with at least one word in each table, so every kind applies
APPLICABLE = [("fr", EXAMPLES["fr"][0]), ("fr", EXAMPLES["fr"][2]), ("fr", EXAMPLES["fr"][3]),
              ("en", EXAMPLES["en"][0]), ("en", EXAMPLES["en"][2]), ("en", EXAMPLES["en"][3])]


def test_public_constants():
    assert KINDS == ("spelling_mistakes", "sms_language", "abbreviated_language")
    assert {"fr", "en"} <= supported_languages()
    fr_sms = variation_tokens("fr", "sms_language")
    assert {"slt", "stp", "pk", "bcp", "jsp", "tkt", "mdr"} <= fr_sms
    assert {"u", "pls", "thx", "2day", "b4", "gr8", "idk"} <= variation_tokens("en", "sms_language")
    assert {"rdv", "infos", "dispo", "appli"} <= variation_tokens("fr-FR", "abbreviated_language")
    assert {"asap", "acct", "pwd", "appt"} <= variation_tokens("en-GB", "abbreviated_language")
    assert variation_tokens("ja", "sms_language") == set()


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        apply_variation("hello there", "en", "pig_latin", seed=0)
    with pytest.raises(ValueError):
        shows_variation("hello there", "en", "pig_latin")


def test_keyboard_neighbours():
    assert set(keyboard_neighbours("a", "azerty")) == set("zq")  # AZERTY: a sits over q
    assert set(keyboard_neighbours("a", "qwerty")) == set("qwsz")
    assert "y" in keyboard_neighbours("t", "qwerty")
    assert "y" not in keyboard_neighbours("t", "qwertz")
    assert keyboard_neighbours("E", "qwerty").isupper()
    assert keyboard_neighbours("é", "azerty") == keyboard_neighbours("e", "azerty")
    assert keyboard_neighbours("7", "qwerty") == ""
    with pytest.raises(ValueError):
        keyboard_neighbours("a", "dvorak")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("locale", "text"), APPLICABLE)
def test_apply_shows_the_variation(locale, text, kind):
    assert not shows_variation(text, locale, kind)
    for seed in range(5):
        out = apply_variation(text, locale, kind, seed=seed)
        assert out and out != text
        assert shows_variation(out, locale, kind), out


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_seed_dependent(kind):
    text = EXAMPLES["en"][2]
    outs = [apply_variation(text, "en", kind, seed=s) for s in range(8)]
    assert outs == [apply_variation(text, "en", kind, seed=s) for s in range(8)]
    assert len(set(outs)) > 1


def test_locale_forms_are_equivalent():
    text = EXAMPLES["fr"][0]
    assert (apply_variation(text, "fr", "sms_language", seed=3)
            == apply_variation(text, "fr-FR", "sms_language", seed=3)
            == apply_variation(text, "fr_CA", "sms_language", seed=3))


def test_french_sms_password_request():
    text = "Comment réinitialiser mon mot de passe s'il vous plaît ?"
    for seed in range(10):
        out = apply_variation(text, "fr-FR", "sms_language", seed=seed)
        words = set(re.findall(r"\w+", out))
        assert "mdp" in words and words & {"svp", "stp"}, out
        assert "réinitialiser" in out  # no content word is lost


@pytest.mark.parametrize(("locale", "text", "expected"), [
    ("fr", "Salut, pourquoi c'est toujours en panne ?", {"slt", "pk", "pq", "pkoi", "c", "cé"}),
    ("fr", "Je sais pas quoi faire avec beaucoup de messages", {"jsp", "bcp", "koi"}),
    ("fr", "T’inquiète, je te réponds aujourd’hui", {"tkt", "auj", "ajd"}),  # typographic ’
    ("fr", "S'il vous plait, ou est mon colis", {"svp"}),  # accents missing in the input
    ("en", "Thank you, I don't know what to do today", {"thx", "ty", "idk", "2day"}),
    ("en", "Please tell me BEFORE tomorrow", {"pls", "plz", "b4", "tmrw", "2moro"}),
])
def test_sms_tables(locale, text, expected):
    out = apply_variation(text, locale, "sms_language", seed=0)
    assert set(re.findall(r"[\w]+", out.lower())) & expected, out
    assert shows_variation(out, locale, "sms_language")


def test_sms_without_table_word_adds_a_marker_or_gives_up():
    out = apply_variation("Où se trouve le magasin le plus proche ?", "fr", "sms_language", seed=0)
    assert out is not None and "magasin le plus proche" in out
    assert shows_variation(out, "fr", "sms_language")
    assert apply_variation("Bonsai", "fr", "sms_language", seed=0) is None


@pytest.mark.parametrize(("locale", "text", "expected"), [
    ("fr", "Le rendez-vous est disponible sur l'application", ["rdv", "dispo", "appli", "app"]),
    ("fr", "Quel est le numéro de téléphone pour les réservations ?",
     ["n°", "num", "tél.", "résas"]),
    ("en", "Send the information about my appointment as soon as possible",
     ["info", "appt", "asap", "ASAP"]),
    ("en", "What is the password for the department account?", ["pwd", "dept.", "acct"]),
])
def test_abbreviation_tables(locale, text, expected):
    for seed in range(4):
        out = apply_variation(text, locale, "abbreviated_language", seed=seed)
        assert any(e in out for e in expected), out
        assert shows_variation(out, locale, "abbreviated_language")


def test_abbreviation_keeps_capitals():
    out = apply_variation("Rendez-vous demain", "fr", "abbreviated_language", seed=0)
    assert out == "Rdv demain"


def test_nothing_to_abbreviate():
    assert apply_variation("Où est mon colis ?", "fr", "abbreviated_language", seed=0) is None
    assert apply_variation("Where is my parcel?", "en", "abbreviated_language", seed=0) is None


@pytest.mark.parametrize("kind", ["sms_language", "abbreviated_language"])
def test_unsupported_language_gives_none(kind):
    assert apply_variation("パスワードを忘れました", "ja", kind, seed=0) is None
    assert apply_variation("please reset my password", "ja-JP", kind, seed=0) is None
    assert not shows_variation("pls thx", "ja", kind)


def test_spelling_needs_latin_script():
    assert apply_variation("パスワードを忘れました", "ja", "spelling_mistakes", seed=0) is None
    assert apply_variation("Как сбросить пароль", "ru", "spelling_mistakes", seed=0) is None
    # any Latin-script language works, with no table
    out = apply_variation("Wie kann ich mein Passwort zurücksetzen", "de", "spelling_mistakes",
                          seed=0)
    assert out and out != "Wie kann ich mein Passwort zurücksetzen"


def _changed_words(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.split(" "), after.split(" ")
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


@pytest.mark.parametrize(("locale", "text"), [
    ("fr", "Bonjour, mon Colis numéro 12345 commandé sur https://shop.example.fr n'arrive pas"),
    ("en", "Hello, my NASA Account 12345 at https://example.com or bob@example.com is locked"),
    ("en", "Please reset the PASSWORD of account42 quickly"),
])
def test_spelling_mistakes_are_small_and_safe(locale, text):
    protected = [w for w in text.split() if re.search(r"\d|@|/", w) or w.isupper()]
    for seed in range(20):
        out = apply_variation(text, locale, "spelling_mistakes", seed=seed)
        assert out and out != text
        assert 1 <= Levenshtein.distance(text, out) <= 4  # 1-2 typos, a swap counts 2
        changed = _changed_words(text, out)
        assert 1 <= len(changed) <= 2
        for before, after in changed:
            assert len(before.strip(",")) >= 4
            assert after[0] == before[0]  # first letter and its case are kept
            assert before not in protected
        for word in protected:
            assert word in out.split()


def test_french_accent_drop_is_a_typo():
    text = "Réinitialiser le téléphone"
    outs = {apply_variation(text, "fr", "spelling_mistakes", seed=s) for s in range(60)}
    assert any(re.search(r"t[eé]l[eé]phone", o) and "téléphone" not in o for o in outs), outs
    assert shows_variation("Comment reinitialiser mon compte", "fr", "spelling_mistakes")


@pytest.mark.parametrize(("locale", "layout"), [("fr", "azerty"), ("en-US", "qwerty")])
def test_substitutions_follow_the_layout(locale, layout):
    text = "aqaqaqaq wawawawa"
    seen = set()
    for seed in range(150):
        out = apply_variation(text, locale, "spelling_mistakes", seed=seed)
        for before, after in zip(text.split(), out.split()):
            if len(before) == len(after):
                diff = [i for i in range(len(before)) if before[i] != after[i]]
                if len(diff) == 1:
                    i = diff[0]
                    assert after[i] in keyboard_neighbours(before[i], layout)
                    seen.add(after[i])
    assert seen


@pytest.mark.parametrize(("locale", "text"), [
    ("en", "How do I reset my pasword?"),     # dropped letter
    ("en", "Where is my ordder?"),            # doubled letter
    ("en", "I forgot my passowrd"),           # swapped letters
    ("en", "Can I get a refind for this?"),   # neighbour key
    ("fr", "Ou est ma commnde ?"),
    ("fr", "Je veux changer mon numero de telephone"),  # accents dropped
])
def test_recognises_typos(locale, text):
    assert shows_variation(text, locale, "spelling_mistakes")


@pytest.mark.parametrize(("locale", "text"), [
    *[(loc, t) for loc, texts in EXAMPLES.items() for t in texts],
    ("en", "My orders were cancelled and canceled"),
    ("fr", "Mes commandes sont annulées"),
    ("en", "Contact NASA about ORDER 12345"),
])
def test_correct_text_shows_no_typo(locale, text):
    assert not shows_variation(text, locale, "spelling_mistakes")


def test_detection_ignores_acronyms_and_letters():
    assert not shows_variation("Les PR et les DS du lycée", "fr", "sms_language")
    assert not shows_variation("La vitamine C est-elle incluse ?", "fr", "sms_language")
    assert not shows_variation("C'est ouvert ?", "fr", "sms_language")
    assert not shows_variation("Is the U.S. store open?", "en", "sms_language")
    assert not shows_variation("I need 2 tickets for Paris", "en", "sms_language")
    assert shows_variation("c ouvert ?", "fr", "sms_language")
    assert shows_variation("can u help me", "en", "sms_language")
    assert shows_variation("Tu peux m'envoyer l'appli ?", "fr", "abbreviated_language")
    assert shows_variation("Mon n°12 ne marche pas", "fr", "abbreviated_language")


# ----------------------------------------------------------------------------- properties

texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from([
        "Comment", "mot", "de", "passe", "s'il", "vous", "plaît", "?", "please", "you", "for",
        "rendez-vous", "account", "https://x.io/a", "bob@x.io", "NASA", "12", "é", "’", "-",
        "Pourquoi", "aujourd’hui", "to", "c'est", "information", "Ça", "!", "  ",
    ]), max_size=12).map(" ".join),
)
locales = st.sampled_from(["fr", "fr-FR", "en", "en-GB", "es", "de", "ja", "", "x-weird"])
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(text=texts, locale=locales, kind=st.sampled_from(KINDS), seed=st.integers(0, 2**31))
def test_apply_is_total_and_deterministic(text, locale, kind, seed):
    out = apply_variation(text, locale, kind, seed=seed)
    assert out == apply_variation(text, locale, kind, seed=seed)
    assert out is None or (isinstance(out, str) and out.strip() and out != text)
    assert isinstance(shows_variation(text, locale, kind), bool)


@PROPERTY
@given(text=texts, locale=locales, seed=st.integers(0, 2**31))
def test_table_transforms_show_what_they_apply(text, locale, seed):
    for kind in ("sms_language", "abbreviated_language"):
        out = apply_variation(text, locale, kind, seed=seed)
        if out is not None:
            assert shows_variation(out, locale, kind)
