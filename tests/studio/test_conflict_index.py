"""Conflict checking on a bot's sentences: built once per bot and kept while they do not
change, brought up to date as soon as they do (on SQLite and PostgreSQL), one bot at a
time."""

from __future__ import annotations

import threading

from tests.studio.conftest import generate_with_candidates
from tests.test_conflict_update import assert_same_index
from utterly.embeddings.local import LocalEmbeddings
from utterly.nlu import ConflictIndex
from utterly.studio.services import nlu
from utterly.studio.services.nlu import conflict_indexes, examples


def index_of(world):
    with world.studio.sessions() as session:
        return conflict_indexes.get(session, world.bot, "fr")


def test_the_index_is_reused_until_the_bot_sentences_change(world):
    conflict_indexes.clear()
    ada = world.studio.api("ada")
    sentences = f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences"
    first = index_of(world)
    assert index_of(world) is first
    assert sorted(set(first.labels)) == [f"faq:{world.faq_password}", f"faq:{world.faq_parcel}"]

    added = ada.post(sentences, json={"text": "Mon colis n'est pas arrivé"})
    assert added.status_code == 201, added.text
    second = index_of(world)
    assert second is not first and len(second.labels) == len(first.labels) + 1
    assert index_of(world) is second

    assert ada.delete(f"{sentences}/{added.json()['id']}").status_code == 204
    third = index_of(world)
    assert third is not second and len(third.labels) == len(first.labels)
    # a sentence that takes the deleted one's id (SQLite reuses it) is still a change
    again = ada.post(sentences, json={"text": "Où en est ma livraison ?"})
    assert again.status_code == 201
    assert index_of(world) is not third


def test_a_generation_checks_its_candidates_on_the_kept_index(generation_enabled):
    world = generation_enabled
    conflict_indexes.clear()
    generate_with_candidates(world, "bob")
    built = conflict_indexes.peek(world.bot, "fr")
    assert built is not None  # the generation built it ...
    generate_with_candidates(world, "bob")
    assert conflict_indexes.peek(world.bot, "fr") is built  # ... and the next one reused it


# ---- updated, not rebuilt; and built one bot at a time (issue 24) -------------------------

def full_build(world) -> ConflictIndex:
    with world.studio.sessions() as session:
        return ConflictIndex(examples(session, world.bot, "fr"),
                             embed=LocalEmbeddings().embed_sync)


def test_a_sentence_added_or_removed_updates_the_index_to_what_a_full_build_gives(world):
    conflict_indexes.clear()
    ada = world.studio.api("ada")
    sentences = f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences"
    first = index_of(world)
    assert first.embedded == 2 and first.trained

    added = ada.post(sentences, json={"text": "Mon colis n'est pas arrivé"})
    assert added.status_code == 201, added.text
    second = index_of(world)
    assert second.embedded == 1  # the new sentence only, not the bot's others
    assert_same_index(second, full_build(world))

    assert ada.delete(f"{sentences}/{added.json()['id']}").status_code == 204
    third = index_of(world)
    assert third.embedded == 0
    assert_same_index(third, full_build(world))


def test_bots_build_their_indexes_one_at_a_time(world, monkeypatch):
    """Two bots whose indexes are built at once: with one build at a time (the default,
    UTTERLY_CONFLICT_BUILDS=1) never both at once; with two, both at once."""
    read = nlu.examples
    inside, most, lock = [0], [0], threading.Lock()
    meeting: list[threading.Barrier] = []

    def tracked(session, bot_id, locale):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            if meeting:
                meeting[0].wait()  # both builds at once, or a BrokenBarrierError
            else:
                threading.Event().wait(0.3)  # long enough for the other to try
            return read(session, bot_id, locale)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(nlu, "examples", tracked)

    def build_both() -> None:
        conflict_indexes.clear()
        errors = []

        def build(bot_id):
            try:
                with world.studio.sessions() as session:
                    conflict_indexes.get(session, bot_id, "fr")
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=build, args=(b,))
                   for b in (world.bot, world.other_bot)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors

    build_both()
    assert most[0] == 1
    conflict_indexes.configure(2)
    try:
        meeting.append(threading.Barrier(2, timeout=60))
        build_both()
        assert most[0] == 2
    finally:
        conflict_indexes.configure(1)
