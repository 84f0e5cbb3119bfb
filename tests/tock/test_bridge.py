"""The bridge over real HTTP: the embedded model behind Tock's contract, the vendors' wire
protocols in pass-through, the deadline, the guard, the other routes."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI, Request

from tests.servers.fixtures import AZURE_CHAT_DEPLOYMENT, AZURE_TEST_KEY, OLLAMA_CHAT_MODEL
from tests.servers.run import ASGIServer
from utterly.normalize import normalize
from utterly.providers import ProviderConfig
from utterly.tock_bridge.config import SECRET_HEADER, BridgeConfig, Mode

from .conftest import running_bridge
from .fixtures import load_request

# Tock Studio's default template, as the fixtures carry it (engines-configuration.ts)
TOCK_DEFAULT_PROMPT = load_request("completion_openai", OPENAI_BASE_URL="x")["body"][
    "prompt"]["template"]

TEST_MODEL = "smollm2-135m"
FRENCH = ["Comment réinitialiser mon mot de passe ?", "J'ai oublié mon mot de passe"]
ENGLISH = ["Where is my parcel?", "My package has not arrived"]


def completion(sentences=FRENCH, locale="fr", nb=3, provider=None, **options) -> dict:
    return {"llm_setting": provider or {
                "provider": "OpenAI", "api_key": {"type": "Raw", "secret": "unused-by-server"},
                "model": "gpt-4o-mini", "temperature": "0.7"},
            "prompt": {"formatter": "jinja2", "template": TOCK_DEFAULT_PROMPT,
                       "inputs": {"locale": locale, "nb_sentences": nb, "sentences": sentences,
                                  "options": {"spelling_mistakes": False, "sms_language": False,
                                              "abbreviated_language": False, **options}}}}


def openai_setting(base_url: str, key: str = "sk-x", temperature: str = "0.2") -> dict:
    return {"provider": "OpenAI", "api_key": {"type": "Raw", "secret": key},
            "model": "gpt-4o-mini", "temperature": temperature, "base_url": base_url}


def server_config(**changes) -> BridgeConfig:
    # A deadline far from Tock's: on a loaded machine the small model's three attempts can
    # take long, and these tests are about the contract, not the deadline (tested below).
    return BridgeConfig(provider=ProviderConfig(provider="local", model=TEST_MODEL, n_ctx=2048),
                        **{"deadline_s": 150.0, **changes})


@pytest.fixture(scope="module")
def bridge():
    with running_bridge(server_config()) as client:
        yield client


def assert_tock_error(response: httpx.Response, code: int, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body["info"]) == {"provider", "error", "cause", "request"}
    return body


@pytest.mark.parametrize("path", ["/completion/sentences", "/completion/sentence-generation"])
def test_the_embedded_model_answers_both_paths_with_new_sentences(bridge, path):
    response = bridge.post(path, json=completion(nb=3))
    assert response.status_code == 200, response.text
    sentences = response.json()["sentences"]
    assert list(response.json()) == ["sentences"]
    assert isinstance(sentences, list) and len(sentences) <= 3
    given = {normalize(s) for s in FRENCH}
    assert all(isinstance(s, str) and s.strip() for s in sentences)
    assert not given & {normalize(s) for s in sentences}  # no copy of an example
    assert len({normalize(s) for s in sentences}) == len(sentences)  # no duplicate


def test_server_mode_checks_its_own_provider_not_tock_s(bridge):
    setting = completion()["llm_setting"] | {"base_url": "http://127.0.0.1:9/v1"}
    response = bridge.post("/llm-providers/OpenAI/setting/status", json={"setting": setting})
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True, "errors": []}


def test_server_mode_says_invalid_when_its_own_model_is_missing():
    config = BridgeConfig(provider=ProviderConfig(provider="local", model="/nowhere/x.gguf"),
                          warm_up=False)
    with running_bridge(config) as client:
        response = client.post("/llm-providers/OpenAI/setting/status",
                               json={"setting": completion()["llm_setting"]})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and body["errors"][0]["code"] in (1003, 2004)


def test_a_malformed_body_is_fastapi_s_422(bridge):
    broken = completion()
    del broken["prompt"]
    response = bridge.post("/completion/sentences", json=broken)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert response.json()["detail"][0]["loc"][-1] == "prompt"


def test_a_422_never_echoes_the_key(bridge):
    broken = completion()
    broken["llm_setting"]["api_key"]["secret"] = "sk-must-not-echo-0123456789"
    broken["llm_setting"]["temperature"] = "hot"
    response = bridge.post("/completion/sentences", json=broken)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "temperature"
    assert "sk-must-not-echo" not in response.text


def test_an_unknown_field_is_ignored_as_tock_s_server_ignores_it(bridge):
    body = completion(nb=1)
    body["future_field"] = {"x": 1}
    body["llm_setting"]["future_field"] = "y"
    assert bridge.post("/completion/sentences", json=body).status_code == 200


def test_bad_inputs_are_a_tock_error_naming_the_field(bridge):
    body = assert_tock_error(bridge.post("/completion/sentences", json=completion(nb=80)), 2001)
    assert "nb_sentences" in body["info"]["cause"] and "1-50" in body["info"]["cause"]
    assert body["info"]["request"].startswith("[POST] http://127.0.0.1")


def test_status_routes_check_the_provider_name_as_tock_does(bridge):
    setting = completion()["llm_setting"]
    assert_tock_error(bridge.post("/llm-providers/Mistral/setting/status",
                                  json={"setting": setting}), 2000)
    assert_tock_error(bridge.post("/llm-providers/Ollama/setting/status",
                                  json={"setting": setting}), 2001)


def test_health_checks_answer_as_tock_s(bridge):
    for path in ("/health-check", "/liveness-check"):
        assert bridge.get(path).json() == {"status": "OK"}


def test_routes_the_bridge_does_not_serve_say_so_without_an_upstream(bridge):
    body = assert_tock_error(bridge.post("/rag", json={"question": "x"}), 1000)
    assert "--upstream" in body["info"]["cause"]


def test_routes_the_bridge_does_not_serve_go_to_the_upstream_as_they_came():
    upstream = FastAPI()
    seen = []

    @upstream.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str, request: Request):
        seen.append((request.method, path, dict(request.query_params), await request.body(),
                     request.headers.get(SECRET_HEADER.lower())))
        return {"answered": path}

    with ASGIServer(upstream) as url, running_bridge(server_config(
            upstream_url=url, warm_up=False, shared_secret="s3cret")) as client:
        headers = {SECRET_HEADER: "s3cret"}
        response = client.post("/rag?debug=1", content=b'{"q": 1}', headers=headers)
        assert response.status_code == 200 and response.json() == {"answered": "rag"}
        assert client.get("/llm-providers", headers=headers).json() == {
            "answered": "llm-providers"}
    # the bridge's own secret stays at the bridge
    assert seen[0] == ("POST", "rag", {"debug": "1"}, b'{"q": 1}', None)


def test_a_dead_upstream_is_a_connection_error():
    with running_bridge(server_config(upstream_url="http://127.0.0.1:9",
                                      warm_up=False)) as client:
        assert_tock_error(client.post("/rag", json={}), 1001)


def test_the_deadline_returns_what_was_kept_rather_than_an_error(faulty_server):
    """The vendor answers once, then hangs: Tock gets the sentence kept before the
    deadline, well before its own 55 s timeout."""
    provider = openai_setting(f"{faulty_server.url}/answer-then-hang-tock/v1")
    config = BridgeConfig(mode=Mode.PASS_THROUGH, deadline_s=3, embeddings="none",
                          warm_up=False)
    with running_bridge(config) as client:
        started = time.monotonic()
        response = client.post("/completion/sentences",
                               json=completion(ENGLISH, locale="en", nb=5, provider=provider))
        took = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["sentences"] == ["track my order"]
    assert took < 30  # a hang guard: the deadline is 3 s


def test_nothing_kept_by_the_deadline_is_tock_s_connection_error(faulty_server):
    provider = openai_setting(f"{faulty_server.url}/hang/v1")
    config = BridgeConfig(mode=Mode.PASS_THROUGH, deadline_s=2, embeddings="none",
                          warm_up=False)
    with running_bridge(config) as client:
        body = assert_tock_error(client.post(
            "/completion/sentences", json=completion(ENGLISH, locale="en", provider=provider)),
            1001)
    assert "2 s" in body["info"]["cause"]


@pytest.mark.parametrize("behaviour, code", [("unauthorized", 1002), ("model-not-found", 2004),
                                             ("context", 2007), ("server-error", 2002)])
def test_vendor_failures_are_tock_s_codes_without_the_key(faulty_server, behaviour, code):
    key = "sk-test-ABCDEFGH1234567890"
    provider = openai_setting(f"{faulty_server.url}/{behaviour}/v1", key=key)
    config = BridgeConfig(mode=Mode.PASS_THROUGH, embeddings="none", warm_up=False)
    with running_bridge(config) as client:
        response = client.post("/completion/sentences",
                               json=completion(ENGLISH, locale="en", provider=provider))
        status = client.post("/llm-providers/OpenAI/setting/status",
                             json={"setting": provider})
    body = assert_tock_error(response, code)
    assert body["info"]["provider"] == "OpenAI"
    assert key not in response.text and key not in status.text
    assert status.status_code == 200 and status.json()["valid"] is False


def test_pass_through_reaches_azure_and_ollama_through_their_sdks(azure_server, ollama_server):
    azure = {"provider": "AzureOpenAIService", "api_key": {"type": "Raw", "secret": AZURE_TEST_KEY},
             "deployment_name": AZURE_CHAT_DEPLOYMENT, "model": "gpt-4o-mini",
             "api_base": azure_server.url, "api_version": "2024-06-01", "temperature": "0.5"}
    ollama = {"provider": "Ollama", "model": OLLAMA_CHAT_MODEL, "base_url": ollama_server.url,
              "temperature": "0.5"}
    config = BridgeConfig(mode=Mode.PASS_THROUGH, embeddings="none", warm_up=False)
    with running_bridge(config) as client:
        for provider, path in ((azure, "AzureOpenAIService"), (ollama, "Ollama")):
            status = client.post(f"/llm-providers/{path}/setting/status",
                                 json={"setting": provider})
            assert status.json() == {"valid": True, "errors": []}, status.text
            response = client.post("/completion/sentences",
                                   json=completion(ENGLISH, locale="en", nb=2,
                                                   provider=provider))
            assert response.status_code == 200, response.text
            assert len(response.json()["sentences"]) <= 2
        wrong = {**azure, "api_key": {"type": "Raw", "secret": "wrong-key-0000"}}
        assert_tock_error(client.post("/completion/sentences", json=completion(
            ENGLISH, locale="en", provider=wrong)), 1002)
        missing = {**ollama, "model": "no-such-model"}
        assert_tock_error(client.post("/completion/sentences", json=completion(
            ENGLISH, locale="en", provider=missing)), 2004)


# ---- the guard --------------------------------------------------------------------------

def test_a_client_outside_the_allow_list_is_refused():
    import ipaddress

    config = server_config(warm_up=False,
                           allowed_clients=(ipaddress.ip_network("10.0.0.0/8"),))
    with running_bridge(config) as client:
        refused = client.get("/health-check")
    assert refused.status_code == 403 and refused.json()["code"] == 1000
    config = server_config(warm_up=False,
                           allowed_clients=(ipaddress.ip_network("127.0.0.0/8"),))
    with running_bridge(config) as client:
        assert client.get("/health-check").status_code == 200


def test_the_shared_secret_is_required_when_set():
    with running_bridge(server_config(warm_up=False, shared_secret="s3cret")) as client:
        assert client.get("/health-check").status_code == 403
        assert client.get("/health-check", headers={SECRET_HEADER: "wrong"}).status_code == 403
        assert client.get("/health-check", headers={SECRET_HEADER: "s3cret"}).status_code == 200


def test_a_body_over_the_limit_is_refused_declared_or_streamed():
    with running_bridge(server_config(warm_up=False, max_body_bytes=4096)) as client:
        big = completion(sentences=["x" * 100] * 60)
        assert_tock_error(client.post("/completion/sentences", json=big), 2001)

        def chunks():
            for _ in range(64):
                yield b" " * 1024

        streamed = client.post("/completion/sentences", content=chunks(),
                               headers={"content-type": "application/json"})
        assert_tock_error(streamed, 2001)
        assert client.get("/health-check").status_code == 200  # still serving


def test_an_unexpected_failure_is_tock_s_unknown_error_without_its_text():
    from utterly.tock_bridge.service import BridgeService

    class Broken(BridgeService):
        async def sentences(self, body, request_line):
            raise RuntimeError("sk-leaky-0123456789 in an exception's text")

    config = server_config(warm_up=False)
    app_service = Broken(config)
    from utterly.tock_bridge.app import create_app

    with ASGIServer(create_app(config, app_service)) as url:
        response = httpx.post(f"{url}/completion/sentences", json=completion(), timeout=30)
    body = assert_tock_error(response, 1000)
    assert body["info"]["error"] == "RuntimeError" and "sk-leaky" not in response.text
