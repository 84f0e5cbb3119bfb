"""The NLU page in a real browser: train the bot's intent model, try a sentence, compare
human-only with human + generated, and follow a bulk generation job to its end, in French,
including why it failed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.servers.faulty_server import create_app as create_vendor
from tests.servers.run import ASGIServer
from utterly.studio.web.i18n import MESSAGES

from .conftest import enable_generation, login, switch

EN, FR = MESSAGES["en"], MESSAGES["fr"]
FAQS = {
    "Mot de passe": ["Comment réinitialiser mon mot de passe ?", "J'ai oublié mon mot de passe",
                     "Je veux changer de mot de passe", "mot de passe perdu",
                     "Comment modifier mon mot de passe ?", "réinitialiser le mot de passe"],
    "Livraison": ["Où est mon colis ?", "Quand arrive ma commande ?",
                  "Mon colis n'est pas arrivé", "suivre ma livraison",
                  "Quel est le délai de livraison ?", "Ma commande est en retard"],
}


def add_faqs(api, bot: int) -> dict[str, int]:
    ids = {}
    for title, sentences in FAQS.items():
        created = api.post(f"/api/bots/{bot}/faqs", json={"title": title})
        assert created.status_code == 201, created.text
        ids[title] = created.json()["id"]
        for text in sentences:
            added = api.post(f"/api/bots/{bot}/faqs/{ids[title]}/sentences", json={"text": text})
            assert added.status_code == 201, added.text
    return ids


def test_bot_user_trains_tries_a_sentence_and_compares_both_models(page, studio_server, bot,
                                                                   shot):
    add_faqs(studio_server.users.api("ada"), bot)
    login(page, "bob", next_path=f"/bots/{bot}/nlu")

    page.get_by_role("button", name=EN["nlu.train"]).click()
    expect(page.locator("#nlu-model")).to_have_text(
        EN["nlu.trained"].format(count=12, generated=0, intents=2))

    page.get_by_placeholder(EN["nlu.try_label"]).fill("j'ai perdu mon mot de passe")
    page.get_by_role("button", name=EN["nlu.parse"]).click()
    expect(page.locator("#nlu-result .parse-intent strong")).to_have_text("Mot de passe")
    expect(page.locator("#nlu-result li")).to_have_count(1)
    expect(page.locator("#nlu-result li")).to_contain_text("Livraison")

    page.get_by_role("button", name=EN["nlu.evaluate"]).click()
    expect(page.locator("#eval-status")).to_contain_text("k-fold", timeout=60_000)
    expect(page.locator("#eval-status")).to_contain_text("on 12 human sentences")
    # the chart shows the figures the API computes for the same evaluation
    figures = studio_server.users.api("bob").post(f"/api/bots/{bot}/nlu/evaluate",
                                                  json={"locale": "fr"}).json()
    label = "; ".join(
        f"{EN['nlu.' + model]}: {EN['nlu.accuracy']} {figures[model]['accuracy']:.1%}, "
        f"{EN['nlu.macro_f1']} {figures[model]['macro_f1']:.1%}"
        for model in ("human_only", "human_plus_generated"))
    chart = page.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", label)
    expect(chart.locator("rect")).to_have_count(6)  # 2 metrics × 2 models, and 2 legend keys
    rows = page.locator("#eval-details tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td").first).to_have_text(re.compile("Mot de passe|Livraison"))
    shot(page, "evaluated")


def test_viewer_can_try_and_evaluate_but_not_train_or_start_jobs(page, studio_server, bot):
    add_faqs(studio_server.users.api("ada"), bot)
    login(page, "vic", next_path=f"/bots/{bot}/nlu")
    expect(page.get_by_role("heading", name=EN["nlu.title"])).to_be_visible()
    expect(page.get_by_role("button", name=EN["nlu.train"])).to_have_count(0)
    expect(page.locator("#bulk-form")).to_have_count(0)
    # nothing trained yet: the error names the fix
    page.get_by_placeholder(EN["nlu.try_label"]).fill("où est mon colis")
    page.get_by_role("button", name=EN["nlu.parse"]).click()
    expect(page.locator("#nlu-error")).to_contain_text("train it first")


def test_a_failed_bulk_job_says_so_and_why_in_french(page, studio_server, bot, shot):
    ada = studio_server.users.api("ada")
    add_faqs(ada, bot)
    # The vendor answers when the settings are saved (they are checked), then goes away.
    with ASGIServer(create_vendor()) as vendor:
        enable_generation(ada, bot, provider="openai-compatible", model="gpt-4o-mini",
                          base_url=f"{vendor}/ok/v1", nb_sentences=2)

    login(page, "bob", next_path=f"/bots/{bot}/nlu")
    switch(page, "fr")
    expect(page.get_by_role("heading", name=FR["nlu.title"])).to_be_visible()
    page.get_by_role("button", name=FR["bulk.start"]).click()

    job = page.locator("#bulk-jobs li").first
    expect(job).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(job.locator(".text")).to_contain_text(
        f"{FR['bulk.status.failed']} : 0 sur 2 faites, 2 en échec, 0 importées")
    why = job.get_by_role("alert")
    expect(why).to_contain_text("all 2 FAQ(s) failed")
    expect(why).to_contain_text("[unreachable]")
    expect(job.get_by_role("button", name=FR["bulk.cancel"])).to_have_count(0)
    shot(page, "failed-job-fr")
