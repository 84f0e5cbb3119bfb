"""The differential test of `utterly tock-bridge`: the same requests (every fixture of
tests/data/tock/requests, and the error cases below) go, as Tock Studio's client sends them,
to Tock's real Gen AI orchestrator (tests/servers/tock_orchestrator.py) and to the bridge in
pass-through mode. Both reach the same loopback providers: the scripted OpenAI server, the
session's Azure and Ollama servers answering from the same script (tests/tock/fixtures.py
`fixture_fakes`), and a Langfuse recorder.

Status codes, body shapes (key sets, value types), error codes, messages and details must be
the same, ports and cause texts aside, except where DIFFERENCES says the bridge deliberately
answers otherwise; each difference is asserted on both sides, so that this fails when either
server changes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers.run import free_port
from tests.servers.scripted_openai import MISSING_MODEL
from tests.servers.tock_orchestrator import ORCHESTRATOR_ENV
from tests.tock.fixtures import (
    ALL_REQUESTS,
    FIXTURE_OPENAI_KEY,
    FIXTURE_SENTENCES,
    NEW_FRENCH,
    SCRIPTED_REPLY,
    Fakes,
    fixture_fakes,
    post_as_tock,
)
from tests.tock.orchestrator_requests import (
    SENTENCES_PATH,
    openai_setting,
    raw_key,
    sentence_inputs,
    sentences_request,
    setting_status_path,
    setting_status_request,
)
from utterly.tock_bridge.config import BridgeConfig, Mode, PromptChoice

from .conftest import running_bridge


@dataclass(frozen=True)
class Difference:
    cases: tuple[str, ...]
    tock: str
    bridge: str
    why: str
    # the status or the code differs: test_both_answer_alike leaves these cases out; else a
    # detail differs, which it allows for
    whole: bool = True


EITHER_OPENAI = "OpenAI or AzureOpenAIService"
# Where Utterly deliberately differs: case -> what Tock answers -> what the bridge answers -> why.
DIFFERENCES: dict[str, Difference] = {
    "sentences": Difference(
        ("every generation both answer with 200",),
        tock="every numbered line the model wrote: copies of the FAQ's sentences, duplicates, "
             "English for a French FAQ, more than nb_sentences",
        bridge="only new, distinct, same-language sentences, never more than nb_sentences",
        why="what Tock Studio shows is what the admin must sort; Utterly's filters do it",
        whole=False),
    "secret_manager": Difference(
        ("completion_aws_secret", "completion_gcp_secret"),
        tock="400 code 1000 (NoRegionError / DefaultCredentialsError: it tries the cloud)",
        bridge="400 code 2001, info.cause naming --secrets-dir",
        why="the bridge reads no cloud: it says how to give it the secret"),
    "422_input": Difference(
        ("completion_malformed", "temperature_not_a_number", "temperature_over_2",
         "unknown_provider_in_body", "unknown_formatter"),
        tock="FastAPI's 422, each problem echoing its `input` (the llm_setting and its raw "
             "key included)",
        bridge="the same problems (type, loc, msg, ctx) without `input`",
        why="Tock Studio logs what it reads; a key must not travel back", whole=False),
    "union_tag_msg": Difference(
        ("unknown_provider_in_body",),
        tock="msg lists its enum's reprs, FakeLLM included",
        bridge="msg lists 'OpenAI', 'AzureOpenAIService', 'Ollama'",
        why="the providers Tock Studio can send; FakeLLM is a test double of the orchestrator",
        whole=False),
    "provider_name": Difference(
        ("wrong_key", "missing_model", "context_too_long", "connection_refused",
         "azure_wrong_key", "azure_wrong_deployment"),
        tock=f"info.provider {EITHER_OPENAI!r} on completion errors",
        bridge="info.provider the setting's provider (OpenAI or AzureOpenAIService)",
        why="it names the provider that failed; Tock's own status checks already do",
        whole=False),
    "empty_info": Difference(
        ("completion_bad_template@tock_prompt", "langfuse_status_wrong_key"),
        tock="info.provider or info.request empty on errors its handlers do not classify",
        bridge="the setting's provider and the request that failed",
        why="more to go on, and still strings as Tock's client wants", whole=False),
    "langfuse_unreachable": Difference(
        ("langfuse_status_unreachable",),
        tock="400 code 1000 (ConnectError)",
        bridge="200 {valid: false, errors: [code 5002]}",
        why="a setting check reports its failure in errors (Tock Studio shows it and "
            "refuses the save either way), with the observability code"),
    "langfuse_moved": Difference(
        ("langfuse_status_moved",),
        tock="200 valid, when the same public key was checked before at a Langfuse that "
             "answered: its SDK keeps one client per public key, with the first URL",
        bridge="200 {valid: false, errors: [code 5002]}: the URL given is the one checked",
        why="an admin who moves Langfuse must learn that the new URL does not answer"),
    "legacy_path": Difference(
        ("completion_legacy_path",),
        tock='404 {"detail": "Not Found"} (26.3 dropped the route)',
        bridge="200, sentences as on /completion/sentences",
        why="Tock Studio before 25.3 calls it"),
    "unused_template": Difference(
        ("completion_bad_template", "fstring_attribute", "fstring_unknown_name",
         "jinja_undefined_name"),
        tock="400: 1005 TemplateSyntaxError; 1000 ValueError; 1000 KeyError; 1000 KeyError",
        bridge="200 with sentences (--prompt utterly)",
        why="Utterly's prompt is used, not Tock's template (docs/tock.md): a template it "
            "does not render cannot fail it"),
    "template_names": Difference(
        ("fstring_attribute@tock_prompt", "fstring_unknown_name@tock_prompt",
         "jinja_undefined_name@tock_prompt"),
        tock="400 code 1000 (ValueError; KeyError; KeyError), info.provider empty",
        bridge="400 code 1005 Prompt Template Error, info.cause naming the variable",
        why="Tock Studio shows a template error as one, not as an unknown error"),
    "bad_inputs": Difference(
        ("nb_sentences_0", "no_sentence"),
        tock="200 with every line the model wrote (ten for none asked; variations of nothing)",
        bridge="400 code 2001, info.cause naming prompt.inputs.nb_sentences / .sentences",
        why="a request that cannot be served says so rather than returning noise"),
    "ollama_errors": Difference(
        ("ollama_missing_model", "ollama_unreachable", "ollama_status_missing_model"),
        tock="400 code 1000 (ResponseError; ConnectError; ResponseError), provider empty",
        bridge="400 code 2004; 400 code 1001; 200 {valid: false, errors: [code 2004]}",
        why="Tock's generation handler knows only the openai SDK's exceptions (and its "
            "Ollama check handler one that langchain-ollama no longer raises): the bridge "
            "gives Ollama's failures the codes Tock gives OpenAI's"),
}

@dataclass(frozen=True)
class Case:
    build: Callable[[Fakes, str], tuple[str, dict]]  # (fakes, a dead URL) -> (path, body)
    context_tokens: int | None = None  # the scripted server's context for this case
    targets: tuple[str, ...] = field(default=("bridge",))


def _fixture(name: str, key: str | None = None, **changes) -> Case:
    """Fixture `name`, with `changes` to its setting (or to `key`)."""
    def build(fakes: Fakes, dead: str):
        request = fakes.request(name)
        body = request["body"]
        part = key or ("llm_setting" if "llm_setting" in body else "setting")
        body[part] = {**body[part], **{k: v(dead) if callable(v) else v
                                       for k, v in changes.items()}}
        return request["path"], body
    return Case(build)


def _openai_setting(fakes: Fakes, dead: str, setting: dict) -> dict:
    """Tock's OpenAI setting for the scripted server, with `setting`'s changes (a callable
    value is given the dead URL)."""
    changes = {k: v(dead) if callable(v) else v for k, v in setting.items()}
    return openai_setting(changes.pop("base_url", fakes.openai.base_url),
                          changes.pop("api_key", FIXTURE_OPENAI_KEY), **changes)


def _sentences(template: str | None = None, formatter: str = "jinja2",
               inputs: dict | None = None, **setting) -> Case:
    """A generation as orchestrator_requests builds it, of 3 sentences unless `inputs`."""
    inputs = inputs or sentence_inputs(FIXTURE_SENTENCES, nb_sentences=3)
    return Case(lambda fakes, dead: (SENTENCES_PATH, sentences_request(
        _openai_setting(fakes, dead, setting), inputs, template=template,
        formatter=formatter)))


def _status(**setting) -> Case:
    return Case(lambda fakes, dead: (setting_status_path("OpenAI"), setting_status_request(
        _openai_setting(fakes, dead, setting))))


def _dead_v1(dead: str) -> str:
    return dead + "/v1"


def _with_targets(case: Case, *targets: str) -> Case:
    return Case(case.build, case.context_tokens, targets)


WRONG_KEY = "sk-wrong-0000000000"
CASES: dict[str, Case] = {
    **{name: _fixture(name) for name in ALL_REQUESTS},
    "three_sentences": _sentences(),
    "wrong_key": _sentences(api_key=WRONG_KEY),
    "wrong_key_status": _status(api_key=WRONG_KEY),
    "missing_model": _sentences(model=MISSING_MODEL),
    "missing_model_status": _status(model=MISSING_MODEL),
    "context_too_long": Case(_sentences().build, context_tokens=20),
    "connection_refused": _sentences(base_url=_dead_v1),
    "connection_refused_status": _status(base_url=_dead_v1),
    "nb_sentences_0": _sentences(inputs=sentence_inputs(FIXTURE_SENTENCES, nb_sentences=0)),
    "no_sentence": _sentences(inputs=sentence_inputs([], nb_sentences=3)),
    "temperature_not_a_number": _sentences(temperature="hot"),
    "temperature_over_2": _sentences(temperature="3"),
    "unknown_provider_in_body": _fixture("completion_openai", provider="Mistral"),
    "unknown_formatter": _sentences(formatter="mustache"),
    "fstring_attribute": _sentences(template="{options.sms_language} {sentences}",
                                    formatter="f-string"),
    "fstring_unknown_name": _sentences(template="{foo} {sentences}", formatter="f-string"),
    "jinja_undefined_name": _sentences(template="{{ foo }} {{ sentences }} "
                                                "{{ format_instructions }}"),
    "azure_wrong_key": _fixture("completion_azure", api_key=raw_key("wrong-key-0000")),
    "azure_wrong_deployment": _fixture("completion_azure", deployment_name="no-deployment"),
    "ollama_missing_model": _fixture("completion_ollama", model="no-such-model"),
    "ollama_unreachable": _fixture("completion_ollama", base_url=lambda dead: dead),
    "ollama_status_missing_model": _fixture("status_ollama", model="no-such-model"),
    "langfuse_status_wrong_key": _fixture("status_langfuse", public_key="pk-lf-wrong"),
    # Tock's Langfuse SDK keeps one client per public key, with the URL it was first given:
    # a dead URL gets a key of its own, but where DIFFERENCES["langfuse_moved"] shows it.
    "langfuse_status_unreachable": _fixture("status_langfuse", url=lambda dead: dead,
                                            public_key="pk-lf-unreachable"),
    "langfuse_status_moved": _fixture("status_langfuse", url=lambda dead: dead),
    "langfuse_unknown_provider": Case(lambda fakes, dead: (
        "/observability-providers/Nope/setting/status", fakes.request("status_langfuse")[
            "body"])),
    "completion_langfuse_unreachable": _fixture("completion_langfuse", "observability_setting",
                                                url=lambda dead: dead,
                                                public_key="pk-lf-unreachable"),
}
# Tock's template is rendered by the bridge only with --prompt tock: these go there too.
for _name in ("completion_bad_template", "completion_fstring", "fstring_attribute",
              "fstring_unknown_name", "jinja_undefined_name"):
    CASES[_name] = _with_targets(CASES[_name], "bridge", "tock_prompt")

# "case" goes to the bridge, "case@tock_prompt" to the bridge with --prompt tock
SENT = [name if target == "bridge" else f"{name}@{target}"
        for name, case in CASES.items() for target in case.targets]
DIFFERENT = {case for difference in DIFFERENCES.values() if difference.whole
             for case in difference.cases}
# answered alike, but for the differences of detail
SAME = [case for case in SENT if case not in DIFFERENT]


@dataclass
class Answer:
    response: httpx.Response
    seen: list  # the chat requests the scripted OpenAI server received meanwhile

    @property
    def body(self):
        return self.response.json()


@pytest.fixture(scope="module")
def fakes(azure_server, ollama_server):
    with fixture_fakes(azure_server, ollama_server, SCRIPTED_REPLY) as servers:
        yield servers


@pytest.fixture(scope="module")
def servers(tock_orchestrator):
    pass_through = BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False,
                                prompt=PromptChoice.UTTERLY)
    tock_prompt = BridgeConfig(mode=Mode.PASS_THROUGH, warm_up=False, prompt=PromptChoice.TOCK)
    with running_bridge(pass_through) as bridge, running_bridge(tock_prompt) as with_template:
        yield {"tock": tock_orchestrator, "bridge": str(bridge.base_url),
               "tock_prompt": str(with_template.base_url)}


@pytest.fixture(scope="module")
def ask(fakes, servers):
    """ask("case") -> (Tock's answer, the bridge's); "case@tock_prompt" for the bridge with
    --prompt tock. Each request is sent once per module."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    answers: dict[tuple[str, str], Answer] = {}

    def send(name: str, target: str) -> Answer:
        if (name, target) not in answers:
            case = CASES[name]
            path, body = case.build(fakes, dead)
            state = fakes.openai.state
            before = state.context_tokens
            state.context_tokens = case.context_tokens or before
            seen = len(fakes.openai.requests)
            try:
                response = post_as_tock(servers[target], path, body)
            finally:
                state.context_tokens = before
            answers[name, target] = Answer(response, fakes.openai.requests[seen:])
        return answers[name, target]

    def both(case: str) -> tuple[Answer, Answer]:
        name, _, target = case.partition("@")
        return send(name, "tock"), send(name, target or "bridge")

    return both


