"""Each namespace's and each user's bounded share of the Studio's generation threads (issue
24): once one namespace opened 260 streams on a provider that never answered, every other
namespace's generation waited behind them (80.5 s) or was refused 503 server_busy.

The attack is made over HTTP: globex's bot points at a server on 127.0.0.1 that accepts
every call and never answers a byte (tests/servers/silent_server.py); acme's bot at a
healthy fake vendor (the faulty server's `ok`). With the default shares (16 threads: 8 per
namespace, 4 per user), globex gets its 8 and a 429 for more, at once; acme's generations
meanwhile take about as long as alone; the shares come back when the generations end, by
an error, a client that left or a cancel. On SQLite and PostgreSQL (conftest.py).
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from contextlib import ExitStack

import pytest

from tests.servers.silent_server import SilentServer
from tests.studio.conftest import KEY, _user, problem, use_vendor
from tests.studio.test_generation_stream import events_of
from utterly.studio.config import StudioConfig
from utterly.studio.fair_share import Shares
from utterly.studio.generation_threads import GenerationThreads
from utterly.studio.models import Namespace, SentenceGenerationSettings

NAMESPACE_SHARE, USER_SHARE = StudioConfig().generation_shares  # 8 and 4: the defaults


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.hang_up()  # whatever still waits on it fails at once


@pytest.fixture
def attack(shop, silent, password_hash):
    """acme's bot on the healthy vendor; globex's on the silent server, with two more
    bot_users (gia, guy) beside gus, a time limit longer than any test and room for every
    call at once at the provider (the silent server holds them, not the gate)."""
    world = shop
    use_vendor(world, "ok")
    with world.studio.sessions() as session, session.begin():
        globex = session.get(Namespace, world.globex)
        for name in ("gia", "guy"):
            world.users[name] = _user(session, name, password_hash, globex, "bot_user").id
        row = session.get(SentenceGenerationSettings, world.other_bot)
        row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
        row.base_url = f"{silent.url}/v1"
        row.api_key_encrypted = world.studio.box.encrypt(KEY)
        row.nb_sentences, row.timeout_s, row.max_concurrency = 2, 600, 64
    world.silent = silent
    return world


def globex_path(world, what="generate") -> str:
    return f"/api/bots/{world.other_bot}/faqs/{world.other_faq}/{what}"


def acme_path(world, what="generate") -> str:
    return f"/api/bots/{world.bot}/faqs/{world.orders}/{what}"


def open_stream(stack: ExitStack, world, user: str, path: str):
    """A stream held open by `stack`: (response, its `started` event, the events to come),
    or the refusal (response, None, None)."""
    response = stack.enter_context(world.studio.api(user).stream(
        "POST", path, json={}, timeout=120))
    if response.status_code != 200:
        response.read()
        return response, None, None
    events = events_of(response)
    # held by the stack: a generator dropped here would close the response with it (the
    # client leaving), and a client that leaves stops its generation
    stack.callback(events.close)
    kind, started = next(events)
    assert kind == "started", (kind, started)
    return response, started, events


def timed_generate(world) -> float:
    started = time.monotonic()
    response = world.studio.api("bob").post(acme_path(world), json={}, timeout=60)
    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    return took


def busy(response, code: str) -> dict:
    body = problem(response, 429)
    assert body["code"] == code, body
    assert int(response.headers["Retry-After"]) > 0
    return body


def test_a_namespace_over_its_share_is_refused_and_others_are_served_promptly(attack):
    world = attack
    shares = world.studio.app.state.studio.shares
    timed_generate(world)  # the first run loads what the filters need
    alone = statistics.median(timed_generate(world) for _ in range(3))

    with ExitStack() as stack:
        for _ in range(USER_SHARE):
            response, _, _ = open_stream(stack, world, "gus",
                                         globex_path(world, "generate/stream"))
            assert response.status_code == 200
        # gus's own share is full; globex's is not: gus is told it is his
        body = busy(open_stream(stack, world, "gus", globex_path(world, "generate/stream"))[0],
                    "user_busy")
        assert body["limit"] == USER_SHARE
        assert f"you already have {USER_SHARE} generations" in body["detail"]
        assert "UTTERLY_GENERATION_USER_LIMIT" in body["hint"]
        for _ in range(NAMESPACE_SHARE - USER_SHARE):
            response, _, _ = open_stream(stack, world, "gia",
                                         globex_path(world, "generate/stream"))
            assert response.status_code == 200
        # every one of globex's generations holds a thread, waiting on the silent provider
        world.silent.wait_for_requests(NAMESPACE_SHARE)

        # the attack goes on: more streams (60 stand for the 260), plain generations
        # and warm-ups, each refused at once (none waits for a thread)
        guy = world.studio.api("guy")
        body = busy(guy.post(globex_path(world), json={}), "namespace_busy")
        assert (body["limit"], body["running"], body["waiting"]) == (NAMESPACE_SHARE,
                                                                      NAMESPACE_SHARE, 0)
        assert (f"namespace already has {NAMESPACE_SHARE} generations on this server "
                f"({NAMESPACE_SHARE} running, 0 waiting for a thread)") in body["detail"]
        assert "UTTERLY_GENERATION_NAMESPACE_LIMIT" in body["hint"]
        busy(guy.post(globex_path(world, "generate/warm-up"), json={}), "namespace_busy")
        for _ in range(60):
            busy(open_stream(stack, world, "guy", globex_path(world, "generate/stream"))[0],
                 "namespace_busy")
        assert shares.held(namespace_id=world.globex) == NAMESPACE_SHARE
        assert world.silent.requests == NAMESPACE_SHARE  # nothing more reached the provider

        # acme meanwhile: the target is 1.5 times its time alone; 2 s more of slack
        # for a loaded machine (before the shares, it waited until globex's calls ended)
        during = [timed_generate(world) for _ in range(3)]
        assert max(during) <= 1.5 * alone + 2.0, (alone, during)
        response, _, events = open_stream(stack, world, "bob",
                                          acme_path(world, "generate/stream"))
        assert response.status_code == 200
        assert [k for k, _ in events][-1] == "result"
        warmed = world.studio.api("bob").post(acme_path(world, "generate/warm-up"), json={})
        assert warmed.status_code == 200, warmed.text
        # globex's generations still hang, their shares held
        assert shares.held(namespace_id=world.globex) == NAMESPACE_SHARE
        assert shares.held(namespace_id=world.acme) == 0
        world.silent.hang_up()  # before the streams close: each ends with its error


def test_shares_come_back_when_generations_end_however_they_end(attack):
    world = attack
    st = world.studio.app.state.studio
    path = globex_path(world, "generate/stream")
    with ExitStack() as stack:
        held = [open_stream(stack, world, "gus", path) for _ in range(USER_SHARE)]
        assert all(response.status_code == 200 for response, _, _ in held)
        world.silent.wait_for_requests(USER_SHARE)
        busy(world.studio.api("gus").post(globex_path(world), json={}), "user_busy")

        # one is cancelled, the client of another leaves; their provider calls still hang,
        # the two others are read to their end
        (_, started, cancelled), (left, _, _), *read = held
        response = world.studio.api("gus").post(started["cancel_url"], timeout=30)
        assert response.status_code == 202, response.text
        left.close()
        world.silent.hang_up()  # every call fails: unreachable
        for _, _, events in read:
            kind, data = list(events)[-1]
            assert (kind, data["code"]) == ("error", "unreachable"), (kind, data)
        assert list(cancelled)[-1][0] in ("result", "error")

    _until(lambda: st.shares.held() == 0)
    assert st.shares.held(user_id=world.users["gus"]) == 0 and len(st.live) == 0
    # gus may generate again: the provider is gone, so the answer is the provider's failure
    answer = world.studio.api("gus").post(globex_path(world), json={}, timeout=60)
    assert problem(answer, 502)["code"] == "unreachable"
    assert st.shares.held() == 0


def _until(condition, timeout_s: float = 30.0) -> None:
    """Wait for `condition`, failing after a bound meant for a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.05)


