"""In French: the bot's time limit and its calls at once to the provider in its settings,
the wait announced before generating, a
run that reaches the limit (its message names the setting; the sentences ready by then are
shown and imported), and a run's trace in the history, for a viewer too.

The vendor is the faulty server's OpenAI-compatible shape: `answer<K>-then-hang` answers the
provider check and the first K-1 calls with `where is my parcel` and `track my order`, then
never answers again. The local SmolLM2 model gives the wait estimate real runs."""

from __future__ import annotations

import itertools
import json
import math
import queue
import re
import threading

from playwright.sync_api import expect

from tests.servers.faulty_server import OPENAI_OK_TEXT
from tests.studio.test_generation_stream import events_of
from utterly.studio.web.i18n import MESSAGES

from .conftest import (
    GENERATION_TIMEOUT_MS,
    TEST_MODEL,
    enable_generation,
    english_bot,
    login,
    switch,
)

FR = MESSAGES["fr"]
_vendors = itertools.count(1)
LIMIT = 15


def fr(key: str, **values) -> str:
    text = FR[key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def english_shop(studio_server, faulty_server, behaviour: str,
                 timeout_s: int = 5) -> tuple[int, int]:
    """A fresh English bot generating through `behaviour` with a `timeout_s` limit, and its
    FAQ "Orders"; the vendor's answers suit it."""
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/{behaviour}/v1",
                            {"Orders": ["Where is my order?"]}, timeout_s=timeout_s,
                            nb_sentences=5)
    return bot, faqs["Orders"]


def open_generate(page, bot: int, faq: int, user: str = "ada"):
    login(page, user, next_path=f"/bots/{bot}/faqs/{faq}")
    switch(page, "fr")
    page.locator("#open-generate").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    return dialog


def test_the_limit_is_set_in_the_settings_with_the_providers_default(page, bot, shot):
    login(page, "ada", next_path=f"/bots/{bot}/settings/sentence-generation")
    switch(page, "fr")
    field = page.get_by_label(FR["settings.timeout"])
    expect(field).to_have_value("")
    # empty: the local model's default, said in the help and shown as the placeholder
    expect(page.locator("#timeout-help")).to_have_text(fr("settings.timeout_help", seconds=300))
    expect(field).to_have_attribute("placeholder", "300")
    page.locator("#provider").select_option("ollama")
    expect(page.locator("#timeout-help")).to_have_text(fr("settings.timeout_help", seconds=120))
    page.locator("#provider").select_option("local")
    # placed right after the number of sentences
    order = page.evaluate("""() => [...document.querySelectorAll('#generation-settings input')]
        .map((n) => n.name)""")
    assert order.index("timeout_s") == order.index("nb_sentences") + 1
    shot(page, "01-settings")

    field.fill("3")  # below the minimum: refused, the field marked
    page.locator("#generation-settings button[type=submit]").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("45")
    page.locator("#generation-settings button[type=submit]").click()
    expect(page.locator("#toast")).to_be_visible()
    page.reload()
    expect(page.get_by_label(FR["settings.timeout"])).to_have_value("45")
    saved = page.request.get(f"/api/bots/{bot}/settings/sentence-generation").json()
    assert saved["timeout_s"] == 45


def test_the_calls_at_once_are_set_in_the_settings_with_the_providers_default(page, bot, shot):
    login(page, "ada", next_path=f"/bots/{bot}/settings/sentence-generation")
    switch(page, "fr")
    field = page.get_by_label(FR["settings.max_concurrency"])
    help_text = page.locator("#concurrency-help")
    expect(field).to_have_value("")
    # empty: the provider's default, said in the help and shown as the placeholder; the
    # help says the limit is shared by every worker and Studio process
    expect(field).to_have_attribute("placeholder", "1")
    expect(help_text).to_have_text(fr("settings.max_concurrency_help", count=1))
    assert "workers" in FR["settings.max_concurrency_help"]
    for provider, calls in (("ollama", 2), ("openai-compatible", 4), ("local", 1)):
        page.locator("#provider").select_option(provider)
        expect(field).to_have_attribute("placeholder", str(calls))
        expect(help_text).to_have_text(fr("settings.max_concurrency_help", count=calls))
    # placed right after the time limit
    order = page.evaluate("""() => [...document.querySelectorAll('#generation-settings input')]
        .map((n) => n.name)""")
    assert order.index("max_concurrency") == order.index("timeout_s") + 1

    field.fill("0")  # below the minimum: refused, the field marked
    page.locator("#generation-settings button[type=submit]").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("3")
    page.locator("#generation-settings button[type=submit]").click()
    expect(page.locator("#toast")).to_be_visible()
    page.reload()
    field = page.get_by_label(FR["settings.max_concurrency"])
    expect(field).to_have_value("3")
    expect(field).to_have_attribute("placeholder", "1")
    saved = page.request.get(f"/api/bots/{bot}/settings/sentence-generation").json()
    assert (saved["max_concurrency"], saved["effective_max_concurrency"]) == (3, 3)
    # a value the admin set stays when the provider changes; only the default follows it
    page.locator("#provider").select_option("ollama")
    expect(field).to_have_value("3")
    expect(field).to_have_attribute("placeholder", "2")
    shot(page, "01-settings")


