"""The codelab, end to end, in the browser only: configure generation with the local model,
write an FAQ, generate variants, import them, save the answer, then undo the import from the
history. Nothing but clicks and typing after the fixtures (which create the admin and bot)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from utterly.studio.web.i18n import text as ui_text

from .conftest import generate, login

QUESTION = "bonjour le bot"
# The default embedded model. SmolLM2-135M (the other tests' model) keeps none of the
# variants of a bare greeting most of the time: it copies the prompt's example, which the
# filters rightly reject, so the codelab would fail for the model's sake, not the Studio's.
CODELAB_MODEL = "qwen2.5-coder-1.5b"
ANSWER = "Bonjour ! Je suis le bot d'Acme, posez-moi vos questions."


def test_codelab_generate_import_save_and_undo_in_the_browser(page, recording, bot,
                                                              studio_server, shot):
    # log in and open the bot from the bot list
    login(page, "ada")
    expect(page.get_by_role("heading", name="Choose a bot")).to_be_visible()
    shot(page, "01-bots")
    page.locator(f'main a[href="/bots/{bot}/faqs"]').click()
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/faqs$"))

    # Gen AI › Sentence generation settings: local SmolLM2, 3 sentences
    page.get_by_role("link", name="Sentence generation settings").click()
    expect(page.get_by_role("heading", name=re.compile("Gen AI"))).to_be_visible()
    expect(page.locator("#variables")).not_to_be_empty()  # the form is filled
    page.get_by_role("switch", name="Enabled").check()
    page.get_by_label("Provider", exact=True).select_option("local")
    page.get_by_label("Model").fill(CODELAB_MODEL)
    page.get_by_label("Number of sentences").fill("3")
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#check-result")
    expect(result).to_have_class(re.compile(r"\bok\b"), timeout=120_000)
    expect(result).to_contain_text("Connection OK")
    expect(result).to_contain_text(CODELAB_MODEL)
    shot(page, "02-settings-checked")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_have_text("Saved.", timeout=120_000)
    shot(page, "03-settings-saved")

    # a new FAQ opens in the editor at once
    page.get_by_role("link", name="FAQs").click()
    page.get_by_label("Title of the new FAQ").fill("Salutations")
    page.get_by_role("button", name="New FAQ").click()
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/faqs/\d+$"))
    faq_url = page.url
    expect(page.get_by_label("Title", exact=True)).to_have_value("Salutations")

    # the question, added with +
    page.get_by_placeholder("Add a sentence").fill(QUESTION)
    page.get_by_role("button", name="Add", exact=True).click()
    sentences = page.locator("#sentences li")
    expect(sentences).to_have_count(1)
    expect(sentences.first).to_contain_text(QUESTION)
    expect(sentences.first.locator(".badge")).to_have_text("human")

    # Generate sentences: the warning names the provider and model; three options on
    page.get_by_role("button", name="Generate sentences").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#gen-warning")).to_contain_text(
        f"Local (embedded model), model {CODELAB_MODEL}")
    expect(dialog.get_by_role("checkbox", name=QUESTION)).to_be_checked()
    for option in ("Spelling mistakes", "SMS language", "Abbreviated language"):
        dialog.get_by_role("checkbox", name=option).check()
    expect(dialog.get_by_label("Number of sentences")).to_have_value("3")
    shot(page, "04-generate-options")
    # GENERATE streams its progress, then shows the results (Regenerate if none is new)
    selectable = generate(dialog, on_progress=lambda: shot(page, "05-generate-progress"))
    assert selectable >= 1, dialog.locator("#gen-results").inner_text()
    expect(dialog.locator("#gen-summary")).to_contain_text(re.compile(r"sentences? generated"))
    new_candidates = dialog.locator('#gen-candidates li[data-status="new"] input')
    shot(page, "06-generate-results")
    dialog.get_by_role("checkbox", name="Select all").check()
    for i in range(selectable):
        expect(new_candidates.nth(i)).to_be_checked()
    generated_texts = [new_candidates.nth(i).input_value() for i in range(selectable)]
    dialog.get_by_role("button", name="Validate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text(ui_text("en", "gen.imported", count=selectable))
    generated = page.locator('#sentences li[data-origin="generated"]')
    expect(generated).to_have_count(selectable)
    expect(generated.locator(".badge").first).to_have_text("generated")
    for text in generated_texts:
        expect(page.locator("#sentences")).to_contain_text(text)
    shot(page, "07-imported")

    # the answer, in the Answer tab, then SAVE
    page.get_by_role("tab", name="Answer").click()
    page.get_by_role("textbox", name="Answer").fill(ANSWER)
    page.get_by_role("button", name="SAVE").click()
    expect(page.locator("#toast")).to_have_text("Saved.")

    # everything is still there after a reload
    page.reload()
    expect(page.locator("#sentences li")).to_have_count(1 + selectable)
    expect(page.locator('#sentences li[data-origin="human"]')).to_contain_text(QUESTION)
    expect(page.locator('#sentences li[data-origin="generated"]')).to_have_count(selectable)
    page.get_by_role("tab", name="Answer").click()
    expect(page.get_by_role("textbox", name="Answer")).to_have_value(ANSWER)
    shot(page, "08-reloaded")

    # Generation history shows the run; Undo import removes the generated sentences
    page.get_by_role("link", name="Generation history").click()
    # (one run, or more when the model needed a Regenerate: the newest imported)
    runs = page.locator("#runs tbody tr[data-run-id]")
    expect(runs.first).to_be_visible()
    imported_run = runs.filter(has=page.get_by_role("button", name=re.compile("^Undo import")))
    expect(imported_run).to_have_count(1)
    cells = imported_run.locator("td")
    expect(cells.nth(1)).to_have_text("ada")
    expect(cells.nth(2)).to_have_text("Salutations")
    expect(cells.nth(3)).to_have_text(f"local · {CODELAB_MODEL}")
    expect(cells.nth(4)).to_have_text("succeeded")
    expect(cells.nth(6)).to_have_text(str(selectable))
    run_id = imported_run.get_attribute("data-run-id")
    shot(page, "09-history")
    imported_run.get_by_role("button", name=re.compile("^Undo import")).click()
    # Undo asks first
    confirm = page.get_by_role("dialog", name=f"Remove the sentences run #{run_id} imported?")
    expect(confirm).to_contain_text(f"the sentences this run imported ({selectable})")
    confirm.get_by_role("button", name="Remove them").click()
    expect(page.locator("#toast")).to_have_text(ui_text("en", "history.undone", count=selectable))
    undone = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    expect(undone.locator("td").nth(6)).to_have_text("0")
    expect(page.get_by_role("button", name=re.compile("^Undo import"))).to_have_count(0)
    shot(page, "10-undone")

    page.goto(faq_url)
    expect(page.locator("#sentences li")).to_have_count(1)
    expect(page.locator('#sentences li[data-origin="generated"]')).to_have_count(0)
    expect(page.locator("#sentences li").first).to_contain_text(QUESTION)
    shot(page, "11-faq-after-undo")

    # the whole flow stayed on the Studio server: no CDN, no third party
    assert recording.requests
    outside = [url for url in recording.requests if not url.startswith(studio_server.url + "/")]
    assert outside == []
