"""The harness for the differential tests of `utterly tock-bridge`, against the real thing:
Tock's Gen AI orchestrator (tests/servers/tock_orchestrator.py) calling the scripted
OpenAI-compatible server (tests/servers/scripted_openai.py) as Tock Studio would make it.

What the orchestrator answers here is what a Tock-compatible server must answer: a business
error is HTTP 400 {code, message, detail, info: {provider, error, cause, request}}, a body
that does not validate is FastAPI's 422 {"detail": [...]}.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.servers.scripted_openai import (
    MISSING_MODEL,
    SCRIPTED_API_KEY,
    numbered_list,
    prompt_text,
)
from tests.servers.tock_orchestrator import TOCK_DIR, tock_missing
from tests.tock.orchestrator_requests import (
    ENGINES_CONFIGURATION,
    SENTENCES_PATH,
    default_prompt,
    openai_setting,
    sentence_inputs,
    sentences_request,
    setting_status_path,
    setting_status_request,
)

BASE_SENTENCES = ["je veux suivre mon colis", "où est mon colis ?"]
SCRIPTED = ["où se trouve mon colis", "je voudrais suivre mon paquet", "mon colis est où"]
ERROR_KEYS = {"code", "message", "detail", "info"}
INFO_KEYS = {"provider", "error", "cause", "request"}


def post(url: str, path: str, body: dict) -> httpx.Response:
    # Above the orchestrator's own 30 s LLM timeout, so that its answer is what we see.
    return httpx.post(url + path, json=body, timeout=60)


def sentences_body(server, **setting) -> dict:
    return sentences_request(
        openai_setting(server.base_url, setting.pop("api_key", SCRIPTED_API_KEY), **setting),
        sentence_inputs(BASE_SENTENCES, locale="fr", nb_sentences=3, spelling_mistakes=True))


def assert_error(response: httpx.Response, code: int) -> dict:
    """The orchestrator's business error shape, with `code`; returns its info."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and set(body["info"]) == INFO_KEYS, body
    assert body["code"] == code, body
    return body["info"]


def test_the_default_prompt_is_read_from_tock_studio():
    if not ENGINES_CONFIGURATION.exists():
        tock_missing(f"Tock Studio's source is not in {TOCK_DIR}")
    prompt = default_prompt()
    assert prompt.startswith("# Sentences generation instructions")
    assert "{{nb_sentences}}" in prompt and "{% for sentence in sentences %}" in prompt
    assert "{{format_instructions}}" in prompt and prompt.endswith("## Generated sentences\n")


# --- the scripted server speaks OpenAI's protocol (checked with the openai SDK) ----------------

def test_the_scripted_server_answers_the_openai_sdk(scripted_openai):
    scripted_openai.state.sentences = SCRIPTED
    client = openai.OpenAI(base_url=scripted_openai.base_url, api_key=SCRIPTED_API_KEY,
                           max_retries=0)
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini", "gpt-4o"]
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    answer = client.chat.completions.create(
        model="gpt-4o-mini", temperature=0.2,
        messages=[{"role": "user", "content": [{"type": "text", "text": "vary this"}]}])
    assert answer.choices[0].message.content == numbered_list(SCRIPTED)
    assert answer.choices[0].finish_reason == "stop" and answer.usage.total_tokens > 0
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "vary this"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) \
        == numbered_list(SCRIPTED)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    first = scripted_openai.requests[0]
    assert first["temperature"] == 0.2 and prompt_text(first) == "vary this"


def test_the_scripted_server_fails_as_openai_does(scripted_openai):
    def fails(exc, *, key=SCRIPTED_API_KEY, model="gpt-4o-mini", content="hi"):
        client = openai.OpenAI(base_url=scripted_openai.base_url, api_key=key, max_retries=0)
        with pytest.raises(exc) as caught:
            client.chat.completions.create(model=model,
                                           messages=[{"role": "user", "content": content}])
        return caught.value

    wrong_key = fails(openai.AuthenticationError, key="sk-wrong-0000000000")
    assert wrong_key.code == "invalid_api_key" and wrong_key.type == "invalid_request_error"
    assert set(wrong_key.body) == {"message", "type", "param", "code"}
    assert fails(openai.NotFoundError, model=MISSING_MODEL).code == "model_not_found"
    scripted_openai.state.context_tokens = 5
    too_long = fails(openai.BadRequestError, content="one two three four five six")
    assert too_long.code == "context_length_exceeded" and too_long.param == "messages"
    with pytest.raises(openai.NotFoundError):
        openai.OpenAI(base_url=scripted_openai.base_url,
                      api_key=SCRIPTED_API_KEY).models.retrieve(MISSING_MODEL)


# --- Tock's real orchestrator through the harness ----------------------------------------------