# ---- comparison ---------------------------------------------------------------------------

PORT = re.compile(r"127\.0\.0\.1:\d+")


def shape(value):
    """Key sets and value types; a list is the set of its items' shapes."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    return type(value).__name__


def setting_provider(case: str, fakes: Fakes) -> str:
    _, body = CASES[case.partition("@")[0]].build(fakes, "http://127.0.0.1:9")
    return (body.get("llm_setting") or body.get("setting"))["provider"]


def assert_sentences(tock: dict, bridge: dict, inputs: dict) -> None:
    """DIFFERENCES["sentences"], both sides."""
    assert tock == {"sentences": SCRIPTED_REPLY}, tock  # every line, as the model wrote it
    assert_kept(bridge, inputs)


def assert_kept(bridge: dict, inputs: dict) -> None:
    """The bridge's side of DIFFERENCES["sentences"]."""
    assert list(bridge) == ["sentences"], bridge
    kept = bridge["sentences"]
    assert 1 <= len(kept) <= inputs["nb_sentences"] < len(SCRIPTED_REPLY), kept
    assert len(set(kept)) == len(kept), kept
    if any(inputs["options"].values()):
        # spelling mistakes, SMS, abbreviations rewrite the kept sentences
        assert not set(kept) & set(SCRIPTED_REPLY) - set(NEW_FRENCH), kept
    else:
        assert set(kept) <= set(NEW_FRENCH), kept


