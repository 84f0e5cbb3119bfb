"""What the pages say when a provider cannot be reached, and what each role can see and do."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.servers.run import free_port

from .conftest import generate, login

FORBIDDEN = "Your role cannot open this page: it needs the admin role."
NOT_FOUND = "This page does not exist, or it is not in your namespaces."
SETTINGS_PAGES = ("sentence-generation", "observability")


def test_wrong_ollama_url_shows_the_readable_error_and_saves_nothing(page, bot, studio_server,
                                                                      shot):
    closed = free_port()  # nothing listens there
    login(page, "ada", next_path=f"/bots/{bot}/settings/sentence-generation")
    expect(page.locator("#variables")).not_to_be_empty()  # the form is filled
    page.get_by_role("switch", name="Enabled").check()
    page.get_by_label("Provider", exact=True).select_option("ollama")
    expect(page.get_by_label("Base URL")).to_be_visible()
    expect(page.get_by_label("API key")).to_be_hidden()  # not an Ollama field
    page.get_by_label("Base URL").fill(f"http://127.0.0.1:{closed}")
    page.get_by_label("Model").fill("tinyllama")

    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#check-result")
    expect(result).to_have_class(re.compile(r"\berror\b"), timeout=60_000)
    expect(result).to_contain_text(
        f"cannot connect to the Ollama server at http://127.0.0.1:{closed}")
    expect(result).to_contain_text("check that Ollama is running (`ollama serve`)")
    shot(page, "check-failed")

    # Saving enabled settings checks the provider first: refused, with the same hint
    page.get_by_role("button", name="Save").click()
    error = page.locator("#settings-error")
    expect(error).to_contain_text("settings not saved", timeout=60_000)
    expect(error).to_contain_text("ollama serve")
    shot(page, "save-refused")

    page.reload()
    expect(page.locator("#variables")).not_to_be_empty()
    expect(page.get_by_role("switch", name="Enabled")).not_to_be_checked()
    expect(page.get_by_label("Provider", exact=True)).to_have_value("local")
    stored = studio_server.users.api("ada").get(f"/api/bots/{bot}/settings/sentence-generation")
    assert stored.json()["enabled"] is False
    assert stored.json()["provider"] == "local"
    assert stored.json()["base_url"] is None


def test_viewer_reads_faqs_but_has_no_settings_nor_edit_controls(page, faq, studio_server,
                                                                  shot):
    login(page, "vic", next_path=f"/bots/{faq.bot}/faqs")
    expect(page.locator("#faq-table tbody")).to_contain_text(faq.title)
    nav = page.locator("nav.botnav")
    expect(nav.get_by_role("link", name="FAQs")).to_be_visible()
    expect(nav).not_to_contain_text("Gen AI")
    expect(nav.get_by_role("link", name="Sentence generation settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Observability settings")).to_have_count(0)
    expect(page.get_by_role("button", name="New FAQ")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    shot(page, "faqs")

    page.get_by_role("link", name=faq.title).click()
    expect(page.locator("#sentences li")).to_have_count(1)
    expect(page.locator("#sentences")).to_contain_text(faq.sentence)
    expect(page.get_by_label("Title", exact=True)).to_have_value(faq.title)
    expect(page.get_by_label("Title", exact=True)).not_to_be_editable()
    for name in ("Add", "Generate sentences", "SAVE"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete sentence"))).to_have_count(0)
    expect(page.locator("#new-sentence")).to_have_count(0)
    shot(page, "faq")

    for which in SETTINGS_PAGES:
        response = page.goto(f"/bots/{faq.bot}/settings/{which}")
        assert response.status == 403
        expect(page.locator(".error-text")).to_have_text(FORBIDDEN)
        expect(page.locator("form")).to_have_count(0)
        shot(page, f"{which}-403")

    response = page.goto(f"/bots/{studio_server.users.foreign_bot}/faqs")
    assert response.status == 404
    expect(page.locator(".error-text")).to_have_text(NOT_FOUND)
    expect(page.locator("body")).not_to_contain_text("Globex bot")
    shot(page, "foreign-404")


def test_bot_user_generates_but_cannot_open_or_change_settings(page, generation_enabled, faq,
                                                               shot):
    login(page, "bob", next_path=faq.path)
    expect(page.locator("nav.botnav")).not_to_contain_text("Gen AI")
    expect(page.locator("#sentences li")).to_have_count(1)

    page.get_by_role("button", name="Generate sentences").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-warning")).to_contain_text("model smollm2-135m")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    dialog.get_by_label("Number of sentences").fill("1")
    generate(dialog, need_new=False)
    expect(dialog.locator("#gen-summary")).to_contain_text(re.compile(r"sentences? generated"))
    shot(page, "generated")

    for which in SETTINGS_PAGES:
        response = page.goto(f"/bots/{faq.bot}/settings/{which}")
        assert response.status == 403
        expect(page.locator(".error-text")).to_have_text(FORBIDDEN)
    shot(page, "settings-403")

    # the API refuses a settings write from bob's browser session (with a valid CSRF token)
    answer = page.evaluate("""async (bot) => {
        const csrf = document.cookie.split("; ").find((c) => c.startsWith("utterly_csrf="))
            .slice("utterly_csrf=".length);
        const response = await fetch(`/api/bots/${bot}/settings/sentence-generation`, {
            method: "PUT", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf)},
            body: JSON.stringify({enabled: false, provider: "local"}),
        });
        return {status: response.status, body: await response.json()};
    }""", faq.bot)
    assert answer["status"] == 403
    assert answer["body"]["code"] == "forbidden"  # the role, not the CSRF check
    assert answer["body"]["hint"].startswith("ask an admin of this namespace: an admin can ")