# ---- the threads' order and the shares' book-keeping, without HTTP ----------------------

def test_a_freed_thread_goes_to_the_namespace_that_runs_the_fewest():
    """Namespace 1 fills both threads and queues three more; namespace 2 queues one after
    them: the first thread to free goes to namespace 2, not to namespace 1's next."""
    threads, shares = GenerationThreads(2), Shares(namespace_limit=10, user_limit=10)
    started: list[str] = []
    release = {name: threading.Event() for name in ("a0", "a1", "a2", "a3", "a4", "b")}

    def job(name: str) -> str:
        started.append(name)
        assert release[name].wait(30)
        return name

    async def scenario() -> None:
        first = [asyncio.create_task(threads.run(shares.admit(1, 10 + i), job, f"a{i}"))
                 for i in range(5)]
        await _settled(lambda: len(started) == 2 and threads.waiting() == 3)
        other = asyncio.create_task(threads.run(shares.admit(2, 20), job, "b"))
        await _settled(lambda: threads.waiting() == 4)
        release["a0"].set()
        assert await first[0] == "a0"
        await _settled(lambda: len(started) == 3)
        assert started == ["a0", "a1", "b"]
        for event in release.values():
            event.set()
        assert await asyncio.gather(*first, other) == ["a0", "a1", "a2", "a3", "a4", "b"]

    try:
        asyncio.run(scenario())
    finally:
        threads.close()
    assert shares.held() == 0


