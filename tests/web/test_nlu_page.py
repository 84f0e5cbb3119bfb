"""The NLU page in a real browser: train the bot's intent model, try a sentence, compare
human-only with human + generated, and follow a bulk generation job to its end, in French,
including why it failed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.servers.faulty_server import create_app as create_vendor
from tests.servers.run import ASGIServer
from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

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
    expect(page.locator("#eval-verdict")).to_have_text(EN["nlu.verdict_none"])
    expect(chart.locator("rect")).to_have_count(6)  # 2 metrics × 2 models, and 2 legend keys
    rows = page.locator("#eval-details tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td").first).to_have_text(re.compile("Mot de passe|Livraison"))
    shot(page, "evaluated")


def test_the_answer_follows_the_threshold_or_says_it_is_stale(page, studio_server, bot, shot):
    api = studio_server.users.api("ada")
    add_faqs(api, bot)
    assert api.post(f"/api/bots/{bot}/nlu/train", json={"locale": "fr"}).status_code == 200
    sentence = "mot de passe oublié pour mon colis"  # a sentence between the two FAQs
    confidence = api.post(f"/api/bots/{bot}/nlu/parse",
                          json={"text": sentence, "locale": "fr"}).json()["confidence"]
    assert 0.05 < confidence < 0.95
    login(page, "vic", next_path=f"/bots/{bot}/nlu")
    switch(page, "fr")
    slider = page.get_by_label(FR["nlu.threshold"])
    slider.focus()
    page.keyboard.press("Home")  # 0 %: nothing is unknown
    page.get_by_placeholder(FR["nlu.try_label"]).fill(sentence)
    page.get_by_role("button", name=FR["nlu.parse"]).click()
    result = page.locator("#nlu-result")
    expect(result.locator(".parse-intent")).not_to_have_attribute("data-unknown", "true")
    expect(result).not_to_have_attribute("data-stale", "true")

    # moved above the answer's confidence: the same sentence is answered again, unknown
    with page.expect_request("**/nlu/parse") as asked:
        slider.focus()
        page.keyboard.press("End")  # 100 %
    assert asked.value.post_data_json == {"text": sentence, "locale": "fr", "threshold": 1}
    expect(result.locator(".parse-intent")).to_have_attribute("data-unknown", "true")
    expect(result).to_contain_text(FR["nlu.unknown"])
    expect(result).to_contain_text("100\u00a0%")
    expect(result).not_to_have_attribute("data-stale", "true")
    expect(page.locator("#nlu-stale")).to_have_count(0)
    shot(page, "01-recomputed")

    # when the answer cannot be asked again, it stays, marked as for another threshold
    page.route("**/nlu/parse", lambda route: route.abort())
    page.keyboard.press("Home")
    expect(result).to_have_attribute("data-stale", "true")
    expect(page.locator("#nlu-stale")).to_have_text(FR["nlu.stale_failed"])
    expect(result.locator(".parse-intent")).to_have_attribute("data-unknown", "true")
    shot(page, "02-stale")


def import_csv(api, bot: int, rows: list[tuple[str, str, str]]) -> None:
    """FAQs and sentences from a CSV file: (FAQ, text, origin) rows, French."""
    body = "intent,text,locale,origin\n" + "".join(
        f'"{intent}","{text}",fr,{origin}\n' for intent, text, origin in rows)
    imported = api.post(f"/api/bots/{bot}/import", params={"format": "csv"},
                        content=body.encode(), headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text


# Human sentences with little in common within each FAQ, and generated ones that share
# the words of each: without them a held-out sentence has nothing to go by.
SPARSE = {
    "Mot de passe": (["Comment réinitialiser mon mot de passe ?", "je n'arrive plus à me connecter",
                      "code d'accès perdu", "identifiants oubliés"],
                     ["impossible de me connecter à mon compte", "j'ai perdu mon code d'accès",
                      "mes identifiants sont oubliés", "réinitialiser le mot de passe svp"]),
    "Livraison": (["Où est mon colis ?", "Quand arrive ma commande ?",
                   "le transporteur n'est pas passé", "suivi de l'expédition"],
                  ["où se trouve mon colis", "le transporteur n'est jamais passé",
                   "je voudrais le suivi de mon expédition", "ma commande arrive quand"]),
    "Remboursement": (["Je veux être remboursé", "rendre un article",
                       "l'argent n'est pas revenu sur ma carte", "annuler mon achat"],
                      ["rembourser ma commande", "je souhaite rendre cet article",
                       "mon argent n'est pas revenu sur ma carte bancaire",
                       "comment annuler un achat"]),
}
# Sentences about deliveries, generated for the password FAQ: they teach it the wrong words.
MISLEADING = ["où en est ma commande", "mon colis est en retard",
              "quand vais-je recevoir ma livraison", "je n'ai pas reçu mon colis",
              "suivi de ma commande", "délai de livraison de mon colis",
              "ma livraison n'arrive pas", "où est passée ma commande"]


def chart_figures(page) -> list[str]:
    """The bars' labels, as the chart shows them: accuracy (human only, human + generated),
    then macro-F1 (the same)."""
    texts = page.locator("#eval-chart svg text").all_text_contents()
    ticks = 3  # 0 %, 50 %, 100 %
    return texts[ticks:ticks + 2] + texts[ticks + 3:ticks + 5]  # each group ends with its name


def figure(shown: str) -> float:
    """A figure as the French page shows it ("16,7 %") as a number (16.7)."""
    return float(re.sub(r"[\s%]", "", shown).replace(",", "."))


def points(before: str, after: str) -> str:
    """The difference of two shown figures ("16,7 %" and "100,0 %"), as the page words it."""
    delta = round(figure(after) - figure(before), 1)
    number = "0,0" if delta == 0 else f"{delta:+.1f}".replace(".", ",")
    return ui_text("fr", "nlu.points", points=number, count=abs(delta))


@pytest.mark.parametrize("case", ["helped", "hurt"])
def test_did_it_help_is_answered_in_a_sentence_with_the_charts_figures(page, studio_server,
                                                                       bot, case, shot):
    api = studio_server.users.api("ada")
    if case == "helped":
        rows = [(faq, text, origin) for faq, (human, generated) in SPARSE.items()
                for origin, texts in (("human", human), ("generated", generated))
                for text in texts]
    else:
        rows = [(faq, text, "human") for faq, texts in FAQS.items() for text in texts]
        rows += [("Mot de passe", text, "generated") for text in MISLEADING]
    import_csv(api, bot, rows)
    figures = api.post(f"/api/bots/{bot}/nlu/evaluate", json={"locale": "fr"}).json()
    gain = figures["gain"]
    assert (gain["accuracy"] > 0 and gain["macro_f1"] > 0) if case == "helped" else \
        (gain["accuracy"] < 0 and gain["macro_f1"] < 0), gain

    login(page, "vic", next_path=f"/bots/{bot}/nlu")
    switch(page, "fr")
    page.get_by_role("button", name=FR["nlu.evaluate"]).click()
    verdict = page.locator("#eval-verdict")
    expect(verdict).not_to_be_empty(timeout=60_000)
    before, after, f1_before, f1_after = chart_figures(page)
    expected = ui_text("fr", f"nlu.verdict_{case}", before=before, after=after,
                       points=points(before, after), f1_before=f1_before, f1_after=f1_after,
                       f1_points=points(f1_before, f1_after))
    # Intl writes a minus sign where Python writes a hyphen
    assert verdict.inner_text().replace("\u2212", "-") == expected
    # the figures are the evaluation's
    shown = [before, after, f1_before, f1_after]
    assert [figure(text) for text in shown] == [
        round(figures[model][metric] * 100, 1) for metric in ("accuracy", "macro_f1")
        for model in ("human_only", "human_plus_generated")]
    shot(page, f"verdict-{case}")


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
    # in French, from the problem's code: how many failed, and why the first did
    why = job.get_by_role("alert")
    expect(why).to_contain_text(FR["problem.all_items_failed"].split("\u202f;")[0].format(count=2))
    expect(why).to_contain_text(FR["problem.unreachable"])
    expect(why).not_to_contain_text("FAQ(s) failed")
    expect(job.get_by_role("button", name=FR["bulk.cancel"])).to_have_count(0)
    shot(page, "failed-job-fr")
