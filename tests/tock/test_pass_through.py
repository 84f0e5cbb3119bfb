"""Pass-through over real HTTP: Tock's provider setting, through the openai SDK, to an
OpenAI-compatible server that answers from a script, so that what the bridge keeps of each
answer is known; Tock's Langfuse setting receives the trace."""

from __future__ import annotations

import json

import pytest

from tests.servers.scripted_openai import SCRIPTED_API_KEY, prompt_text, run_scripted_openai
from utterly.tock_bridge.config import BridgeConfig, Mode, PromptChoice

from .conftest import running_bridge

EXAMPLES = ["Comment réinitialiser mon mot de passe ?", "J'ai oublié mon mot de passe"]
GOOD = ["Je voudrais changer mon mot de passe oublié", "Mot de passe perdu, que faire ?",
        "Comment récupérer mon mot de passe ?"]
BAD = ["Comment réinitialiser mon mot de passe ?",        # a copy of an example
       "Je voudrais changer mon mot de passe oublié !",   # a duplicate of a good one
       "How do I reset my password?",                     # not French
       "Mot de passe perdu, que faire ?"]                 # the same again
SCRIPT = [GOOD[0], BAD[0], BAD[1], BAD[2], GOOD[1], BAD[3], GOOD[2]]


def body(base_url: str, nb: int = 5, key: str = SCRIPTED_API_KEY, **extra) -> dict:
    return {"llm_setting": {"provider": "OpenAI", "api_key": {"type": "Raw", "secret": key},
                            "model": "gpt-4o-mini", "temperature": "0.7", "base_url": base_url},
            "prompt": {"formatter": "jinja2",
                       "template": "Base sentences:{% for s in sentences %}\n- {{ s }}"
                                   "{% endfor %}\nWrite {{ nb_sentences }} in {{ locale }}.\n"
                                   "{{ format_instructions }}",
                       "inputs": {"locale": "fr_FR", "nb_sentences": nb, "sentences": EXAMPLES,
                                  "options": {"spelling_mistakes": False,
                                              "sms_language": False,
                                              "abbreviated_language": False}}},
            **extra}


@pytest.fixture(scope="module")
def scripted():
    with run_scripted_openai(SCRIPT) as server:
        yield server


@pytest.fixture(scope="module")
def bridge():
    with running_bridge(BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False,
                                     prompt=PromptChoice.UTTERLY)) as client:
        yield client


def test_only_new_distinct_french_sentences_come_back(scripted, bridge):
    scripted.state.requests.clear()
    response = bridge.post("/completion/sentences", json=body(scripted.base_url, nb=5))
    assert response.status_code == 200, response.text
    sentences = response.json()["sentences"]
    assert sentences and set(sentences) <= set(GOOD), sentences
    assert len(sentences) == len(set(sentences))
    sent = scripted.requests[0]
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == pytest.approx(0.7)
    # Utterly's own prompt when asked for, not the template Tock sent
    assert "Base sentences:" not in prompt_text(sent)
    assert all(example in prompt_text(sent) for example in EXAMPLES)


def test_never_more_than_nb_sentences(scripted, bridge):
    response = bridge.post("/completion/sentences", json=body(scripted.base_url, nb=1))
    assert response.status_code == 200
    assert len(response.json()["sentences"]) == 1


def test_tock_s_prompt_by_default_as_tock_renders_it(scripted):
    scripted.state.requests.clear()
    config = BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False)
    with running_bridge(config) as client:
        response = client.post("/completion/sentences", json=body(scripted.base_url, nb=3))
    assert response.status_code == 200, response.text
    assert set(response.json()["sentences"]) <= set(GOOD)
    text = prompt_text(scripted.requests[0])
    assert ("Base sentences:\n- Comment réinitialiser mon mot de passe ?\n"
            "- J'ai oublié mon mot de passe\nWrite 3 in fr_FR.\n"
            "Your response should be a numbered list") in text


def test_a_secret_manager_reference_resolves_from_the_mounted_folder(scripted, tmp_path):
    from utterly.tock.translate import SecretsDir

    (tmp_path / "PROD" / "App").mkdir(parents=True)
    (tmp_path / "PROD" / "App" / "openai_key").write_text(SCRIPTED_API_KEY + "\n")
    reference = body(scripted.base_url, nb=1)
    reference["llm_setting"]["api_key"] = {"type": "AwsSecretsManager",
                                           "secret_name": "PROD/App/openai_key"}
    with running_bridge(BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False)) as client:
        refused = client.post("/completion/sentences", json=reference)
    assert refused.status_code == 400 and refused.json()["code"] == 2001
    assert "--secrets-dir" in refused.json()["info"]["cause"]
    config = BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False, secrets=SecretsDir(tmp_path))
    with running_bridge(config) as client:
        response = client.post("/completion/sentences", json=reference)
    assert response.status_code == 200, response.text


def test_a_wrong_key_is_an_authentication_error_that_never_shows_the_key(scripted, bridge):
    wrong = "sk-wrong-ABCDEFGHIJKLMNOP0123456789"
    response = bridge.post("/completion/sentences", json=body(scripted.base_url, key=wrong))
    assert response.status_code == 400 and response.json()["code"] == 1002
    assert wrong not in response.text and wrong[3:20] not in response.text


def test_tock_s_langfuse_setting_receives_the_trace_without_the_keys(scripted, bridge,
                                                                     langfuse_recorder):
    observability = {"provider": "Langfuse", "url": langfuse_recorder.url,
                     "public_key": langfuse_recorder.public_key,
                     "secret_key": {"type": "Raw", "secret": langfuse_recorder.secret_key}}
    response = bridge.post("/completion/sentences", json=body(
        scripted.base_url, nb=2, observability_setting=observability))
    assert response.status_code == 200, response.text
    root = langfuse_recorder.wait_for(lambda: [s for s in langfuse_recorder.spans
                                               if s.name == "Sentence Generation"
                                               and s.parent_id is None])[0]
    spans = langfuse_recorder.spans_of(root.trace_id)
    assert any(s.attributes.get("gen_ai.request.model") == "gpt-4o-mini" for s in spans)
    everything = json.dumps([s.attributes for s in spans], default=str, ensure_ascii=False)
    assert "Comment réinitialiser" in everything  # the prompt, as Langfuse users expect
    for secret in (SCRIPTED_API_KEY, langfuse_recorder.secret_key):
        assert secret not in everything
    status = bridge.post("/observability-providers/Langfuse/setting/status",
                         json={"setting": observability})
    assert status.json() == {"valid": True, "errors": []}
    wrong = {**observability, "secret_key": {"type": "Raw", "secret": "sk-lf-wrong-000"}}
    status = bridge.post("/observability-providers/Langfuse/setting/status",
                         json={"setting": wrong})
    assert status.json()["valid"] is False and status.json()["errors"][0]["code"] == 5002
    assert "sk-lf-wrong-000" not in status.text


def test_pass_through_checks_tock_s_setting_on_save(scripted, bridge):
    setting = body(scripted.base_url)["llm_setting"]
    ok = bridge.post("/llm-providers/OpenAI/setting/status", json={"setting": setting})
    assert ok.json() == {"valid": True, "errors": []}
    missing = bridge.post("/llm-providers/OpenAI/setting/status",
                          json={"setting": {**setting, "model": "missing-model"}})
    assert missing.json()["valid"] is False
    assert missing.json()["errors"][0]["code"] == 2004