def assert_same_error(tock: dict, bridge: dict, provider: str) -> None:
    assert (bridge["code"], bridge["message"], bridge["detail"]) \
        == (tock["code"], tock["message"], tock["detail"]), (tock, bridge)
    assert all(isinstance(value, str) for value in bridge["info"].values()), bridge
    named = tock["info"]["provider"]
    if named == EITHER_OPENAI:  # DIFFERENCES["provider_name"]
        assert provider in ("OpenAI", "AzureOpenAIService")
        assert bridge["info"]["provider"] == provider
    elif named == "":  # DIFFERENCES["empty_info"]
        assert bridge["info"]["provider"] == provider
    else:
        assert bridge["info"]["provider"] == named


def without_input(body: dict) -> dict:
    """A 422 body without what DIFFERENCES["422_input"] leaves out."""
    return {"detail": [{k: v for k, v in problem.items() if k != "input"}
                       for problem in body["detail"]]}


def assert_same_422(tock: dict, bridge: dict) -> None:
    tock, bridge = without_input(tock), without_input(bridge)
    assert shape(bridge) == shape(tock)
    for ours, theirs in zip(bridge["detail"], tock["detail"], strict=True):
        assert (ours["type"], ours["loc"]) == (theirs["type"], theirs["loc"])
        if ours["type"] != "union_tag_invalid":  # DIFFERENCES["union_tag_msg"]
            assert ours["msg"] == theirs["msg"]


