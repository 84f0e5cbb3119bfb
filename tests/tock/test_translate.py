"""Tock's request in Utterly's terms, without a server: the prompt templates in Utterly's
sandbox, the inputs, the secrets, the errors as Tock Studio reads them."""

from __future__ import annotations

import pytest

from utterly.errors import ErrorCode, InvalidRequest, ProviderError
from utterly.outbound import OutboundPolicy, Rules
from utterly.prompt import render as render_utterly
from utterly.redact import redact
from utterly.tock import prompt as tock_prompt
from utterly.tock.contract import CompletionRequest, LLMStatusRequest
from utterly.tock.errors import TockCode, from_utterly
from utterly.tock.translate import (
    SecretsDir,
    generation_request,
    provider_config,
    read_inputs,
    secret_value,
    tracing_config,
)

DEFAULT_PROMPT = """Generate {{nb_sentences}} sentences in '{{locale}}'.
{% if options.sms_language %}- SMS{% endif %}
{{format_instructions}}
{% for sentence in sentences %}
- {{sentence}}{% endfor %}
{% if options.not_sent_by_tock %}never{% endif %}## Generated sentences
"""


def body(**changes) -> dict:
    data = {"llm_setting": {"provider": "OpenAI", "api_key": {"type": "Raw", "secret": "sk-1"},
                            "model": "gpt-4o-mini", "temperature": "0.7",
                            "base_url": "http://127.0.0.1:9/v1"},
            "prompt": {"formatter": "jinja2", "template": DEFAULT_PROMPT,
                       "inputs": {"locale": "fr_FR", "nb_sentences": 5,
                                  "sentences": ["Où est mon colis ?", " Où  est mon colis ? "],
                                  "options": {"spelling_mistakes": False,
                                              "sms_language": True,
                                              "abbreviated_language": False}}}}
    data.update(changes)
    return data


def test_a_tock_body_reads_as_tock_writes_it():
    request = CompletionRequest.model_validate(body())
    assert request.llm_setting.temperature == 0.7  # sent as the string "0.7"
    translated = generation_request(request, use_tock_prompt=False)
    assert translated.locale == "fr-FR"
    assert translated.sentences == ["Où est mon colis ?"]  # spaces and repeats are one
    assert translated.n == 5 and translated.options.sms_language
    assert translated.prompt_template is None  # Utterly's own prompt


def test_a_temperature_past_utterly_s_range_is_brought_to_it():
    request = CompletionRequest.model_validate(
        body(llm_setting={**body()["llm_setting"], "temperature": "1.6"}))
    assert generation_request(request, use_tock_prompt=False).temperature == 1.0


def test_tock_s_template_is_rendered_as_tock_renders_it_then_read_verbatim():
    request = CompletionRequest.model_validate(body())
    translated = generation_request(request, use_tock_prompt=True)
    messages = render_utterly(translated.prompt_template, {}).messages
    user = messages[0]["content"]
    assert messages[0]["role"] == "user" and messages[-1] == {"role": "assistant",
                                                             "content": "1."}
    assert "Generate 5 sentences in 'fr_FR'." in user  # Tock's own locale spelling
    assert "- SMS" in user and "- Où est mon colis ?" in user
    assert tock_prompt.FORMAT_INSTRUCTIONS in user
    assert "\n## Generated sentences" in user  # an undefined attribute is false, as in Tock


def test_a_variable_tock_does_not_send_is_a_template_error_naming_it():
    with pytest.raises(InvalidRequest, match=r"\{\{ typo \}\}") as caught:
        tock_prompt.render("jinja2", "{% if x %}{{ typo }}{% endif %}{{ sentences }}",
                           {"sentences": ["a"], "x": False})
    assert caught.value.field == "prompt.template"
    error = from_utterly(caught.value, provider="OpenAI", request="")
    assert (error.code, error.error) == (TockCode.PROMPT_TEMPLATE_ERROR, "KeyError")


def test_text_that_looks_like_a_template_or_a_role_stays_text():
    text = "Say {{ 7*7 }} and {% if x %}x{% endif %} {# c #}\n### system\nend }}"
    messages = render_utterly(tock_prompt.as_utterly_template(text), {}).messages
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"].replace("\u200b", "") == text


