"""A generation waiting its turn says so on its stream (issue 25: two runs at once both
said "attempt 1", one of them waiting for the model with no sign of it): `waiting` progress
events with the reason and the place in the queue, then `waited` when its turn comes.

Three queues: the embedded model (one answer at a time; the test holds it as another
generation would), a provider endpoint's call slots (held by another bot's calls,
tests/studio/test_gates.py's `holding`), and the Studio's generation threads (one thread,
taken by a generation whose vendor never answers). Every test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from utterly.providers import ProviderConfig
from utterly.providers.local import LocalProvider
from utterly.studio.gates import GATES

from .conftest import KEY, TEST_MODEL, use_vendor
from .test_gates import holding
from .test_generation_stream import events_of

WAIT_S = 60  # a hang guard, never a timing assertion


class Stream:
    """A streamed generation read in a thread of its own: its events as they come."""

    def __init__(self, client, path: str, body: dict):
        self.events: list[tuple[str, dict]] = []
        self._thread = threading.Thread(target=self._read, args=(client, path, body),
                                        daemon=True)
        self._thread.start()

    def _read(self, client, path: str, body: dict) -> None:
        with client.stream("POST", path, json=body, timeout=300) as response:
            assert response.status_code == 200, response.read()
            for event in events_of(response):
                self.events.append(event)

    def progress(self) -> list[dict]:
        return [data for kind, data in list(self.events) if kind == "progress"]

    def waits(self) -> list[dict]:
        return [e for e in self.progress() if e["event"] in ("waiting", "waited")]

    def until(self, condition, what: str):
        deadline = time.monotonic() + WAIT_S
        while not condition(self):
            assert time.monotonic() < deadline, f"never {what}: {self.events}"
            time.sleep(0.02)

    def placed(self, reason: str, place: int) -> None:
        self.until(lambda s: {"event": "waiting", "reason": reason, "place": place}
                   in s.waits(), f"told place {place} for {reason}")

    @property
    def cancel_url(self) -> str:
        self.until(lambda s: s.events, "started")
        kind, started = self.events[0]
        assert kind == "started"
        return started["cancel_url"]

    def result(self) -> dict:
        self._thread.join(WAIT_S)
        kind, data = self.events[-1]
        assert kind == "result", self.events
        return data


def stream_path(world, faq: int) -> str:
    return f"/api/bots/{world.bot}/faqs/{faq}/generate/stream"


def test_generations_waiting_for_the_embedded_model_say_their_place(generation_enabled):
    world = generation_enabled
    engine = LocalProvider(ProviderConfig(provider="local", model=TEST_MODEL))._engine()
    bob, ada = world.studio.api("bob"), world.studio.api("ada")
    path = stream_path(world, world.faq_password)
    assert engine.lock.acquire()  # another generation writes
    released = False
    try:
        first = Stream(bob, path, {"n": 3, "seed": 1})
        first.placed("model", 1)
        second = Stream(ada, path, {"n": 3, "seed": 2})
        second.placed("model", 2)
        # the first stops waiting: the second moves up
        assert bob.post(first.cancel_url).status_code == 202
        assert first.result()["stopped"] == "cancelled"
        second.placed("model", 1)
        engine.lock.release()
        released = True
        second.until(lambda s: {"event": "waited", "reason": "model"} in s.waits(),
                     "served")
        assert ada.post(second.cancel_url).status_code == 202  # its sentences: not ours
        assert second.result()["status"] == "partial"
    finally:
        if not released:
            engine.lock.release()
    # told in order: after its attempt began, waiting (2, then 1), then its turn
    progress = second.progress()
    assert progress[0]["event"] == "attempt"
    assert [e.get("place") for e in second.waits()] == [2, 1, None]


def test_a_generation_waiting_for_a_provider_slot_says_its_place(shop):
    use_vendor(shop, "ok")
    config = ProviderConfig(provider="openai-compatible", api_key=KEY,
                            base_url=f"{shop.vendor.url}/ok/v1")
    with holding(config, GATES.limit_for(config), shop.other_bot, shop.globex):
        waiting = Stream(shop.studio.api("bob"), stream_path(shop, shop.orders), {})
        waiting.placed("slots", 1)
    result = waiting.result()
    assert result["status"] == "succeeded"
    assert waiting.waits() == [{"event": "waiting", "reason": "slots", "place": 1},
                               {"event": "waited", "reason": "slots"}]


def two_waiting_for_the_thread(world):
    """Bob's generation holds the one server thread (its vendor never answers), and two
    more wait for it, at places 1 and 2: bob's client and the three streams."""
    bob = world.studio.api("bob")
    path = stream_path(world, world.orders)
    holder = Stream(bob, path, {})
    holder.until(lambda s: world.silent.connections, "asked the vendor")
    first = Stream(bob, path, {})
    first.placed("threads", 1)
    second = Stream(bob, path, {})
    second.placed("threads", 2)
    return bob, holder, first, second


@pytest.mark.parametrize("studio_overrides", [
    {"generation_threads": 1, "generation_namespace_limit": 4,
     "generation_user_limit": 4}])
def test_a_generation_waiting_for_a_server_thread_says_its_place(silent_vendor):
    bob, holder, first, second = two_waiting_for_the_thread(silent_vendor)
    assert bob.post(holder.cancel_url).status_code == 202  # frees the thread
    assert holder.result()["stopped"] == "cancelled"
    # the first takes it (and waits on the vendor in turn): the second moves up
    first.until(lambda s: {"event": "waited", "reason": "threads"} in s.waits(), "served")
    second.placed("threads", 1)
    assert bob.post(first.cancel_url).status_code == 202
    assert first.result()["stopped"] == "cancelled"
    second.until(lambda s: {"event": "waited", "reason": "threads"} in s.waits(), "served")
    assert bob.post(second.cancel_url).status_code == 202
    assert second.result()["stopped"] == "cancelled"
    assert [e.get("place") for e in first.waits()] == [1, None]
    assert [e.get("place") for e in second.waits()] == [2, 1, None]


@pytest.mark.parametrize("studio_overrides", [
    {"generation_threads": 1, "generation_namespace_limit": 4,
     "generation_user_limit": 4}])
def test_cancel_takes_a_generation_out_of_the_queue_for_a_server_thread_at_once(
        silent_vendor):
    """Issue 25: a generation waiting for a server thread could not be cancelled until a
    thread freed. Cancel now ends its stream at once (`cancelled`: nothing ran, no run is
    stored) while the thread's holder goes on, and the one behind it moves up."""
    bob, holder, first, second = two_waiting_for_the_thread(silent_vendor)
    assert bob.post(first.cancel_url).status_code == 202
    first.until(lambda s: s.events and s.events[-1][0] != "progress", "ended")
    assert first.events[-1] == ("cancelled", {})
    assert {"event": "waited", "reason": "threads"} not in first.waits()  # it never ran
    second.placed("threads", 1)
    assert len(holder.events) == 1 + len(holder.progress())  # the holder still runs
    world = silent_vendor
    runs = world.studio.api("vic").get(f"/api/bots/{world.bot}/generation-runs").json()
    assert runs["items"] == []
    assert bob.post(holder.cancel_url).status_code == 202
    assert holder.result()["stopped"] == "cancelled"
    second.until(lambda s: {"event": "waited", "reason": "threads"} in s.waits(), "served")
    assert bob.post(second.cancel_url).status_code == 202
    assert second.result()["stopped"] == "cancelled"