@pytest.mark.parametrize("case", SAME)
def test_both_answer_alike(case, ask, fakes):
    tock, bridge = ask(case)
    assert bridge.response.status_code == tock.response.status_code, \
        (tock.response.text, bridge.response.text)
    if tock.response.status_code == 422:
        return assert_same_422(tock.body, bridge.body)
    assert shape(bridge.body) == shape(tock.body), (tock.body, bridge.body)
    provider = setting_provider(case, fakes)
    if "sentences" in tock.body:
        _, body = CASES[case.partition("@")[0]].build(fakes, "http://127.0.0.1:9")
        assert_sentences(tock.body, bridge.body, body["prompt"]["inputs"])
    elif "valid" in tock.body:
        assert bridge.body["valid"] == tock.body["valid"]
        assert [e["code"] for e in bridge.body["errors"]] == \
            [e["code"] for e in tock.body["errors"]]
        for theirs, ours in zip(tock.body["errors"], bridge.body["errors"], strict=True):
            assert_same_error(theirs, ours, provider)
    else:
        assert_same_error(tock.body, bridge.body, provider)


def test_every_difference_names_cases_that_are_sent():
    named = {case for difference in DIFFERENCES.values() for case in difference.cases}
    assert DIFFERENT <= set(SENT)
    assert named - {"every generation both answer with 200"} <= set(SENT)


