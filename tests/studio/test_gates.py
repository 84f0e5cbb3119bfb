"""The gates on provider calls (providers/gate.py, studio/gates.py): a limit on calls at
once per endpoint that the operator sets and no bot raises, which holds across threads, and
across processes through Redis; each bot's own lower limit; fair shares between namespaces;
a 429 that pauses every caller, not only the one that met it; a slot freed when its holder
died."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from tests.servers import capacity_server
from tests.servers.run import ASGIServer
from tests.test_local_gate import counted, in_thread
from utterly.errors import ErrorCode, ProviderError, UtterlyError
from utterly.providers import ProviderConfig, create_provider
from utterly.providers.gate import LocalGate, SharedCount
from utterly.providers.retry import call_with_retries
from utterly.studio.config import StudioConfig
from utterly.studio.gates import GATES, Gates, RedisGate, SlotLimits, endpoint_key

from .conftest import KEY, REDIS_URL, problem, use_vendor


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


async def in_order(*calls) -> list[str]:
    """Calls `(gate, name, start_after_s, hold_s)`, each started after its delay: the order
    in which they got their slot."""
    order = []

    async def call(gate, name, after_s, hold_s):
        await asyncio.sleep(after_s)
        async with gate.slot():
            order.append(name)
            await asyncio.sleep(hold_s)

    await asyncio.gather(*(call(*c) for c in calls))
    return order


async def bulk_then_person_then_bulk(bulk, interactive, slots: int) -> list[str]:
    """Bulk calls take every slot, then a person asks while more bulk calls queue up: the
    order in which the calls got their slot."""
    return await in_order(*[(bulk, f"bulk{i}", 0, 0.3) for i in range(slots)],
                          (interactive, "person", 0.05, 0),
                          *[(bulk, f"later{i}", 0.1, 0) for i in range(3)])


CONFIG = ProviderConfig(provider="openai", api_key="sk-a", base_url="http://127.0.0.1:9/v1")


def configured(slots: str, redis_url: str | None = None) -> Gates:
    gates = Gates()
    gates.configure(redis_url, slots)
    return gates


@pytest.fixture(params=["local", "redis"])
def processes(request) -> tuple[Gates, Gates]:
    """The gates of two Studio processes, as UTTERLY_PROVIDER_SLOTS=4 configures them:
    sharing a Redis (each with its own client), or one process counting alone."""
    if request.param == "local":
        gates = configured("4")
        return gates, gates
    redis_url = request.getfixturevalue("redis_url")
    return configured("4", redis_url), configured("4", redis_url)


# ---- the endpoint's limit, from the operator --------------------------------------------

def test_the_endpoints_limit_is_the_operators_with_overrides_per_server():
    limits = SlotLimits.parse("8, llm.lan:8080=2, api.openai.com=32, LLM.lan=3")
    assert limits.limit_for("http://llm.lan:8080/v1") == 2      # host and port
    assert limits.limit_for("http://llm.lan:9000/v1") == 3      # the host on another port
    assert limits.limit_for("https://api.openai.com/v1") == 32  # its default port
    assert limits.limit_for("http://elsewhere:11434") == 8
    assert limits.limit_for(None) == 8
    assert SlotLimits.parse(None).limit_for("http://llm.lan") == 8  # the default
    assert SlotLimits.parse("api.openai.com=32").default == 8


@pytest.mark.parametrize("value", ["0", "x", "8,9", "=3", "llm.lan:99999=2", "1001",
                                   "llm.lan=-1"])
def test_a_bad_slots_setting_names_the_variable_and_the_entry(value):
    with pytest.raises(UtterlyError) as caught:
        SlotLimits.parse(value)
    assert "UTTERLY_PROVIDER_SLOTS" in caught.value.message
    assert "host:port=N" in caught.value.hint
    gates = configured("5")
    with pytest.raises(UtterlyError):
        gates.configure(None, value)
    assert gates.slots.default == 5  # a bad value changes nothing


def test_the_setting_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UTTERLY_PROVIDER_SLOTS", "6,llm.lan=2")
    assert StudioConfig.from_env().provider_slots == "6,llm.lan=2"
    monkeypatch.delenv("UTTERLY_PROVIDER_SLOTS")
    assert StudioConfig.from_env().provider_slots == "8"


def test_a_studio_with_a_bad_slots_setting_does_not_start(tmp_path):
    from utterly.studio.app import create_app

    with pytest.raises(UtterlyError, match="UTTERLY_PROVIDER_SLOTS"):
        create_app(StudioConfig(data_dir=tmp_path / "data", provider_slots="8,x=y"))


def test_a_bots_own_limit_above_the_endpoints_does_not_raise_it():
    gates = configured("3")
    gate = gates.gate_for(CONFIG, 64, bulk=True, bot_id=1, namespace_id=1)
    assert (gate.limit, gate.caller_limit) == (3, 3)
    assert gates.gate_for(CONFIG, 2, bulk=True, bot_id=1, namespace_id=1).caller_limit == 2
    assert gates.gate_for(ProviderConfig(provider="local"), 3, bulk=True, bot_id=1,
                          namespace_id=1) is None


def test_a_local_gate_holds_its_limit_across_threads():
    count = SharedCount()
    calls = Calls()
    calls.from_threads([LocalGate(count, 3, caller="bot1", caller_limit=64)
                        for _ in range(6)])
    assert calls.done == 18 and calls.most == 3 and count.busy == 0
    assert not count.by_caller and not count.by_tenant and not count.waiting


def test_a_redis_gate_holds_its_limit_across_processes(redis_client):
    import redis

    # each gate with a client of its own, as in separate processes; a bot that asks for 64
    gates = [RedisGate(redis.Redis.from_url(REDIS_URL), "k1", 2, hold_s=30, caller="bot1",
                       caller_limit=64) for _ in range(4)]
    calls = Calls()
    calls.from_threads(gates)
    assert calls.done == 12 and calls.most == 2
    assert redis_client.zcard("utterly:calls:k1") == 0


def test_gates_are_per_endpoint_and_key_and_never_hold_the_key():
    a = ProviderConfig(provider="openai", api_key="sk-secret-a", base_url="http://h/v1")
    b = ProviderConfig(provider="openai", api_key="sk-secret-b", base_url="http://h/v1")
    c = ProviderConfig(provider="openai", api_key="sk-secret-a", base_url="http://other/v1")
    keys = {endpoint_key(x) for x in (a, b, c)}
    assert len(keys) == 3 and not any("secret" in k for k in keys)
    assert endpoint_key(a) == endpoint_key(ProviderConfig(
        provider="openai", api_key="sk-secret-a", base_url="http://h/v1", model="other"))


# ---- who gets a free slot ----------------------------------------------------------------

@pytest.mark.parametrize("person", ["another namespace", "the job's own bot"])
def test_a_bulk_call_yields_to_a_waiting_interactive_one(processes, person):
    """A job holds every slot it may (the endpoint's 4, or its bot's own 4); a person asks,
    then more of the job's calls: the person goes first when a slot frees."""
    jobs_process, persons_process = processes
    bulk = jobs_process.gate_for(CONFIG, 4, bulk=True, bot_id=1, namespace_id=1)
    who = {"bot_id": 2, "namespace_id": 2} if person == "another namespace" else {
        "bot_id": 1, "namespace_id": 1}
    interactive = persons_process.gate_for(CONFIG, 4, bulk=False, **who)
    order = asyncio.run(bulk_then_person_then_bulk(bulk, interactive, slots=4))
    assert order[:5] == ["bulk0", "bulk1", "bulk2", "bulk3", "person"]


