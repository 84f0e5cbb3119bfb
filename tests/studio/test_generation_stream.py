"""The streamed generation (what the Studio's dialog shows): Cancel stops the model and keeps
what was kept; the rejected candidates come with their reason and can be kept anyway."""

from __future__ import annotations

import json

import pytest

from tests.studio.conftest import problem
from utterly.studio.errors import StudioError
from utterly.studio.live import LiveGenerations


def events_of(response):
    """(kind, data) for each server-sent event of a streaming httpx response."""
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def stream_path(world) -> str:
    return f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate/stream"


def test_cancel_stops_the_model_and_the_run_is_stored_partial(generation_enabled):
    world = generation_enabled
    bob = world.studio.api("bob")
    # 50 sentences: SmolLM2 writes for several seconds, the cancel arrives long before
    with bob.stream("POST", stream_path(world), json={"n": 50, "seed": 3},
                    timeout=900) as response:
        assert response.status_code == 200
        events = events_of(response)
        kind, started = next(events)
        assert kind == "started" and started["stream_id"]
        cancel_url = started["cancel_url"]
        assert cancel_url == (f"/api/bots/{world.bot}/generate/streams/"
                              f"{started['stream_id']}/cancel")

        # nobody else stops it: not an admin of the same namespace, not another namespace
        assert problem(world.studio.api("ada").post(cancel_url), 404)["field"] == "stream_id"
        assert problem(world.studio.api("gus").post(cancel_url), 404)["code"] == "not_found"

        answer = bob.post(cancel_url)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"stream_id": started["stream_id"], "cancelled": True}
        rest = list(events)

    kind, result = rest[-1]
    assert kind == "result", rest[-1]
    assert all(k == "progress" for k, _ in rest[:-1])
    assert len(result["candidates"]) < 50
    run = bob.get(f"/api/bots/{world.bot}/generation-runs/{result['run_id']}").json()
    assert run["status"] == "partial"
    assert [c["text"] for c in run["candidates"]] == [c["text"] for c in result["candidates"]]
    # the stream has ended: its id is gone
    assert problem(bob.post(cancel_url), 404)["code"] == "not_found"
    assert len(world.studio.app.state.studio.live) == 0


def test_the_stream_reports_each_rejection_with_its_reason(generation_enabled):
    world = generation_enabled
    bob = world.studio.api("bob")
    for seed in range(1, 9):
        with bob.stream("POST", stream_path(world), json={"n": 3, "seed": seed},
                        timeout=900) as response:
            events = list(events_of(response))
        kinds = [k for k, _ in events]
        assert kinds[0] == "started" and kinds[-1] == "result"
        result = events[-1][1]
        rejected = [e for k, e in events if k == "progress" and e.get("event") == "rejected"]
        if rejected:
            break
    else:
        pytest.fail("SmolLM2 had nothing rejected in 8 seeds")
    # what was rejected as it came is what the result lists, reason for reason
    reported = {(e["text"], e["reason"]) for e in rejected}
    assert reported <= {(r["text"], r["reason"]) for r in result["rejected"]}
    assert all(e["kept"] <= e["requested"] == 3 for k, e in events if k == "progress"
               and "kept" in e)


def test_a_rejected_candidate_can_be_kept_anyway(generation_enabled):
    world = generation_enabled
    bob = world.studio.api("bob")
    path = f"/api/bots/{world.bot}/faqs/{world.faq_password}"
    for seed in range(1, 9):
        out = bob.post(f"{path}/generate", json={"n": 3, "seed": seed}, timeout=900).json()
        keepable = [r for r in out["rejected"]
                    if r["text"] and r["reason"] not in ("copy_of_input", "duplicate")]
        if keepable:
            break
    else:
        pytest.fail("SmolLM2 had nothing rejected in 8 seeds")
    chosen = keepable[0]["text"]

    report = bob.post(f"{path}/import", json={"run_id": out["run_id"], "texts": [chosen]})

    assert report.status_code == 200, report.text
    assert report.json()["report"][0]["status"] == "imported"
    texts = [s["text"] for s in bob.get(f"{path}/sentences").json()["items"]]
    assert chosen in texts
    # a text that is neither kept nor rejected by the run is still refused
    refused = bob.post(f"{path}/import", json={"run_id": out["run_id"],
                                               "texts": ["Quelle heure est-il à Tokyo ?"]})
    assert problem(refused, 409)["report"][0]["status"] == "not_from_run"


def test_live_generations_are_bounded_and_forgotten_when_they_end():
    live = LiveGenerations(limit=2)
    first, cancelled = live.start(user_id=1, bot_id=7)
    second, _ = live.start(user_id=1, bot_id=7)
    with pytest.raises(StudioError) as busy:
        live.start(user_id=2, bot_id=7)
    assert busy.value.status == 503 and busy.value.code == "server_busy"
    assert busy.value.headers["Retry-After"]
    assert first != second and len(first) >= 20  # unguessable

    assert not live.cancel(first, user_id=2, bot_id=7)  # not the starter
    assert not live.cancel(first, user_id=1, bot_id=8)  # not that bot
    assert not cancelled.is_set()
    assert live.cancel(first, user_id=1, bot_id=7) and cancelled.is_set()

    live.finish(first)
    assert not live.cancel(first, user_id=1, bot_id=7)
    live.start(user_id=2, bot_id=7)  # room again
    assert len(live) == 2
