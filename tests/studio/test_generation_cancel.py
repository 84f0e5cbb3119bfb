"""Cancel means stopped (issue 24), in the Studio: a streamed generation whose vendor sends
nothing ends with its result as soon as Cancel is pressed or its client leaves, the run
stored as partial (`trace.stopped`: "cancelled", or "closed" for a client that left), the
vendor's connection closed, the generation thread and the stream's id given back. Once, a
Cancel answered 202 and the stream ended 29 s later, at the bot's time limit.

The vendors: a server that reads each request and never sends a byte
(tests/servers/silent_server.py), and the faulty server's `answer-then-hang` (a valid
answer, then nothing). Time bounds: the target is "within a second" (the pipeline looks
every 0.1 s); the tests allow 2 s, as two cores are shared with other test runs.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.servers.silent_server import SilentServer
from utterly.generation import agenerate
from utterly.providers import ProviderConfig
from utterly.studio.gates import RedisGate

from .conftest import use_vendor
from .test_generation_stream import events_of

FREED_WITHIN_S = 2.0
# far beyond each test: only a cancel can end the generation in time
BOT_LIMIT_S = 120


def stream_path(world) -> str:
    return f"/api/bots/{world.bot}/faqs/{world.orders}/generate/stream"


def live_count(world) -> int:
    return len(world.studio.app.state.studio.live)


def run_of(world, run_id: int) -> dict:
    response = world.studio.api("bob").get(f"/api/bots/{world.bot}/generation-runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def within(seconds: float, condition) -> bool:
    """Whether `condition()` turns true within `seconds` (looked at every 20 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_cancel_ends_a_stream_whose_vendor_sends_nothing(silent_vendor):
    world = silent_vendor
    bob = world.studio.api("bob")
    with bob.stream("POST", stream_path(world), json={}, timeout=60) as response:
        assert response.status_code == 200
        events = events_of(response)
        kind, started = next(events)
        assert kind == "started"
        connection = world.silent.first_request()  # the model is being asked

        answer = bob.post(started["cancel_url"])
        cancelled_at = time.monotonic()
        assert answer.status_code == 202, answer.text
        rest = list(events)
        ended_at = time.monotonic()

    assert ended_at - cancelled_at < FREED_WITHIN_S
    kind, result = rest[-1]
    assert kind == "result", rest
    assert (result["status"], result["stopped"], result["candidates"]) == (
        "partial", "cancelled", [])
    # the vendor saw the call end, the stream's id and its thread are given back
    assert connection.closed.wait(FREED_WITHIN_S)
    assert len(world.silent.connections) == 1
    assert live_count(world) == 0
    run = run_of(world, result["run_id"])
    assert run["status"] == "partial" and run["trace"]["stopped"] == "cancelled"
    assert run["stopped"] == "cancelled"  # what the history shows: cancelled, not closed
    assert run["error"] is None


def test_cancel_keeps_what_was_kept_when_the_vendor_then_sends_nothing(shop):
    # a first answer of two sentences; the second attempt (three more wanted) never answers
    use_vendor(shop, f"answer-then-hang-cancel{shop.studio.dialect}", timeout_s=BOT_LIMIT_S)
    bob = shop.studio.api("bob")
    with bob.stream("POST", stream_path(shop), json={"n": 5}, timeout=60) as response:
        events = events_of(response)
        kind, started = next(events)
        for kind, event in events:
            if event.get("event") == "attempt" and event["attempt"] == 2:
                break  # two kept, the second call under way
        else:
            pytest.fail("the stream ended before its second attempt")
        assert event["kept"] == 2
        time.sleep(0.3)  # the call is sent and waiting
        assert bob.post(started["cancel_url"]).status_code == 202
        cancelled_at = time.monotonic()
        rest = list(events)
        ended_at = time.monotonic()

    assert ended_at - cancelled_at < FREED_WITHIN_S
    kind, result = rest[-1]
    assert kind == "result", rest
    assert (result["status"], result["stopped"]) == ("partial", "cancelled")
    texts = [c["text"] for c in result["candidates"]]
    assert texts == ["where is my parcel", "track my order"]
    run = run_of(shop, result["run_id"])
    assert run["trace"]["stopped"] == "cancelled"
    assert [c["text"] for c in run["candidates"]] == texts
    first, second = run["trace"]["calls"]
    assert second["answers"] == [""]


def test_a_client_that_leaves_frees_its_generation(silent_vendor):
    world = silent_vendor
    bob = world.studio.api("bob")
    with bob.stream("POST", stream_path(world), json={}, timeout=60) as response:
        events = events_of(response)
        assert next(events)[0] == "started"
        connection = world.silent.first_request()
        assert live_count(world) == 1
    left_at = time.monotonic()  # the dialog closed: the connection with it

    shares = world.studio.app.state.studio.shares
    # its live entry, its thread (the share it held) and the vendor's connection
    assert within(FREED_WITHIN_S, lambda: live_count(world) == 0 and shares.held() == 0)
    assert time.monotonic() - left_at < FREED_WITHIN_S
    assert connection.closed.wait(FREED_WITHIN_S)
    # what it kept (nothing) is stored, as a run whose page closed (issue 25: it said
    # "cancelled", as a Cancel does)
    runs = bob.get(f"/api/bots/{world.bot}/generation-runs").json()["items"]
    assert [(r["status"], r["stopped"]) for r in runs] == [("partial", "closed")]
    assert run_of(world, runs[0]["id"])["trace"]["stopped"] == "closed"


def test_a_cancel_frees_a_call_waiting_for_a_fleet_slot(redis_url):
    """Every slot of the endpoint is held elsewhere in the fleet (Redis): the generation
    waiting for one stops waiting when cancelled, and takes none."""
    import redis

    client = redis.Redis.from_url(redis_url)
    # another bot's call holds the endpoint's one slot (one of this bot's would stop it at
    # its own limit, which is not a wait for the endpoint)
    elsewhere = RedisGate(client, "cancel", 1, hold_s=30, caller="another-bot")
    assert elsewhere.try_slot("another-process") == 1
    gate = RedisGate(client, "cancel", 1, hold_s=30, caller="this-bot")
    with SilentServer() as server:
        config = ProviderConfig(provider="openai-compatible", model="m",
                                base_url=f"{server.url}/v1", timeout_s=BOT_LIMIT_S,
                                gate=gate)
        waiting_since: list[float] = []

        def should_stop() -> bool:  # 0.3 s after the generation is seen waiting
            if not waiting_since and client.zcard(gate.waiting):
                waiting_since.append(time.monotonic())
            return bool(waiting_since) and time.monotonic() >= waiting_since[0] + 0.3

        result = asyncio.run(agenerate(
            "Where is my order?", locale="en", n=2, provider=config, embeddings=None,
            tracing=None, should_stop=should_stop))
        assert time.monotonic() - waiting_since[0] - 0.3 < FREED_WITHIN_S
        assert server.connections == []
    assert result.stopped == "cancelled"
    assert client.zrange(gate.holders, 0, -1) == [elsewhere.member("another-process").encode()]
    client.close()