# ---- what once differed: the error's details, reasoning_effort, undefined names, 422 ctx -----

def _first_error(body: dict) -> dict | None:
    if "errors" in body:
        return body["errors"][0] if body["errors"] else None
    return body if "code" in body else None


ERROR_CASES = [case for case in SAME
               if case.partition("@")[0] in {
                   "wrong_key", "wrong_key_status", "missing_model", "missing_model_status",
                   "context_too_long", "connection_refused", "connection_refused_status",
                   "azure_wrong_key", "azure_wrong_deployment", "status_provider_mismatch",
                   "status_unknown_provider", "langfuse_status_wrong_key",
                   "langfuse_unknown_provider", "completion_bad_template"}]
@pytest.mark.parametrize("case", ERROR_CASES)
def test_info_error_is_tock_s(case, ask):
    tock, bridge = (_first_error(answer.body) for answer in ask(case))
    assert tock is not None and bridge is not None
    assert bridge["info"]["error"] == tock["info"]["error"]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_info_request_is_tock_s_but_for_ports(case, ask):
    tock, bridge = (_first_error(answer.body) for answer in ask(case))
    assert tock is not None and bridge is not None
    if tock["info"]["request"] == "":  # DIFFERENCES["empty_info"]
        assert bridge["info"]["request"].startswith("[POST] http://127.0.0.1:")
    else:
        assert PORT.sub("PORT", bridge["info"]["request"]) \
            == PORT.sub("PORT", tock["info"]["request"])


def test_tock_forwards_reasoning_effort(ask):
    tock, _ = ask("completion_reasoning_effort")
    assert [seen.get("reasoning_effort") for seen in tock.seen] == ["low"]


def test_the_bridge_forwards_reasoning_effort(ask):
    _, bridge = ask("completion_reasoning_effort")
    assert bridge.seen and all(seen.get("reasoning_effort") == "low" for seen in bridge.seen)


@pytest.mark.parametrize("case", ["temperature_over_2", "unknown_formatter",
                                  "unknown_provider_in_body"])
def test_tock_s_422_gives_the_context_of_a_problem(case, ask):
    tock, _ = ask(case)
    assert all("ctx" in problem for problem in tock.body["detail"])


@pytest.mark.parametrize("case", ["temperature_over_2", "unknown_formatter",
                                  "unknown_provider_in_body"])
