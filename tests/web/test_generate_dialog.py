"""The generate dialog while the model writes, in French: the elapsed time, Cancel (the run
stops and keeps what it had), and the rejected candidates with their reason, one of which
can be kept anyway."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import GENERATION_TIMEOUT_MS, login, switch

FR = MESSAGES["fr"]
REASONS_FR = {FR[key] for key in FR if key.startswith("reason.")}


def open_dialog(page, faq):
    login(page, "ada", next_path=faq.path)
    switch(page, "fr")
    page.locator("#open-generate").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    return dialog


def test_cancel_stops_the_run_and_shows_what_was_kept(page, generation_enabled, faq, shot):
    dialog = open_dialog(page, faq)
    dialog.get_by_label(FR["gen.number"]).fill("50")  # long enough to be cancelled
    dialog.locator("#gen-run").click()

    expect(dialog.locator("#gen-elapsed")).to_contain_text("s écoulées")
    cancel = dialog.get_by_role("button", name=FR["gen.cancel"])
    expect(cancel).to_be_enabled()
    shot(page, "01-progress")
    cancel.click()

    expect(dialog.locator("#gen-results")).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
    summary = dialog.locator("#gen-summary")
    expect(summary).to_contain_text("Arrêtée à votre demande")
    kept = dialog.locator("#gen-candidates li").count()
    assert kept < 50
    shot(page, "02-cancelled")
    # the history holds the run as partial, in French
    runs = generation_enabled_runs(page, faq)
    assert runs[0]["status"] == "partial"
    assert len(runs[0]["candidates"]) == kept


def generation_enabled_runs(page, faq) -> list[dict]:
    """The bot's runs, newest first, as the signed-in browser sees them through the API."""
    listed = page.request.get(f"/api/bots/{faq.bot}/generation-runs?faq_id={faq.id}").json()
    return [page.request.get(f"/api/bots/{faq.bot}/generation-runs/{r['id']}").json()
            for r in listed["items"]]


def test_rejected_candidates_show_why_and_one_can_be_kept_anyway(page, generation_enabled,
                                                                 faq, shot):
    dialog = open_dialog(page, faq)
    box = dialog.locator("#gen-rejected-box")
    # keepable: not a copy of what the FAQ already has
    keepable = dialog.locator("#gen-rejected li:not([data-reason=copy_of_input])"
                              ":not([data-reason=duplicate])")
    for attempt in range(6):  # SmolLM2 rejects something in most runs, not in all
        button = "#gen-again" if attempt else "#gen-run"
        dialog.locator(button).click()
        expect(dialog.locator("#gen-results")).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
        if keepable.count():
            break
    expect(box).to_be_visible()
    rejected = dialog.locator("#gen-rejected li")
    count = rejected.count()
    expect(box.locator("summary")).to_have_text(f"Rejetées par les filtres ({count})")
    box.locator("summary").click()
    for i in range(count):
        note = rejected.nth(i).locator(".note").inner_text().strip(" ()")
        assert note in REASONS_FR, note
    shot(page, "01-rejected")

    choice = keepable.first.locator("input")
    text = choice.input_value()
    choice.check()
    dialog.get_by_role("button", name=FR["gen.validate"]).click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text(ui_text("fr", "gen.imported", count=1))  # "1 phrase importée."
    expect(page.locator("#sentences")).to_contain_text(text)


def test_closing_the_dialog_stops_the_run(page, generation_enabled, faq):
    dialog = open_dialog(page, faq)
    dialog.get_by_label(FR["gen.number"]).fill("50")
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-elapsed")).to_contain_text("s écoulées")

    page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    # the run ends (stored partial, short of 50) instead of going on out of sight
    deadline = time.monotonic() + GENERATION_TIMEOUT_MS / 1000  # a hang guard only
    while not generation_enabled_runs(page, faq) and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    run = generation_enabled_runs(page, faq)[0]
    assert run["status"] == "partial" and len(run["candidates"]) < 50
