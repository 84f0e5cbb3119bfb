"""Conflict checking on a bot's sentences: built once per bot and kept while they do not
change, rebuilt as soon as they do (on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.studio.conftest import generate_with_candidates
from utterly.studio.services.nlu import conflict_indexes


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
