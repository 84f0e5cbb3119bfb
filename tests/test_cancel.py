"""Cancel means stopped (issue 24): a generation told to stop lets go of its provider call
within a second, whatever the provider does. The vendors here are real HTTP servers on
127.0.0.1 that read the request and never send a byte (tests/servers/silent_server.py), in
OpenAI's and Ollama's shapes; the local model is the real SmolLM2.

Time bounds: the pipeline asks `should_stop()` every STOP_POLL_S (0.1 s) while it awaits
the provider, and a cancelled call unwinds in milliseconds, so the issue's target is "within
a second"; the tests allow 2 s, as this machine's two cores are shared with other test runs.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.servers.silent_server import SilentServer
from utterly.generation import agenerate
from utterly.pipeline import STOP_POLL_S, PipelineSettings, run_generation
from utterly.providers import ProviderConfig
from utterly.providers.gate import LocalGate, SharedCount
from utterly.request import GenerationRequest

QUESTION = "Where is my order?"
# What the issue asks, with room for a loaded machine (see the module's docstring).
FREED_WITHIN_S = 2.0
CANCEL_AFTER_S = 0.3

SHAPES = {
    "openai": ("openai-compatible", "/v1", "POST /v1/chat/completions "),
    "ollama": ("ollama", "", "POST /api/chat "),
}


@pytest.fixture
def silent():
    with SilentServer() as server:
        yield server


def config_for(server: SilentServer, shape: str, **fields) -> ProviderConfig:
    provider, path, _ = SHAPES[shape]
    # a time limit far beyond the test: only the cancel can end the call
    return ProviderConfig(provider=provider, model="m", base_url=server.url + path,
                          api_key="sk-test", timeout_s=120, **fields)


def cancel_after_request(server: SilentServer):
    """A `should_stop` that turns true CANCEL_AFTER_S after the vendor read a request."""
    def should_stop() -> bool:
        read = [c for c in server.connections if c.read.is_set()]
        return bool(read) and time.monotonic() >= read[0].opened_at + CANCEL_AFTER_S
    return should_stop


async def generate(config: ProviderConfig, should_stop, **settings):
    return await agenerate(QUESTION, locale="en", n=3, provider=config, embeddings=None,
                           tracing=None, should_stop=should_stop,
                           settings=PipelineSettings(**settings))


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_cancel_frees_a_call_to_a_vendor_that_sends_nothing(silent, shape):
    result = await generate(config_for(silent, shape), cancel_after_request(silent))
    returned = time.monotonic()

    [connection] = silent.connections  # one call, not retried after the cancel
    assert connection.request_line.startswith(SHAPES[shape][2])
    cancelled_at = connection.opened_at + CANCEL_AFTER_S
    assert returned - cancelled_at < FREED_WITHIN_S
    # the vendor sees its connection closed: its worker is free too
    assert connection.closed.wait(FREED_WITHIN_S)
    assert connection.closed_at - cancelled_at < FREED_WITHIN_S
    assert result.stopped == "cancelled" and result.sentences == []
    assert [n["code"] for n in result.notices] == ["cancelled"]
    # the call is in the trace, with nothing answered
    assert len(result.trace) == 1 and result.trace[0]["answers"] == [""]


async def test_a_cancel_frees_a_call_waiting_for_a_gate_slot(silent):
    count = SharedCount()
    count.busy = 1  # the endpoint's one slot is another generation's, for as long as it likes
    config = config_for(silent, "openai", gate=LocalGate(count, 1))
    waiting_since: list[float] = []

    def should_stop() -> bool:
        if count.waiting and not waiting_since:
            waiting_since.append(time.monotonic())
        return bool(waiting_since) and time.monotonic() >= waiting_since[0] + CANCEL_AFTER_S

    result = await generate(config, should_stop)

    assert time.monotonic() - waiting_since[0] - CANCEL_AFTER_S < FREED_WITHIN_S
    assert result.stopped == "cancelled"
    assert (count.busy, count.waiting) == (1, 0)  # no slot taken, no longer waiting
    assert silent.connections == []


async def test_a_cancel_frees_the_call_that_names_the_topic(silent):
    result = await generate(config_for(silent, "openai"), cancel_after_request(silent),
                            infer_topic=True)
    assert result.stopped == "cancelled" and result.attempts == 0
    [connection] = silent.connections
    assert connection.closed.wait(FREED_WITHIN_S)


async def test_without_a_cancel_the_call_goes_on(silent):
    """The watch itself stops nothing: a stop that never comes leaves the call waiting."""
    task = asyncio.create_task(generate(config_for(silent, "ollama"), lambda: False))
    connection = await asyncio.to_thread(silent.first_request)
    await asyncio.sleep(10 * STOP_POLL_S)
    assert not task.done() and not connection.closed.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancel_stops_the_local_model_waiting_for_the_engine(local_provider):
    """Another generation holds the embedded model: a cancelled one does not wait for it."""
    engine = local_provider._engine()
    request = GenerationRequest.build(sentences=[QUESTION], locale="en", n=5, seed=1)
    engine.lock.acquire()
    # should the cancel not work, the "other generation" ends after a while: a failure, not
    # a hung test run
    safety = threading.Timer(30, engine.lock.release)
    safety.start()
    try:
        asked = time.monotonic()
        result = await run_generation(
            request, local_provider,
            should_stop=lambda: time.monotonic() >= asked + CANCEL_AFTER_S)
        assert time.monotonic() - asked - CANCEL_AFTER_S < FREED_WITHIN_S
    finally:
        if safety.is_alive():
            safety.cancel()
            engine.lock.release()
    assert result.stopped == "cancelled"
    assert set(result.trace[0]["finish_reasons"]) == {"cancelled"}


async def test_a_cancel_stops_the_local_model_mid_answer(local_provider):
    """Stopped as the model writes: the generation ends at once with what it kept, and the
    model's thread is done (its engine free for the next generation)."""
    request = GenerationRequest.build(sentences=[QUESTION], locale="en", n=5, seed=2)
    written: list[float] = []

    def on_progress(event: dict) -> None:
        if event["event"] in ("sentences", "rejected") and not written:
            written.append(time.monotonic())

    result = await run_generation(request, local_provider, on_progress=on_progress,
                                  should_stop=lambda: bool(written))
    assert time.monotonic() - written[0] < FREED_WITHIN_S
    assert result.stopped == "cancelled" and len(result.sentences) < request.n
    assert "cancelled" in result.trace[-1]["finish_reasons"]
    engine = local_provider._engine()
    assert engine.lock.acquire(blocking=False)  # no decoding left running
    engine.lock.release()
