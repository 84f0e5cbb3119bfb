"""The bridge linked to a Studio bot that mirrors the Tock bot: Tock's request names no FAQ,
the bridge finds it by its sentences, generates with its title, answer and the other FAQs,
and stores the run in the FAQ's history; on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from tests.servers.scripted_openai import SCRIPTED_API_KEY, prompt_text, run_scripted_openai
from tests.tock.conftest import running_bridge
from utterly.studio.models import GenerationRun, SentenceGenerationSettings
from utterly.tock_bridge.config import BridgeConfig, StudioLink

GOOD = ["Je voudrais changer mon mot de passe oublié", "Mot de passe perdu, que faire ?"]
# the other FAQ's own sentence, which a password FAQ must not learn
OTHER = "Où est mon colis ?"


def tock_body(sentences: list[str], locale: str = "fr_FR", nb: int = 3) -> dict:
    return {"llm_setting": {"provider": "OpenAI", "api_key": {"type": "Raw", "secret": "x"},
                            "model": "gpt-4o-mini", "temperature": "0.4"},
            "prompt": {"formatter": "jinja2", "template": "{{ sentences }}",
                       "inputs": {"locale": locale, "nb_sentences": nb, "sentences": sentences,
                                  "options": {"spelling_mistakes": False, "sms_language": False,
                                              "abbreviated_language": False}}}}


def enable(world, base_url: str) -> None:
    with world.studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.bot)
        row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
        row.base_url = base_url
        row.api_key_encrypted = world.studio.box.encrypt(SCRIPTED_API_KEY)


def link(world, username: str = "bob") -> BridgeConfig:
    config = world.studio.config
    return BridgeConfig(warm_up=False, studio=StudioLink(
        world.bot, username, data_dir=str(config.data_dir),
        database_url=config.database_url))


def runs(world) -> list[GenerationRun]:
    with world.studio.sessions() as session:
        return list(session.scalars(select(GenerationRun).order_by(GenerationRun.id)))


def test_a_tock_request_generates_for_the_faq_its_sentences_train(world):
    with run_scripted_openai([*GOOD, OTHER]) as vendor:
        enable(world, vendor.base_url)
        with running_bridge(link(world)) as client:
            response = client.post("/completion/sentences", json=tock_body(
                ["Comment réinitialiser mon mot de passe ?"]))
            status = client.post("/llm-providers/OpenAI/setting/status",
                                 json={"setting": tock_body([])["llm_setting"]})
        prompt = prompt_text(vendor.requests[0])
    assert response.status_code == 200, response.text
    sentences = response.json()["sentences"]
    assert sentences and set(sentences) <= set(GOOD)  # the colis sentence is another FAQ's
    assert "Mot de passe" in prompt  # the FAQ's title reached the model
    stored = runs(world)
    assert len(stored) == 1 and stored[0].faq_id == world.faq_password
    assert stored[0].user_id == world.users["bob"] and stored[0].status == "succeeded"
    assert [c["text"] for c in stored[0].candidates] == sentences
    assert (stored[0].request["n"], stored[0].request["locale"]) == (3, "fr")
    assert status.json() == {"valid": True, "errors": []}  # the bot's own provider


def test_sentences_in_no_faq_still_get_the_bot_s_other_faqs(world):
    with run_scripted_openai([*GOOD, OTHER]) as vendor:
        enable(world, vendor.base_url)
        with running_bridge(link(world)) as client:
            response = client.post("/completion/sentences", json=tock_body(
                ["Je n'arrive plus à me connecter avec mon code secret"], locale="fr"))
    assert response.status_code == 200, response.text
    assert OTHER not in response.json()["sentences"]
    assert runs(world) == []  # no FAQ to store it under


def test_a_disabled_bot_or_a_foreign_locale_is_a_tock_error(world):
    with running_bridge(link(world)) as client:
        disabled = client.post("/completion/sentences", json=tock_body(
            ["Comment réinitialiser mon mot de passe ?"]))
        foreign = client.post("/completion/sentences", json=tock_body(
            ["Wie setze ich mein Passwort zurück?"], locale="de_DE"))
    assert disabled.status_code == 400 and disabled.json()["code"] == 1003
    assert "disabled" in disabled.json()["info"]["cause"]
    assert foreign.status_code == 400 and foreign.json()["code"] == 2001
    assert "locale" in foreign.json()["info"]["cause"]


def test_a_user_who_may_not_generate_on_the_bot_is_refused_at_start(world):
    import pytest

    from utterly.tock_bridge.service import BridgeService

    with pytest.raises(ValueError, match="vic"):
        BridgeService(link(world, username="vic"))  # a viewer
    with pytest.raises(ValueError, match="gus"):
        BridgeService(link(world, username="gus"))  # another namespace's admin
