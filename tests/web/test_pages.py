"""Every Studio page in a real browser: English and French, a phone-sized screen, keyboard
use, labelled inputs, and nothing loaded from outside the server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES

from .conftest import PASSWORD, login, switch

EN, FR = MESSAGES["en"], MESSAGES["fr"]

# path (relative to the bot) → keys whose text shows on that page once app.js has run
BOT_PAGES = {
    "faqs": ["faqs.new", "faqs.col_human", "nav.history"],
    "faq": ["faq.tab_answer", "faq.sentences", "faq.save", "faq.generate"],
    "settings/sentence-generation": ["settings.gen.title", "settings.test",
                                     "settings.reset_prompt"],
    "settings/observability": ["settings.obs.title", "settings.obs.public_key"],
    "history": ["history.title", "history.none", "history.model"],
}

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter((n) => n.type !== "hidden")
    .filter((n) => !(n.labels && n.labels.length) && !n.getAttribute("aria-label"))
    .map((n) => n.id || n.name || n.outerHTML)"""


def bot_path(faq, page_name: str) -> str:
    return faq.path if page_name == "faq" else f"/bots/{faq.bot}/{page_name}"


def loaded(page, page_name: str) -> None:
    """Wait until app.js has filled the page from the API."""
    if page_name == "faqs":
        expect(page.locator("#faq-table tbody tr[data-faq-id]").first).to_be_visible()
    elif page_name == "faq":
        expect(page.locator("#sentences li").first).to_be_visible()
    elif page_name.startswith("settings/sentence"):
        expect(page.locator("#variables")).not_to_be_empty()
    elif page_name == "history":
        expect(page.locator("#runs tbody td").first).not_to_have_text(EN["common.loading"])


def assert_texts(page, table: dict, keys: list[str]) -> None:
    for key in keys:
        expect(page.locator("body")).to_contain_text(table[key])


def test_each_page_renders_in_english_then_french_after_the_switch(page, faq, shot):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name=EN["login.title"])).to_be_visible()
    switch(page, "fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name=FR["login.title"])).to_be_visible()
    expect(page.get_by_label(FR["login.password"])).to_be_visible()
    shot(page, "login-fr")
    switch(page, "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    login(page, "ada")
    assert_texts(page, EN, ["bots.title", "bots.create"])
    switch(page, "fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_texts(page, FR, ["bots.title", "bots.create", "nav.logout"])
    switch(page, "en")

    for name, keys in BOT_PAGES.items():
        path = bot_path(faq, name)
        page.goto(path)
        loaded(page, name)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert_texts(page, EN, keys)
        switch(page, "fr")
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))  # the same page
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        loaded(page, name)
        assert_texts(page, FR, keys)
        expect(page.locator("body")).not_to_contain_text(EN[keys[0]])
        shot(page, name.replace("/", "-") + "-fr")
        switch(page, "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")

    # the error pages too, and the choice is remembered (a cookie) across pages
    switch(page, "fr")
    response = page.goto("/bots/999999/faqs")
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name=FR["error.title"])).to_be_visible()
    expect(page.locator(".error-text")).to_have_text(FR["error.not_found"])
    shot(page, "404-fr")


def test_login_with_a_wrong_password_shows_the_error_in_the_page(page, shot):
    page.goto("/login")
    page.get_by_label("Username").fill("gus")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("wrong username or password")
    expect(error).to_contain_text("check both")  # the hint, after the detail
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    shot(page, "error")
    assert "utterly_session" not in {c["name"] for c in page.context.cookies()}


def test_pages_fit_a_narrow_phone_screen(browser, studio_server, faq, shot):
    context = browser.new_context(base_url=studio_server.url, locale="en-US",
                                  viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        page.goto("/login")
        assert page.evaluate(OVERFLOW) <= 1
        shot(page, "login")
        login(page, "ada")
        assert page.evaluate(OVERFLOW) <= 1
        shot(page, "bots")
        for name in BOT_PAGES:
            page.goto(bot_path(faq, name))
            loaded(page, name)
            assert page.evaluate(OVERFLOW) <= 1, name
            shot(page, name.replace("/", "-"))
        page.goto(faq.path)
        loaded(page, "faq")
        page.get_by_role("button", name="Generate sentences").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.get_by_role("dialog").locator("#gen-sources li")).to_have_count(1)
        assert page.evaluate(OVERFLOW) <= 1
        shot(page, "generate-dialog")
    finally:
        context.close()


def test_login_form_can_be_completed_with_the_keyboard_only(page):
    page.goto("/login")
    expect(page.locator("#username")).to_be_focused()  # autofocus
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name=EN["bots.title"])).to_be_visible()


def test_faq_tabs_switch_with_the_arrow_keys(page, faq):
    login(page, "ada", next_path=faq.path)
    question = page.get_by_role("tab", name="Question")
    answer = page.get_by_role("tab", name="Answer")
    expect(question).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-answer")).to_be_hidden()
    question.focus()
    for key, selected, other, panel in (("ArrowRight", answer, question, "#panel-answer"),
                                        ("ArrowRight", question, answer, "#panel-question"),
                                        ("ArrowLeft", answer, question, "#panel-answer")):
        page.keyboard.press(key)
        expect(selected).to_be_focused()
        expect(selected).to_have_attribute("aria-selected", "true")
        expect(selected).to_have_attribute("tabindex", "0")
        expect(other).to_have_attribute("aria-selected", "false")
        expect(other).to_have_attribute("tabindex", "-1")
        expect(page.locator(panel)).to_be_visible()
    expect(page.locator("#panel-question")).to_be_hidden()
    expect(page.get_by_role("textbox", name="Answer")).to_have_value(
        "Cliquez sur « Mot de passe oublié ».")


@pytest.mark.parametrize("which", ["sentence-generation", "observability"])
def test_every_settings_input_has_a_label(page, bot, which):
    login(page, "ada", next_path=f"/bots/{bot}/settings/{which}")
    inputs = page.locator("main input:not([type=hidden]), main select, main textarea")
    expect(inputs.first).to_be_visible()
    assert inputs.count() >= 6
    assert page.evaluate(UNLABELLED) == []


def test_pages_load_nothing_from_outside_the_server(page, recording, faq, studio_server):
    login(page, "ada")
    for name in BOT_PAGES:
        page.goto(bot_path(faq, name))
        loaded(page, name)
    page.goto(bot_path(faq, "settings/sentence-generation"))
    loaded(page, "settings/sentence-generation")
    page.get_by_role("button", name="Preview on an example").click()
    expect(page.locator("#prompt-preview")).to_be_visible()
    page.goto(faq.path)
    loaded(page, "faq")
    page.get_by_role("button", name="Generate sentences").click()
    expect(page.get_by_role("dialog").locator("#gen-warning")).not_to_be_empty()

    urls = recording.requests
    for asset in ("/static/app.css", "/static/app.js", f"/api/bots/{faq.bot}/faqs"):
        assert any(url.startswith(studio_server.url + asset) for url in urls), asset
    assert [url for url in urls if not url.startswith(studio_server.url + "/")] == []