def test_the_bridge_s_422_gives_the_context_of_a_problem(case, ask):
    _, bridge = ask(case)
    assert all("ctx" in problem for problem in bridge.body["detail"])


# ---- the deliberate differences, both sides -------------------------------------------------

def test_sentences_tock_returns_every_line_the_bridge_the_good_ones(ask, fakes):
    tock, bridge = ask("completion_openai")
    inputs = fakes.request("completion_openai")["body"]["prompt"]["inputs"]
    assert_sentences(tock.body, bridge.body, inputs)
    tock, bridge = ask("three_sentences")  # 6 good lines for 3 asked: the cap bites
    assert len(tock.body["sentences"]) == len(SCRIPTED_REPLY)
    assert 1 <= len(bridge.body["sentences"]) <= 3


def test_secret_manager_references(ask):
    for case, error in (("completion_aws_secret", "NoRegionError"),
                        ("completion_gcp_secret", "DefaultCredentialsError")):
        tock, bridge = ask(case)
        assert tock.response.status_code == bridge.response.status_code == 400
        assert tock.body["code"] == 1000 and tock.body["info"]["error"] == error
        assert bridge.body["code"] == 2001 and bridge.body["info"]["provider"] == "OpenAI"
        assert "--secrets-dir" in bridge.body["info"]["cause"]
        assert tock.seen == bridge.seen == []


def test_422_bodies_echo_the_input_on_tock_s_side_only(ask):
    for case in DIFFERENCES["422_input"].cases:
        tock, bridge = ask(case)
        assert tock.response.status_code == bridge.response.status_code == 422
        assert all("input" in problem for problem in tock.body["detail"])
        assert not any("input" in problem for problem in bridge.body["detail"])
        assert FIXTURE_OPENAI_KEY not in bridge.response.text
    tock, _ = ask("completion_malformed")  # the whole llm_setting, key included
    assert FIXTURE_OPENAI_KEY in tock.response.text


def test_an_unknown_provider_in_a_body_lists_what_each_accepts(ask):
    tock, bridge = ask("unknown_provider_in_body")
    [theirs], [ours] = tock.body["detail"], bridge.body["detail"]
    assert "FakeLLM" in theirs["msg"]
    assert ours["msg"].endswith("'OpenAI', 'AzureOpenAIService', 'Ollama'")


def test_completion_errors_name_the_provider(ask, fakes):
    for case in DIFFERENCES["provider_name"].cases:
        tock, bridge = ask(case)
        assert tock.body["info"]["provider"] == EITHER_OPENAI
        assert bridge.body["info"]["provider"] == setting_provider(case, fakes)
    tock, bridge = ask("wrong_key_status")  # a setting check: both name it
    assert tock.body["errors"][0]["info"]["provider"] == "OpenAI"
    assert bridge.body["errors"][0]["info"]["provider"] == "OpenAI"


def test_an_unclassified_error_s_info(ask):
    tock, bridge = ask("completion_bad_template@tock_prompt")
    assert (tock.body["info"]["provider"], tock.body["info"]["request"]) == ("", "")
    assert bridge.body["info"]["provider"] == "OpenAI"
    assert bridge.body["info"]["request"].endswith("/completion/sentences")


def test_an_unreachable_langfuse_on_its_setting_check(ask):
    tock, bridge = ask("langfuse_status_unreachable")
    assert tock.response.status_code == 400
    assert tock.body["code"] == 1000 and tock.body["info"]["error"] == "ConnectError"
    assert bridge.response.status_code == 200
    assert bridge.body["valid"] is False
    assert [error["code"] for error in bridge.body["errors"]] == [5002]
    assert bridge.body["errors"][0]["info"]["provider"] == "Langfuse"


def test_a_langfuse_that_moved_on_its_setting_check(ask):
    tock, bridge = ask("status_langfuse")  # checked first, at the recorder
    assert tock.body == bridge.body == {"valid": True, "errors": []}
    tock, bridge = ask("langfuse_status_moved")  # the same keys, nothing listening
    assert tock.response.status_code == 200 and tock.body == {"valid": True, "errors": []}
    assert bridge.response.status_code == 200 and bridge.body["valid"] is False
    assert [error["code"] for error in bridge.body["errors"]] == [5002]


