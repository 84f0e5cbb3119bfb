"""Writes are all or nothing: a failure in the middle of an import or a batch leaves the FAQ
as it was, and deleting an FAQ keeps the history of its generation runs."""

from __future__ import annotations

import contextlib
import logging

import pytest
from sqlalchemy import event, text

from utterly.studio.models import GenerationRun, TrainingSentence

HUMAN = "Comment réinitialiser mon mot de passe ?"
GENERATED = ["J'ai perdu mon mot de passe", "Je ne peux plus me connecter",
             "Mot de passe oublié, que faire ?", "Changer mon mot de passe",
             "Comment récupérer mon compte ?"]


def make_run(world, texts: list[str]) -> int:
    """A succeeded generation run for the password FAQ, stored as `generate` stores one."""
    with world.studio.sessions() as session, session.begin():
        run = GenerationRun(
            bot_id=world.bot, faq_id=world.faq_password, user_id=world.users["bob"],
            status="succeeded", provider="local", model="smollm2-135m", temperature=0.7,
            request={"locale": "fr", "sentences": [HUMAN], "n": len(texts)},
            candidates=[{"text": t, "origin": "model", "scores": {}} for t in texts])
        session.add(run)
        session.flush()
        return run.id


def sentences_of(api, world, faq: int) -> list[str]:
    response = api.get(f"/api/bots/{world.bot}/faqs/{faq}/sentences")
    assert response.status_code == 200, response.text
    return [s["text"] for s in response.json()["items"]]


@contextlib.contextmanager
def third_insert_fails(moment: str):
    """The third TrainingSentence insert of the block raises, as a bug or a lost
    connection would. `before_insert` fails before the INSERT reaches the database;
    `after_insert` fails once the rows are in it, inside the open transaction."""
    calls = []

    def fail_on_third(mapper, connection, target):
        calls.append(target.text)
        if len(calls) == 3:
            raise RuntimeError("injected fault on the third sentence")

    event.listen(TrainingSentence, moment, fail_on_third)
    try:
        yield calls
    finally:
        event.remove(TrainingSentence, moment, fail_on_third)


@pytest.mark.parametrize("moment", ["before_insert", "after_insert"])
def test_a_failure_mid_import_imports_nothing_and_the_import_can_be_retried(world, moment,
                                                                            caplog):
    bob = world.studio.api("bob")
    run_id = make_run(world, GENERATED)
    path = f"/api/bots/{world.bot}/faqs/{world.faq_password}/import"

    uvicorn = logging.getLogger("uvicorn")  # does not propagate to the root logger
    uvicorn.addHandler(caplog.handler)
    try:
        with third_insert_fails(moment) as calls:
            response = bob.post(path, json={"run_id": run_id, "texts": GENERATED})
    finally:
        uvicorn.removeHandler(caplog.handler)
    assert len(calls) == 3  # the fault did fire, mid-import
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "internal_error" and problem["status"] == 500
    # The exception's text (it could quote a secret) stays out of the answer and the logs,
    # which name its type only.
    assert "injected" not in response.text
    assert "unexpected error RuntimeError" in caplog.text
    assert "injected" not in caplog.text
    # The same keep-alive connection still works after the 500.
    assert sentences_of(bob, world, world.faq_password) == [HUMAN]
    detail = bob.get(f"/api/bots/{world.bot}/generation-runs/{run_id}").json()
    assert detail["imported"] == 0
    assert [c["status"] for c in detail["candidates"]] == ["new"] * 5

    response = bob.post(path, json={"run_id": run_id, "texts": GENERATED})
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 5
    assert sentences_of(bob, world, world.faq_password) == [HUMAN, *GENERATED]


def test_a_batch_with_one_conflicting_text_adds_none_of_it(world):
    bob = world.studio.api("bob")
    batch = [{"text": "Je voudrais un nouveau mot de passe"},
             {"text": "Où est mon colis ?"},  # trains the parcel FAQ already
             {"text": "Mon mot de passe ne marche plus"}]
    response = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_password}/sentences/batch",
                        json={"sentences": batch})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "sentence_conflict"
    assert problem["field"] == "sentences.1.text"
    assert problem["conflict_faq_id"] == world.faq_parcel
    assert sentences_of(bob, world, world.faq_password) == [HUMAN]
    assert sentences_of(bob, world, world.faq_parcel) == ["Où est mon colis ?"]


def test_deleting_an_faq_removes_its_sentences_and_keeps_its_generation_runs(world):
    bob = world.studio.api("bob")
    run_id = make_run(world, GENERATED)
    imported = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_password}/import",
                        json={"run_id": run_id, "texts": GENERATED[:2]})
    assert imported.status_code == 200 and imported.json()["imported"] == 2

    response = bob.delete(f"/api/bots/{world.bot}/faqs/{world.faq_password}")
    assert response.status_code == 204
    assert bob.get(f"/api/bots/{world.bot}/faqs/{world.faq_password}").status_code == 404
    with world.studio.app.state.engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM training_sentences WHERE faq_id = :f"),
                            {"f": world.faq_password}).scalar_one()
    assert left == 0
    # Its texts are free again: another FAQ may take them.
    moved = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences",
                     json={"text": GENERATED[0]})
    assert moved.status_code == 201, moved.text

    runs = bob.get(f"/api/bots/{world.bot}/generation-runs").json()
    assert [r["id"] for r in runs["items"]] == [run_id]
    run = runs["items"][0]
    assert run["faq_id"] is None and run["faq_title"] is None
    assert run["kept"] == 5 and run["imported"] == 0
    detail = bob.get(f"/api/bots/{world.bot}/generation-runs/{run_id}")
    assert detail.status_code == 200
    assert detail.json()["faq_id"] is None
