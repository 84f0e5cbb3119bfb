"""axe-core (axe-playwright-python bundles it, no network) on every Studio page in French,
once app.js has filled it: no violation of impact "serious" or "critical"."""

from __future__ import annotations

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES

from .conftest import switch
from .test_nlu_page import add_faqs

FR = MESSAGES["fr"]
BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[dict]:
    results = Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def check(page, shot, step: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    shot(page, step)
    found = blocking_violations(page)
    assert found == [], f"{step}: " + json.dumps(found, ensure_ascii=False, indent=1)


@pytest.fixture(scope="module")
def axe_loaded():
    """axe-core itself runs (a page without it would report nothing and pass)."""
    return Axe()


def test_axe_reports_a_serious_violation_it_is_shown(page, axe_loaded):
    # the check can fail: an image without text and a button without a name are reported
    page.set_content('<html lang="fr"><body><main><button></button>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>')
    assert {v["id"] for v in blocking_violations(page)} >= {"button-name", "image-alt"}


def test_every_page_in_french_has_no_serious_accessibility_violation(page, studio_server, bot,
                                                                     shot):
    ada = studio_server.users.api("ada")
    ids = add_faqs(ada, bot)
    page.goto("/login")
    switch(page, "fr")
    expect(page.get_by_role("heading", name=FR["login.title"])).to_be_visible()
    check(page, shot, "login")

    # an error on the login form, in French
    page.get_by_label(FR["login.username"]).fill("ada")
    page.get_by_label(FR["login.password"]).fill("not-the-password")
    page.get_by_role("button", name=FR["login.submit"]).click()
    expect(page.get_by_role("alert")).to_have_text(FR["problem.invalid_credentials"])
    check(page, shot, "login-error")

    login_fr(page)
    expect(page.get_by_role("heading", name=FR["bots.title"])).to_be_visible()
    check(page, shot, "bots")

    page.goto(f"/bots/{bot}/faqs")
    expect(page.locator("#faq-table tbody tr[data-faq-id]").first).to_be_visible()
    check(page, shot, "faqs")

    page.goto(f"/bots/{bot}/faqs/{ids['Mot de passe']}")
    expect(page.locator("#sentences li").first).to_be_visible()
    check(page, shot, "faq")
    page.get_by_role("button", name=FR["faq.generate"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-warning")).not_to_be_empty()
    expect(dialog.locator("#gen-sources li").first).to_be_visible()
    check(page, shot, "faq-generate-dialog")
    dialog.get_by_role("button", name=FR["common.close"]).click()

    page.goto(f"/bots/{bot}/settings/sentence-generation")
    expect(page.locator("#variables")).not_to_be_empty()
    check(page, shot, "settings-generation")

    page.goto(f"/bots/{bot}/settings/observability")
    expect(page.get_by_role("heading", name=FR["settings.obs.title"])).to_be_visible()
    check(page, shot, "settings-observability")

    page.goto(f"/bots/{bot}/history")
    expect(page.locator("#runs tbody td").first).to_have_text(FR["history.none"])
    check(page, shot, "history")

    page.goto(f"/bots/{bot}/nlu")
    page.get_by_role("button", name=FR["nlu.train"]).click()
    expect(page.locator("#nlu-model")).not_to_be_empty()
    page.get_by_role("button", name=FR["nlu.evaluate"]).click()
    expect(page.locator("#eval-chart svg")).to_be_visible(timeout=60_000)
    check(page, shot, "nlu")


def login_fr(page) -> None:
    page.get_by_label(FR["login.password"]).fill("correct-horse-1")
    page.get_by_role("button", name=FR["login.submit"]).click()
    page.wait_for_url(lambda url: "/login" not in url)