def test_a_wrong_langfuse_key_is_5002_on_both(ask):
    for answer in ask("langfuse_status_wrong_key"):
        assert answer.response.status_code == 200
        assert answer.body["valid"] is False
        assert [error["code"] for error in answer.body["errors"]] == [5002]


def test_the_legacy_path(ask, fakes):
    tock, bridge = ask("completion_legacy_path")
    assert tock.response.status_code == 404 and tock.body == {"detail": "Not Found"}
    assert tock.seen == []
    assert bridge.response.status_code == 200
    inputs = fakes.request("completion_legacy_path")["body"]["prompt"]["inputs"]
    assert_kept(bridge.body, inputs)


def test_a_template_is_not_used_by_utterly_s_prompt(ask, fakes):
    codes = dict(zip(DIFFERENCES["unused_template"].cases, (1005, 1000, 1000, 1000),
                     strict=True))
    for case, code in codes.items():
        tock, bridge = ask(case)
        assert tock.response.status_code == 400 and tock.body["code"] == code, tock.body
        assert tock.seen == []
        assert bridge.response.status_code == 200, bridge.body
        assert_kept(bridge.body, CASES[case].build(fakes, "")[1]["prompt"]["inputs"])


def test_an_f_string_beyond_plain_names_is_a_template_error_with_tock_s_prompt(ask):
    for case, error in (("fstring_attribute@tock_prompt", "ValueError"),
                        ("fstring_unknown_name@tock_prompt", "KeyError"),
                        ("jinja_undefined_name@tock_prompt", "KeyError")):
        tock, bridge = ask(case)
        assert tock.response.status_code == bridge.response.status_code == 400
        assert tock.body["code"] == 1000 and tock.body["info"]["error"] == error
        assert tock.body["info"]["provider"] == ""
        assert bridge.body["code"] == 1005
        assert bridge.body["message"] == "Prompt Template Error."
        assert "{foo}" in bridge.body["info"]["cause"].replace(" ", "") \
            or "{options.sms_language}" in bridge.body["info"]["cause"]  # names the variable
        assert bridge.seen == []


def test_inputs_that_cannot_be_served(ask):
    for case, field_name in (("nb_sentences_0", "nb_sentences"), ("no_sentence", "sentences")):
        tock, bridge = ask(case)
        assert tock.response.status_code == 200
        assert tock.body == {"sentences": SCRIPTED_REPLY}
        assert bridge.response.status_code == 400 and bridge.body["code"] == 2001
        assert f"prompt.inputs.{field_name}" in bridge.body["info"]["cause"]
        assert bridge.seen == []


def test_ollama_failures(ask):
    tock, bridge = ask("ollama_missing_model")
    assert (tock.body["code"], tock.body["info"]["error"]) == (1000, "ResponseError")
    assert tock.body["info"]["provider"] == ""
    assert bridge.response.status_code == 400 and bridge.body["code"] == 2004
    assert bridge.body["info"]["provider"] == "Ollama"
    tock, bridge = ask("ollama_unreachable")
    assert (tock.body["code"], tock.body["info"]["error"]) == (1000, "ConnectError")
    assert bridge.response.status_code == 400 and bridge.body["code"] == 1001
    tock, bridge = ask("ollama_status_missing_model")
    assert tock.response.status_code == 400 and tock.body["code"] == 1000
    assert bridge.response.status_code == 200 and bridge.body["valid"] is False
    assert [error["code"] for error in bridge.body["errors"]] == [2004]


# ---- the reference itself --------------------------------------------------------------------

def test_the_orchestrator_s_rate_limiter_is_off(servers, fakes):
    """LangChain's limiter (0.1 request/s, an empty bucket at start) would hold every OpenAI
    call about 10 s; the fixture turns it off."""
    assert ORCHESTRATOR_ENV["tock_gen_ai_orchestrator_llm_rate_limits"] == "false"
    path, body = CASES["completion_openai"].build(fakes, "")
    for _ in range(3):
        started = time.monotonic()
        assert post_as_tock(servers["tock"], path, body).status_code == 200
        assert time.monotonic() - started < 8
