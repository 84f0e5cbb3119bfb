"""The generate dialog while the model writes, in French: the elapsed time, Cancel (the run
stops and keeps what it had), the rejected candidates with their reason, one of which
can be kept anyway; closing the dialog during a run asks first; only human sentences are
ticked as sources; a variation's tag has its option's name.

The tests that need no real model use the faulty server's OpenAI-compatible vendor: `ok`
answers `where is my parcel` and `track my order`; `answer1-then-hang` passes the provider
check, then never answers (a run goes on until the bot's time limit)."""

from __future__ import annotations

import itertools
import time

from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import (
    GENERATION_TIMEOUT_MS,
    english_bot,
    import_one_generated,
    login,
    open_generate,
    switch,
)

FR = MESSAGES["fr"]
REASONS_FR = {FR[key] for key in FR if key.startswith("reason.")}
_vendors = itertools.count(1)


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


def hanging_orders(studio_server, faulty_server, timeout_s: int) -> tuple[int, int]:
    """A fresh English bot whose vendor never answers a generation, with a `timeout_s`
    limit, and its FAQ "Orders": (bot, faq)."""
    behaviour = f"answer1-then-hang-close{next(_vendors)}"
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/{behaviour}/v1",
                            {"Orders": ["Where is my order?"]}, timeout_s=timeout_s,
                            nb_sentences=5)
    return bot, faqs["Orders"]


def runs_of(page, bot: int) -> list[dict]:
    """The bot's runs, newest first, in full, as the signed-in browser reads them."""
    listed = page.request.get(f"/api/bots/{bot}/generation-runs").json()["items"]
    return [page.request.get(f"/api/bots/{bot}/generation-runs/{r['id']}").json()
            for r in listed]


def test_closing_during_a_run_asks_and_keep_going_lets_it_run_to_its_end(
        page, studio_server, faulty_server, shot):
    limit = 12
    bot, faq = hanging_orders(studio_server, faulty_server, timeout_s=limit)
    dialog = open_generate(page, bot, faq)
    ask = page.locator("#gen-stop-dialog")
    keep = ask.get_by_role("button", name=FR["gen.stop_keep"])
    progress = dialog.locator("#gen-progress")
    dialog.locator("#gen-run").click()
    expect(progress).to_be_visible()

    # Esc asks, "Continuer" is the default answer, and the run goes on
    page.keyboard.press("Escape")
    expect(ask).to_be_visible()
    expect(ask.get_by_role("heading")).to_have_text(FR["gen.stop_title"])
    expect(ask).to_contain_text(FR["gen.stop_text"])
    expect(keep).to_be_focused()
    shot(page, "01-ask")
    keep.click()
    expect(ask).to_be_hidden()
    expect(progress).to_be_visible()

    # × asks too; Esc on the question keeps it going; an Esc again asks again
    dialog.get_by_role("button", name=FR["common.close"]).click()
    expect(ask).to_be_visible()
    page.keyboard.press("Escape")
    expect(ask).to_be_hidden()
    page.keyboard.press("Escape")
    expect(ask).to_be_visible()
    expect(dialog).to_be_visible()
    keep.click()

    # a click outside the dialog stops nothing
    page.mouse.click(3, 3)
    expect(dialog).to_be_visible()
    expect(progress).to_be_visible()
    expect(ask).to_be_hidden()

    # the run went on to its own end: the bot's limit, not a stop on request
    expect(dialog.locator("#gen-options-error")).to_have_text(
        ui_text("fr", "gen.timeout_error", seconds=limit), timeout=limit * 1000 + 30_000)
    run = runs_of(page, bot)[0]
    assert run["error"]["code"] == "timeout", run
    assert run["trace"]["stopped"] != "cancelled", run["trace"]


