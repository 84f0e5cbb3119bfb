"""Export and import of a bot's FAQs and sentences over the API: round trips through every
format, merges, conflicts that import nothing, roles and foreign bots."""

from __future__ import annotations

import dataclasses
import json

import pytest

from utterly.formats import FORMATS
from utterly.normalize import normalize
from utterly.studio.models import TrainingSentence

GENERATED = "J'ai oublié mon mot de passe"
MEDIA_TYPES = {"tock": "application/json", "rasa": "application/yaml",
               "csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}


@pytest.fixture
def acme(world):
    """acme's bot with a generated sentence besides its two human ones."""
    with world.studio.sessions() as session, session.begin():
        session.add(TrainingSentence(bot_id=world.bot, faq_id=world.faq_password,
                                     text=GENERATED, normalized=normalize(GENERATED),
                                     locale="fr", origin="generated"))
    return world


def export(api, bot_id: int, fmt: str):
    response = api.get(f"/api/bots/{bot_id}/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response


def import_file(api, bot_id: int, body: bytes | str, **params):
    content = body.encode() if isinstance(body, str) else body
    return api.post(f"/api/bots/{bot_id}/import", params=params, content=content)


def faqs_of(api, bot_id: int) -> dict[str, dict]:
    return {f["title"]: f for f in api.get(f"/api/bots/{bot_id}/faqs").json()}


def sentences_of(api, bot_id: int, faq_id: int) -> list[tuple[str, str, str]]:
    items = api.get(f"/api/bots/{bot_id}/faqs/{faq_id}/sentences").json()["items"]
    return [(s["text"], s["locale"], s["origin"]) for s in items]


def without_name(bot):
    return dataclasses.replace(bot, name="")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_import_into_a_new_bot_and_export_again_gives_the_same_file(acme, fmt):
    ada, bob = acme.studio.api("ada"), acme.studio.api("bob")
    first = export(bob, acme.bot, fmt)
    assert first.headers["content-type"] == MEDIA_TYPES[fmt]
    assert first.headers["content-disposition"] == \
        f'attachment; filename="acme_bot{FORMATS[fmt].suffix}"'

    copy = ada.post("/api/bots", json={"name": "Copie", "locales": ["fr", "en"]}).json()["id"]
    response = import_file(bob, copy, first.content)  # the format is told from the content
    assert response.status_code == 200, response.text
    assert response.json() == {
        "format": fmt, "faqs_created": 2, "faqs_updated": 0, "sentences_added": 3,
        "already_present": 0, "conflicts": [], "skipped_locales": [],
        "skipped_sentences": 0, "warnings": []}

    again = export(bob, copy, fmt)
    before, after = FORMATS[fmt].load(first.content), FORMATS[fmt].load(again.content)
    assert without_name(after) == without_name(before)
    if fmt == "csv":
        assert again.content == first.content
    copied = faqs_of(bob, copy)
    assert sentences_of(bob, copy, copied["Mot de passe"]["id"]) == [
        ("Comment réinitialiser mon mot de passe ?", "fr", "human"),
        (GENERATED, "fr", "generated")]
    if fmt != "csv":  # CSV carries sentences only
        assert copied["Mot de passe"]["answer"] == "answer of Mot de passe"


def test_importing_the_same_file_again_adds_nothing(acme):
    bob = acme.studio.api("bob")
    dump = export(bob, acme.bot, "tock").content
    report = import_file(bob, acme.bot, dump, format="tock").json()
    assert (report["faqs_created"], report["faqs_updated"], report["sentences_added"],
            report["already_present"]) == (0, 0, 0, 3)


def test_a_sentence_that_trains_another_faq_is_a_conflict_and_nothing_is_imported(acme):
    bob = acme.studio.api("bob")
    lines = [{"type": "faq", "intent": "Nouveau", "answer": "…"},
             {"intent": "Nouveau", "text": "Une toute nouvelle question", "locale": "fr"},
             {"intent": "Livraison", "text": "où est MON colis", "locale": "fr"},
             {"intent": "Colis", "text": "Où est mon colis ?", "locale": "fr"}]
    response = import_file(bob, acme.bot, "\n".join(json.dumps(x) for x in lines))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "import_conflicts" and "nothing was imported" in problem["detail"]
    assert problem["conflicts"] == [{"text": "où est MON colis", "locale": "fr",
                                     "faq": "Colis", "requested_faq": "Livraison"}]
    assert set(faqs_of(bob, acme.bot)) == {"Mot de passe", "Colis"}


def test_merge_updates_answers_skips_missing_locales_and_fills_in_the_locale(acme):
    bob = acme.studio.api("bob")
    lines = [{"type": "faq", "intent": "Colis", "answer": "Suivez-le en ligne."},
             {"intent": "Colis", "text": "Wo ist mein Paket?", "locale": "de"},
             {"intent": "Colis", "text": "Mon colis n'arrive pas"},
             {"intent": "Colis", "text": "Où est mon colis ?", "locale": "fr"}]
    response = import_file(bob, acme.bot, "\n".join(json.dumps(x) for x in lines),
                           format="jsonl")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["faqs_created"], report["faqs_updated"], report["sentences_added"],
            report["already_present"]) == (0, 1, 1, 1)
    assert report["skipped_locales"] == ["de"] and report["skipped_sentences"] == 1
    assert faqs_of(bob, acme.bot)["Colis"]["answer"] == "Suivez-le en ligne."
    assert sentences_of(bob, acme.bot, acme.faq_parcel) == [
        ("Où est mon colis ?", "fr", "human"), ("Mon colis n'arrive pas", "fr", "human")]

    csv = "intent,text\r\nHoraires,When do you open?\r\n"
    assert import_file(bob, acme.bot, csv, locale="en").status_code == 200
    hours = faqs_of(bob, acme.bot)["Horaires"]
    assert hours["locale"] == "en" and hours["answer"] == ""
    assert sentences_of(bob, acme.bot, hours["id"]) == [("When do you open?", "en", "human")]
    refused = import_file(bob, acme.bot, csv, locale="de")
    assert refused.status_code == 422 and refused.json()["field"] == "locale"


def test_viewer_can_export_but_not_import(acme):
    vic = acme.studio.api("vic")
    dump = export(vic, acme.bot, "jsonl").content
    response = import_file(vic, acme.bot, dump)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_a_foreign_bot_is_not_found(acme):
    ada = acme.studio.api("ada")
    assert ada.get(f"/api/bots/{acme.other_bot}/export").status_code == 404
    response = import_file(ada, acme.other_bot, "intent,text,locale\r\nA,b,fr\r\n")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    gus = acme.studio.api("gus")
    assert "Horaires" in export(gus, acme.other_bot, "csv").text  # its owner still can


def test_a_bad_file_is_a_problem_naming_the_line_and_imports_nothing(acme):
    bob = acme.studio.api("bob")
    csv = ("intent,text,locale,origin\r\nNouveau,Une question,fr,human\r\n"
           "Nouveau,Une autre,fr,robot\r\n")
    response = import_file(bob, acme.bot, csv)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith("line 3:") and "robot" in problem["detail"]
    assert problem["field"] == "line 3.origin" and problem["hint"]
    assert "Nouveau" not in faqs_of(bob, acme.bot)

    empty = import_file(bob, acme.bot, b"")
    assert empty.status_code == 422 and empty.json()["field"] == "body"
    unknown = import_file(bob, acme.bot, "some words")
    assert unknown.status_code == 422 and unknown.json()["field"] == "format"
    wordless = import_file(bob, acme.bot, "intent,text,locale\r\nNouveau,?!,fr\r\n")
    assert wordless.status_code == 422 and "line 2" in wordless.json()["detail"]