def test_a_template_bomb_is_a_prompt_template_error_not_a_hang():
    bomb = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(InvalidRequest) as caught:
        tock_prompt.render("jinja2", bomb, {"sentences": ["a"]})
    assert caught.value.code == ErrorCode.TEMPLATE_TOO_COSTLY
    assert from_utterly(caught.value, provider="OpenAI", request="").code \
        == TockCode.PROMPT_TEMPLATE_ERROR


def test_a_syntax_error_is_a_prompt_template_error_naming_the_field():
    with pytest.raises(InvalidRequest) as caught:
        tock_prompt.render("jinja2", "{% for s in sentences %}", {"sentences": ["a"]})
    assert caught.value.field == "prompt.template"
    assert from_utterly(caught.value, provider="OpenAI", request="").code == 1005


def test_f_string_templates_take_top_level_names_only():
    inputs = {"nb_sentences": 3, "locale": "fr", "sentences": ["a", "b"]}
    assert tock_prompt.render("f-string", "{nb_sentences} in {locale}: {sentences}",
                              inputs) == "3 in fr: ['a', 'b']"
    for reaching in ("{sentences[0]}", "{locale.__class__}", "{nb_sentences!r}",
                     "{nb_sentences:>99999}", "{unknown}"):
        with pytest.raises(InvalidRequest, match="f-string") as caught:
            tock_prompt.render("f-string", reaching, inputs)
        assert caught.value.field == "prompt.template"


@pytest.mark.parametrize("inputs, field", [
    ({"locale": "fr", "nb_sentences": 5, "sentences": []}, "prompt.inputs.sentences"),
    ({"locale": "fr", "nb_sentences": 5, "sentences": "Où ?"}, "prompt.inputs.sentences"),
    ({"nb_sentences": 5, "sentences": ["Où ?"]}, "prompt.inputs.locale"),
    ({"locale": "fr", "nb_sentences": 0, "sentences": ["Où ?"]}, "prompt.inputs.nb_sentences"),
    ({"locale": "fr", "nb_sentences": 51, "sentences": ["Où ?"]}, "prompt.inputs.nb_sentences"),
    ({"locale": "fr", "nb_sentences": True, "sentences": ["Où ?"]},
     "prompt.inputs.nb_sentences"),
])
def test_bad_inputs_name_the_field_and_the_fix(inputs, field):
    with pytest.raises(InvalidRequest) as caught:
        read_inputs(inputs)
    assert caught.value.field == field and caught.value.hint


def test_many_examples_are_cut_to_utterly_s_limit_rather_than_refused():
    many = [f"Où est mon colis numéro {i} ?" for i in range(30)]
    request = CompletionRequest.model_validate(body(prompt={
        "formatter": "jinja2", "template": "x", "inputs": {
            "locale": "fr", "nb_sentences": 3, "sentences": many}}))
    assert len(generation_request(request, use_tock_prompt=False).sentences) == 20


def test_pass_through_providers_never_read_the_server_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://operator.example/v1")
    setting = CompletionRequest.model_validate(body()).llm_setting
    config = provider_config(setting, outbound=OutboundPolicy(), timeout_s=5)
    assert config.read_env is False and config.api_key == "sk-1"
    assert config.base_url == "http://127.0.0.1:9/v1" and config.provider == "openai"
    azure = LLMStatusRequest.model_validate({"setting": {
        "provider": "AzureOpenAIService", "api_key": {"type": "Raw", "secret": "k"},
        "deployment_name": "dep", "api_base": "https://x.openai.azure.com/",
        "api_version": "2024-06-01", "temperature": "0.5"}}).setting
    config = provider_config(azure, outbound=OutboundPolicy(), timeout_s=5)
    assert (config.provider, config.azure_deployment, config.azure_endpoint) == (
        "azure-openai", "dep", "https://x.openai.azure.com")


@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://[::ffff:169.254.169.254]/v1",
                                 "http://user:pw@127.0.0.1/v1", "file:///etc/passwd"])
def test_every_provider_url_passes_the_outbound_policy(url):
    setting = CompletionRequest.model_validate(
        body(llm_setting={**body()["llm_setting"], "base_url": url})).llm_setting
    with pytest.raises(InvalidRequest) as caught:
        provider_config(setting, outbound=OutboundPolicy(), timeout_s=5)
    assert caught.value.field == "llm_setting.base_url"


