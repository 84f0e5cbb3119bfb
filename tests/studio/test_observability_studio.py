"""Observability in the Studio, over HTTP on both databases: a bot's observability settings
send its generations and checks to Langfuse (a recording fake of Langfuse's server), the
run history links each run to its trace, an import scores the trace, content capture can be
turned off, and checking the Langfuse keys writes no trace."""

from __future__ import annotations

import json
import re

from tests.servers.langfuse_recorder import OTEL_PATH, PROJECTS_PATH, SCORES_PATH
from utterly.observability import TracingConfig, get_tracer

from .conftest import generate_with_candidates

CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "langfuse.observation.input",
                "langfuse.observation.output", "langfuse.trace.input", "langfuse.trace.output"}
RESET_PASSWORD = "Comment réinitialiser mon mot de passe ?"


def observability_url(world) -> str:
    return f"/api/bots/{world.bot}/settings/observability"


def keys(recorder, **extra) -> dict:
    return {"langfuse_public_key": recorder.public_key,
            "langfuse_secret_key": recorder.secret_key, "langfuse_host": recorder.url, **extra}


def send_traces_to(world, recorder, **extra) -> None:
    response = world.studio.api("ada").put(observability_url(world),
                                           json={"enabled": True, **keys(recorder, **extra)})
    assert response.status_code == 200, response.text


def generate(world, user: str, **body) -> dict:
    response = world.studio.api(user).post(
        f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def root_of(spans):
    return next(s for s in spans if s.parent_id is None)


def test_a_traced_generation_links_its_run_to_the_trace_and_imports_score_it(
        generation_enabled, langfuse_recorder):
    world, recorder = generation_enabled, langfuse_recorder
    send_traces_to(world, recorder)
    out = generate_with_candidates(world, "bob", n=1, temperature=0.5)
    trace_id = out["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert out["trace_url"] == f"{recorder.url}/trace/{trace_id}"

    # the history carries the trace link
    bob = world.studio.api("bob")
    listed = bob.get(f"/api/bots/{world.bot}/generation-runs").json()["items"]
    assert (listed[0]["id"], listed[0]["trace_id"], listed[0]["trace_url"]) == \
        (out["run_id"], trace_id, out["trace_url"])
    assert len({r["trace_id"] for r in listed}) == len(listed)  # one trace per run
    detail = bob.get(f"/api/bots/{world.bot}/generation-runs/{out['run_id']}").json()
    assert (detail["trace_id"], detail["trace_url"]) == (trace_id, out["trace_url"])

    # the trace names who generated, for which bot and FAQ
    spans = recorder.wait_for_trace(trace_id)
    a = root_of(spans).attributes
    assert a["langfuse.trace.name"] == "Sentence Generation"
    assert a["user.id"] == a["langfuse.user.id"] == "bob"
    assert a["session.id"] == f"bot-{world.bot}-faq-{world.faq_password}"
    assert {"bot:Acme bot", "faq:Mot de passe", "locale:fr"} <= set(a["langfuse.trace.tags"])
    assert (a["langfuse.trace.metadata.bot_id"], a["langfuse.trace.metadata.faq_id"]) == \
        (world.bot, world.faq_password)
    assert {s.name.split(" ")[0] for s in spans} >= {"attempt", "chat", "parse", "clean"}

    # importing a selection scores the trace with the share a person accepted
    imported = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_password}/import",
                        json={"run_id": out["run_id"], "texts": [out["candidates"][0]["text"]]})
    assert imported.status_code == 200, imported.text
    accepted = recorder.wait_for(
        lambda: [s for s in recorder.scores_of(trace_id) if s["name"] == "accepted_share"],
        description="the accepted_share score")
    assert [(s["value"], s["dataType"]) for s in accepted] == \
        [(round(1 / len(out["candidates"]), 4), "NUMERIC")]


def test_turning_content_capture_off_keeps_prompts_and_outputs_out_of_traces(
        generation_enabled, langfuse_recorder):
    world, recorder = generation_enabled, langfuse_recorder
    send_traces_to(world, recorder, capture_content=True)  # off unless asked
    first = generate(world, "bob", seed=1, n=1, temperature=0.5)
    spans = recorder.wait_for_trace(first["trace_id"])
    chat = next(s for s in spans if s.name.startswith("chat "))
    assert RESET_PASSWORD in json.loads(chat.attributes["gen_ai.input.messages"])[1][
        "parts"][0]["content"]
    assert CONTENT_KEYS & set(root_of(spans).attributes)

    # the secret is kept when omitted; only content capture changes, to the same Langfuse
    response = world.studio.api("ada").put(observability_url(world), json={
        "enabled": True, "langfuse_public_key": recorder.public_key,
        "langfuse_host": recorder.url, "capture_content": False})
    assert response.status_code == 200, response.text
    second = generate(world, "bob", seed=1, n=1, temperature=0.5)
    spans = recorder.wait_for_trace(second["trace_id"])
    assert any(s.name.startswith("chat ") for s in spans)
    for span in spans:
        assert not CONTENT_KEYS & set(span.attributes), span.name


def test_checking_the_llm_settings_is_a_trace(generation_enabled, langfuse_recorder):
    world, recorder = generation_enabled, langfuse_recorder
    send_traces_to(world, recorder)
    check = world.studio.api("ada").post(
        f"/api/bots/{world.bot}/settings/sentence-generation/check")
    assert check.status_code == 200, check.text
    assert check.json()["ok"] is True
    roots = recorder.wait_for(lambda: [s for s in recorder.spans if s.parent_id is None
                                       and s.name == "Check LLM Settings"],
                              description="the Check LLM Settings trace")
    assert len(roots) == 1
    a = roots[0].attributes
    assert (a["langfuse.trace.name"], a["user.id"]) == ("Check LLM Settings", "ada")
    assert a["langfuse.trace.tags"] == ["bot:Acme bot"]
    assert a["utterly.check.ok"] is True
    assert a["langfuse.trace.metadata.provider"] == "local"


def test_checking_the_langfuse_keys_verifies_them_and_writes_no_trace(world,
                                                                       langfuse_recorder):
    recorder = langfuse_recorder
    send_traces_to(world, recorder)  # tracing is on: a check that traced would show
    ada = world.studio.api("ada")
    url = f"{observability_url(world)}/check"

    ok = ada.post(url, json=keys(recorder))
    assert ok.status_code == 200, ok.text
    assert (ok.json()["ok"], ok.json()["provider"], ok.json()["error"]) == \
        (True, "langfuse", None)
    stored = ada.post(url)  # the stored settings, without a body
    assert stored.json()["ok"] is True

    wrong = ada.post(url, json=keys(recorder, langfuse_secret_key="sk-lf-not-the-right-one"))
    assert wrong.status_code == 200, wrong.text
    assert (wrong.json()["ok"], wrong.json()["error"]["code"]) == (False, "authentication")
    assert wrong.json()["error"]["hint"]

    # whatever this process still had to send to that Langfuse is sent now
    get_tracer(TracingConfig(langfuse_public_key=recorder.public_key,
                             langfuse_secret_key=recorder.secret_key,
                             langfuse_host=recorder.url)).flush()
    assert [(r.method, r.path) for r in recorder.requests] == [("GET", PROJECTS_PATH)] * 3
    assert not {OTEL_PATH, SCORES_PATH} & {r.path for r in recorder.requests}
