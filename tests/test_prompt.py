import pytest

from utterly.errors import InvalidRequest
from utterly.prompt import (
    TEMPLATE_VARIABLES,
    default_template,
    output_schema,
    render,
    render_request,
    template_version,
    validate_template,
)
from utterly.request import GenerationRequest


def request(**options):
    return GenerationRequest.build(sentences=["Où est mon colis ?", "Mon colis est perdu"],
                                   locale="fr-FR", n=7, options=options)


def test_default_template_splits_system_and_user_and_carries_the_request():
    prompt = render_request(request(sms_language=True), existing=["Il est où mon colis"])
    # the answer starts as a numbered list: the local model continues "1."
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant"]
    assert prompt.messages[2]["content"] == "1."
    user = prompt.messages[1]["content"]
    # a French bot's prompt is written in French (issue 23: +2 points on massive_fr)
    assert "en français" in prompt.messages[0]["content"]
    assert "Où est mon colis ?" in user and "Mon colis est perdu" in user
    assert "Écris 7 nouvelles façons" in user
    assert "SMS" in user and "slt" in user
    assert "Il est où mon colis" in user  # what earlier attempts kept
    assert "fautes de frappe" not in user
    assert "Write" not in user and "Rules" not in user


def test_other_languages_get_the_rules_in_english_naming_the_language():
    for locale, language in (("en-GB", "English"), ("de", "German")):
        english = GenerationRequest.build(sentences=["Where is my parcel?"], locale=locale,
                                          n=4, options={"spelling_mistakes": True})
        prompt = render_request(english).messages
        assert f"in {language}" in prompt[0]["content"]
        assert "Write 4 new ways" in prompt[1]["content"]
        assert "typing mistakes" in prompt[1]["content"]


def test_the_closest_other_faqs_are_named_as_questions_not_to_ask():
    neighbours = [{"name": "Suivi de commande", "sentence": "Où en est ma commande ?"}]
    for locale, words in (("fr", "ne jamais les poser"), ("en", "never ask these")):
        request_ = GenerationRequest.build(sentences=["Mon colis est perdu"], locale=locale)
        user = render_request(request_, neighbours=neighbours).messages[1]["content"]
        assert words in user and "Suivi de commande" in user
        assert "Où en est ma commande ?" in user
        assert words not in render_request(request_).messages[1]["content"]


def test_the_answers_of_one_call_can_be_asked_different_things():
    """The default asks the answers written side by side the same thing; a template can
    tell them apart with `stream` and `streams`."""
    default = [render_request(request(), stream=i, streams=4).messages for i in range(4)]
    assert all(m == default[0] for m in default)
    kinds = ('{% set kinds = ["", ", short ones"] %}Write {{ nb_sentences }} ways'
             '{{ kinds[stream % kinds|length] }} (answer {{ stream + 1 }} of {{ streams }}).')
    custom = GenerationRequest.build(sentences=["Où est mon colis ?"], locale="fr", n=3,
                                     prompt_template=kinds)
    users = [render_request(custom, stream=i, streams=2).messages[-1]["content"]
             for i in range(2)]
    assert users == ["Write 3 ways (answer 1 of 2).", "Write 3 ways, short ones (answer 2 of 2)."]


def test_each_option_changes_the_prompt():
    base = render_request(request()).messages[1]["content"]
    for option in ("spelling_mistakes", "sms_language", "abbreviated_language"):
        assert render_request(request(**{option: True})).messages[1]["content"] != base


def test_default_template_validates():
    validate_template(default_template())


def test_template_without_sections_gets_a_default_system_message():
    prompt = render("Paraphrase {{ sentences[0] }} {{ nb_sentences }} times", {
        "sentences": ["Hello"], "nb_sentences": 3})
    assert prompt.messages[0]["role"] == "system"
    assert prompt.messages[1] == {"role": "user", "content": "Paraphrase Hello 3 times"}


@pytest.mark.parametrize("template, words", [
    ("{{ sentence }}", "unknown variable"),
    ("{% for s in sentences %}{{ s }}", "cannot be rendered"),
    ("{{ options.emoji }}", "unknown variable"),
    ("### system\nonly a system part", "no user message"),
])
def test_bad_templates_are_refused_on_the_prompt_template_field(template, words):
    with pytest.raises(InvalidRequest) as caught:
        validate_template(template)
    assert caught.value.field == "prompt_template"
    assert words in caught.value.message


def test_templates_run_in_a_sandbox():
    with pytest.raises(InvalidRequest):
        validate_template("{{ sentences.__class__.__mro__[1].__subclasses__() }}")


def test_every_documented_variable_is_available():
    template = "\n".join("{{ %s }}" % name for name in TEMPLATE_VARIABLES)
    validate_template(template)


def test_version_is_stable_and_changes_with_the_text():
    assert template_version("a") == template_version("a")
    assert template_version("a") != template_version("b")


def test_output_schema_bounds_the_list():
    schema = output_schema(4)
    assert schema["properties"]["sentences"]["maxItems"] == 4
    assert schema["required"] == ["sentences"]
