"""Reviewing a held run from the generation history: a run whose candidates nobody imported
(what a bulk job without auto-import leaves) is opened with Review, its candidates shown with
their statuses as of now, and a selection imported.

The run comes from the `shop` fixture's bot (tests/web/conftest.py), whose vendor always
answers `where is my parcel` and `track my order`: fast, and exact."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES

from .conftest import PARCEL, TRACK, login, open_review

EN, FR = MESSAGES["en"], MESSAGES["fr"]
IMPORTED_COLUMN = 6


@pytest.fixture
def held_run(shop) -> int:
    """A run for Orders that bob generated and nobody imported from: its id."""
    out = shop.generate("bob", shop.orders)
    assert [(c["text"], c["status"]) for c in out["candidates"]] == \
        [(PARCEL, "new"), (TRACK, "new")]
    return out["run_id"]


def candidate(dialog, text: str):
    return dialog.locator("#review-candidates li").filter(has_text=text)


def test_bot_user_reviews_a_held_run_and_imports_the_selection(page, shop, held_run, shot):
    # meanwhile, someone typed one candidate into another FAQ: it conflicts now
    shop.add_sentence(shop.delivery, "Where is my parcel?")

    login(page, "bob", next_path=shop.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run}"]')
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("0")
    review = row.get_by_role("button", name=f"Review #{held_run}")
    expect(review).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Undo import"))).to_have_count(0)
    shot(page, "01-history")

    review.click()
    dialog = page.get_by_role("dialog", name=f"Review run #{held_run}")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#review-about")).to_contain_text("FAQ “Orders”")
    expect(dialog.locator("#review-summary")).to_contain_text("2 sentences generated")
    expect(dialog.locator("#review-summary")).to_contain_text("0 imported from this run")
    expect(candidate(dialog, PARCEL)).to_have_attribute("data-status", "conflict")
    expect(candidate(dialog, PARCEL)).to_contain_text("conflicts with FAQ “Delivery”")
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_disabled()
    expect(candidate(dialog, TRACK)).to_have_attribute("data-status", "new")
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_enabled()
    shot(page, "02-review")

    # keyboard: the dialog opens on Select all; Space checks every selectable candidate
    select_all = dialog.get_by_role("checkbox", name="Select all")
    expect(select_all).to_be_focused()
    page.keyboard.press("Space")
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_checked()
    expect(dialog.get_by_role("checkbox", name=PARCEL)).not_to_be_checked()
    dialog.get_by_role("button", name="Validate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("1 sentence imported.")
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("1")
    expect(row.get_by_role("button", name=re.compile("^Undo import"))).to_be_visible()
    assert shop.run(held_run)["imported"] == 1
    shot(page, "03-imported")

    # the run still has a candidate it did not import: Review again shows nothing to import
    row.get_by_role("button", name=f"Review #{held_run}").click()
    expect(dialog).to_be_visible()
    expect(candidate(dialog, TRACK)).to_have_attribute("data-status", "present")
    expect(candidate(dialog, TRACK)).to_contain_text("already present")
    expect(dialog.locator("#review-summary")).to_contain_text("1 imported from this run")
    expect(dialog.locator("#review-nothing")).to_be_visible()
    expect(dialog.get_by_role("button", name="Validate")).to_be_disabled()
    shot(page, "04-nothing-left")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # the FAQ has the sentence, as a generated one
    row.get_by_role("link", name="Orders").click()
    generated = page.locator('#sentences li[data-origin="generated"]')
    expect(generated).to_have_count(1)
    expect(generated).to_contain_text(TRACK)
    expect(page.locator('#sentences li[data-origin="human"]').filter(
        has_text="Where is my order?")).to_have_count(1)
    shot(page, "05-faq")


def test_an_import_refused_while_reviewing_imports_nothing_then_the_rest(
        page, shop, held_run, shot):
    login(page, "bob", next_path=shop.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run}"]')
    dialog = open_review(page, held_run, "en")
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_enabled()
    dialog.get_by_role("checkbox", name="Select all").check()
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_checked()
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_checked()

    # while the dialog is open, one of the selected sentences goes to another FAQ
    shop.add_sentence(shop.delivery, "Where is my parcel?")
    dialog.get_by_role("button", name="Validate").click()
    error = dialog.get_by_role("alert")
    expect(error).to_contain_text("Nothing was imported: 1 of the selected sentences")
    expect(candidate(dialog, PARCEL)).to_have_attribute("data-status", "conflict")
    expect(candidate(dialog, PARCEL)).to_contain_text("conflicts with FAQ “Delivery”")
    expect(dialog.get_by_role("checkbox", name=PARCEL)).not_to_be_checked()
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_disabled()
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_checked()
    assert shop.run(held_run)["imported"] == 0
    shot(page, "01-refused")

    dialog.get_by_role("button", name="Validate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("1 sentence imported.")
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("1")
    assert [(c["text"], c["status"]) for c in shop.run(held_run)["candidates"]] == \
        [(PARCEL, "conflict"), (TRACK, "present")]
    shot(page, "02-imported")


def test_a_viewer_sees_the_run_but_cannot_review_it(page, shop, held_run, shot):
    login(page, "vic", next_path=shop.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run}"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(2)).to_have_text("Orders")
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("0")
    expect(page.get_by_role("button", name=re.compile("^Review"))).to_have_count(0)
    expect(page.locator("#review-dialog")).to_have_count(0)
    shot(page, "viewer")


def test_an_admin_reviews_in_french(page, shop, held_run, shot):
    login(page, "ada", next_path=shop.history)
    page.locator("nav.lang").get_by_role("link", name="FR", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run}"]')
    review = row.get_by_role("button", name=f"{FR['history.review']} #{held_run}")
    expect(review).to_have_text(FR["history.review"])
    review.click()
    title = FR["review.title"].format(id=held_run)
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_enabled()
    expect(dialog.get_by_role("checkbox", name=FR["gen.select_all"])).to_be_visible()
    expect(dialog.get_by_role("button", name=FR["gen.validate"])).to_be_enabled()
    expect(dialog).not_to_contain_text(EN["gen.select_all"])
    shot(page, "review-fr")
    dialog.get_by_role("button", name=FR["common.cancel"]).click()
    expect(dialog).to_be_hidden()
    expect(review).to_be_focused()  # back where the dialog was opened from
    assert shop.run(held_run)["imported"] == 0
