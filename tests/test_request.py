import pytest

from utterly.errors import ErrorCode, InvalidRequest
from utterly.request import GenerationRequest, language_of


def build(**overrides):
    data = {"sentences": ["Comment réinitialiser mon mot de passe ?"], "locale": "fr", "n": 5}
    data.update(overrides)
    return GenerationRequest.build(**data)


@pytest.mark.parametrize("overrides, field", [
    ({"sentences": []}, "sentences"),
    ({"sentences": ["q"] * 21}, "sentences"),
    ({"sentences": ["ok", "   "]}, "sentences"),
    ({"sentences": ["x" * 501]}, "sentences"),
    ({"n": 0}, "n"),
    ({"n": 51}, "n"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": 1.01}, "temperature"),
    ({"locale": "français"}, "locale"),
    ({"locale": ""}, "locale"),
    ({"options": {"emoji": True}}, "options.emoji"),
    ({"colour": "red"}, "colour"),
])
def test_out_of_range_is_refused_with_the_field_named(overrides, field):
    with pytest.raises(InvalidRequest) as caught:
        build(**overrides)
    error = caught.value
    assert error.code == ErrorCode.INVALID_INPUT
    assert error.field == field
    assert error.message.startswith(field)


def test_bounds_are_inclusive():
    assert build(n=1, temperature=0.0).n == 1
    assert build(n=50, temperature=1.0, sentences=["q"] * 20).n == 50


@pytest.mark.parametrize("given, expected", [
    ("fr", "fr"), ("FR", "fr"), ("en-gb", "en-GB"), ("en_GB", "en-GB"), ("zh-Hant-TW", "zh-Hant-TW"),
    ("es-419", "es-419"),
])
def test_locale_is_normalised(given, expected):
    request = build(locale=given)
    assert request.locale == expected
    assert request.language == expected.split("-")[0]


@pytest.mark.parametrize("locale, language", [
    ("fr", "fr"), ("FR", "fr"), ("fr-FR", "fr"), ("fr_FR", "fr"), ("fr-CA", "fr"),
    ("FR_ca", "fr"), (" fr-FR ", "fr"), ("zh-Hant-TW", "zh"), ("es-419", "es"),
    ("", ""), ("-FR", ""), (None, ""),
])
def test_language_of_a_locale(locale, language):
    """The one place a locale becomes a language (variations, voice, language detection)."""
    assert language_of(locale) == language


def test_sentences_whitespace_is_collapsed():
    assert build(sentences=["  Où   est\tmon colis ?  "]).sentences == ["Où est mon colis ?"]
