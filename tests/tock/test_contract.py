"""Contract tests of `utterly tock-bridge`: every request of tests/data/tock/requests (what
Tock Studio's Kotlin client writes, tests/data/tock/README.md) replayed to the bridge in
pass-through mode exactly as serialised (the Jackson bytes, Retrofit's content type), each
provider a loopback fake. What comes back must be what Tock Studio's client reads, with the
status and the error code that the case calls for.

A case the bridge cannot serve is an expected error below, never a skip.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.servers.langfuse_recorder import OTEL_PATH
from tests.tock.fixtures import (
    ALL_REQUESTS,
    FIXTURE_LANGFUSE_KEYS,
    FIXTURE_OPENAI_KEY,
    SCRIPTED_REPLY,
    fixture_fakes,
    post_as_tock,
)
from utterly.tock_bridge.config import BridgeConfig, Mode

from .conftest import running_bridge

ERROR_KEYS = {"code", "message", "detail", "info"}
INFO_KEYS = {"provider", "error", "cause", "request"}


@dataclass(frozen=True)
class Expected:
    status: int
    code: int | None = None  # a 400's error code
    valid: bool | None = None  # a setting check's answer
    loc: tuple[str, ...] | None = None  # a 422's first problem
    why: str = ""


SENTENCES = Expected(200)
VALID = Expected(200, valid=True)
# fixture -> what the bridge answers (pass-through, its default prompt: Tock's template; no
# --secrets-dir)
EXPECTED: dict[str, Expected] = {
    "completion_aws_secret": Expected(400, code=2001, why="a secret-manager reference, and "
                                      "no --secrets-dir to resolve it"),
    "completion_azure": SENTENCES,
    "completion_bad_template": Expected(400, code=1005, why="Tock's template is the prompt "
                                        "(the default), and it cannot be rendered"),
    "completion_fstring": SENTENCES,
    "completion_gcp_secret": Expected(400, code=2001, why="as completion_aws_secret"),
    "completion_langfuse": SENTENCES,
    "completion_legacy_path": SENTENCES,
    "completion_malformed": Expected(422, loc=("body", "prompt")),
    "completion_ollama": SENTENCES,
    "completion_openai": SENTENCES,
    "completion_openai_options_fr_FR": SENTENCES,
    "completion_reasoning_effort": SENTENCES,
    "completion_unknown_field": SENTENCES,
    "status_azure": VALID,
    "status_langfuse": VALID,
    "status_ollama": VALID,
    "status_openai": VALID,
    "status_openai_langfuse": VALID,
    "status_provider_mismatch": Expected(400, code=2001, why="an OpenAI setting on the "
                                         "Ollama path"),
    "status_unknown_provider": Expected(400, code=2000),
}


@pytest.fixture(scope="module")
def fakes(azure_server, ollama_server):
    with fixture_fakes(azure_server, ollama_server, SCRIPTED_REPLY) as servers:
        yield servers


@pytest.fixture(scope="module")
def bridge():
    with running_bridge(BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False)) as client:
        yield str(client.base_url)


def replay(bridge: str, request: dict) -> httpx.Response:
    return post_as_tock(bridge, request["path"], request["body"])


def assert_error_body(body: dict, code: int) -> None:
    """Tock's ErrorResponse: every ErrorInfo field a string, never null (Kotlin non-null)."""
    assert set(body) == ERROR_KEYS and body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["detail"] is None or isinstance(body["detail"], str)
    assert set(body["info"]) == INFO_KEYS
    assert all(isinstance(value, str) for value in body["info"].values()), body["info"]


def assert_sentences(body: dict, inputs: dict) -> None:
    assert list(body) == ["sentences"], body
    sentences = body["sentences"]
    assert isinstance(sentences, list) and all(isinstance(s, str) and s for s in sentences)
    assert 1 <= len(sentences) <= inputs["nb_sentences"], sentences
    assert len(set(sentences)) == len(sentences)
    assert not set(sentences) & set(inputs["sentences"])  # no copy of a FAQ sentence


def assert_422(body: dict, loc: tuple[str, ...]) -> None:
    assert list(body) == ["detail"] and isinstance(body["detail"], list) and body["detail"]
    for problem in body["detail"]:
        assert {"loc", "msg", "type"} <= set(problem) and "input" not in problem, problem
        assert isinstance(problem["loc"], list)
        assert all(isinstance(part, str | int) for part in problem["loc"])
        assert isinstance(problem["msg"], str) and isinstance(problem["type"], str)
    assert tuple(body["detail"][0]["loc"]) == loc


def test_every_fixture_has_an_expected_answer():
    assert set(EXPECTED) == set(ALL_REQUESTS)


@pytest.mark.parametrize("name", ALL_REQUESTS)
def test_the_bridge_answers_the_fixture_as_tock_s_client_reads_it(name, fakes, bridge):
    request = fakes.request(name)
    expected = EXPECTED[name]
    response = replay(bridge, request)
    assert response.status_code == expected.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if expected.status == 400:
        assert_error_body(body, expected.code)
    elif expected.status == 422:
        assert_422(body, expected.loc)
    elif "prompt" in request["body"]:
        assert_sentences(body, request["body"]["prompt"]["inputs"])
    else:
        assert body == {"valid": expected.valid, "errors": []}, body
    for secret in (FIXTURE_OPENAI_KEY, FIXTURE_LANGFUSE_KEYS[1]):
        assert secret not in response.text


def test_a_secret_manager_reference_names_the_option_that_resolves_it(fakes, bridge):
    for name in ("completion_aws_secret", "completion_gcp_secret"):
        info = replay(bridge, fakes.request(name)).json()["info"]
        assert info["provider"] == "OpenAI" and "--secrets-dir" in info["cause"], info


def test_tock_s_langfuse_setting_gets_the_trace(fakes, bridge):
    assert replay(bridge, fakes.request("completion_langfuse")).status_code == 200
    spans = fakes.langfuse.wait_for(lambda: [
        s for s in fakes.langfuse.spans
        if s.name == "Sentence Generation" and s.parent_id is None and s.path == OTEL_PATH])
    assert spans
