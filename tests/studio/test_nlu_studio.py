"""The NLU loop in the Studio, over HTTP: train the bot's classifier, ask it which FAQ a
sentence asks, compare human-only and human + generated training; and the conflict risk
that generation puts on each candidate.

acme's bot has "Mot de passe" and "Colis" with one sentence each; `shop` adds sentences
through the API and a third FAQ, "Remboursement". Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from utterly.normalize import normalize
from utterly.studio.models import NluModel, TrainingSentence
from utterly.studio.services import nlu

from .conftest import generate_with_candidates, problem

PASSWORD_MORE = ["J'ai oublié mon mot de passe", "Changer mon mot de passe",
                 "Mon mot de passe ne fonctionne plus",
                 "Je n'arrive plus à me connecter avec mon mot de passe"]
PARCEL_MORE = ["Mon colis n'est pas arrivé", "Suivre la livraison de mon colis",
               "Quand vais-je recevoir mon colis ?", "Le livreur n'a pas déposé mon colis"]
REFUND = ["Je veux être remboursé", "Comment obtenir un remboursement ?",
          "Rembourser ma commande", "Quand serai-je remboursé ?", "Demande de remboursement"]


@dataclass
class Shop:
    world: object
    refund: int

    @property
    def base(self) -> str:
        return f"/api/bots/{self.world.bot}"

    def api(self, user: str):
        return self.world.studio.api(user)


def add_sentences(world, faq_id: int, texts: list[str]) -> None:
    response = world.studio.api("bob").post(
        f"/api/bots/{world.bot}/faqs/{faq_id}/sentences/batch",
        json={"sentences": [{"text": t} for t in texts]})
    assert response.status_code == 201, response.text


@pytest.fixture
def shop(world) -> Shop:
    bob = world.studio.api("bob")
    faq = bob.post(f"/api/bots/{world.bot}/faqs", json={"title": "Remboursement",
                                                        "locale": "fr"})
    assert faq.status_code == 201, faq.text
    add_sentences(world, world.faq_password, PASSWORD_MORE)
    add_sentences(world, world.faq_parcel, PARCEL_MORE)
    add_sentences(world, faq.json()["id"], REFUND)
    return Shop(world, faq.json()["id"])


def train(shop: Shop, user: str = "bob", **body) -> dict:
    response = shop.api(user).post(f"{shop.base}/nlu/train", json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


def parse(shop: Shop, text: str, user: str = "vic", **body):
    return shop.api(user).post(f"{shop.base}/nlu/parse", json={"text": text, **body})


# ---- train and parse ------------------------------------------------------------------

def test_parse_names_the_faq_with_its_confidence_and_the_runners_up(shop):
    world = shop.world
    info = train(shop)
    assert (info["locale"], info["features"], info["intents"]) == ("fr", "tfidf", 3)
    assert (info["trained_on"], info["generated_used"]) == (15, 0)
    assert info["trained_at"]

    cases = {"j'ai oublié mon mot de passe, comment faire": (world.faq_password,
                                                             "Mot de passe"),
             "mon colis n'est toujours pas arrivé": (world.faq_parcel, "Colis"),
             "je voudrais un remboursement": (shop.refund, "Remboursement"),
             "mot de pase oublié": (world.faq_password, "Mot de passe")}  # a typo
    for text, (faq_id, title) in cases.items():
        response = parse(shop, text)
        assert response.status_code == 200, response.text
        out = response.json()
        assert (out["text"], out["locale"]) == (text, "fr")
        assert out["intent"]["faq_id"] == faq_id, (text, out)
        assert out["intent"]["title"] == title
        assert out["confidence"] == out["intent"]["confidence"]
        others = out["ranking"]
        assert len(others) == 2
        assert {o["faq_id"] for o in others} | {faq_id} == {
            world.faq_password, world.faq_parcel, shop.refund}
        confidences = [out["confidence"]] + [o["confidence"] for o in others]
        assert confidences == sorted(confidences, reverse=True)
        assert confidences[0] > confidences[1]
        assert (out["model"]["trained_on"], out["model"]["features"]) == (15, "tfidf")


def test_a_parse_below_the_threshold_is_unknown(shop):
    train(shop)
    clear = parse(shop, "j'ai oublié mon mot de passe, comment faire").json()
    assert clear["unknown"] is False and clear["threshold"] == 0.6  # the default
    off_topic = parse(shop, "quel temps fait-il demain ?").json()
    assert off_topic["confidence"] < 0.6 and off_topic["unknown"] is True
    # the best guess stays, for a person tuning the threshold
    assert off_topic["intent"]["title"] and off_topic["ranking"]
    # the threshold is the caller's: at or below the confidence the FAQ is named
    at = parse(shop, "quel temps fait-il demain ?", threshold=off_topic["confidence"]).json()
    assert at["unknown"] is False and at["threshold"] == off_topic["confidence"]
    assert parse(shop, "j'ai oublié mon mot de passe, comment faire",
                 threshold=1).json()["unknown"] is True
    for wrong in (1.5, -0.1, "high"):
        body = problem(parse(shop, "colis", threshold=wrong), 422)
        assert body["field"] == "threshold"


def test_a_problem_title_follows_accept_language_and_the_detail_stays_english(shop):
    url = f"{shop.base}/nlu/parse"
    french = shop.api("vic").post(url, json={"text": "où est mon colis"},
                                  headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    body = problem(french, 409)
    assert (body["code"], body["title"]) == ("model_not_trained", "Conflit")
    assert body["detail"] == "no trained model for locale `fr`"
    assert french.headers["content-language"] == "fr"
    assert "accept-language" in french.headers["vary"].lower()
    english = problem(shop.api("vic").post(url, json={"text": "où est mon colis"},
                                           headers={"Accept-Language": "en-GB,fr;q=0.5"}), 409)
    assert english["title"] == "Conflict" and english["detail"] == body["detail"]
    invalid = problem(shop.api("vic").post(url, json={"text": ""},
                                           headers={"Accept-Language": "fr"}), 422)
    assert invalid["title"] == "Saisie invalide" and invalid["field"] == "text"
    assert "String should have at least 1 character" in invalid["detail"]


def test_retraining_replaces_the_stored_model(shop):
    train(shop)
    add_sentences(shop.world, shop.refund, ["Je souhaite un avoir"])
    assert train(shop)["trained_on"] == 16
    with shop.world.studio.sessions() as session:
        rows = session.scalars(select(NluModel).where(NluModel.bot_id == shop.world.bot)).all()
    assert [(r.locale, r.trained_on, len(r.intents)) for r in rows] == [("fr", 16, 3)]
    assert parse(shop, "un avoir").json()["model"]["trained_on"] == 16


def test_parse_before_training_asks_to_train_first(shop):
    body = problem(parse(shop, "où est mon colis"), 409)
    assert body["code"] == "model_not_trained"
    assert "train" in body["hint"]
    train(shop)  # French only: English is still untrained
    body = problem(parse(shop, "where is my parcel", locale="en"), 409)
    assert body["code"] == "model_not_trained"


def test_training_needs_sentences_of_two_faqs_in_the_locale(shop):
    body = problem(shop.api("bob").post(f"{shop.base}/nlu/train", json={"locale": "en"}), 422)
    assert body["field"] == "sentences" and body["hint"]
    body = problem(shop.api("bob").post(f"{shop.base}/nlu/train", json={"locale": "de"}), 422)
    assert body["field"] == "locale"
    body = problem(parse(shop, "x", locale="de"), 422)
    assert body["field"] == "locale"


# ---- evaluate -------------------------------------------------------------------------

def test_evaluate_compares_both_models_with_faq_titles(shop):
    world = shop.world
    # one generated sentence, as an import would store it
    with world.studio.sessions() as session, session.begin():
        text = "Je ne retrouve plus mon mot de passe"
        session.add(TrainingSentence(bot_id=world.bot, faq_id=world.faq_password, text=text,
                                     normalized=normalize(text), locale="fr",
                                     origin="generated"))
    response = shop.api("vic").post(f"{shop.base}/nlu/evaluate", json={"k": 3})
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["method"], out["tested_on"], out["locale"]) == ("k-fold (k=3)", 15, "fr")
    assert out["generated_used"] == 1
    a, b = out["human_only"], out["human_plus_generated"]
    assert b["trained_on"] == a["trained_on"] + 1
    for scores in (a, b):
        assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1
        titles = {(p["faq_id"], p["title"]) for p in scores["per_intent"]}
        assert titles == {(world.faq_password, "Mot de passe"), (world.faq_parcel, "Colis"),
                          (shop.refund, "Remboursement")}
        assert all(p["support"] == 5 for p in scores["per_intent"])
        for pair in scores["confused"]:
            assert pair["title"] and pair["predicted_title"] and pair["count"] >= 1
            assert pair["faq_id"] != pair["predicted_faq_id"]
    assert out["gain"] == {"accuracy": round(b["accuracy"] - a["accuracy"], 4),
                           "macro_f1": round(b["macro_f1"] - a["macro_f1"], 4)}


def test_evaluate_needs_enough_human_sentences(world):
    body = problem(world.studio.api("vic").post(f"/api/bots/{world.bot}/nlu/evaluate"), 422)
    assert body["field"] == "sentences" and body["hint"]


# ---- roles ----------------------------------------------------------------------------

def test_a_viewer_parses_and_evaluates_but_cannot_train(shop):
    assert problem(shop.api("vic").post(f"{shop.base}/nlu/train"), 403)["code"] == "forbidden"
    train(shop, "ada")
    assert parse(shop, "où est mon colis", user="vic").status_code == 200
    assert shop.api("vic").post(f"{shop.base}/nlu/evaluate").status_code == 200


def test_another_namespace_does_not_see_the_bot(shop):
    train(shop)
    gus = shop.api("gus")
    for path, body in (("train", None), ("parse", {"text": "colis"}), ("evaluate", None)):
        assert problem(gus.post(f"{shop.base}/nlu/{path}", json=body), 404)["code"] == \
            "not_found"


# ---- conflict risks on generated candidates -------------------------------------------

def test_generated_candidates_carry_a_conflict_risk(generation_enabled):
    world = generation_enabled  # one sentence in each of the two French FAQs
    bob = world.studio.api("bob")
    base = f"/api/bots/{world.bot}"
    out = generate_with_candidates(world, "bob", n=1)
    stored = bob.get(f"{base}/generation-runs/{out['run_id']}").json()["candidates"]
    assert [c["conflict_risk"] for c in stored] == [c["conflict_risk"]
                                                     for c in out["candidates"]]
    for candidate in out["candidates"]:
        assert "conflict_risk" in candidate
        risk = candidate["conflict_risk"]
        if risk is not None:  # the only other FAQ with sentences
            assert (risk["faq_id"], risk["faq_title"]) == (world.faq_parcel, "Colis")
            assert risk["reason"] in ("classifier", "similarity", "both")


def test_a_candidate_asking_the_other_faq_is_flagged_with_its_title(shop):
    world = shop.world
    texts = ["Mon colis n'est toujours pas livré, où est-il ?",  # for "Mot de passe"?!
             "J'ai perdu mon mot de passe, comment le changer ?"]
    with world.studio.sessions() as session:
        risks = nlu.candidate_risks(session, world.bot, world.faq_password, "fr", texts)
    flagged, faithful = risks
    assert faithful is None
    assert flagged is not None
    assert (flagged["faq_id"], flagged["faq_title"]) == (world.faq_parcel, "Colis")
    assert flagged["reason"] in ("classifier", "similarity", "both")
    assert flagged["margin"] >= 0.15 or flagged["similarity"] >= 0.6