def test_sentences_are_the_scripted_list(tock_orchestrator, scripted_openai):
    scripted_openai.state.sentences = SCRIPTED
    response = post(tock_orchestrator, SENTENCES_PATH, sentences_body(scripted_openai))
    assert response.status_code == 200, response.text
    assert response.json() == {"sentences": SCRIPTED}
    [seen] = scripted_openai.requests
    # Tock keeps the temperature a string; the orchestrator sends OpenAI a number.
    assert seen["temperature"] == 0.7 and seen["model"] == "gpt-4o-mini"
    assert seen["stream"] is False and [m["role"] for m in seen["messages"]] == ["user"]
    prompt = prompt_text(seen)
    assert "generate a list of 3 unique sentences" in prompt
    assert "Answer in 'fr' (language locale)." in prompt
    assert "- Spelling Mistakes:" in prompt and "- Abbreviations" not in prompt
    assert "Your response should be a numbered list" in prompt  # format_instructions
    assert "\n- je veux suivre mon colis\n- où est mon colis ?\n" in prompt
    assert "{{" not in prompt and "{%" not in prompt


def test_a_wrong_key_is_an_authentication_error(tock_orchestrator, scripted_openai):
    response = post(tock_orchestrator, SENTENCES_PATH,
                    sentences_body(scripted_openai, api_key="sk-wrong-0000000000"))
    info = assert_error(response, 1002)
    assert response.json()["message"] == "Authentication error."
    assert info["provider"] == "OpenAI or AzureOpenAIService"
    assert info["error"] == "AuthenticationError" and "invalid_api_key" in info["cause"]
    assert info["request"] == f"[POST] {scripted_openai.base_url}/chat/completions"
    assert len(scripted_openai.requests) == 1


def test_an_unknown_model_is_error_2004(tock_orchestrator, scripted_openai):
    response = post(tock_orchestrator, SENTENCES_PATH,
                    sentences_body(scripted_openai, model=MISSING_MODEL))
    info = assert_error(response, 2004)
    assert info["error"] == "NotFoundError" and "model_not_found" in info["cause"]


def test_a_too_long_prompt_is_error_2007(tock_orchestrator, scripted_openai):
    scripted_openai.state.context_tokens = 20
    info = assert_error(post(tock_orchestrator, SENTENCES_PATH,
                             sentences_body(scripted_openai)), 2007)
    assert "context_length_exceeded" in info["cause"]


def test_a_body_without_prompt_is_refused_before_any_llm_call(tock_orchestrator,
                                                               scripted_openai):
    body = sentences_body(scripted_openai)
    del body["prompt"]
    response = post(tock_orchestrator, SENTENCES_PATH, body)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["type"] == "missing" and problem["loc"] == ["body", "prompt"]
    assert scripted_openai.requests == []


def test_the_reply_is_read_as_a_numbered_list(tock_orchestrator, scripted_openai):
    # LangChain's NumberedListOutputParser: the text after each "<digits>. " to the end of
    # its line, wherever it stands; other lines are dropped.
    scripted_openai.state.reply = "Voici 2. phrases\n1. un\n2) deux\n3.trois\n 4. quatre 5. x"
    response = post(tock_orchestrator, SENTENCES_PATH, sentences_body(scripted_openai))
    assert response.json() == {"sentences": ["phrases", "un", "quatre 5. x"]}


def test_a_setting_status_is_valid_or_lists_its_errors(tock_orchestrator, scripted_openai):
    path = setting_status_path("OpenAI")
    valid = post(tock_orchestrator, path, setting_status_request(
        openai_setting(scripted_openai.base_url, SCRIPTED_API_KEY)))
    assert valid.status_code == 200 and valid.json() == {"valid": True, "errors": []}
    assert prompt_text(scripted_openai.requests[0]) == "Hi, are you there?"

    invalid = post(tock_orchestrator, path, setting_status_request(
        openai_setting(scripted_openai.base_url, "sk-wrong-0000000000")))
    assert invalid.status_code == 200, invalid.text
    body = invalid.json()
    assert body["valid"] is False and [e["code"] for e in body["errors"]] == [1002]
    assert set(body["errors"][0]) == ERROR_KEYS
    assert body["errors"][0]["info"]["provider"] == "OpenAI"


def test_a_setting_of_another_provider_is_error_2001(tock_orchestrator, scripted_openai):
    response = post(tock_orchestrator, setting_status_path("Ollama"), setting_status_request(
        openai_setting(scripted_openai.base_url, SCRIPTED_API_KEY)))
    info = assert_error(response, 2001)
    assert info == {"provider": "Ollama", "error": "BadRequestError",
                    "cause": "The AI provider ID given for setting is not correct.",
                    "request": f"[POST] {tock_orchestrator}{setting_status_path('Ollama')}"}
    assert scripted_openai.requests == []
