"""Tracing of generations, end to end on the real SmolLM2 model:

- spans reach a real OpenTelemetry backend (Arize Phoenix) under one root, with the GenAI
  semantic conventions, and without prompts or outputs when content capture is off;
- Langfuse's wire contract (OTLP/protobuf with Basic auth, trace and generation attributes,
  scores, cost), against a recording fake of Langfuse's server;
- no secret leaves the process in a span or a header other than Langfuse's Authorization;
- a dead backend (refused, never answering, 503) never changes, slows or hangs a generation,
  and what it drops is counted and logged once per destination.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter

import pytest

import utterly
from tests.servers.langfuse_recorder import (
    COLLECTOR_PATH,
    OTEL_PATH,
    SCORES_PATH,
    eventually,
    run_recorder,
)
from tests.servers.run import free_port
from tests.servers.stale_connection import run_stale_connection_receiver
from utterly.errors import ProviderError
from utterly.generation import acheck_provider
from utterly.observability import Tracer, TracingConfig, cost_of
from utterly.providers import ProviderConfig

PARCEL = "Where is my parcel?"
SEED = 7
# Every attribute that carries a prompt, a model output or the user's sentences.
CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "langfuse.observation.input",
                "langfuse.observation.output", "langfuse.trace.input", "langfuse.trace.output"}
# A shutdown that takes longer than this hangs; its bound (3 s by default) is for bench/.
HANG_GUARD_S = 10.0


def basic(public_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def by_name(spans, name: str, key=lambda s: s.name) -> list:
    return [s for s in spans if key(s).split(" ")[0] == name]


# ---- a real OpenTelemetry backend: Arize Phoenix ----------------------------------------

def _phoenix_name(span: dict) -> str:
    return span["name"]


def _trace_complete(attempts: int):
    """A generation's trace is whole once its root and every attempt's spans are stored."""
    def complete(spans: list[dict]) -> bool:
        names = Counter(s["name"].split(" ")[0] for s in spans)
        return (any(s["name"] == "Sentence Generation" for s in spans)
                and all(names[n] == attempts
                        for n in ("attempt", "render", "chat", "parse", "clean")))
    return complete


@pytest.fixture(scope="module")
def phoenix_traces(phoenix, local_config, local_embeddings):
    """Two generations sent to Phoenix: content capture off (n=3, with embeddings), then on."""
    tracer = Tracer(TracingConfig(otlp_endpoint=phoenix.otlp_endpoint, capture_content=False))
    content_tracer = Tracer(TracingConfig(otlp_endpoint=phoenix.otlp_endpoint))
    try:
        result = utterly.generate(PARCEL, locale="en", n=3, seed=SEED, provider=local_config,
                                  embeddings=local_embeddings, tracing=tracer)
        with_content = utterly.generate(PARCEL, locale="en", n=1, seed=SEED,
                                        provider=local_config, embeddings=None,
                                        tracing=content_tracer)
        tracer.flush()
        content_tracer.flush()
        spans = phoenix.wait_for(result.trace_id, until=_trace_complete(result.attempts))
        content_spans = phoenix.wait_for(with_content.trace_id,
                                         until=_trace_complete(with_content.attempts))
        yield result, spans, content_spans
    finally:
        tracer.shutdown()
        content_tracer.shutdown()


def test_phoenix_stores_a_generation_as_one_trace_under_its_root(phoenix_traces):
    result, spans, _ = phoenix_traces
    assert result.trace_id and re.fullmatch(r"[0-9a-f]{32}", result.trace_id)
    assert result.trace_url is None  # an OTLP backend only: no Langfuse page to link to
    assert {s["context"]["trace_id"] for s in spans} == {result.trace_id}

    roots = [s for s in spans if s["parent_id"] is None]
    assert [r["name"] for r in roots] == ["Sentence Generation"]
    root = roots[0]
    assert root["attributes"]["langfuse.trace.name"] == "Sentence Generation"
    assert root["attributes"]["utterly.kept"] == len(result.sentences)
    assert root["attributes"]["utterly.attempts"] == result.attempts

    ids = {s["context"]["span_id"]: s for s in spans}
    attempts = by_name(spans, "attempt", _phoenix_name)
    assert sorted(a["name"] for a in attempts) == \
        [f"attempt {i}" for i in range(1, result.attempts + 1)]
    assert all(a["parent_id"] == root["context"]["span_id"] for a in attempts)
    for step in ("render", "chat", "parse", "clean"):
        steps = by_name(spans, step, _phoenix_name)
        assert len(steps) == result.attempts, step
        assert all(ids[s["parent_id"]]["name"].startswith("attempt ") for s in steps), step
    embeddings = by_name(spans, "embeddings", _phoenix_name)
    assert embeddings, "the meaning filter's embedder calls are spans too"
    for span in embeddings:
        assert ids[span["parent_id"]]["name"] == "clean"
        assert span["attributes"]["gen_ai.operation.name"] == "embeddings"
        assert span["attributes"]["utterly.texts"] >= 1
    # every span hangs, through its parents, from the root
    for span in spans:
        node = span
        while node["parent_id"] is not None:
            node = ids[node["parent_id"]]
        assert node is root


def test_phoenix_chat_spans_follow_the_genai_conventions(phoenix_traces, local_config):
    result, spans, _ = phoenix_traces
    chats = by_name(spans, "chat", _phoenix_name)
    for chat in chats:
        a = chat["attributes"]
        assert chat["name"] == f"chat {local_config.model}"
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == "llama.cpp"
        assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == local_config.model
        assert 0.0 <= a["gen_ai.request.temperature"] <= 1.0
        assert a["gen_ai.usage.input_tokens"] > 0
    assert sorted(c["attributes"]["gen_ai.request.temperature"] for c in chats)[0] == 0.7
    assert sum(c["attributes"]["gen_ai.usage.input_tokens"] for c in chats) == \
        result.usage.input_tokens
    assert sum(c["attributes"]["gen_ai.usage.output_tokens"] for c in chats) == \
        result.usage.output_tokens


def test_content_capture_decides_whether_prompts_and_outputs_leave(phoenix_traces):
    _, without_content, with_content = phoenix_traces
    for span in without_content:
        assert not CONTENT_KEYS & set(span["attributes"]), span["name"]
    # the same generation with capture on does carry them (so the check above can fail)
    chat = by_name(with_content, "chat", _phoenix_name)[0]["attributes"]
    messages = json.loads(chat["gen_ai.input.messages"])
    # the default template ends with the start of the answer, which the local model continues
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert PARCEL in messages[1]["parts"][0]["content"]
    assert messages[2]["parts"][0]["content"] == "1."
    assert json.loads(chat["gen_ai.output.messages"])[0]["role"] == "assistant"


@pytest.mark.parametrize(("value", "by_default", "captured"), [
    (None, True, True), (None, False, False), ("", False, False), ("1", False, True),
    ("true", False, True), ("0", True, False), ("no", True, False), ("False", True, False)])
def test_the_environment_says_whether_content_is_captured(value, by_default, captured):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    if value is not None:
        env["UTTERLY_TRACE_CONTENT"] = value
    config = TracingConfig.from_env(env, capture_by_default=by_default)
    assert config.capture_content is captured


def test_a_provider_check_is_a_check_llm_settings_trace(phoenix, local_config):
    tracer = Tracer(TracingConfig(otlp_endpoint=phoenix.otlp_endpoint))
    user = f"checker-{os.getpid()}-{time.monotonic_ns()}"
    try:
        check = asyncio.run(acheck_provider(local_config, tracing=tracer,
                                            trace_context={"user_id": user}))
        tracer.flush()
    finally:
        tracer.shutdown()
    assert check.ok
    spans = phoenix.wait_for(name="Check LLM Settings", until=lambda spans: any(
        s["attributes"].get("user.id") == user for s in spans))
    root = next(s for s in spans if s["attributes"].get("user.id") == user)
    assert root["parent_id"] is None
    assert root["attributes"]["langfuse.trace.name"] == "Check LLM Settings"
    assert root["attributes"]["utterly.check.ok"] is True
    assert root["attributes"]["langfuse.trace.metadata.provider"] == "local"


# ---- Langfuse's wire contract ------------------------------------------------------------

TRACE_CONTEXT = {"user_id": "ada@acme", "session_id": "faq-42", "tags": ["bot:Acme"],
                 "metadata": {"faq_id": 42}}


@pytest.fixture(scope="module")
def langfuse_trace(local_config, local_embeddings):
    """One generation traced to a recording Langfuse, its spans and scores all received."""
    with run_recorder() as recorder:
        tracer = Tracer(recorder.tracing_config())
        try:
            # diversity is scored on two kept sentences or more: SmolLM2 keeps fewer for
            # some seeds, so take the first of 8 that keeps two
            for seed in range(SEED, SEED + 8):
                result = utterly.generate(PARCEL, locale="en", n=3, seed=seed,
                                          sms_language=True, provider=local_config,
                                          embeddings=local_embeddings, tracing=tracer,
                                          trace_context=TRACE_CONTEXT)
                if len(result.sentences) >= 2:
                    break
            assert len(result.sentences) >= 2, result.rejected
            tracer.flush()
            spans = recorder.wait_for_trace(result.trace_id, tracer=tracer)
            recorder.wait_for(lambda: len(recorder.scores_of(result.trace_id))
                              == len(result.quality), description="the quality scores",
                              tracer=tracer)
            yield result, spans, recorder
        finally:
            tracer.shutdown()


def test_langfuse_receives_otlp_protobuf_with_basic_auth(langfuse_trace):
    _, _, recorder = langfuse_trace
    exports = [r for r in recorder.requests if r.path == OTEL_PATH]
    assert exports and {r.method for r in exports} == {"POST"}
    assert {r.path for r in recorder.requests} == {OTEL_PATH, SCORES_PATH}
    for request in exports:
        assert request.headers["content-type"] == "application/x-protobuf"
        assert request.headers["authorization"] == basic(recorder.public_key,
                                                         recorder.secret_key)


def test_langfuse_trace_attributes_name_the_trace_user_session_tags(langfuse_trace):
    result, spans, _ = langfuse_trace
    root = next(s for s in spans if s.parent_id is None)
    a = root.attributes
    assert (root.name, a["langfuse.trace.name"]) == ("Sentence Generation",) * 2
    assert a["user.id"] == a["langfuse.user.id"] == "ada@acme"
    assert a["session.id"] == a["langfuse.session.id"] == "faq-42"
    assert a["langfuse.trace.tags"] == ["bot:Acme", "locale:en", "option:sms_language"]
    assert a["langfuse.trace.metadata.faq_id"] == 42
    assert (a["langfuse.trace.metadata.provider"], a["langfuse.trace.metadata.model"]) == \
        ("local", "smollm2-135m")
    assert json.loads(a["langfuse.trace.input"]) == {"sentences": [PARCEL], "locale": "en"}
    assert json.loads(a["langfuse.trace.output"]) == [s.text for s in result.sentences]
    assert root.resource["service.name"] == "utterly"


def test_chat_spans_are_langfuse_generations_with_usage_and_cost(langfuse_trace):
    result, spans, _ = langfuse_trace
    chats = by_name(spans, "chat")
    assert len(chats) == result.attempts
    for chat in chats:
        a = chat.attributes
        assert a["langfuse.observation.type"] == "generation"
        assert a["langfuse.observation.model.name"] == "smollm2-135m"
        assert json.loads(a["langfuse.observation.usage_details"]) == {
            "input": a["gen_ai.usage.input_tokens"], "output": a["gen_ai.usage.output_tokens"]}
        # a local model costs nothing, and says so rather than leaving the cost unknown
        assert json.loads(a["langfuse.observation.cost_details"]) == \
            {"input": 0.0, "output": 0.0, "total": 0.0}
        # content capture is on by default, as Langfuse users expect
        assert PARCEL in a["langfuse.observation.input"]
        assert a["langfuse.observation.output"]
    assert result.cost_usd == 0.0


def test_quality_scores_are_posted_to_langfuse_for_the_trace(langfuse_trace):
    result, spans, recorder = langfuse_trace
    assert set(result.quality) == {"valid_ratio", "mean_similarity", "diversity"}
    scores = {s["name"]: s for s in recorder.scores_of(result.trace_id)}
    assert set(scores) == set(result.quality)
    for name, score in scores.items():
        assert (score["traceId"], score["dataType"]) == (result.trace_id, "NUMERIC")
        assert score["value"] == pytest.approx(result.quality[name])
    for request in (r for r in recorder.requests if r.path == SCORES_PATH):
        assert request.method == "POST"
        assert request.headers["authorization"] == basic(recorder.public_key,
                                                         recorder.secret_key)
        assert request.headers["content-type"] == "application/json"
    root = next(s for s in spans if s.parent_id is None)
    assert root.attributes["utterly.score.valid_ratio"] == result.quality["valid_ratio"]


def test_the_trace_url_opens_the_trace_in_langfuse(langfuse_trace):
    result, _, recorder = langfuse_trace
    assert result.trace_url == f"{recorder.url}/trace/{result.trace_id}"


# ---- a paid model through an OpenAI-compatible server: cost, and no secret in spans -----

API_KEY = "sk-test-SECRET-5f4e3d2c1b0a"


@pytest.fixture(scope="module")
def openai_traces(llama_cpp_server):
    """A generation as `gpt-4o-mini` (llama.cpp serves SmolLM2 under any name) and a failed
    one, traced to a recording Langfuse and to its plain OTLP receiver, with an API key."""
    with run_recorder() as recorder:
        tracer = Tracer(recorder.tracing_config(otlp_endpoint=recorder.collector_endpoint))
        try:
            result = utterly.generate(
                PARCEL, locale="en", n=2, seed=SEED, embeddings=None, tracing=tracer,
                provider=ProviderConfig(provider="openai", model="gpt-4o-mini",
                                        base_url=llama_cpp_server, api_key=API_KEY))
            with pytest.raises(ProviderError) as failed:
                utterly.generate(
                    PARCEL, locale="en", n=2, seed=SEED, embeddings=None, tracing=tracer,
                    provider=ProviderConfig(provider="openai", model="gpt-4o-mini",
                                            base_url=f"http://127.0.0.1:{free_port()}/v1",
                                            api_key=API_KEY, timeout_s=5))
            tracer.flush()
            spans = recorder.wait_for_trace(result.trace_id, tracer=tracer)
            recorder.wait_for(lambda: [s for s in recorder.spans if s.status_code == 2
                                       and s.parent_id is None and s.path == OTEL_PATH],
                              description="the failed generation's trace", tracer=tracer)
            recorder.wait_for(lambda: len(recorder.scores_of(result.trace_id))
                              == len(result.quality), description="the quality scores",
                              tracer=tracer)
            yield result, spans, failed.value, recorder
        finally:
            tracer.shutdown()


def test_a_priced_model_costs_its_tokens_times_the_list_price(openai_traces):
    result, spans, _, _ = openai_traces
    assert result.model == "gpt-4o-mini"
    in_tokens, out_tokens = result.usage.input_tokens, result.usage.output_tokens
    assert in_tokens > 0 and out_tokens > 0
    expected = in_tokens * 0.15 / 1e6 + out_tokens * 0.60 / 1e6  # USD per 1M tokens
    assert result.cost_usd == round(expected, 6) > 0
    chats = by_name(spans, "chat")
    assert sum(c.attributes["gen_ai.usage.cost"] for c in chats) == pytest.approx(expected)
    for chat in chats:
        a = chat.attributes
        assert a["gen_ai.provider.name"] == "openai"
        details = json.loads(a["langfuse.observation.cost_details"])
        assert details["input"] == pytest.approx(a["gen_ai.usage.input_tokens"] * 0.15 / 1e6)
        assert details["output"] == pytest.approx(a["gen_ai.usage.output_tokens"] * 0.6 / 1e6)
    root = next(s for s in spans if s.parent_id is None)
    assert root.attributes["utterly.cost_usd"] == pytest.approx(expected)


def test_prices_can_be_extended_with_a_json_file(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"smollm2-135m": {"input": 1.0, "output": 4.0}}))
    assert cost_of("openai", "smollm2-135m", 1000, 500) is None
    monkeypatch.setenv("UTTERLY_PRICES", str(prices))
    assert cost_of("openai", "smollm2-135m", 1000, 500) == \
        pytest.approx({"input": 0.001, "output": 0.002, "total": 0.003})
    # a dated version costs what its family costs; a local model costs nothing
    assert cost_of("openai", "smollm2-135m-2025-01-01", 1000, 500)["total"] == \
        pytest.approx(0.003)
    assert cost_of("local", "smollm2-135m", 1000, 500)["total"] == 0.0


def test_no_secret_leaves_in_a_span_or_a_header(openai_traces):
    _, _, failure, recorder = openai_traces
    assert failure.code == "unreachable"
    secrets = (API_KEY, recorder.secret_key)
    paths = {r.path for r in recorder.requests}
    assert {OTEL_PATH, COLLECTOR_PATH, SCORES_PATH} <= paths
    for request in recorder.requests:
        for name, value in request.headers.items():
            if name == "authorization" and request.path in (OTEL_PATH, SCORES_PATH):
                assert value == basic(recorder.public_key, recorder.secret_key)
                continue
            assert not any(secret in value for secret in secrets), (request.path, name)
        assert not any(secret.encode() in request.body for secret in secrets), request.path
    # the plain OTLP endpoint was given no credentials, and gets none
    assert all("authorization" not in r.headers for r in recorder.requests
               if r.path == COLLECTOR_PATH)
    spans = recorder.spans
    assert {s.path for s in spans} == {OTEL_PATH, COLLECTOR_PATH}
    for span in spans:
        text = json.dumps([span.attributes, span.resource], ensure_ascii=False)
        assert not any(secret in text for secret in secrets), span.name
    failed_root = next(s for s in spans if s.parent_id is None and s.status_code == 2)
    assert failed_root.attributes["error.type"] == "unreachable"


# ---- a kept-alive connection that the server closes as it is reused ----------------------

def test_an_export_on_a_connection_closed_meanwhile_is_sent_again():
    """A server closes an idle kept-alive connection after its timeout; an export sent on it
    at that moment gets no answer and must be sent again on a new connection. Lost, it was a
    trace's root span: on a loaded CI machine, the recorder's 1 s keep-alive crossed the
    batch processor's 500 ms ticks, and the recorder never got the openai_traces root."""
    with run_stale_connection_receiver() as receiver:
        tracer = Tracer(TracingConfig(langfuse_public_key="pk-lf-stale",
                                      langfuse_secret_key="sk-lf-stale",
                                      langfuse_host=receiver.url, otlp_endpoint=receiver.url))
        try:
            for name in ("attempt 1", "Sentence Generation"):  # one export each, in turn
                with tracer.otel.start_as_current_span(name):
                    pass
                assert tracer.flush()
            for name in ("valid_ratio", "diversity"):
                tracer.scores.send("0" * 32, name, 1.0)
        finally:
            started = time.monotonic()
            tracer.shutdown(HANG_GUARD_S)  # sends the scores before it returns
            assert time.monotonic() - started < HANG_GUARD_S
        assert tracer.dropped == 0, tracer.counters
        # each destination's second request came on its first connection, which was closed
        assert receiver.stale == 3
        for path in (OTEL_PATH, COLLECTOR_PATH):
            assert [s.name for s in receiver.spans() if s.path == path] == \
                ["attempt 1", "Sentence Generation"], path
        assert [json.loads(body)["name"] for path, body in receiver.received
                if path == SCORES_PATH] == ["valid_ratio", "diversity"]