def test_the_dialog_announces_the_wait_from_the_bots_recent_runs(page, generation_enabled,
                                                                 faq, studio_server, shot):
    dialog = open_generate(page, faq.bot, faq.id)
    # no run yet (issue 25: nothing was said but the limit): an estimate, said as one; the
    # test model's speed was never measured, so the stated default of 1 s per sentence
    expect(dialog.locator("#gen-estimate")).to_have_text(
        fr("gen.estimate_default", seconds=3, limit=300, per_sentence=1))
    page.keyboard.press("Escape")

    # one real run of the local model gives the bot a history
    bob = studio_server.users.api("bob")
    ran = bob.post(f"/api/bots/{faq.bot}/faqs/{faq.id}/generate", json={"n": 2, "seed": 1},
                   timeout=GENERATION_TIMEOUT_MS / 1000)
    assert ran.status_code == 200, ran.text
    estimate = page.request.get(
        f"/api/bots/{faq.bot}/settings/sentence-generation").json()["estimate"]
    assert estimate["runs"] == 1

    # a tight limit: fifty sentences would take longer than it
    enable_generation(studio_server.users.api("ada"), faq.bot, provider="local",
                      model=TEST_MODEL, nb_sentences=3, timeout_s=10)
    page.locator("#open-generate").click()
    expect(dialog.locator("#gen-run")).to_be_enabled()
    for n in (1, 3, 50):
        dialog.get_by_label(FR["gen.number"]).fill(str(n))
        # as the page rounds (JavaScript's Math.round: halves up, not to even)
        seconds = max(1, math.floor(estimate["seconds_per_sentence"] * n + 0.5))
        key = "gen.estimate_over" if seconds > 10 else "gen.estimate"
        expect(dialog.locator("#gen-estimate")).to_have_text(fr(key, seconds=seconds, limit=10))
    # beyond the limit, the dialog says what will happen
    expect(dialog.locator("#gen-estimate")).to_contain_text("plus que sa durée maximale")
    shot(page, "01-estimate")


def test_a_run_that_never_answers_names_the_bots_limit(page, studio_server, faulty_server,
                                                        shot):
    # the provider check is answered, the generation never is
    bot, faq = english_shop(studio_server, faulty_server, f"answer1-then-hang-web{next(_vendors)}")
    dialog = open_generate(page, bot, faq)
    dialog.locator("#gen-run").click()
    error = dialog.locator("#gen-options-error")
    expect(error).to_have_text(fr("gen.timeout_error", seconds=5), timeout=30_000)
    assert "--timeout" not in error.inner_text()
    shot(page, "01-timeout")