def test_a_bot_at_its_own_limit_holds_no_other_bot_back(processes):
    """Bot 1 (its own limit 1) holds a slot and a person of it waits for a second; a bulk
    call of another namespace's bot takes one of the endpoint's free slots at once. The
    waiting person, who could not use a free slot, holds nobody back."""
    first, second = processes
    mine = first.gate_for(CONFIG, 1, bulk=False, bot_id=1, namespace_id=1)
    theirs = second.gate_for(CONFIG, 4, bulk=True, bot_id=2, namespace_id=2)
    order = asyncio.run(in_order((mine, "mine", 0, 0.6), (mine, "mine again", 0.05, 0),
                                 (theirs, "theirs", 0.15, 0)))
    assert order == ["mine", "theirs", "mine again"]


def test_a_namespace_that_holds_fewer_gets_the_next_free_slot(processes):
    """Namespace 1's job took all 4 slots while alone, and 8 more of its calls wait; 2 of
    namespace 2's ask too: they get the next slots freed, though namespace 1's calls asked
    first, since namespace 2 holds fewer."""
    first, second = processes
    big = first.gate_for(CONFIG, 64, bulk=True, bot_id=1, namespace_id=1)
    small = second.gate_for(CONFIG, 64, bulk=True, bot_id=2, namespace_id=2)
    # the first four end one after the other, 0.3 s apart
    calls = [(big, f"big{i}", 0.02 * i, 0.4 + 0.3 * i) for i in range(4)]
    calls += [(big, f"big-later{i}", 0.1, 0.1) for i in range(8)]
    calls += [(small, f"small{i}", 0.2, 0.1) for i in range(2)]
    order = asyncio.run(in_order(*calls))
    assert order[:4] == ["big0", "big1", "big2", "big3"]
    assert set(order[4:6]) == {"small0", "small1"}


# ---- the attacks, against a slow provider over HTTP --------------------------------------

LATENCY_S = 0.6