def test_stop_from_the_close_question_ends_the_run_on_request(page, studio_server,
                                                              faulty_server, shot):
    bot, faq = hanging_orders(studio_server, faulty_server, timeout_s=120)
    dialog = open_generate(page, bot, faq)
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-elapsed")).to_contain_text("s écoulées")

    dialog.get_by_role("button", name=FR["common.close"]).click()
    ask = page.locator("#gen-stop-dialog")
    ask.get_by_role("button", name=FR["gen.stop_confirm"]).click()

    expect(dialog).to_be_hidden()
    expect(ask).to_be_hidden()
    expect(page.locator("#toast")).to_have_text(FR["gen.stopped_closed_none"])
    shot(page, "01-stopped")
    deadline = time.monotonic() + 60  # a hang guard only: a cancel ends the run in a second
    while not runs_of(page, bot) and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    run = runs_of(page, bot)[0]
    assert run["trace"]["stopped"] == "cancelled", run["trace"]
    assert run["candidates"] == []


def orders_with_a_generated_sentence(studio_server, faulty_server) -> tuple[int, int, dict]:
    """An English bot on the `ok` vendor and its FAQ "Orders": a human sentence, then one
    imported from a run, then another human one. (bot, faq, {text: origin})."""
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/ok/v1",
                            {"Orders": ["Where is my order?"]}, nb_sentences=2)
    faq = faqs["Orders"]
    generated = import_one_generated(studio_server, bot, faq)
    bob = studio_server.users.api("bob")
    added = bob.post(f"/api/bots/{bot}/faqs/{faq}/sentences",
                     json={"text": "Has my package left the warehouse?"})
    assert added.status_code == 201, added.text
    origins = {"Where is my order?": "human", generated: "generated",
               "Has my package left the warehouse?": "human"}
    return bot, faq, origins


def test_only_human_sentences_are_ticked_as_sources(page, studio_server, faulty_server, shot):
    bot, faq, origins = orders_with_a_generated_sentence(studio_server, faulty_server)
    generated = next(text for text, origin in origins.items() if origin == "generated")
    humans = [text for text, origin in origins.items() if origin == "human"]
    dialog = open_generate(page, bot, faq)
    sources = dialog.locator("#gen-sources li")
    expect(sources).to_have_count(3)
    for text, origin in origins.items():
        item = sources.filter(has_text=text)
        expect(item).to_have_attribute("data-origin", origin)
        expect(item.locator(".badge")).to_have_text(FR["faq." + origin])
        box = item.get_by_role("checkbox")
        if origin == "human":
            expect(box).to_be_checked()
        else:
            expect(box).not_to_be_checked()
    expect(dialog.locator("#gen-sources-hint")).to_have_text(FR["gen.sources_generated"])
    shot(page, "01-sources")

    # the run starts from the human sentences only
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=60_000)
    assert sorted(runs_of(page, bot)[0]["request"]["sentences"]) == sorted(humans)

    # a generated one is used when ticked by hand
    dialog.get_by_role("button", name=FR["gen.back"]).click()
    sources.filter(has_text=generated).get_by_role("checkbox").check()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=60_000)
    assert sorted(runs_of(page, bot)[0]["request"]["sentences"]) == sorted(humans + [generated])


def test_a_variation_tag_has_the_name_of_its_option(page, studio_server, faulty_server, shot):
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/ok/v1",
                            {"Orders": ["Where is my order?", "Track my order please"]},
                            nb_sentences=2)
    dialog = open_generate(page, bot, faqs["Orders"])
    option = dialog.get_by_label(FR["gen.spelling_mistakes"])
    option.check()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=60_000)
    tags = dialog.locator('.tag.variation[data-variation="spelling_mistakes"]')
    expect(tags.first).to_be_visible()
    option_name = dialog.locator("label:has(#opt-spelling)").inner_text().strip()
    assert option_name == FR["gen.spelling_mistakes"]  # "Fautes d'orthographe"
    for i in range(tags.count()):
        expect(tags.nth(i)).to_have_text(option_name)
    shot(page, "01-tags")
