"""The Studio in French, as a new bot builder walks it: server messages reach the page
through their code and a translation (login, settings check, generation warnings, NLU),
French plurals, decimal commas and no-break spaces; the FAQ page's heading and way back;
the skip link; bulk generation from the FAQ list, its finished job linking to its runs.
Every error the API can be made to answer (tests/problem_walk.py) as app.js words it on a
French page; validation details, template errors, connection errors and the filters'
details on the real pages, in French."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.problem_walk import ENGLISH as SERVER_ENGLISH
from tests.problem_walk import PLACEHOLDER, walk
from tests.servers.faulty_server import create_app as create_vendor
from tests.servers.run import ASGIServer, free_port
from utterly.studio.web.i18n import MESSAGES, text

from .conftest import (
    GENERATION_TIMEOUT_MS,
    PASSWORD,
    enable_generation,
    english_bot,
    switch,
)
from .test_nlu_page import add_faqs

FR = MESSAGES["fr"]
# what the English server says, that a French page must not show
ENGLISH = re.compile(r"wrong username|passed the filters|no trained model|POST /api|"
                     r"utterly nlu train|refused|answered|accepts the", re.I)


def fr(key: str, **values) -> str:
    return text("fr", key, **values)


def login_in_french(page, username: str, next_path: str = "/") -> None:
    page.goto("/login")
    switch(page, "fr")  # remembered in a cookie; the switch keeps the path, not the query
    page.goto(f"/login?next={next_path}")
    page.get_by_label(FR["login.username"]).fill(username)
    page.get_by_label(FR["login.password"]).fill(PASSWORD)
    page.get_by_role("button", name=FR["login.submit"]).click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_login_error_skip_link_and_the_faq_heading_in_french(page, faq, shot):
    page.goto("/login")
    switch(page, "fr")
    expect(page.locator("a.skip")).to_have_text("Aller au contenu")
    page.get_by_label(FR["login.username"]).fill("ada")
    page.get_by_label(FR["login.password"]).fill("not-the-password")
    page.get_by_role("button", name=FR["login.submit"]).click()
    error = page.get_by_role("alert")
    expect(error).to_have_text(FR["problem.invalid_credentials"])
    assert not ENGLISH.search(error.inner_text())
    shot(page, "login-error")

    page.get_by_label(FR["login.password"]).fill(PASSWORD)
    page.get_by_role("button", name=FR["login.submit"]).click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(faq.path)
    expect(page.get_by_role("heading", level=1)).to_have_text(faq.title)
    # the skip link comes first and says where it goes
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Aller au contenu")
    expect(skip).to_be_in_viewport()
    back = page.get_by_role("link", name=FR["faq.back"])
    expect(back).to_have_attribute("href", f"/bots/{faq.bot}/faqs")
    # the heading follows a saved rename
    page.get_by_label(FR["faq.title_label"]).fill("Mot de passe oublié")
    page.get_by_role("button", name=FR["faq.save"]).click()
    expect(page.locator("#toast")).to_have_text(FR["common.saved"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de passe oublié")
    shot(page, "faq-heading")
    back.click()
    expect(page).to_have_url(re.compile(rf"/bots/{faq.bot}/faqs$"))
    expect(page.get_by_role("link", name="Mot de passe oublié")).to_be_visible()


@pytest.fixture
def vendor():
    """The fake OpenAI-compatible vendor: it always answers `where is my parcel` and
    `track my order`."""
    with ASGIServer(create_vendor()) as url:
        yield url


@pytest.fixture
def english_shop(studio_server, vendor):
    """A bot in English (the vendor's language) generating through the vendor: "Orders"
    and "Delivery", which `where is my parcel` already trains."""
    return english_bot(studio_server, f"{vendor}/ok/v1",
                       {"Orders": ["Where is my order?"],
                        "Delivery": ["When will it arrive?", "Where is my parcel?"]},
                       nb_sentences=2)


def test_generation_summary_and_its_warning_in_french_with_plurals(page, english_shop, shot):
    bot, faqs = english_shop
    login_in_french(page, "ada", f"/bots/{bot}/faqs/{faqs['Orders']}")
    page.get_by_role("button", name=FR["faq.generate"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
    # one of two kept: `where is my parcel` trains Delivery, so it is rejected each time
    summary = dialog.locator("#gen-summary")
    expect(summary).to_contain_text("1 phrase générée · 1 phrase sur 2 a passé les filtres (essais")
    expect(summary).to_contain_text("les rejetées sont listées plus bas")
    assert not ENGLISH.search(summary.inner_text())
    expect(dialog.locator("#gen-candidates li")).to_have_count(1)
    shot(page, "summary")


def test_settings_check_results_in_french(page, english_shop, vendor, shot):
    bot, _ = english_shop
    login_in_french(page, "ada", f"/bots/{bot}/settings/sentence-generation")
    expect(page.locator("#variables")).not_to_be_empty()
    # the temperature with a decimal comma
    expect(page.locator("#temperature-value")).to_have_text(re.compile(r"^0,\d+$|^[01]$"))
    result = page.locator("#check-result")
    page.get_by_role("button", name=FR["settings.test"]).click()
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("Connexion OK\u00a0:")
    expect(result).to_contain_text("gpt-4o-mini")
    assert not ENGLISH.search(result.inner_text())

    page.get_by_label(FR["settings.base_url"]).fill(f"{vendor}/unauthorized/v1")
    page.get_by_role("button", name=FR["settings.test"]).click()
    expect(result).to_have_class(re.compile(r"\berror\b"))
    expect(result).to_have_text(FR["problem.authentication"])
    # the server's English words stay at hand, in the tooltip
    assert result.get_attribute("title")
    shot(page, "check-failed")


def test_bulk_generation_from_the_faq_list_links_to_its_runs(page, english_shop, shot):
    bot, faqs = english_shop
    login_in_french(page, "bob", f"/bots/{bot}/faqs")
    expect(page.locator("#faq-table tbody tr[data-faq-id]").first).to_be_visible()
    bulk = page.locator("section", has=page.get_by_role("heading", name=FR["bulk.title"]))
    expect(bulk.locator("#bulk-min-score-value")).to_have_text("0,6")
    bulk.get_by_role("button", name=FR["bulk.start"]).click()
    job = bulk.locator("#bulk-jobs li").first
    expect(job).to_have_attribute("data-status", "done", timeout=GENERATION_TIMEOUT_MS)
    expect(job.locator(".text")).to_contain_text(f"{FR['bulk.status.done']}\u00a0: 2 sur 2")
    shot(page, "job-done")
    job_id = job.get_attribute("data-job-id")
    job.get_by_role("link", name=FR["bulk.review"]).click()
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/history\?job={job_id}$"))
    expect(page.locator("#job-filter")).to_contain_text(fr("history.of_job", id=job_id))
    rows = page.locator("#runs tbody tr[data-run-id]")
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("td:nth-child(3)").all_inner_texts()) == ["Delivery", "Orders"]
    shot(page, "job-runs")

    # a run made by hand afterwards is not one of the job's
    page.goto(f"/bots/{bot}/faqs/{faqs['Orders']}")
    page.get_by_role("button", name=FR["faq.generate"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
    page.goto(f"/bots/{bot}/history?job={job_id}")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name=FR["history.show_all"]).click()
    expect(rows).to_have_count(3)


def test_nlu_unknown_threshold_small_evaluation_and_plain_words_in_french(page, studio_server,
                                                                        bot, shot):
    add_faqs(studio_server.users.api("ada"), bot)
    login_in_french(page, "bob", f"/bots/{bot}/nlu")
    page.get_by_role("button", name=FR["nlu.train"]).click()
    expect(page.locator("#nlu-model")).to_have_text(
        fr("nlu.trained", count=12, generated=0, intents=2))
    threshold = page.get_by_label(FR["nlu.threshold"])
    expect(page.locator("#nlu-threshold-value")).to_have_text("60 %")  # Playwright reads a no-break space as a space
    expect(page.locator("#nlu-threshold-help")).to_have_text(FR["nlu.threshold_help"])

    page.get_by_placeholder(FR["nlu.try_label"]).fill("Quel est le taux de TVA ?")
    threshold.fill("0.95")  # a range input takes the value
    expect(page.locator("#nlu-threshold-value")).to_have_text("95 %")
    page.get_by_role("button", name=FR["nlu.parse"]).click()
    answer = page.locator("#nlu-result .parse-intent")
    expect(answer).to_have_attribute("data-unknown", "true")
    expect(answer.locator("strong")).to_have_text(FR["nlu.unknown"])
    expect(answer).to_contain_text("sous le seuil de 95 %")
    expect(page.locator("#nlu-result")).to_contain_text(FR["nlu.runners_up"])
    shot(page, "unknown")

    # lowered to 0, the same sentence names an FAQ; the page remembers the threshold
    threshold.fill("0")
    page.get_by_role("button", name=FR["nlu.parse"]).click()
    expect(answer).not_to_have_attribute("data-unknown", "true")
    expect(answer.locator("strong")).to_have_text(re.compile("^(Mot de passe|Livraison)$"))
    # (Playwright's text matching turns no-break spaces into spaces: read the raw text)
    assert re.search(r"confiance \d+[\u00a0\u202f]%$", answer.inner_text())
    page.reload()
    expect(page.locator("#nlu-threshold-value")).to_have_text("0 %")

    for key in ("nlu.kfold_help", "nlu.accuracy_help", "nlu.f1_help"):
        expect(page.locator(".glossary")).to_contain_text(FR[key])
    page.get_by_role("button", name=FR["nlu.evaluate"]).click()
    warning = page.locator("#eval-too-small")
    expect(warning).to_be_visible(timeout=60_000)
    expect(warning).to_have_text(fr("nlu.too_small", count=12, least=30))
    expect(page.locator("#eval-status")).to_contain_text(
        fr("nlu.method", method=fr("nlu.method_kfold", k=5), tested=12, generated=0))
    chart = page.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(r"Exactitude \d+,\d[\u00a0\u202f]%"))
    shot(page, "evaluated")


def test_an_untrained_model_is_explained_in_french(page, studio_server, bot):
    add_faqs(studio_server.users.api("ada"), bot)
    login_in_french(page, "vic", f"/bots/{bot}/nlu")
    page.get_by_placeholder(FR["nlu.try_label"]).fill("où est mon colis")
    page.get_by_role("button", name=FR["nlu.parse"]).click()
    error = page.locator("#nlu-error")
    expect(error).to_have_text(FR["problem.model_not_trained"])
    assert not ENGLISH.search(error.inner_text())


def test_a_failed_run_says_why_in_french_in_the_history(page, studio_server, bot, shot):
    ada = studio_server.users.api("ada")
    ids = add_faqs(ada, bot)
    # the vendor answers when the settings are saved (they are checked), then goes away
    with ASGIServer(create_vendor()) as gone:
        enable_generation(ada, bot, provider="openai-compatible", model="gpt-4o-mini",
                          base_url=f"{gone}/ok/v1", nb_sentences=2)
    failed = ada.post(f"/api/bots/{bot}/faqs/{ids['Livraison']}/generate", json={})
    assert failed.status_code == 502 and failed.json()["code"] == "unreachable", failed.text

    login_in_french(page, "ada", f"/bots/{bot}/history")
    status = page.locator("#runs tbody tr[data-run-id] td:nth-child(5)")
    # the status on its line, why below it
    expect(status.locator(".status-text")).to_have_text(FR["run.status.failed"])
    expect(status.locator(".run-error")).to_have_text(FR["problem.unreachable"])
    assert not ENGLISH.search(status.inner_text())
    assert status.locator(".run-error").get_attribute("title")  # the English hint, at hand
    shot(page, "failed-run")


def test_every_problem_the_api_can_cause_reads_as_french_on_a_page(page, studio_server):
    walked = walk(studio_server.url, studio_server.users.api, PASSWORD)
    login_in_french(page, "vic")
    # app.js's own problemText, on each problem as the API answered it
    shown = page.evaluate("problems => problems.map((p) => problemText({ problem: p }))",
                          [w.problem for w in walked])
    wrong = [(w.what, said) for w, said in zip(walked, shown)
             if not said.strip() or SERVER_ENGLISH.search(said) or PLACEHOLDER.search(said)]
    assert wrong == []
    said = dict(zip((w.what for w in walked), shown))
    # the examples, now in French
    assert said["log in with a blank username"] == fr("invalid.empty",
                                                      field=FR["field.username"])
    assert said["0 sentences asked for"] == fr("invalid.greater_than_equal",
                                               field=FR["field.n"], ge=1)
    assert said["a temperature above 1"] == fr("invalid.less_than_equal",
                                               field=FR["field.temperature"], le=1)
    assert said["a template with an unknown variable"] == fr("invalid.template_undefined",
                                                             name="colour")


def test_validation_and_template_errors_on_the_settings_pages_in_french(page, bot, shot):
    # a blank username: the server's "String should have at least 1 character", worded
    page.goto("/login")
    switch(page, "fr")
    page.get_by_label(FR["login.username"]).fill(" ")
    page.get_by_label(FR["login.password"]).fill("x")
    page.get_by_role("button", name=FR["login.submit"]).click()
    expect(page.get_by_role("alert")).to_have_text(fr("invalid.empty",
                                                      field=FR["field.username"]))

    login_in_french(page, "ada", f"/bots/{bot}/settings/observability")
    host = page.get_by_label(FR["settings.obs.host"])
    host.fill("https://cloud langfuse.com")  # a space: the browser would not even submit it
    page.get_by_role("button", name=FR["settings.test"]).click()
    error = page.locator("#settings-error")
    expect(error).to_have_text(fr("invalid.url_spaces", field=FR["field.langfuse_host"]))
    assert not SERVER_ENGLISH.search(error.inner_text())
    shot(page, "host-with-a-space")

    page.goto(f"/bots/{bot}/settings/sentence-generation")
    preview = page.locator("#prompt-preview")
    template = page.get_by_label(FR["settings.prompt"])
    expect(template).not_to_have_value("")
    # the default template on this French bot's example, not an English one
    page.get_by_role("button", name=FR["settings.preview"]).click()
    expect(preview).to_contain_text("Comment réinitialiser mon mot de passe ?")
    assert "How do I" not in preview.inner_text()
    template.fill("### user\n{{ sentences }")
    page.get_by_role("button", name=FR["settings.preview"]).click()
    error = page.locator("#settings-error")
    expect(error).to_have_text(fr("invalid.template_unexpected", line=2, token="}"))
    template.fill("### user\n{{ colour }}")
    page.get_by_role("button", name=FR["settings.preview"]).click()
    expect(error).to_have_text(fr("invalid.template_undefined", name="colour"))
    shot(page, "template-error")


def test_the_generate_dialog_words_a_bad_number_and_the_default_model_in_french(
        page, english_shop, shot):
    bot, faqs = english_shop
    login_in_french(page, "ada", f"/bots/{bot}/faqs/{faqs['Orders']}")
    page.get_by_role("button", name=FR["faq.generate"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    dialog.get_by_label(FR["gen.number"]).fill("0")
    dialog.locator("#gen-run").click()
    error = dialog.locator("#gen-options-error")
    expect(error).to_have_text(fr("invalid.greater_than_equal", field=FR["field.n"], ge=1))
    shot(page, "zero-sentences")

    # A bot on the default local model, enabled: the settings as the server gives them
    # (enabling it for real would load a 1.5 B model just to check it).
    def default_model(route):
        settings = route.fetch().json()
        route.fulfill(json={**settings, "provider": "local", "model": None, "enabled": True})

    page.route(f"**/api/bots/{bot}/settings/sentence-generation", default_model)
    page.reload()
    page.get_by_role("button", name=FR["faq.generate"]).click()
    warning = page.get_by_role("dialog").locator("#gen-warning")
    expect(warning).to_have_text(fr("gen.warning_default",
                                    provider=FR["settings.provider.local"]))
    assert "default" not in warning.inner_text()


def test_the_trace_words_the_filters_and_a_failed_export_in_french(page, studio_server,
                                                                    english_shop, shot):
    bot, faqs = english_shop
    ada = studio_server.users.api("ada")
    dead = f"http://127.0.0.1:{free_port()}"  # nobody listens: every export fails
    saved = ada.put(f"/api/bots/{bot}/settings/observability",
                    json={"enabled": True, "otlp_endpoint": dead})
    assert saved.status_code == 200, saved.text
    # the vendor writes "where is my parcel", an example of Delivery: a copy of it. The
    # spans leave in batches after each run: a failed export shows in a later run.
    for _ in range(8):
        run = ada.post(f"/api/bots/{bot}/faqs/{faqs['Delivery']}/generate", json={})
        assert run.status_code == 200, run.text
        detail = ada.get(f"/api/bots/{bot}/generation-runs/{run.json()['run_id']}").json()
        if detail["trace"]["export"]["destinations"][0]["dropped"]:
            break
        time.sleep(1)
    destination = detail["trace"]["export"]["destinations"][0]
    assert destination["last_failure"] == "ConnectError"
    assert destination["last_failure_code"] == "connection"
    copy = next(r for r in detail["rejected"] if r["reason"] == "copy_of_input")
    assert copy["code"] == "same_words_as_example"

    login_in_french(page, "vic", f"/bots/{bot}/history")
    page.locator(f'#runs tbody tr[data-run-id="{detail["id"]}"]').get_by_role(
        "button", name=FR["history.details"]).click()
    body = page.locator("#trace-dialog #trace-body")
    expect(body).to_contain_text(fr("trace.export_last_failure",
                                    reason=FR["export_failure.connection"]))
    expect(body.locator('li[data-reason="copy_of_input"]').first).to_contain_text(
        f"{FR['reason.copy_of_input']} ({FR['rejection.same_words_as_example']})")
    calls = len(detail["trace"]["calls"])
    about = body.locator("p").first
    expect(about).to_contain_text(re.compile(rf"^{calls} appels? au modèle, "))
    # the Studio's words (not the prompts, the model's answers or the rejected sentences)
    said = [about.inner_text(), *body.locator(".trace-export").all_inner_texts(),
            *body.locator(".trace-rejected .note").all_inner_texts()]
    assert [s for s in said if "(s)" in s or "ConnectError" in s
            or SERVER_ENGLISH.search(s)] == []
    shot(page, "trace")
