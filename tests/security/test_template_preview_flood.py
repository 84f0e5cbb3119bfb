"""Issue 24, finding 4: a template preview flood. 80 previews sent at once by a viewer, each
a template that only the wall clock stops, were all refused (422), yet each held a web
thread while it queued for the four template workers that generations use too:
/api/health took up to 9.3 s, and another namespace's generation with a custom template
13.8 s (0.08 s alone).

Now a render waits without a web thread, a user has at most 2 renders running and a
namespace 3 (the others are refused at once: 429 `too_many_renders` with Retry-After), and
renders that a request waits for have workers of their own, handed round robin between
namespaces; a generation's renders use others.

SQLite only: the attack is on threads and worker processes, the same whatever the database.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.studio.conftest import problem
from utterly.studio.models import SentenceGenerationSettings
from utterly.template_limits import FairSlots

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# Iterating strings is charged to no budget: only the wall clock stops this one.
SLOW = ("### user\n{% for a in 'x'*90000 %}{% for b in 'x'*90000 %}{% endfor %}{% endfor %}")
CUSTOM = ("### user\nWrite {{ nb_sentences }} other ways to ask: "
          "{% for s in sentences %}{{ s }}; {% endfor %}")
FLOOD_THREADS = 80
ROOT = Path(__file__).resolve().parents[2]
WAVES = 3
TARGET_S = 1.0


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1] if ordered else math.nan


def preview_url(bot: int) -> str:
    return f"/api/bots/{bot}/settings/sentence-generation/preview"


def timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_refused_at_once(response: httpx.Response, who: str) -> dict:
    error = problem(response, 429)
    assert error["code"] == "too_many_renders", error
    assert who in error["detail"] and "refused rather than kept waiting" in error["detail"]
    assert error["hint"] and int(response.headers["Retry-After"]) >= 1
    return error


@dataclass
class Flood:
    answers: list[list]  # per answer: status, code, seconds, Retry-After, detail
    health: list[float] = field(default_factory=list)
    health_statuses: set[int] = field(default_factory=set)
    preview: list[float] = field(default_factory=list)  # the other namespace's
    generate: list[float] = field(default_factory=list)

    def summary(self) -> str:
        return (f"health {sorted(self.health_statuses)} p99 {p99(self.health):.3f} s (max {max(self.health):.3f}, "
                f"{len(self.health)} probes); other namespace: preview p99 "
                f"{p99(self.preview):.3f} s, generation p99 {p99(self.generate):.3f} s")


def flood(world, path: str, body: dict | None, other_namespace) -> Flood:
    """`path` flooded by vic from another process, as on another machine (its 80 client
    threads must not share this server's GIL): three waves of 80 requests at once, while
    this process probes /api/health and `other_namespace()` renders for gus."""
    studio = world.studio
    token = studio.api("vic").headers["Authorization"].removeprefix("Bearer ")
    attacker = subprocess.Popen(
        [sys.executable, "-m", "tests.security.flood_client", studio.url, path, token,
         json.dumps(body) if body is not None else "-", str(FLOOD_THREADS), str(WAVES)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    result = Flood(answers=[])
    stop = threading.Event()

    def other():
        while not stop.is_set():
            other_namespace(result)

    try:
        assert attacker.stdout.readline().strip() == "ready"
        tenant = threading.Thread(target=other)
        tenant.start()
        deadline = time.monotonic() + 300  # a hang guard: the floods take seconds
        with studio.anonymous() as client:
            while attacker.poll() is None:
                assert time.monotonic() < deadline, "the flood did not end"
                response, elapsed = timed(lambda: client.get("/api/health"))
                result.health_statuses.add(response.status_code)
                result.health.append(elapsed)
                time.sleep(0.02)
        stop.set()
        tenant.join(timeout=60)
        result.answers = json.loads(attacker.stdout.read())
    finally:
        stop.set()
        attacker.kill()
        attacker.wait()
    return result


@sqlite_only
def test_a_preview_flood_is_refused_at_once_and_stalls_no_one(world, faulty_server):
    studio = world.studio
    # globex generates through the fake vendor with a custom template
    with studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.other_bot)
        row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
        row.base_url, row.nb_sentences = f"{faulty_server.url}/ok/v1", 2
        row.prompt_template = CUSTOM
    gus = studio.api("gus")
    generate = f"/api/bots/{world.other_bot}/faqs/{world.other_faq}/generate"
    # alone first: the workers of both lanes started, as on a server that has rendered
    assert gus.post(generate).status_code == 200
    assert gus.post(preview_url(world.other_bot),
                    json={"prompt_template": CUSTOM}).status_code == 200
    alone_s = timed(lambda: gus.post(generate))[1]

    def other_namespace(result: Flood):
        response, elapsed = timed(lambda: gus.post(preview_url(world.other_bot),
                                                   json={"prompt_template": CUSTOM}))
        assert response.status_code == 200, response.text
        result.preview.append(elapsed)
        response, elapsed = timed(lambda: gus.post(generate))
        assert response.status_code == 200, response.text
        result.generate.append(elapsed)

    # What 80 authenticated requests at once cost this server on this machine, whatever
    # they ask: the same flood, of previews refused by validation (no render, no bound).
    control = flood(world, preview_url(world.bot), {"prompt_template": 5}, other_namespace)
    assert {(status, code) for status, code, *_ in control.answers} == {(422, "invalid_input")}
    previews = flood(world, preview_url(world.bot), {"prompt_template": SLOW},
                     other_namespace)

    refused = [answer for answer in previews.answers if answer[0] == 429]
    rendered = [answer for answer in previews.answers if answer[0] == 422]
    print(f"\n80 x invalid preview: {control.summary()}\n80 x preview: "
          f"{len(previews.answers)} answers, {len(rendered)} rendered (422), {len(refused)} "
          f"refused (429, p99 {p99([a[2] for a in refused]):.3f} s); {previews.summary()}; "
          f"a generation alone {alone_s:.3f} s")
    assert previews.health_statuses == {200}
    assert {(status, code) for status, code, *_ in previews.answers} <= {
        (429, "too_many_renders"), (422, "template_too_costly")}
    for _, _, _, retry_after, detail in refused:
        assert int(retry_after) >= 1 and detail.startswith(
            "you already have 2 prompt template renders running (at most 2 per user)")
    # Without the bound: 80 renders at once, every one refused by the template limits only
    # after its turn at a worker. With it: two at a time, the rest refused at once.
    assert rendered and len(refused) > 10 * len(rendered), (len(refused), len(rendered))

    # The target is 1 s at the 99th percentile (before: /api/health 9.3 s, or a 503
    # when the flood also took every database connection; the other generation 13.8 s).
    # Measured here within it on a quiet machine; the bound has slack to 2 s for a loaded
    # one, and where this shared 2-core machine is so loaded that 80 requests of any kind
    # take longer (the control's line above), the preview flood must cost no more than
    # twice what the same flood refused by validation does.
    def bound(baseline: list[float]) -> float:
        return max(2 * TARGET_S, 2 * p99(baseline))

    for measured, baseline in ((previews.health, control.health),
                               (previews.preview, control.preview),
                               (previews.generate, control.generate)):
        assert measured and p99(measured) < bound(baseline), (previews.summary(),
                                                              control.summary())
    assert p99([a[2] for a in refused]) < bound([a[2] for a in control.answers])


@sqlite_only
def test_users_and_namespaces_are_bounded_and_others_still_render(world, monkeypatch):
    """Renders held longer (a 5 s wall clock) so that the bounds can be seen: a user's
    third, a namespace's fourth (a settings save with a new template too) are refused at
    once; another namespace renders meanwhile, on the worker that no namespace may take."""
    monkeypatch.setenv("UTTERLY_TEMPLATE_TIMEOUT_S", "5")
    studio = world.studio
    url = preview_url(world.bot)
    results: list[httpx.Response] = []

    def slow(user: str):
        token = studio.api(user).headers["Authorization"]
        with httpx.Client(base_url=studio.url, headers={"Authorization": token},
                          timeout=120) as client:
            results.append(client.post(url, json={"prompt_template": SLOW}))

    holders = [threading.Thread(target=slow, args=(user,)) for user in ("vic", "vic", "bob")]
    for thread in holders:
        thread.start()
    # the four are running once the server counts them
    renders = studio.app.state.studio.renders
    counted = {("user", world.users["vic"]): 2, ("user", world.users["bob"]): 1,
               ("namespace", world.acme): 3}
    deadline = time.monotonic() + 30
    while renders.running() != counted:
        assert time.monotonic() < deadline, renders.running()
        time.sleep(0.01)

    error = assert_refused_at_once(studio.api("vic").post(url, json={
        "prompt_template": CUSTOM}), "you already have 2")
    assert "(at most 2 per user)" in error["detail"]
    assert error["hint"].startswith("wait for your previews or checks to end")
    ada = studio.api("ada")
    for user in ("bob", "ada"):
        error = assert_refused_at_once(studio.api(user).post(url, json={
            "prompt_template": CUSTOM}), "this namespace already has 3")
        assert "(at most 3 per namespace)" in error["detail"]
        assert error["hint"].startswith("wait for the namespace's previews or checks to end")
    # saving settings with a new template renders it: bounded the same way
    settings = f"/api/bots/{world.bot}/settings/sentence-generation"
    assert_refused_at_once(ada.put(settings, json={"prompt_template": CUSTOM}),
                           "this namespace already has 3")
    # ...while settings that render nothing are saved
    assert ada.put(settings, json={"nb_sentences": 3}).status_code == 200

    # another namespace renders at once: its turn is not behind acme's renders
    other, elapsed = timed(lambda: studio.api("gus").post(
        preview_url(world.other_bot), json={"prompt_template": CUSTOM}))
    assert other.status_code == 200, other.text
    assert other.json()["messages"][-1]["content"].startswith("Write 5 other ways to ask")
    assert elapsed < 2 * TARGET_S  # acme's renders run 5 s: it waited for none of them
    assert renders.running() == counted, "acme's renders ended first: the check proves nothing"

    for thread in holders:
        thread.join(timeout=60)
    assert [problem(r, 422)["code"] for r in results] == ["template_too_costly"] * 3
    assert renders.running() == {}
    # and once they have ended, everyone renders again
    assert studio.api("vic").post(url, json={"prompt_template": CUSTOM}).status_code == 200
    saved = ada.put(settings, json={"prompt_template": CUSTOM})
    assert saved.status_code == 200 and saved.json()["prompt_template"] == CUSTOM, saved.text


def test_a_freed_worker_goes_round_robin_between_owners_not_to_the_longest_queue():
    """The lanes' hand-over, without a clock: one slot, a backlog of three renders of
    `acme` queued first, then one of `globex`; globex's goes second, not fourth."""
    slots = FairSlots(1)
    slots.acquire("acme")  # held: everyone below waits
    served: list[str] = []

    def wait(owner: str, name: str):
        slots.acquire(owner)
        served.append(name)

    waiters = []
    for owner, name in (("acme", "a1"), ("acme", "a2"), ("acme", "a3"), ("globex", "g1")):
        waiters.append(threading.Thread(target=wait, args=(owner, name)))
        waiters[-1].start()
        while sum(map(len, slots._waiting.values())) < len(waiters):  # queued, in order
            time.sleep(0.001)
    for expected in (["a1"], ["a1", "g1"], ["a1", "g1", "a2"], ["a1", "g1", "a2", "a3"]):
        slots.release()
        deadline = time.monotonic() + 10
        while served != expected and time.monotonic() < deadline:
            time.sleep(0.001)
        assert served == expected
    slots.release()
    for thread in waiters:
        thread.join()
    assert slots._busy == 0 and not slots._waiting
