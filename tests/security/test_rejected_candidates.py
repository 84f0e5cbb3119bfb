"""Issue 24, finding 7 (rejected candidates): a model wrote one "sentence" of 388,908
characters; the filters rejected it (too long), the run stored it whole once per answer
that wrote it, and "keep anyway" imported it whole into the FAQ, past the 500 characters a
sentence may have.

Now a run stores each rejected text once, cut to a sentence's length (marked `truncated`,
with its `length`), and an import holds a rejected candidate to that length like any other:
a 422 naming the field. The vendor is the scripted OpenAI server (OpenAI's wire protocol).
"""

from __future__ import annotations

import json

import pytest

from tests.servers.scripted_openai import SCRIPTED_API_KEY
from tests.studio.conftest import add_orders, problem
from utterly.normalize import normalize
from utterly.studio.models import SentenceGenerationSettings, TrainingSentence

GIANT_CHARS = 388_908
GIANT = ("could you please tell me where my order has gone " * 8000)[:GIANT_CHARS - 1] + "?"
# Over the filters' 200 characters, under a sentence's 500: a reviewer may keep it.
LONG = ("I ordered a blue jacket three weeks ago and paid for express delivery, but the "
        "tracking page still says the parcel is waiting at the warehouse; can you tell me "
        "where my order is and when it will finally arrive?")
PARCEL = "where is my parcel"


@pytest.fixture
def orders(world, scripted_openai):
    """acme's bot generating through the scripted vendor, with an English FAQ "Orders"."""
    with world.studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.bot)
        row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
        row.base_url = scripted_openai.base_url
        row.api_key_encrypted = world.studio.box.encrypt(SCRIPTED_API_KEY)
        row.nb_sentences = 3
    add_orders(world)
    # every answer (each of the three attempts: one sentence kept of three asked) writes
    # the giant line and the long one again
    scripted_openai.state.reply = json.dumps({"sentences": [GIANT, LONG, PARCEL]})
    return world


def generate(world) -> dict:
    response = world.studio.api("bob").post(
        f"/api/bots/{world.bot}/faqs/{world.orders}/generate", timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def import_(world, run_id: int, texts: list[str]):
    return world.studio.api("bob").post(f"/api/bots/{world.bot}/faqs/{world.orders}/import",
                                        json={"run_id": run_id, "texts": texts})


def test_a_run_stores_each_rejected_text_once_and_cut_to_a_sentence(orders):
    world = orders
    out = generate(world)
    assert [c["text"] for c in out["candidates"]] == [PARCEL]
    run = world.studio.api("vic").get(
        f"/api/bots/{world.bot}/generation-runs/{out['run_id']}").json()
    # three attempts wrote each text again: stored once each, with its first reason
    keys = [normalize(r["text"]) for r in run["rejected"]]
    assert len(keys) == len(set(keys)) == run["rejected_count"], [k[:60] for k in keys]
    assert out["rejected"] == run["rejected"]
    giant, = [r for r in run["rejected"] if r["text"].startswith(GIANT[:100])]
    assert (giant["reason"], giant["truncated"], giant["length"]) == (
        "too_long", True, GIANT_CHARS)
    assert giant["text"] == GIANT[:500]
    long, = [r for r in run["rejected"] if r["text"] == LONG]
    assert long["reason"] == "too_long" and "truncated" not in long
    # the stored run holds no more than a sentence's length of any rejected text
    with world.studio.sessions() as session:
        from utterly.studio.models import GenerationRun

        stored = session.get(GenerationRun, out["run_id"]).rejected
    assert max(len(r["text"]) for r in stored) <= 500


def test_keep_anyway_is_held_to_a_sentences_length(orders):
    world = orders
    run_id = generate(world)["run_id"]

    # the whole text, as a client that kept it from the stream would send it
    error = problem(import_(world, run_id, [LONG, GIANT]), 422)
    assert error["field"] == "texts.1", error
    assert "388,908 characters" in error["detail"] and "at most 500" in error["detail"]
    assert error["hint"]
    # the stored start of it, as the run shows it
    error = problem(import_(world, run_id, [GIANT[:500]]), 422)
    assert error["field"] == "texts.0"
    assert "start of a rejected text of 388,908 characters" in error["detail"], error
    # all or nothing: nothing was imported by either refusal
    with world.studio.sessions() as session:
        assert session.query(TrainingSentence).filter_by(faq_id=world.orders).count() == 1

    # a rejected text within a sentence's length is still the reviewer's to keep
    kept = import_(world, run_id, [LONG])
    assert kept.status_code == 200, kept.text
    assert kept.json()["imported"] == 1
    with world.studio.sessions() as session:
        texts = [s.text for s in session.query(TrainingSentence).filter_by(faq_id=world.orders)]
    assert LONG in texts and max(len(t) for t in texts) <= 500