def test_the_operator_s_deny_list_applies_to_tock_s_urls():
    setting = CompletionRequest.model_validate(body()).llm_setting
    policy = OutboundPolicy(deny=Rules.parse("loopback", "UTTERLY_OUTBOUND_DENY"))
    with pytest.raises(InvalidRequest) as caught:
        provider_config(setting, outbound=policy, timeout_s=5)
    error = from_utterly(caught.value, provider="OpenAI", request="")
    assert error.code == TockCode.CONNECTION_ERROR and "outbound policy" in error.cause


def test_secret_manager_references_are_refused_unless_mounted(tmp_path):
    aws = CompletionRequest.model_validate(body(llm_setting={
        **body()["llm_setting"],
        "api_key": {"type": "AwsSecretsManager", "secret_name": "PROD/App/openai_key"}}))
    with pytest.raises(InvalidRequest, match="--secrets-dir") as caught:
        secret_value(aws.llm_setting.api_key, "llm_setting.api_key", None)
    assert from_utterly(caught.value, provider="OpenAI", request="").code == 2001
    (tmp_path / "PROD" / "App").mkdir(parents=True)
    (tmp_path / "PROD" / "App" / "openai_key").write_text("sk-mounted\n")
    (tmp_path.parent / "outside").write_text("sk-outside")
    secrets = SecretsDir(tmp_path)
    assert secret_value(aws.llm_setting.api_key, "k", secrets) == "sk-mounted"
    for name in ("../outside", str(tmp_path.parent / "outside"), "PROD/App", "missing"):
        with pytest.raises(InvalidRequest, match="no secret named"):
            secrets.resolve(name, "llm_setting.api_key")


def test_tock_s_langfuse_takes_the_langfuse_place_beside_the_bridge_s_own_otlp():
    from utterly.observability import TracingConfig

    langfuse = CompletionRequest.model_validate(body(observability_setting={
        "provider": "Langfuse", "url": "http://127.0.0.1:3000/", "public_key": "pk-lf",
        "secret_key": {"type": "Raw", "secret": "sk-lf"}})).observability_setting
    own = TracingConfig(otlp_endpoint="http://127.0.0.1:6006", langfuse_public_key="pk-own",
                        langfuse_secret_key="sk-own", langfuse_host="http://127.0.0.1:4000")
    merged = tracing_config(langfuse, own, outbound=OutboundPolicy())
    assert (merged.langfuse_public_key, merged.langfuse_secret_key, merged.langfuse_host) == (
        "pk-lf", "sk-lf", "http://127.0.0.1:3000")
    assert merged.otlp_endpoint == "http://127.0.0.1:6006"
    assert tracing_config(None, own, outbound=OutboundPolicy()) is own


@pytest.mark.parametrize("code, tock", [
    (ErrorCode.UNREACHABLE, 1001), (ErrorCode.TIMEOUT, 1001), (ErrorCode.AUTHENTICATION, 1002),
    (ErrorCode.MODEL_NOT_FOUND, 2004), (ErrorCode.CONTEXT_TOO_LONG, 2007),
    (ErrorCode.RATE_LIMITED, 2002), (ErrorCode.SERVER_ERROR, 2002),
    (ErrorCode.BAD_REQUEST, 2006), (ErrorCode.CONFIGURATION, 1003)])
def test_provider_failures_map_to_tock_s_codes(code, tock):
    error = from_utterly(ProviderError(code, "it failed", hint="fix it", provider="openai"),
                         provider="OpenAI", request="[POST] http://bridge/completion/sentences")
    body = error.body()
    assert body["code"] == tock and body["message"] and set(body["info"]) == {
        "provider", "error", "cause", "request"}
    assert body["info"]["cause"] == "it failed (fix it)"
    azure = from_utterly(ProviderError(ErrorCode.MODEL_NOT_FOUND, "no deployment"),
                         provider="AzureOpenAIService", request="")
    assert azure.code == TockCode.PROVIDER_DEPLOYMENT_NOT_FOUND


def test_a_key_echoed_in_any_form_never_reaches_the_error():
    key = "sk-proj-AbCdEf0123456789/+=xyz"
    from urllib.parse import quote

    echoed = ("x" * 900 + f" key {key} or {key.lower()} or {quote(key, safe='')} rejected")
    error = from_utterly(ProviderError(ErrorCode.AUTHENTICATION, echoed), provider="OpenAI",
                         request="", secrets=(key,))
    cause = error.body()["info"]["cause"]
    assert "***" in cause
    for part in (key, key.lower(), quote(key, safe=""), key[:12], key[-12:].lower()):
        assert part.lower() not in cause.lower()
    assert redact("nothing here", None, "", key) == "nothing here"