def test_a_generation_whose_caller_left_before_it_started_never_runs():
    threads, shares = GenerationThreads(1), Shares(namespace_limit=10, user_limit=10)
    gate, ran = threading.Event(), []

    async def scenario() -> None:
        holder = asyncio.create_task(threads.run(shares.admit(1, 1), gate.wait, 30))
        await _settled(lambda: threads.running() == 1)
        queued = asyncio.create_task(threads.run(shares.admit(2, 2), ran.append, "queued"))
        await _settled(lambda: threads.waiting() == 1)
        queued.cancel()
        await asyncio.gather(queued, return_exceptions=True)
        assert threads.waiting() == 0 and shares.held(namespace_id=2) == 0
        # the running one keeps its share while its thread works, whoever awaits it
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
        assert shares.held(namespace_id=1) == 1
        gate.set()
        await _settled(lambda: shares.held() == 0)

    try:
        asyncio.run(scenario())
    finally:
        threads.close()
    assert ran == []


def test_a_share_counts_its_namespace_and_user_and_is_released_once():
    shares = Shares(namespace_limit=3, user_limit=2)
    mine = [shares.admit(1, 7), shares.admit(1, 7)]
    with pytest.raises(Exception) as refused:
        shares.admit(2, 7)  # another namespace: the user's share is theirs everywhere
    assert (refused.value.status, refused.value.code) == (429, "user_busy")
    shares.admit(1, 8)
    with pytest.raises(Exception) as refused:
        shares.admit(1, 9)
    assert refused.value.code == "namespace_busy"
    assert refused.value.extra == {"limit": 3, "running": 0, "waiting": 3}
    mine[0].release()
    mine[0].release()  # a second release gives nothing back twice
    assert shares.held(namespace_id=1) == 2 and shares.held(user_id=7) == 1
    shares.admit(1, 9)
    assert shares.held() == 3


def test_the_shares_come_from_the_environment_or_from_the_threads(monkeypatch):
    assert StudioConfig().generation_shares == (8, 4)
    assert StudioConfig(generation_threads=3).generation_shares == (1, 1)
    monkeypatch.setenv("UTTERLY_GENERATION_THREADS", "40")
    assert StudioConfig.from_env().generation_shares == (20, 10)
    monkeypatch.setenv("UTTERLY_GENERATION_NAMESPACE_LIMIT", "6")
    monkeypatch.setenv("UTTERLY_GENERATION_USER_LIMIT", "2")
    assert StudioConfig.from_env().generation_shares == (6, 2)
    monkeypatch.setenv("UTTERLY_GENERATION_USER_LIMIT", "0")
    with pytest.raises(SystemExit, match="UTTERLY_GENERATION_USER_LIMIT"):
        StudioConfig.from_env()


async def _settled(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.01)