# ---- never in the way: dead backends ----------------------------------------------------

DEAD = ["refused", "black_hole", "unavailable"]
# why each one's exports fail, as the drop counters tell it
FAILURE = {"refused": "ConnectError", "black_hole": "ReadTimeout", "unavailable": "HTTP 503"}


@contextlib.contextmanager
def dead_backend(behaviour: str):
    """The base URL of a backend that refuses connections, never answers, or answers 503;
    and its recorder (None for a closed port) to prove exports were attempted."""
    if behaviour == "refused":
        yield f"http://127.0.0.1:{free_port()}", None
        return
    with run_recorder(behaviour) as recorder:
        yield recorder.url, recorder


def dead_config(url: str) -> TracingConfig:
    """Both destinations at once: Langfuse and a plain OTLP endpoint."""
    return TracingConfig(langfuse_public_key="pk-lf-dead", langfuse_secret_key="sk-lf-dead",
                         langfuse_host=url, otlp_endpoint=url)


def small_generation(local_config, tracing):
    return utterly.generate(PARCEL, locale="en", n=1, seed=SEED, provider=local_config,
                            embeddings=None, tracing=tracing)


def outcome(result) -> tuple:
    return ([(s.text, str(s.origin), s.variations) for s in result.sentences],
            [(r.text, str(r.reason)) for r in result.rejected],
            result.usage, result.attempts, result.model)


