"""Deleting a training sentence loses nothing on a misclick: × takes it off the list and
offers Undo for a few seconds, in English and French; Undo gives back the very sentence
(its id, its origin); the deletion reaches the server when the notice ends, or when the
page is left.

The FAQ has a human sentence and a generated one, imported from a run of the faulty
server's OpenAI-compatible `ok` vendor."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import english_bot, import_one_generated, login, switch

HUMAN = "Where is my order?"


@pytest.fixture
def orders(studio_server, faulty_server) -> dict:
    """{bot, faq, generated: the imported text, api: bob's client}."""
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/ok/v1",
                            {"Orders": [HUMAN]}, nb_sentences=2)
    faq = faqs["Orders"]
    generated = import_one_generated(studio_server, bot, faq)
    return {"bot": bot, "faq": faq, "generated": generated,
            "api": studio_server.users.api("bob")}


def stored(orders) -> dict[str, dict]:
    """The FAQ's sentences on the server: {text: sentence}."""
    listed = orders["api"].get(f"/api/bots/{orders['bot']}/faqs/{orders['faq']}/sentences")
    assert listed.status_code == 200, listed.text
    return {s["text"]: s for s in listed.json()["items"]}


def wait_until(condition, seconds: float = 30) -> bool:
    """Poll `condition` (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_deleted_sentence_comes_back_with_undo(page, orders, lang, shot):
    table = MESSAGES[lang]
    generated = orders["generated"]
    before = stored(orders)
    login(page, "bob", next_path=f"/bots/{orders['bot']}/faqs/{orders['faq']}")
    if lang == "fr":
        switch(page, "fr")
    items = page.locator("#sentences li")
    expect(items).to_have_count(2)

    page.get_by_role("button", name=ui_text(lang, "faq.delete_sentence", text=generated)).click()
    expect(items).to_have_count(1)
    notice = page.locator("#sentence-undo")
    expect(notice).to_contain_text(ui_text(lang, "faq.deleted", text=generated))
    undo = notice.get_by_role("button", name=table["faq.undo_delete"])
    expect(undo).to_be_focused()  # the × it came from is gone
    shot(page, "01-deleted")
    assert generated in stored(orders)  # nothing is lost yet

    undo.click()
    expect(items).to_have_count(2)
    back = items.filter(has_text=generated)
    expect(back).to_have_attribute("data-origin", "generated")
    expect(back.locator(".badge")).to_have_text(table["faq.generated"])
    expect(notice).to_be_empty()
    expect(back.get_by_role("button")).to_be_focused()
    assert stored(orders) == before  # the very sentence: same id, origin and run
    shot(page, "02-undone")

    # by keyboard, on the human one: Enter on ×, Enter on Undo
    page.get_by_role("button", name=ui_text(lang, "faq.delete_sentence", text=HUMAN)).focus()
    page.keyboard.press("Enter")
    expect(items).to_have_count(1)
    page.keyboard.press("Enter")
    expect(items).to_have_count(2)
    assert stored(orders) == before


def test_the_deletion_is_sent_when_the_notice_ends(page, orders):
    generated = orders["generated"]
    login(page, "bob", next_path=f"/bots/{orders['bot']}/faqs/{orders['faq']}")
    switch(page, "fr")
    page.get_by_role("button", name=ui_text("fr", "faq.delete_sentence", text=generated)).click()
    notice = page.locator("#sentence-undo")
    expect(notice).not_to_be_empty()
    expect(notice).to_be_empty(timeout=30_000)  # the undo time is over
    assert wait_until(lambda: generated not in stored(orders))
    page.reload()
    expect(page.locator("#sentences li")).to_have_count(1)
    expect(page.locator("#sentences")).not_to_contain_text(generated)


def test_the_deletion_is_sent_when_the_page_is_left(page, orders):
    generated = orders["generated"]
    login(page, "bob", next_path=f"/bots/{orders['bot']}/faqs/{orders['faq']}")
    page.get_by_role("button", name=ui_text("en", "faq.delete_sentence", text=generated)).click()
    expect(page.locator("#sentence-undo")).not_to_be_empty()
    page.goto(f"/bots/{orders['bot']}/faqs")  # at once, within the undo time
    assert wait_until(lambda: generated not in stored(orders))
    assert HUMAN in stored(orders)


def test_deleting_another_sentence_sends_the_first(page, orders):
    generated = orders["generated"]
    login(page, "bob", next_path=f"/bots/{orders['bot']}/faqs/{orders['faq']}")
    page.get_by_role("button", name=ui_text("en", "faq.delete_sentence", text=generated)).click()
    page.get_by_role("button", name=ui_text("en", "faq.delete_sentence", text=HUMAN)).click()
    notice = page.locator("#sentence-undo")
    expect(notice).to_contain_text(ui_text("en", "faq.deleted", text=HUMAN))
    assert wait_until(lambda: generated not in stored(orders))
    notice.get_by_role("button", name=MESSAGES["en"]["faq.undo_delete"]).click()
    expect(page.locator("#sentences li")).to_have_count(1)
    expect(page.locator("#sentences")).to_contain_text(HUMAN)
    assert list(stored(orders)) == [HUMAN]
