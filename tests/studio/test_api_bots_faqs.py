"""Bots, FAQs and training sentences over HTTP, and the problem+json every error comes as.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from utterly import __version__
from utterly.normalize import normalize
from utterly.studio.models import (
    Faq,
    ObservabilitySettings,
    SentenceGenerationSettings,
    TrainingSentence,
)

from .conftest import problem

RESET_PASSWORD = "Comment réinitialiser mon mot de passe ?"


def faqs_url(world) -> str:
    return f"/api/bots/{world.bot}/faqs"


def sentences_url(world, faq_id: int) -> str:
    return f"/api/bots/{world.bot}/faqs/{faq_id}/sentences"


def add_generated(world, faq_id: int, texts: list[str], locale: str = "fr") -> None:
    """Sentences as an import of generated ones leaves them (origin `generated`)."""
    with world.studio.sessions() as session, session.begin():
        for text in texts:
            session.add(TrainingSentence(bot_id=world.bot, faq_id=faq_id, text=text,
                                         normalized=normalize(text), locale=locale,
                                         origin="generated"))


# ---- health and problem+json ----------------------------------------------------------

def test_health_reports_version_and_database(studio):
    response = studio.anonymous().get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__,
                               "database": studio.dialect}


def test_unknown_route_is_a_404_problem(world):
    body = problem(world.studio.api("ada").get("/api/no-such-thing"), 404)
    assert body["code"] == "not_found"
    assert body["title"] == "Not found"


def test_unknown_id_is_a_404_problem_with_hint(world):
    body = problem(world.studio.api("ada").get(f"{faqs_url(world)}/999999"), 404)
    assert body["code"] == "not_found"
    assert "FAQ" in body["detail"]
    assert body["hint"]


def test_malformed_json_is_a_422_problem(world):
    response = world.studio.api("bob").post(
        faqs_url(world), content=b'{"title": "Horaires",',
        headers={"Content-Type": "application/json"})
    body = problem(response, 422)
    assert body["code"] == "invalid_input"
    assert body["field"] == "body"  # not the character offset the parser stopped at
    assert body["hint"] == "send a valid JSON body"


def test_missing_field_is_named_with_a_hint(world):
    body = problem(world.studio.api("bob").post(faqs_url(world), json={"answer": "x"}), 422)
    assert body["code"] == "invalid_input"
    assert body["field"] == "title"
    assert body["hint"] == "add this field"
    # what is wrong also as a reason, which the pages word in their language
    assert body["reason"] == "missing"
    assert {"field": "title", "message": "Field required", "reason": "missing",
            "params": {}} in body["errors"]


def test_unknown_field_is_refused_and_named(world):
    body = problem(world.studio.api("bob").post(
        faqs_url(world), json={"title": "Horaires", "colour": "blue"}), 422)
    assert body["field"] == "colour"
    assert "remove this field" in body["hint"]


# ---- bots -----------------------------------------------------------------------------

def test_create_bot_normalises_and_deduplicates_locales(world):
    ada = world.studio.api("ada")
    response = ada.post("/api/bots", json={"name": "Support", "description": "help desk",
                                           "locales": ["fr_fr", "EN", "fr-FR", "en_gb"]})
    assert response.status_code == 201, response.text
    bot = response.json()
    assert bot["locales"] == ["fr-FR", "en", "en-GB"]
    assert bot["namespace_id"] == world.acme
    assert bot["description"] == "help desk"
    assert ada.get(f"/api/bots/{bot['id']}").json() == bot
    assert [b["name"] for b in ada.get("/api/bots").json()] == ["Acme bot", "Support"]


def test_create_bot_starts_with_generation_disabled(world):
    ada = world.studio.api("ada")
    bot = ada.post("/api/bots", json={"name": "Support"}).json()
    assert bot["locales"] == ["en"]
    settings = ada.get(f"/api/bots/{bot['id']}/settings/sentence-generation").json()
    assert settings["enabled"] is False
    assert settings["provider"] == "local"


def test_create_bot_refuses_an_invalid_locale(world):
    body = problem(world.studio.api("ada").post(
        "/api/bots", json={"name": "Support", "locales": ["fr", "not a locale!"]}), 422)
    assert body["field"] == "locales.1"
    assert "BCP 47" in body["hint"]


def test_create_bot_refuses_a_duplicate_name(world):
    body = problem(world.studio.api("ada").post("/api/bots", json={"name": "Acme bot"}), 409)
    assert body["code"] == "bot_exists"
    assert body["field"] == "name"


def test_patch_bot_changes_only_what_is_given(world):
    ada = world.studio.api("ada")
    response = ada.patch(f"/api/bots/{world.bot}", json={"locales": ["fr", "de_de"]})
    assert response.status_code == 200, response.text
    assert response.json()["locales"] == ["fr", "de-DE"]
    assert response.json()["name"] == "Acme bot"
    renamed = ada.patch(f"/api/bots/{world.bot}", json={"name": "Acme assistant",
                                                        "description": "v2"}).json()
    assert (renamed["name"], renamed["description"], renamed["locales"]) == \
        ("Acme assistant", "v2", ["fr", "de-DE"])


def test_patch_bot_refuses_the_name_of_another_bot(world):
    ada = world.studio.api("ada")
    other = ada.post("/api/bots", json={"name": "Support"}).json()
    body = problem(ada.patch(f"/api/bots/{other['id']}", json={"name": "Acme bot"}), 409)
    assert (body["code"], body["field"]) == ("bot_exists", "name")
    # renaming a bot to its own name is no conflict
    assert ada.patch(f"/api/bots/{world.bot}", json={"name": "Acme bot"}).status_code == 200


def test_delete_bot_removes_its_faqs_sentences_and_settings(world):
    ada = world.studio.api("ada")
    assert ada.delete(f"/api/bots/{world.bot}").status_code == 204
    assert problem(ada.get(f"/api/bots/{world.bot}"), 404)["code"] == "not_found"
    with world.studio.sessions() as session:
        for model in (Faq, TrainingSentence, SentenceGenerationSettings,
                      ObservabilitySettings):
            count = session.scalar(select(func.count()).select_from(model).where(
                model.bot_id == world.bot))
            assert count == 0, model.__name__
        # the other namespace's bot keeps its FAQ and sentence
        assert session.scalar(select(func.count()).select_from(TrainingSentence).where(
            TrainingSentence.bot_id == world.other_bot)) == 1
    assert problem(ada.delete(f"/api/bots/{world.bot}"), 404)["code"] == "not_found"


# ---- FAQs -----------------------------------------------------------------------------

def test_create_faq_defaults_to_the_bots_first_locale(world):
    response = world.studio.api("bob").post(faqs_url(world), json={
        "title": "Horaires", "answer": "9h-18h", "tags": ["magasin"]})
    assert response.status_code == 201, response.text
    faq = response.json()
    assert (faq["title"], faq["answer"], faq["locale"], faq["tags"]) == \
        ("Horaires", "9h-18h", "fr", ["magasin"])
    assert (faq["human_sentences"], faq["generated_sentences"]) == (0, 0)
    assert faq["bot_id"] == world.bot


def test_create_faq_normalises_its_locale(world):
    faq = world.studio.api("bob").post(faqs_url(world), json={"title": "Hours",
                                                              "locale": "EN"}).json()
    assert faq["locale"] == "en"


def test_create_faq_refuses_a_locale_the_bot_does_not_have(world):
    body = problem(world.studio.api("bob").post(
        faqs_url(world), json={"title": "Öffnungszeiten", "locale": "de"}), 422)
    assert body["code"] == "invalid_input"
    assert body["field"] == "locale"
    assert "de" in body["detail"]


def test_create_faq_refuses_a_duplicate_title(world):
    body = problem(world.studio.api("bob").post(faqs_url(world), json={"title": "Colis"}), 409)
    assert (body["code"], body["field"]) == ("faq_exists", "title")
    assert body["faq_id"] == world.faq_parcel


def test_list_faqs_counts_human_and_generated_sentences(world):
    bob = world.studio.api("bob")
    bob.post(sentences_url(world, world.faq_parcel), json={"text": "Mon colis est perdu"})
    add_generated(world, world.faq_parcel, ["Il est où mon paquet", "Je cherche mon colis"])
    faqs = {f["title"]: f for f in bob.get(faqs_url(world)).json()}
    assert list(faqs) == ["Colis", "Mot de passe"]  # sorted by title
    assert (faqs["Colis"]["human_sentences"], faqs["Colis"]["generated_sentences"]) == (2, 2)
    assert (faqs["Mot de passe"]["human_sentences"],
            faqs["Mot de passe"]["generated_sentences"]) == (1, 0)
    one = bob.get(f"{faqs_url(world)}/{world.faq_parcel}").json()
    assert (one["human_sentences"], one["generated_sentences"]) == (2, 2)


@pytest.mark.parametrize("q, titles", [
    ("colis", ["Colis"]),                        # title, any case
    ("MOT DE", ["Mot de passe"]),
    ("answer of", ["Colis", "Mot de passe"]),    # answers
    ("reinitialiser", ["Mot de passe"]),         # sentences, without their accents
    ("mot-de-passe", ["Mot de passe"]),          # sentences, normalised query
    ("où est", ["Colis"]),
    ("horaires", []),                            # another bot's FAQ stays out
])
def test_list_faqs_searches_titles_answers_and_sentences(world, q, titles):
    response = world.studio.api("vic").get(faqs_url(world), params={"q": q})
    assert response.status_code == 200, response.text
    assert [f["title"] for f in response.json()] == titles


def test_patch_faq_updates_fields_and_checks_title_and_locale(world):
    bob = world.studio.api("bob")
    url = f"{faqs_url(world)}/{world.faq_parcel}"
    faq = bob.patch(url, json={"answer": "Suivez-le en ligne", "locale": "en",
                               "tags": ["livraison"]}).json()
    assert (faq["title"], faq["answer"], faq["locale"], faq["tags"]) == \
        ("Colis", "Suivez-le en ligne", "en", ["livraison"])
    assert faq["human_sentences"] == 1
    body = problem(bob.patch(url, json={"title": "Mot de passe"}), 409)
    assert (body["code"], body["field"]) == ("faq_exists", "title")
    assert problem(bob.patch(url, json={"locale": "es"}), 422)["field"] == "locale"
    assert bob.get(url).json()["title"] == "Colis"


def test_delete_faq_removes_its_sentences(world):
    bob = world.studio.api("bob")
    add_generated(world, world.faq_parcel, ["Je cherche mon colis"])
    assert bob.delete(f"{faqs_url(world)}/{world.faq_parcel}").status_code == 204
    assert problem(bob.get(sentences_url(world, world.faq_parcel)), 404)["code"] == "not_found"
    with world.studio.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrainingSentence).where(
            TrainingSentence.faq_id == world.faq_parcel)) == 0
    # the text is free again: another FAQ may use it
    response = bob.post(sentences_url(world, world.faq_password),
                        json={"text": "Où est mon colis ?"})
    assert response.status_code == 201, response.text


# ---- sentences ------------------------------------------------------------------------

def test_add_sentence_tidies_text_and_takes_the_faq_locale(world):
    response = world.studio.api("bob").post(sentences_url(world, world.faq_parcel),
                                            json={"text": "  Mon   colis est   perdu  "})
    assert response.status_code == 201, response.text
    sentence = response.json()
    assert (sentence["text"], sentence["locale"], sentence["origin"], sentence["faq_id"]) == \
        ("Mon colis est perdu", "fr", "human", world.faq_parcel)
    assert sentence["generation_run_id"] is None


def test_add_sentence_without_words_is_refused(world):
    body = problem(world.studio.api("bob").post(sentences_url(world, world.faq_parcel),
                                                json={"text": "?!"}), 422)
    assert body["field"] == "text"


def test_add_sentence_already_in_the_faq_is_sentence_exists(world):
    body = problem(world.studio.api("bob").post(
        sentences_url(world, world.faq_password),
        json={"text": "comment reinitialiser mon mot-de-passe"}), 409)
    assert body["code"] == "sentence_exists"
    assert body["field"] == "text"
    assert body["conflict_faq_id"] == world.faq_password
    assert RESET_PASSWORD in body["detail"]


def test_add_sentence_training_another_faq_is_sentence_conflict(world):
    body = problem(world.studio.api("bob").post(
        sentences_url(world, world.faq_parcel),
        json={"text": "COMMENT réinitialiser mon mot de passe"}), 409)
    assert body["code"] == "sentence_conflict"
    assert body["field"] == "text"
    assert body["conflict_faq_id"] == world.faq_password
    assert body["conflict_faq_title"] == "Mot de passe"


def test_same_text_in_another_locale_is_allowed(world):
    bob = world.studio.api("bob")
    response = bob.post(sentences_url(world, world.faq_parcel),
                        json={"text": RESET_PASSWORD, "locale": "en"})
    assert response.status_code == 201, response.text
    assert response.json()["locale"] == "en"
    body = problem(bob.post(sentences_url(world, world.faq_parcel),
                            json={"text": RESET_PASSWORD, "locale": "de"}), 422)
    assert body["field"] == "locale"


def test_list_sentences_paginates_and_filters_by_origin(world):
    bob = world.studio.api("bob")
    texts = [f"Question numéro {i}" for i in range(5)]
    response = bob.post(f"{sentences_url(world, world.faq_parcel)}/batch",
                        json={"sentences": [{"text": t} for t in texts]})
    assert response.status_code == 201, response.text
    add_generated(world, world.faq_parcel, ["Il est où mon paquet"])
    url = sentences_url(world, world.faq_parcel)

    page = bob.get(url, params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 2, 2)
    assert [s["text"] for s in page["items"]] == texts[1:3]  # in order of creation

    everything = bob.get(url).json()
    assert [s["text"] for s in everything["items"]] == \
        ["Où est mon colis ?", *texts, "Il est où mon paquet"]
    human = bob.get(url, params={"origin": "human"}).json()
    assert human["total"] == 6
    generated = bob.get(url, params={"origin": "generated"}).json()
    assert generated["total"] == 1
    assert generated["items"][0]["origin"] == "generated"
    assert bob.get(url, params={"offset": 7}).json()["items"] == []

    assert problem(bob.get(url, params={"origin": "robot"}), 422)["field"] == "origin"
    assert problem(bob.get(url, params={"limit": 0}), 422)["field"] == "limit"


def test_delete_sentence(world):
    bob = world.studio.api("bob")
    sentence = bob.post(sentences_url(world, world.faq_parcel),
                        json={"text": "Mon colis est perdu"}).json()
    # the sentence belongs to another FAQ than this path says
    wrong = f"{sentences_url(world, world.faq_password)}/{sentence['id']}"
    assert problem(bob.delete(wrong), 404)["code"] == "not_found"
    url = f"{sentences_url(world, world.faq_parcel)}/{sentence['id']}"
    assert bob.delete(url).status_code == 204
    assert [s["text"] for s in bob.get(sentences_url(world, world.faq_parcel)).json()[
        "items"]] == ["Où est mon colis ?"]
    assert problem(bob.delete(url), 404)["code"] == "not_found"


def test_batch_adds_every_sentence(world):
    response = world.studio.api("bob").post(
        f"{sentences_url(world, world.faq_parcel)}/batch",
        json={"sentences": [{"text": "Mon colis est perdu"},
                            {"text": "Where is my parcel?", "locale": "en"}]})
    assert response.status_code == 201, response.text
    assert [(s["text"], s["locale"]) for s in response.json()] == \
        [("Mon colis est perdu", "fr"), ("Where is my parcel?", "en")]


@pytest.mark.parametrize("second, status, code, field", [
    ({"text": "comment reinitialiser mon mot-de-passe"}, 409, "sentence_conflict",
     "sentences.1.text"),
    ({"text": "où  est mon COLIS"}, 409, "sentence_exists", "sentences.1.text"),
    ({"text": "mon colis est PERDU !"}, 409, "duplicate_in_request", "sentences.1.text"),
    ({"text": "Where is it?", "locale": "es"}, 422, "invalid_input", "sentences.1.locale"),
    ({"text": "..."}, 422, "invalid_input", "sentences.1.text"),
])
def test_batch_is_all_or_nothing(world, second, status, code, field):
    bob = world.studio.api("bob")
    url = sentences_url(world, world.faq_parcel)
    body = problem(bob.post(f"{url}/batch", json={"sentences": [
        {"text": "Mon colis est perdu"}, second]}), status)
    assert (body["code"], body["field"]) == (code, field)
    # the valid first sentence was not added either
    assert [s["text"] for s in bob.get(url).json()["items"]] == ["Où est mon colis ?"]


def test_batch_needs_at_least_one_sentence(world):
    body = problem(world.studio.api("bob").post(
        f"{sentences_url(world, world.faq_parcel)}/batch", json={"sentences": []}), 422)
    assert body["field"] == "sentences"
