"""Small points a French bot builder met, each in a real browser: no script error on a
click outside a link; a bot with generation off links its admin to the settings; an empty
bot says how to add an FAQ; the local model's runs are said to be free."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import GENERATION_TIMEOUT_MS, login, switch

FR = MESSAGES["fr"]


def test_clicks_outside_links_raise_no_script_error(page, bot):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, "ada", next_path=f"/bots/{bot}/settings/sentence-generation")
    expect(page.locator("#variables")).not_to_be_empty()
    for path in ("sentence-generation", "observability"):
        page.goto(f"/bots/{bot}/settings/{path}")
        expect(page.locator("main form").first).to_be_visible()
        page.locator("main h1").first.click()
        page.locator("main").click(position={"x": 2, "y": 2})
        page.locator("main label").first.click()
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")  # errors reported
    assert errors == []


def test_generation_off_links_the_admin_to_the_settings(page, faq, browser, studio_server,
                                                         shot):
    login(page, "ada", next_path=faq.path)
    switch(page, "fr")
    page.locator("#open-generate").click()
    dialog = page.locator("#generate-dialog")
    warning = dialog.locator("#gen-warning")
    expect(warning).to_contain_text(FR["gen.disabled_admin"])
    expect(dialog.locator("#gen-run")).to_be_disabled()
    shot(page, "01-admin")
    warning.get_by_role("link", name=FR["gen.enable_link"]).click()
    expect(page).to_have_url(re.compile(rf"/bots/{faq.bot}/settings/sentence-generation$"))
    expect(page.locator("#variables")).not_to_be_empty()

    # a bot_user may not change the settings: told who can, no link
    context = browser.new_context(base_url=studio_server.url, locale="en-US")
    try:
        other = context.new_page()
        login(other, "bob", next_path=faq.path)
        switch(other, "fr")
        other.locator("#open-generate").click()
        warning = other.locator("#gen-warning")
        expect(warning).to_have_text(FR["gen.disabled"])
        expect(warning.get_by_role("link")).to_have_count(0)
    finally:
        context.close()


def test_an_empty_bot_says_how_to_add_an_faq(page, bot, browser, studio_server, shot):
    login(page, "ada", next_path=f"/bots/{bot}/faqs")
    switch(page, "fr")
    cell = page.locator("#faq-table tbody td")
    expect(cell).to_have_text(ui_text("fr", "faqs.empty_edit", field=FR["faqs.new_title"],
                                      button=FR["faqs.new"]))
    # what it names is on the page
    expect(page.get_by_label(FR["faqs.new_title"])).to_be_visible()
    expect(page.get_by_role("button", name=FR["faqs.new"])).to_be_visible()
    shot(page, "01-empty")
    # a search that finds nothing is another matter
    page.get_by_label(FR["faqs.search"]).fill("introuvable")
    expect(cell).to_have_text(FR["faqs.none"])

    context = browser.new_context(base_url=studio_server.url, locale="en-US")
    try:
        viewer = context.new_page()
        login(viewer, "vic", next_path=f"/bots/{bot}/faqs")
        switch(viewer, "fr")
        expect(viewer.locator("#faq-table tbody td")).to_have_text(FR["faqs.empty_view"])
    finally:
        context.close()


def test_the_local_models_runs_are_free(page, generation_enabled, faq, studio_server, shot):
    ran = studio_server.users.api("bob").post(
        f"/api/bots/{faq.bot}/faqs/{faq.id}/generate", json={"n": 1, "seed": 1},
        timeout=GENERATION_TIMEOUT_MS / 1000)
    assert ran.status_code == 200, ran.text
    run_id = ran.json()["run_id"]
    login(page, "ada", next_path=f"/bots/{faq.bot}/history")
    switch(page, "fr")
    row = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    expect(row).to_contain_text(FR["cost.free.local"])
    expect(row).not_to_contain_text("$")
    shot(page, "01-history")
    row.get_by_role("button", name=f"{FR['history.details']} #{run_id}").click()
    body = page.locator("#trace-body")
    expect(body).to_contain_text(f"coût\u00a0: {FR['cost.free.local']}.")
    expect(body).not_to_contain_text("$")