def test_sentences_ready_at_the_limit_are_shown_imported_and_traced(
        page, studio_server, faulty_server, browser, shot):
    # the check, a first run (it loads the embedder, whose first load may take longer than
    # the limit), then a first answer of two sentences; the second attempt never ends
    # (a limit that leaves a busy machine time to judge the first answer's sentences)
    bot, faq = english_shop(studio_server, faulty_server,
                            f"answer3-then-hang-web{next(_vendors)}", timeout_s=LIMIT)
    studio_server.users.api("bob").post(f"/api/bots/{bot}/faqs/{faq}/generate",
                                        json={"n": 2}, timeout=60)
    dialog = open_generate(page, bot, faq)
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=LIMIT * 1000 + 30_000)
    expect(dialog.locator("#gen-summary")).to_have_text(
        fr("gen.timed_out", seconds=LIMIT, count=2))
    expect(dialog.locator("#gen-candidates li")).to_have_count(2)
    shot(page, "01-partial")
    dialog.locator("#gen-select-all").check()
    dialog.locator("#gen-validate").click()
    expect(page.locator("#toast")).to_have_text(fr("gen.imported", count=2))

    # the history's Details: the trace of both calls, in French
    page.goto(f"/bots/{bot}/history")
    row = page.locator("#runs tbody tr").first
    row.get_by_role("button", name=FR["history.details"]).click()
    trace = page.locator("#trace-dialog")
    expect(trace.locator("#trace-title")).to_have_text(re.compile(r"Trace de la génération n°\d+"))
    body = trace.locator("#trace-body")
    expect(body).to_contain_text(fr("trace.limit", seconds=LIMIT))
    expect(body).to_contain_text(FR["trace.stopped.timeout"])
    expect(body).to_contain_text(FR["trace.export_none"])
    calls = body.locator("details.trace-call")
    expect(calls).to_have_count(2)
    expect(calls.nth(0).locator("summary")).to_have_text(
        re.compile(r"^Appel 1\u00a0: 2 gardées, 0 rejetées, [\d,]+ s, 12 \+ 9 jetons$"))
    calls.nth(0).locator("summary").click()
    prompt, answer = calls.nth(0).locator("pre").all()
    assert "Where is my order?" in prompt.inner_text()
    assert json.loads(answer.inner_text()) == json.loads(OPENAI_OK_TEXT)
    calls.nth(1).locator("summary").click()
    # the call's error by its code, in French: not the provider's English message
    expect(calls.nth(1).locator(".error-text")).to_have_text(
        fr("trace.error", message=FR["problem.timeout"]))
    shot(page, "02-trace")

    # a viewer reads the same trace
    context = browser.new_context(base_url=studio_server.url, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    try:
        viewer = context.new_page()
        login(viewer, "vic", next_path=f"/bots/{bot}/history")
        switch(viewer, "fr")
        viewer.locator("#runs tbody tr").first.get_by_role(
            "button", name=FR["history.details"]).click()
        expect(viewer.locator("#trace-body details.trace-call")).to_have_count(2)
        shot(viewer, "03-viewer")
    finally:
        context.close()


def test_a_generation_waiting_for_the_provider_says_so_with_its_place(
        page, studio_server, faulty_server, shot):
    """Issue 25: two runs at once both said "Génération… essai 1", one of them waiting for
    the model. The bot takes one call at a time to its vendor (`max_concurrency` 1), which
    answers the settings' check and then never again: bob's generation holds that call,
    ada's waits for it, and her dialog says so, with her place in the queue."""
    bot, faqs = english_bot(studio_server,
                            f"{faulty_server.url}/answer1-then-hang-queue{next(_vendors)}/v1",
                            {"Orders": ["Where is my order?"]}, timeout_s=120,
                            max_concurrency=1, nb_sentences=5)
    bob = studio_server.users.api("bob")
    cancel_urls: queue.Queue = queue.Queue()
    bob_events: list = []

    def bobs_generation() -> None:
        path = f"/api/bots/{bot}/faqs/{faqs['Orders']}/generate/stream"
        with bob.stream("POST", path, json={}) as response:
            for kind, data in events_of(response):
                bob_events.append((kind, data))
                if kind == "started":
                    cancel_urls.put(data["cancel_url"])

    holder = threading.Thread(target=bobs_generation, daemon=True)
    holder.start()
    bobs_cancel = cancel_urls.get(timeout=60)
    dialog = open_generate(page, bot, faqs["Orders"])
    dialog.locator("#gen-run").click()
    progress = dialog.locator("#gen-progress-text")
    expect(progress).to_have_text(fr("gen.waiting.slots", place=1), timeout=30_000)
    shot(page, "01-waiting")

    # bob's generation ends: ada's call goes out, and her dialog says it is generating
    assert bob.post(bobs_cancel).status_code == 202
    holder.join(60)
    assert bob_events[-1][0] == "result"
    expect(progress).to_have_text(re.compile(r"^Génération… essai 1"), timeout=30_000)
    dialog.get_by_role("button", name=FR["gen.cancel"]).click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=30_000)
    shot(page, "02-cancelled")


def test_the_trace_words_how_the_answer_was_read_in_french(page, studio_server, faulty_server):
    """Issue 25: the parser's notes ("found no JSON, list or sentence lines…") reached the
    French trace in English. Every answer is prose: the run fails, its trace says why in
    French."""
    bot, faq = english_shop(studio_server, faulty_server,
                            f"prose99-then-hang-web{next(_vendors)}")
    failed = studio_server.users.api("bob").post(f"/api/bots/{bot}/faqs/{faq}/generate",
                                                 json={"n": 2}, timeout=60)
    assert failed.status_code >= 400, failed.text
    login(page, "ada", next_path=f"/bots/{bot}/history")
    switch(page, "fr")
    page.locator("#runs tbody tr").first.get_by_role("button", name=FR["history.details"]).click()
    first = page.locator("#trace-body details.trace-call").first
    first.locator("summary").click()
    expect(first.locator("li").first).to_have_text(
        fr("parse.nothing_found", summary="I'm sorry, I cannot help with that."))
