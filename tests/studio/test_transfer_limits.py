"""Imports and bots bounded in rows, not only in bytes (issue 24: a 19.3 MiB CSV became
1.3 M sentences, 325 s and 5.4 GB). The attacks, on a Studio whose bounds are small: a file
over the import's row bound, a file with too many FAQs, imports and additions that would
overfill a bot, and the export of a bot grown past the bound. Each is refused with a
problem naming the bound, its setting and the fix, and stores nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select

from tests.studio.conftest import problem, running_studio
from utterly.formats import FORMATS, BotData, FaqData, SentenceData
from utterly.normalize import normalize
from utterly.studio.config import StudioConfig
from utterly.studio.models import Faq, TrainingSentence

IMPORT, BOT_SENTENCES, BOT_FAQS = 20, 30, 4


@pytest.fixture
def studio(database_url, tmp_path):
    """The Studio with small bounds: 20 sentences an import, 30 sentences and 4 FAQs a bot
    (the world's bot holds 2 FAQs of one sentence each)."""
    with running_studio(StudioConfig(
            data_dir=tmp_path / "data", database_url=database_url,
            max_import_sentences=IMPORT, max_bot_sentences=BOT_SENTENCES,
            max_bot_faqs=BOT_FAQS)) as st:
        yield st


def held(world) -> tuple[int, int]:
    """(FAQs, sentences) of the world's bot, from the database."""
    with world.studio.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Faq).where(
                    Faq.bot_id == world.bot)),
                session.scalar(select(func.count()).select_from(TrainingSentence).where(
                    TrainingSentence.bot_id == world.bot)))


def a_file(fmt: str, faqs: dict[str, int], start: int = 0) -> bytes:
    """`faqs`: title → how many new sentences, in the format asked."""
    bot = BotData("x", ["fr"], [FaqData(title, [
        SentenceData(f"Question numéro {start + j} de {title}", "fr") for j in range(n)])
        for title, n in faqs.items()])
    return FORMATS[fmt].dump(bot).encode()


def import_file(world, body: bytes, user: str = "bob"):
    return world.studio.api(user).post(f"/api/bots/{world.bot}/import", content=body)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_file_over_the_import_row_bound_is_refused_and_stores_nothing(world, fmt):
    before = held(world)
    response = import_file(world, a_file(fmt, {"Nouveau": 15, "Autre": IMPORT + 1 - 15}))
    body = problem(response, 413)
    assert body["code"] == "import_too_many_sentences"
    assert body["limit"] == IMPORT and body["setting"] == "UTTERLY_MAX_IMPORT_SENTENCES"
    assert "more than 20 sentences" in body["detail"] and "nothing was imported" in body["detail"]
    assert "split the file into parts of at most 20 sentences" in body["hint"]
    assert held(world) == before
    ok = import_file(world, a_file(fmt, {"Nouveau": 15, "Autre": IMPORT - 15}))
    assert ok.status_code == 200, ok.text  # at the bound, the file goes in
    assert held(world) == (before[0] + 2, before[1] + IMPORT)


@pytest.mark.parametrize("fmt", ["jsonl", "tock", "rasa"])
def test_a_file_with_more_faqs_than_a_bot_holds_is_refused(world, fmt):
    before = held(world)
    response = import_file(world, a_file(fmt, {f"FAQ {i}": 1 for i in range(BOT_FAQS + 1)}))
    body = problem(response, 413)
    assert body["code"] == "import_too_many_faqs" and body["limit"] == BOT_FAQS
    assert body["setting"] == "UTTERLY_MAX_BOT_FAQS"
    assert held(world) == before