@pytest.fixture
def vendor():
    """An OpenAI-compatible server answering every call after LATENCY_S, with room for far
    more calls than the gates allow: what it saw in flight is what the gates let through."""
    with ASGIServer(capacity_server.create_app(latency_s=LATENCY_S, capacity=100)) as url:
        yield url


async def ask(url: str, gate, tag: str) -> None:
    provider = create_provider(ProviderConfig(
        provider="openai-compatible", model="m", base_url=f"{url}/v1", read_env=False,
        gate=gate))
    try:
        await provider.complete([{"role": "user", "content": f"- {tag}"}],
                                temperature=0.0, max_tokens=16)
    finally:
        await provider.aclose()


async def until_full(url: str, calls: int) -> None:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 30
        while (await client.get(f"{url}/stats")).json()["max_in_flight"] < calls:
            assert time.monotonic() < deadline, "the flood never filled the endpoint"
            await asyncio.sleep(0.02)


def flood_then(url: str, processes, *, limit: int, bulk: bool, calls: int) -> dict:
    """Bot 1 of namespace 1, its `max_concurrency` 64, sends 16 bulk calls; once they fill
    the endpoint's 4 slots, bot 2 of namespace 2 (its own `limit`, from another process
    when there is a Redis) sends `calls` calls. What the server saw: starts by bot, and its
    stats."""
    config = ProviderConfig(provider="openai-compatible", model="m", base_url=f"{url}/v1")
    flooding, other = processes

    async def scenario() -> float:
        flood = [asyncio.create_task(ask(url, flooding.gate_for(
            config, 64, bulk=True, bot_id=1, namespace_id=1), f"flood {i}"))
            for i in range(16)]
        await until_full(url, 4)
        asked = time.monotonic()
        await asyncio.gather(*(ask(url, other.gate_for(
            config, limit, bulk=bulk, bot_id=2, namespace_id=2), f"other {i}")
            for i in range(calls)))
        took = time.monotonic() - asked
        await asyncio.gather(*flood)
        return took

    took = asyncio.run(scenario())
    stats = httpx.get(f"{url}/stats").json()
    spans = sorted(stats["spans"])
    return {"took_s": took, "stats": stats,
            "flood": [s for s in spans if s[2].startswith("flood")],
            "other": [s for s in spans if s[2].startswith("other")]}


def test_a_bot_set_to_64_takes_no_more_than_the_endpoints_slots_and_a_person_of_another_namespace_goes_next(  # noqa: E501
        vendor, processes):
    """Issue 24: on one keyless endpoint, a bot set to 64 made another bot's generation
    take 22 s instead of 0.1 s. Now the flood holds the endpoint's 4 slots at most, and
    the other namespace's person gets the first slot that frees."""
    seen = flood_then(vendor, processes, limit=4, bulk=False, calls=1)
    assert seen["stats"]["max_in_flight"] == 4 and seen["stats"]["rate_limited"] == 0
    assert len(seen["flood"]) == 16
    (person_start, _, _), = seen["other"]
    # the person started right after the first of the flood's calls ended, not behind the
    # 16 (4 waves of them): at most the 4 started before, and the 3 started with it
    assert sum(start < person_start for start, _, _ in seen["flood"]) <= 7
    # one of the flood's calls to end (0.6 s) and its own (0.6 s); 3 s of slack for a
    # loaded machine, against 22 s before
    assert seen["took_s"] < 2 * LATENCY_S + 3


def test_a_bot_set_to_1_gets_its_slot_while_another_namespace_floods_the_endpoint(
        vendor, processes):
    """Issue 24: a bot set to 1 watched its bulk job fail on every item while another
    namespace kept 3 generations going. Now its job's calls get slots, one at a time, long
    before the flood ends."""
    seen = flood_then(vendor, processes, limit=1, bulk=True, calls=3)
    assert seen["stats"]["max_in_flight"] == 4 and seen["stats"]["rate_limited"] == 0
    mine = seen["other"]
    assert len(mine) == 3 and len(seen["flood"]) == 16
    # its own limit: one call at a time
    assert all(earlier[1] <= later[0] + 0.01 for earlier, later in zip(mine, mine[1:]))
    # its first call went in the flood's second wave, and its last before the flood ended.
    # (Not "before the flood's last start": between two of its calls this bot waits for
    # nothing, so on a loaded machine a freed slot can go to a flood call waiting already;
    # a first-come gate would start its last call a wave after the flood's end.)
    assert sum(start < mine[0][0] for start, _, _ in seen["flood"]) <= 7
    assert mine[-1][0] < max(end for _, end, _ in seen["flood"]) - 0.1


# ---- holders that died, 429s ---------------------------------------------------------------

