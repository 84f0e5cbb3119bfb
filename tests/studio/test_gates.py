"""The gates on provider calls (providers/gate.py, studio/gates.py): a limit on calls at
once that holds across threads, and across processes through Redis; a 429 that pauses
every caller, not only the one that met it; a slot freed when its holder died."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from utterly.errors import ErrorCode, ProviderError
from utterly.providers import ProviderConfig
from utterly.providers.gate import LocalGate, SharedCount
from utterly.providers.retry import call_with_retries
from utterly.studio.gates import Gates, RedisGate, endpoint_key

from .conftest import REDIS_URL


@pytest.fixture
def redis_client(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class Calls:
    """Calls made through gates from many threads, each with its own event loop (as the
    Studio's generations run): how many ran at once at most."""

    def __init__(self, hold_s: float = 0.05):
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.done = 0
        self.hold_s = hold_s

    async def call(self, gate) -> None:
        async with gate.slot():
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            await asyncio.sleep(self.hold_s)
            with self.lock:
                self.now -= 1
                self.done += 1

    def from_threads(self, gates: list, per_thread: int = 3) -> None:
        def run(gate):
            asyncio.run(self._many(gate, per_thread))

        threads = [threading.Thread(target=run, args=(g,)) for g in gates]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    async def _many(self, gate, count: int) -> None:
        await asyncio.gather(*(self.call(gate) for _ in range(count)))


async def bulk_then_person_then_bulk(bulk, interactive, slots: int) -> list[str]:
    """Bulk calls take every slot, then a person asks while more bulk calls queue up: the
    order in which the calls got their slot."""
    order = []

    async def call(gate, name, hold_s):
        async with gate.slot():
            order.append(name)
            await asyncio.sleep(hold_s)

    first = [asyncio.create_task(call(bulk, f"bulk{i}", 0.3)) for i in range(slots)]
    await asyncio.sleep(0.05)
    person = asyncio.create_task(call(interactive, "person", 0))
    await asyncio.sleep(0.05)
    later = [asyncio.create_task(call(bulk, f"later{i}", 0)) for i in range(3)]
    await asyncio.gather(*first, person, *later)
    return order


def test_a_local_gate_holds_its_limit_across_threads():
    count = SharedCount()
    calls = Calls()
    calls.from_threads([LocalGate(count, 3) for _ in range(6)])
    assert calls.done == 18 and calls.most == 3 and count.busy == 0


def test_a_bulk_call_yields_to_a_waiting_interactive_one():
    gates = Gates()
    config = ProviderConfig(provider="openai", api_key="sk-a", base_url="http://127.0.0.1:9/v1")
    bulk = gates.gate_for(config, 2, bulk=True)
    interactive = gates.gate_for(config, 2, bulk=False)
    assert bulk.count is interactive.count and bulk.limit == 2
    order = asyncio.run(bulk_then_person_then_bulk(bulk, interactive, slots=2))
    assert order[:3] == ["bulk0", "bulk1", "person"]
    assert gates.gate_for(ProviderConfig(provider="local"), 3, bulk=True) is None


def test_a_redis_bulk_call_yields_to_an_interactive_one_of_another_process(redis_client):
    import redis

    bulk = RedisGate(redis_client, "k4", 1, hold_s=30, bulk=True)
    person = RedisGate(redis.Redis.from_url(REDIS_URL), "k4", 1, hold_s=30)
    order = asyncio.run(bulk_then_person_then_bulk(bulk, person, slots=1))
    assert order[:2] == ["bulk0", "person"] and len(order) == 5


def test_gates_are_per_endpoint_and_key_and_never_hold_the_key():
    a = ProviderConfig(provider="openai", api_key="sk-secret-a", base_url="http://h/v1")
    b = ProviderConfig(provider="openai", api_key="sk-secret-b", base_url="http://h/v1")
    c = ProviderConfig(provider="openai", api_key="sk-secret-a", base_url="http://other/v1")
    keys = {endpoint_key(x) for x in (a, b, c)}
    assert len(keys) == 3 and not any("secret" in k for k in keys)
    assert endpoint_key(a) == endpoint_key(ProviderConfig(
        provider="openai", api_key="sk-secret-a", base_url="http://h/v1", model="other"))


def test_a_redis_gate_holds_its_limit_across_processes(redis_client):
    import redis

    # each gate with a client of its own, as in separate processes
    gates = [RedisGate(redis.Redis.from_url(REDIS_URL), "k1", 2, hold_s=30) for _ in range(4)]
    calls = Calls()
    calls.from_threads(gates)
    assert calls.done == 12 and calls.most == 2
    assert redis_client.zcard("utterly:calls:k1") == 0


def test_a_slot_whose_holder_died_comes_back_after_its_time(redis_client):
    # a holder that took the slot and then was killed: it never renews nor gives it back
    assert RedisGate(redis_client, "k2", 1, hold_s=0.5).try_slot("killed") == 1

    async def scenario():
        other = RedisGate(redis_client, "k2", 1)
        started = time.monotonic()
        async with other.slot():
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert waited >= 0.4  # it did wait for the dead holder's slot, then got it


def test_a_live_holder_keeps_its_slot_past_the_hold_time(redis_client):
    """A call longer than the hold time keeps its slot: it renews it."""
    holder = RedisGate(redis_client, "k5", 1, hold_s=0.3)

    async def scenario():
        async with holder.slot():
            await asyncio.sleep(1.0)  # more than three hold times
            return RedisGate(redis_client, "k5", 1).try_slot("another")

    assert asyncio.run(scenario()) == 0
    assert redis_client.zcard("utterly:calls:k5") == 0


def test_a_429_pauses_every_caller_sharing_the_endpoint(redis_client):
    """One call meets a 429 with Retry-After 1 s: a call through another process's gate
    that starts afterwards waits for the pause too, and the first call's retry succeeds."""
    import redis

    first = RedisGate(redis_client, "k3", 4, hold_s=30)
    second = RedisGate(redis.Redis.from_url(REDIS_URL), "k3", 4, hold_s=30)
    answers = iter([ProviderError(ErrorCode.RATE_LIMITED, "slow down", retry_after=1.0)])
    marks = {}

    async def vendor():
        failure = next(answers, None)
        if failure is not None:
            marks["limited"] = time.monotonic()
            raise failure
        return "ok"

    async def other_caller():
        await asyncio.sleep(0.2)  # starts after the 429
        async with second.slot():
            marks["other"] = time.monotonic()

    async def scenario():
        result, _ = await asyncio.gather(
            call_with_retries(vendor, max_retries=3, provider="openai", gate=first),
            other_caller())
        return result

    assert asyncio.run(scenario()) == "ok"
    assert marks["other"] - marks["limited"] >= 0.9