def test_an_import_that_would_overfill_the_bot_is_refused_and_stores_nothing(world):
    # 2 sentences held, 19 added: 21; 10 more would make 31, one past the bound
    assert import_file(world, a_file("csv", {"Colis": 19})).status_code == 200
    before = held(world)
    response = import_file(world, a_file("csv", {"Colis": 10}, start=100))
    body = problem(response, 422)
    assert body["code"] == "bot_sentences_limit" and body["limit"] == BOT_SENTENCES
    assert (body["held"], body["adding"]) == (21, 10)
    assert "would hold 31" in body["detail"] and "nothing was added" in body["detail"]
    assert "UTTERLY_MAX_BOT_SENTENCES" in body["hint"]
    assert held(world) == before
    assert import_file(world, a_file("csv", {"Colis": 9}, start=100)).status_code == 200
    assert held(world) == (2, BOT_SENTENCES)

    # 3 new FAQs beside the 2 the bot has: 5, one past the bound
    response = import_file(world, a_file("jsonl", {"Un": 0, "Deux": 0, "Trois": 0}))
    body = problem(response, 422)
    assert body["code"] == "bot_faqs_limit" and (body["held"], body["adding"]) == (2, 3)
    assert held(world) == (2, BOT_SENTENCES)


def test_sentences_and_faqs_added_one_way_or_another_stay_within_the_bot_bounds(world):
    bob = world.studio.api("bob")
    sentences = f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences"
    batch = bob.post(f"{sentences}/batch", json={"sentences": [
        {"text": f"Où est mon colis numéro {i} ?"} for i in range(BOT_SENTENCES - 1)]})
    body = problem(batch, 422)
    assert body["code"] == "bot_sentences_limit" and body["held"] == 2
    assert held(world) == (2, 2)
    assert bob.post(f"{sentences}/batch", json={"sentences": [
        {"text": f"Où est mon colis numéro {i} ?"} for i in range(BOT_SENTENCES - 2)]}
    ).status_code == 201
    assert problem(bob.post(sentences, json={"text": "Encore une question ?"}),
                   422)["code"] == "bot_sentences_limit"

    faqs = f"/api/bots/{world.bot}/faqs"
    for title in ("Trois", "Quatre"):
        assert bob.post(faqs, json={"title": title}).status_code == 201
    body = problem(bob.post(faqs, json={"title": "Cinq"}), 422)
    assert body["code"] == "bot_faqs_limit" and body["limit"] == BOT_FAQS
    assert held(world) == (BOT_FAQS, BOT_SENTENCES)


def test_a_bot_grown_past_the_bound_is_not_exported_over_the_api(world):
    with world.studio.sessions() as session, session.begin():  # a bot from before the bound
        session.execute(insert(TrainingSentence), [
            {"bot_id": world.bot, "faq_id": world.faq_parcel, "text": f"colis {i}",
             "normalized": normalize(f"colis {i}"), "locale": "fr", "origin": "human"}
            for i in range(BOT_SENTENCES)])
    response = world.studio.api("vic").get(f"/api/bots/{world.bot}/export",
                                           params={"format": "csv"})
    body = problem(response, 422)
    assert body["code"] == "export_too_large" and body["sentences"] == BOT_SENTENCES + 2
    assert body["limit"] == BOT_SENTENCES and "`utterly export`" in body["hint"]


def test_the_bounds_are_read_from_the_environment(monkeypatch):
    for name, value in (("UTTERLY_MAX_IMPORT_SENTENCES", "7"),
                        ("UTTERLY_MAX_BOT_SENTENCES", "8"), ("UTTERLY_MAX_BOT_FAQS", "9"),
                        ("UTTERLY_CONFLICT_BUILDS", "2")):
        monkeypatch.setenv(name, value)
    config = StudioConfig.from_env()
    assert (config.max_import_sentences, config.max_bot_sentences, config.max_bot_faqs,
            config.conflict_builds) == (7, 8, 9, 2)
    monkeypatch.setenv("UTTERLY_MAX_BOT_SENTENCES", "0")
    with pytest.raises(SystemExit) as stopped:
        StudioConfig.from_env()
    assert "UTTERLY_MAX_BOT_SENTENCES='0' is not valid" in str(stopped.value)
    defaults = StudioConfig()
    assert (defaults.max_import_sentences, defaults.max_bot_sentences,
            defaults.max_bot_faqs) == (50_000, 200_000, 2_000)


def test_the_limits_are_in_the_openapi_description(studio):
    spec = json.loads(studio.anonymous().get("/api/openapi.json").text)
    described = spec["paths"]["/api/bots/{bot_id}/import"]["post"]["description"]
    assert "UTTERLY_MAX_IMPORT_SENTENCES" in described