def test_a_slot_whose_holder_died_comes_back_after_its_time(redis_client):
    # a holder that took the slot and then was killed: it never renews nor gives it back
    assert RedisGate(redis_client, "k2", 1, hold_s=0.5, caller="a").try_slot("killed") == 1

    async def scenario():
        other = RedisGate(redis_client, "k2", 1, caller="b")
        started = time.monotonic()
        async with other.slot():
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert waited >= 0.4  # it did wait for the dead holder's slot, then got it


def test_a_call_waiting_for_a_fleet_slot_is_woken_when_another_process_frees_it(
        redis_client, redis_url, monkeypatch):
    """No polling: the waiting call tries once, sleeps, and is woken through Redis when a
    holder using another client (another Studio process) gives its slot back."""
    import redis

    from utterly.studio import gates as gates_module

    monkeypatch.setattr(gates_module, "WAKE_NET_S", 60.0)  # no safety net in this test
    elsewhere = redis.Redis.from_url(redis_url)
    holder = RedisGate(elsewhere, "k7", 1, caller="a", tenant="ns1")
    waiter = RedisGate(redis_client, "k7", 1, caller="b", tenant="ns2")
    tries = counted(waiter, "try_slot")
    held, release, got = threading.Event(), threading.Event(), threading.Event()

    async def hold():
        async with holder.slot():
            held.set()
            await asyncio.to_thread(release.wait)

    async def wait():
        async with waiter.slot():
            got.set()

    threads = [in_thread(hold)]
    assert held.wait(10)
    threads.append(in_thread(wait))
    try:
        assert not got.wait(0.8)
        # its try, and one more when its own arrival was announced; polling every 20 ms
        # would have tried about 40 times
        assert 1 <= len(tries) <= 2 and set(tries) == {0}
    finally:
        release.set()
    assert got.wait(10), "the freed slot never reached the waiting call"
    for thread in threads:
        thread.join(10)
    assert tries[-1] == 1
    assert redis_client.zcard("utterly:calls:k7") == 0
    elsewhere.close()


def test_a_live_holder_keeps_its_slot_past_the_hold_time(redis_client):
    """A call longer than the hold time keeps its slot: it renews it."""
    holder = RedisGate(redis_client, "k5", 1, hold_s=0.3, caller="a")

    async def scenario():
        async with holder.slot():
            await asyncio.sleep(1.0)  # more than three hold times
            return RedisGate(redis_client, "k5", 1, caller="b").try_slot("another")

    assert asyncio.run(scenario()) == 0
    assert redis_client.zcard("utterly:calls:k5") == 0


def test_a_caller_that_stops_waiting_holds_nobody_back(redis_client):
    """A person's call that gave up waiting (its generation's time ran out) leaves no mark
    that would keep bulk calls waiting for it."""
    holder = RedisGate(redis_client, "k6", 1, hold_s=30, caller="a", tenant="ns1")
    person = RedisGate(redis_client, "k6", 1, hold_s=30, caller="b", tenant="ns2")
    bulk = RedisGate(redis_client, "k6", 1, hold_s=30, caller="c", tenant="ns3", bulk=True)

    async def scenario():
        async with holder.slot():
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    async with person.slot():
                        pass
        return bulk.try_slot("job")

    assert asyncio.run(scenario()) == 1
    assert redis_client.zcard("utterly:calls:k6:waiting") == 0


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


# ---- what a generation that ran out of time waiting says ---------------------------------

@contextmanager
def holding(config: ProviderConfig, slots: int, bot_id: int, namespace_id: int):
    """Another bot's calls hold `slots` of the endpoint's slots, in this process's GATES
    (the Studio's), until the block ends."""
    held, done = threading.Semaphore(0), threading.Event()

    async def hold():
        async with GATES.gate_for(config, slots, bulk=False, bot_id=bot_id,
                                  namespace_id=namespace_id).slot():
            held.release()
            while not done.is_set():
                await asyncio.sleep(0.05)

    threads = [threading.Thread(target=asyncio.run, args=(hold(),)) for _ in range(slots)]
    for t in threads:
        t.start()
    for _ in threads:
        assert held.acquire(timeout=10)
    try:
        yield
    finally:
        done.set()
        for t in threads:
            t.join(10)


def test_a_generation_that_waited_its_whole_time_for_a_slot_says_so(shop):
    use_vendor(shop, "ok", timeout_s=5)
    config = ProviderConfig(provider="openai-compatible", api_key=KEY,
                            base_url=f"{shop.vendor.url}/ok/v1")
    with holding(config, GATES.limit_for(config), shop.other_bot, shop.globex):
        response = shop.studio.api("bob").post(
            f"/api/bots/{shop.bot}/faqs/{shop.orders}/generate", json={}, timeout=120)
    body = problem(response, 504)
    assert body["code"] == "timeout" and body["setting"] == "timeout_s"
    assert "for one of the 8 calls at once that its provider endpoint takes" in body["detail"]
    assert "UTTERLY_PROVIDER_SLOTS" in body["hint"]