@pytest.fixture(scope="module")
def untraced(local_config):
    result = small_generation(local_config, None)
    assert result.trace_id is None and result.trace_url is None
    return result


@pytest.mark.parametrize("behaviour", DEAD)
def test_a_dead_backend_changes_nothing_in_the_generation(behaviour, local_config, untraced):
    with dead_backend(behaviour) as (url, recorder):
        tracer = Tracer(dead_config(url))
        try:
            result = small_generation(local_config, tracer)
            tracer.flush()
            assert outcome(result) == outcome(untraced)
            assert re.fullmatch(r"[0-9a-f]{32}", result.trace_id)
            assert result.trace_url == f"{url}/trace/{result.trace_id}"
            # the export gives up after its timeout, in the background
            span_counters = [c for c in tracer.counters if c.kind != "langfuse_scores"]
            eventually(lambda: all(c.dropped for c in span_counters),
                       failure=lambda: f"nothing counted as dropped: {tracer.counters}")
            # and says why, without the address
            assert [c.last_failure for c in span_counters] == [FAILURE[behaviour]] * 2
            assert all(set(c.reasons) == {FAILURE[behaviour]} for c in span_counters)
            if recorder is not None:  # the exporter did try both destinations
                assert {OTEL_PATH, COLLECTOR_PATH} <= {r.path for r in recorder.requests}
                assert not recorder.spans
        finally:
            started = time.monotonic()
            tracer.shutdown()
            assert time.monotonic() - started < HANG_GUARD_S


