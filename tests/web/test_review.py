"""Reviewing a held run from the generation history: a run whose candidates nobody imported
(what a bulk job without auto-import leaves) is opened with Review, its candidates shown with
their statuses as of now, and a selection imported.

The run comes from the faulty server's OpenAI-compatible `ok` behaviour, a real HTTP vendor
that always answers `where is my parcel` and `track my order`: fast, and exact."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES

from .conftest import enable_generation, login

PARCEL, TRACK = "where is my parcel", "track my order"  # what the fake vendor answers
EN, FR = MESSAGES["en"], MESSAGES["fr"]
IMPORTED_COLUMN = 6

_numbers = itertools.count(1)


@dataclass
class HeldRun:
    bot: int
    orders: int  # FAQ "Orders", where the run's candidates belong
    delivery: int  # FAQ "Delivery"
    run_id: int
    users: object

    @property
    def history(self) -> str:
        return f"/bots/{self.bot}/history"

    def api(self, username: str):
        return self.users.api(username)

    def add_sentence(self, faq_id: int, text: str) -> int:
        added = self.api("bob").post(f"/api/bots/{self.bot}/faqs/{faq_id}/sentences",
                                     json={"text": text})
        assert added.status_code == 201, added.text
        return added.json()["id"]

    def run(self) -> dict:
        response = self.api("vic").get(f"/api/bots/{self.bot}/generation-runs/{self.run_id}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def held_run(studio_server, faulty_server) -> HeldRun:
    """An English bot generating through the fake vendor, two FAQs, and one run for Orders
    that bob generated and nobody imported from."""
    users = studio_server.users
    ada = users.api("ada")
    created = ada.post("/api/bots", json={"namespace_id": users.namespace,
                                          "name": f"Review bot {next(_numbers)}",
                                          "locales": ["en"]})
    assert created.status_code == 201, created.text
    bot = created.json()["id"]
    enable_generation(ada, bot, provider="openai-compatible", model="gpt-4o-mini",
                      base_url=f"{faulty_server.url}/ok/v1", temperature=0.5, nb_sentences=2)
    faqs = []
    for title, sentence in (("Orders", "Where is my order?"),
                            ("Delivery", "When will it arrive?")):
        faq = ada.post(f"/api/bots/{bot}/faqs", json={"title": title})
        assert faq.status_code == 201, faq.text
        faqs.append(faq.json()["id"])
        added = ada.post(f"/api/bots/{bot}/faqs/{faqs[-1]}/sentences", json={"text": sentence})
        assert added.status_code == 201, added.text
    generated = users.api("bob").post(f"/api/bots/{bot}/faqs/{faqs[0]}/generate")
    assert generated.status_code == 200, generated.text
    out = generated.json()
    assert [(c["text"], c["status"]) for c in out["candidates"]] == \
        [(PARCEL, "new"), (TRACK, "new")]
    return HeldRun(bot=bot, orders=faqs[0], delivery=faqs[1], run_id=out["run_id"],
                   users=users)


def candidate(dialog, text: str):
    return dialog.locator("#review-candidates li").filter(has_text=text)


def test_bot_user_reviews_a_held_run_and_imports_the_selection(page, held_run, shot):
    # meanwhile, someone typed one candidate into another FAQ: it conflicts now
    held_run.add_sentence(held_run.delivery, "Where is my parcel?")

    login(page, "bob", next_path=held_run.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run.run_id}"]')
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("0")
    review = row.get_by_role("button", name=f"Review #{held_run.run_id}")
    expect(review).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Undo import"))).to_have_count(0)
    shot(page, "01-history")

    review.click()
    dialog = page.get_by_role("dialog", name=f"Review run #{held_run.run_id}")
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
    assert held_run.run()["imported"] == 1
    shot(page, "03-imported")

    # the run still has a candidate it did not import: Review again shows nothing to import
    row.get_by_role("button", name=f"Review #{held_run.run_id}").click()
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
    expect(page.locator('#sentences li[data-origin="human"]')).to_contain_text(
        "Where is my order?")
    shot(page, "05-faq")


def test_an_import_refused_while_reviewing_imports_nothing_then_the_rest(page, held_run,
                                                                       shot):
    login(page, "bob", next_path=held_run.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run.run_id}"]')
    row.get_by_role("button", name=f"Review #{held_run.run_id}").click()
    dialog = page.get_by_role("dialog", name=f"Review run #{held_run.run_id}")
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_enabled()
    dialog.get_by_role("checkbox", name="Select all").check()
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_checked()
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_checked()

    # while the dialog is open, one of the selected sentences goes to another FAQ
    held_run.add_sentence(held_run.delivery, "Where is my parcel?")
    dialog.get_by_role("button", name="Validate").click()
    error = dialog.get_by_role("alert")
    expect(error).to_contain_text("Nothing was imported: 1 of the selected sentences")
    expect(candidate(dialog, PARCEL)).to_have_attribute("data-status", "conflict")
    expect(candidate(dialog, PARCEL)).to_contain_text("conflicts with FAQ “Delivery”")
    expect(dialog.get_by_role("checkbox", name=PARCEL)).not_to_be_checked()
    expect(dialog.get_by_role("checkbox", name=PARCEL)).to_be_disabled()
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_checked()
    assert held_run.run()["imported"] == 0
    shot(page, "01-refused")

    dialog.get_by_role("button", name="Validate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("1 sentence imported.")
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("1")
    assert [(c["text"], c["status"]) for c in held_run.run()["candidates"]] == \
        [(PARCEL, "conflict"), (TRACK, "present")]
    shot(page, "02-imported")


def test_a_viewer_sees_the_run_but_cannot_review_it(page, held_run, shot):
    login(page, "vic", next_path=held_run.history)
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run.run_id}"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(2)).to_have_text("Orders")
    expect(row.locator("td").nth(IMPORTED_COLUMN)).to_have_text("0")
    expect(page.get_by_role("button", name=re.compile("^Review"))).to_have_count(0)
    expect(page.locator("#review-dialog")).to_have_count(0)
    shot(page, "viewer")


def test_an_admin_reviews_in_french(page, held_run, shot):
    login(page, "ada", next_path=held_run.history)
    page.locator("nav.lang").get_by_role("link", name="FR", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    row = page.locator(f'#runs tbody tr[data-run-id="{held_run.run_id}"]')
    review = row.get_by_role("button", name=f"{FR['history.review']} #{held_run.run_id}")
    expect(review).to_have_text(FR["history.review"])
    review.click()
    title = FR["review.title"].format(id=held_run.run_id)
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog.get_by_role("checkbox", name=TRACK)).to_be_enabled()
    expect(dialog.get_by_role("checkbox", name=FR["gen.select_all"])).to_be_visible()
    expect(dialog.get_by_role("button", name=FR["gen.validate"])).to_be_enabled()
    expect(dialog).not_to_contain_text(EN["gen.select_all"])
    shot(page, "review-fr")
    dialog.get_by_role("button", name=FR["common.cancel"]).click()
    expect(dialog).to_be_hidden()
    expect(review).to_be_focused()  # back where the dialog was opened from
    assert held_run.run()["imported"] == 0