def test_drops_are_counted_and_logged_once_per_destination(local_config, untraced, caplog):
    caplog.set_level(logging.WARNING, logger="utterly.tracing")
    with dead_backend("unavailable") as (url, recorder):
        tracer = Tracer(dead_config(url))
        try:
            for _ in range(2):
                assert outcome(small_generation(local_config, tracer)) == outcome(untraced)
            tracer.flush()
            # both traces, each of at least six spans (root, attempt, render, chat, parse,
            # clean), given up after the export timeout, and the scores
            eventually(lambda: all(c.dropped >= (1 if "scores" in c.destination else 2 * 6)
                                   for c in tracer.counters),
                       failure=lambda: f"not every destination dropped: {tracer.counters}")
        finally:
            tracer.shutdown()
    destinations = [c.destination for c in tracer.counters]
    assert sorted(destinations) == sorted([f"Langfuse at {url}", f"the OTLP endpoint {url}",
                                           f"Langfuse scores at {url}"])
    warnings = [r for r in caplog.records if r.name == "utterly.tracing" and url in r.args[0]]
    assert sorted(r.args[0] for r in warnings) == sorted(destinations)
    assert all(r.levelno == logging.WARNING for r in warnings)
    # with the reason: the 503s, after the retries of the export timeout
    assert {r.args[1] for r in warnings} == {"HTTP 503"}
    assert all(c.reasons == {"HTTP 503": c.dropped} for c in tracer.counters)
    # one warning per destination, however many spans it dropped
    span_counters = [c for c in tracer.counters if "scores" not in c.destination]
    assert all(c.dropped >= 2 * 6 for c in span_counters)


def test_the_cli_exits_and_prints_its_result_with_langfuse_never_answering():
    with run_recorder("black_hole") as recorder:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LANGFUSE_", "OTEL_", "UTTERLY_TRACE"))}
        env.update(LANGFUSE_PUBLIC_KEY="pk-lf-dead", LANGFUSE_SECRET_KEY="sk-lf-dead",
                   LANGFUSE_HOST=recorder.url, OTEL_EXPORTER_OTLP_ENDPOINT=recorder.url)
        # a hang guard: without bounded exports, the process would wait for the black hole
        proc = subprocess.run(
            [sys.executable, "-m", "utterly.cli", "generate", PARCEL, "--locale", "en",
             "-n", "1", "--provider", "local", "--model", "smollm2-135m", "--seed", str(SEED),
             "--embeddings", "none", "--json"],
            capture_output=True, text=True, env=env, timeout=240)
        assert proc.returncode in (0, 1), proc.stderr
        data = json.loads(proc.stdout)
        assert re.fullmatch(r"[0-9a-f]{32}", data["trace_id"])
        assert data["trace_url"] == f"{recorder.url}/trace/{data['trace_id']}"
        assert OTEL_PATH in {r.path for r in recorder.requests}
        assert not recorder.spans
