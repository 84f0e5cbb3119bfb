"""What a reviewer needs, and the history page, in French.

The review (from the history) and the generate dialog share one candidate list: per
candidate its similarity to the examples, a mark on transformed sentences with their
variation in plain words, the conflict notes; sorting by score or by order of generation;
"Sélectionner les plus probables". The history fits a 1366×768 screen and a 390 px phone (one card
per run), says how each run ended (time limit, Cancel, page closed), links a trace only
where it arrived, filters by FAQ, status and person, and asks before Undo in words that
cannot be mistaken.

Runs come from the faulty server's OpenAI-compatible `ok` behaviour (a real HTTP vendor that
always answers `where is my parcel` and `track my order`). The FAQ "Orders" has the examples
"Where is my order?" and "Track my order please": the second candidate is then much closer
to the examples than the first, so sorting by score changes the order and only one of them
is safe. The tests read the scores from the API rather than assume them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.servers.run import free_port
from tests.studio.test_generation_stream import events_of
from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import PARCEL, TRACK, Shop, enable_generation, login, open_review, switch

FR = MESSAGES["fr"]
SAFE_SIMILARITY = 0.6  # app.js SAFE_SIMILARITY: the bulk job's auto-import default


def is_safe(c: dict) -> bool:
    similarity = c["scores"].get("similarity")
    return (c["status"] == "new" and c["conflict_risk"] is None and similarity is not None
            and similarity >= SAFE_SIMILARITY)


def french_score(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def texts_in_order(items) -> list[str]:
    return [items.nth(i).locator("label").inner_text().strip() for i in range(items.count())]


def check_candidate_list(page, items, candidates: list[dict], prefix: str, shot) -> None:
    """The list shows what each candidate is, sorts both ways, and selects the safe ones."""
    assert [c["origin"] for c in candidates].count("transformed") >= 1, candidates
    safe = [c["text"] for c in candidates if is_safe(c)]
    unsafe = [c["text"] for c in candidates if c["status"] == "new" and not is_safe(c)]
    assert safe and unsafe, candidates  # else "select all safe" would prove nothing
    by_score = [c["text"] for c in sorted(candidates, key=lambda c: -c["scores"]["similarity"])]
    in_order = [c["text"] for c in candidates]
    assert by_score != in_order, candidates  # else sorting would prove nothing

    expect(items).to_have_count(len(candidates))
    for c in candidates:
        item = items.filter(has=page.get_by_role("checkbox", name=c["text"], exact=True))
        expect(item).to_contain_text(
            FR["cand.similarity"].format(score=french_score(c["scores"]["similarity"])))
        if c["origin"] == "transformed":
            expect(item).to_contain_text(FR["cand.transformed_from"].format(text=c["source_text"]))
            assert c["variations"] == ["spelling_mistakes"]
            expect(item.locator(".tag.variation")).to_have_text(FR["gen.spelling_mistakes"])
        else:
            expect(item.locator(".tag.transformed")).to_have_count(0)
            expect(item.locator(".tag.variation")).to_have_count(0)
    assert texts_in_order(items) == in_order

    sort = page.get_by_label(FR["cand.sort"])
    sort.select_option(label=FR["cand.sort_score"])
    expect(items.first.locator("label")).to_have_text(by_score[0])
    assert texts_in_order(items) == by_score
    shot(page, f"{prefix}-by-score")

    page.get_by_role("button", name=FR["cand.select_safe"]).click()
    for text in safe:
        expect(page.get_by_role("checkbox", name=text, exact=True)).to_be_checked()
    for text in unsafe:
        expect(page.get_by_role("checkbox", name=text, exact=True)).not_to_be_checked()
    expect(page.locator(f"#{prefix}-safe-count")).to_have_text(
        FR["cand.safe_selected"].format(count=len(safe)))
    shot(page, f"{prefix}-safe-selected")

    sort.select_option(label=FR["cand.sort_order"])
    expect(items.first.locator("label")).to_have_text(in_order[0])
    assert texts_in_order(items) == in_order
    for text in safe:  # sorting keeps the selection
        expect(page.get_by_role("checkbox", name=text, exact=True)).to_be_checked()


def test_the_review_shows_scores_and_transforms_and_imports_the_safe_ones(page, shop, shot):
    run_id = shop.generate("bob", shop.orders,
                           options={"spelling_mistakes": True})["run_id"]
    candidates = shop.run(run_id)["candidates"]
    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    dialog = open_review(page, run_id)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(FR["cand.safe_help"])

    check_candidate_list(page, dialog.locator("#review-candidates li"), candidates,
                         "review", shot)

    dialog.get_by_role("button", name=FR["gen.validate"]).click()
    expect(dialog).to_be_hidden()
    safe = [c["text"] for c in candidates if is_safe(c)]
    assert shop.run(run_id)["imported"] == len(safe)
    imported = shop.api("vic").get(f"/api/bots/{shop.bot}/faqs/{shop.orders}/sentences",
                                   params={"origin": "generated"}).json()["items"]
    assert sorted(s["text"] for s in imported) == sorted(safe)


def test_the_generate_dialog_shows_the_same_list(page, shop, shot):
    login(page, "ada", next_path=f"/bots/{shop.bot}/faqs/{shop.orders}")
    switch(page, "fr")
    page.locator("#open-generate").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    dialog.get_by_label(FR["gen.spelling_mistakes"]).check()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=60_000)
    run_id = shop.runs(faq_id=shop.orders)[0]
    candidates = shop.run(run_id)["candidates"]
    check_candidate_list(page, dialog.locator("#gen-candidates li"), candidates, "gen", shot)


class _ModelsOnly(BaseHTTPRequestHandler):
    """Passes the provider check (GET …/models), then is shut down: the runs that follow
    fail, unreachable."""

    def do_GET(self):  # noqa: N802 - the handler's API
        body = json.dumps({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "owned_by": "test"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def failed_run(shop: Shop) -> int:
    """A run of bob's on Orders that failed: the provider went away after its check."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelsOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        enable_generation(shop.api("ada"), shop.bot, provider="openai-compatible",
                          model="gpt-4o-mini",
                          base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    finally:
        server.shutdown()
        server.server_close()
    response = shop.api("bob").post(f"/api/bots/{shop.bot}/faqs/{shop.orders}/generate")
    assert response.status_code == 502, response.text
    enable_generation(shop.api("ada"), shop.bot, provider="openai-compatible",
                      model="gpt-4o-mini", base_url=shop.vendor_url)
    return response.json()["run_id"]


_vendor_tags = itertools.count(1)


def stopped_runs(shop: Shop, faulty_url: str) -> dict:
    """Three partial runs of bob's on Orders: one stopped at the bot's time limit, one
    cancelled, one whose page closed (its stream's connection). The vendor answers the
    settings' check, then its first K generation calls, then never again."""
    ada, bob = shop.api("ada"), shop.api("bob")
    tag = next(_vendor_tags)
    # the check, one answer of two sentences; a second attempt (five wanted) never ends
    enable_generation(ada, shop.bot, provider="openai-compatible", model="gpt-4o-mini",
                      base_url=f"{faulty_url}/answer2-then-hang-hist{tag}/v1", timeout_s=5)
    timed_out = shop.generate("bob", shop.orders, n=5)
    assert timed_out["stopped"] == "timeout", timed_out
    # the check, then nothing: a generation waits until it is cancelled or its page closes
    enable_generation(ada, shop.bot, provider="openai-compatible", model="gpt-4o-mini",
                      base_url=f"{faulty_url}/answer1-then-hang-hist{tag}/v1", timeout_s=60)
    path = f"/api/bots/{shop.bot}/faqs/{shop.orders}/generate/stream"
    with bob.stream("POST", path, json={}) as response:
        events = events_of(response)
        kind, started = next(events)
        assert bob.post(started["cancel_url"]).status_code == 202
        kind, cancelled = list(events)[-1]
    assert (kind, cancelled["stopped"]) == ("result", "cancelled"), cancelled
    with bob.stream("POST", path, json={}) as response:
        assert next(events_of(response))[0] == "started"
    # the page closed: its run is stored once the generation has stopped
    closed = None
    deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
    while closed is None:
        assert time.monotonic() < deadline, "the closed stream's run was never stored"
        newest = shop.api("vic").get(f"/api/bots/{shop.bot}/generation-runs",
                                     params={"limit": 1}).json()["items"][0]
        closed = newest["id"] if newest["id"] > cancelled["run_id"] else None
        time.sleep(0.1)
    enable_generation(ada, shop.bot, provider="openai-compatible", model="gpt-4o-mini",
                      base_url=shop.vendor_url, timeout_s=None)
    return {"timed_out": timed_out["run_id"], "cancelled": cancelled["run_id"],
            "closed": closed}


def trace_export(shop: Shop, run_id: int) -> str | None:
    """The run's trace export once known (its spans leave after the run is stored)."""
    deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
    while True:
        state = next(r for r in shop.api("vic").get(
            f"/api/bots/{shop.bot}/generation-runs", params={"limit": 200}).json()["items"]
            if r["id"] == run_id)["trace_export"]
        if state != "pending":
            return state
        assert time.monotonic() < deadline, f"run {run_id}'s trace export never known"
        time.sleep(0.1)


def observe(shop: Shop, **settings) -> None:
    saved = shop.api("ada").put(f"/api/bots/{shop.bot}/settings/observability",
                                json=settings)
    assert saved.status_code == 200, saved.text


@pytest.fixture
def busy_shop(shop, faulty_server, langfuse_recorder) -> dict:
    """Runs of two people on two FAQs: one failed, one imported from, one traced to a
    Langfuse that took it, one traced to a host nobody listens on, and the three ways a
    run stops early (time limit, Cancel, page closed)."""
    bob_orders = shop.generate("bob", shop.orders)["run_id"]
    imported = shop.api("bob").post(f"/api/bots/{shop.bot}/faqs/{shop.orders}/import",
                                    json={"run_id": bob_orders, "texts": [TRACK]})
    assert imported.status_code == 200, imported.text
    failed = failed_run(shop)
    stopped = stopped_runs(shop, faulty_server.url)
    observe(shop, enabled=True, langfuse_public_key=langfuse_recorder.public_key,
            langfuse_secret_key=langfuse_recorder.secret_key,
            langfuse_host=langfuse_recorder.url)
    traced = shop.generate("ada", shop.delivery)["run_id"]
    assert trace_export(shop, traced) == "sent"
    observe(shop, enabled=True, langfuse_public_key="pk-lf-test",
            langfuse_secret_key="sk-lf-test", langfuse_host=f"http://127.0.0.1:{free_port()}")
    unsent = shop.generate("ada", shop.delivery)["run_id"]
    assert shop.run(unsent)["trace_url"]  # a link it would have had
    assert trace_export(shop, unsent) == "failed"
    return {"bob_orders": bob_orders, "failed": failed, **stopped, "traced": traced,
            "unsent": unsent}


def expect_runs(page, run_ids: list[int]) -> None:
    """Wait until the table shows exactly these runs, in this order: a filter reloads the
    table, and a table of the same size may still be the previous filter's."""
    rows = page.locator("#runs tbody tr[data-run-id]")
    expect(rows).to_have_count(len(run_ids))
    for i, run_id in enumerate(run_ids):
        expect(rows.nth(i)).to_have_attribute("data-run-id", str(run_id))


def expect_actions_on_screen(page, width: int, height: int) -> int:
    """Every row's buttons and links can be reached without scrolling sideways: inside the
    viewport once scrolled to (down only), and neither clipped nor covered (the element at
    their middle is them). Returns how many were checked."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        f"[...document.querySelectorAll('body *')].filter((n) => n.getBoundingClientRect()"
        f".right > {width}).map((n) => n.tagName + '#' + n.id + '.' + n.className)")
    actions = page.locator("#runs tbody tr[data-run-id] button, #runs tbody tr[data-run-id] a")
    for i in range(actions.count()):
        action = actions.nth(i)
        action.evaluate("node => node.scrollIntoView({block: 'center'})")
        assert page.evaluate("window.scrollX") == 0
        box = action.bounding_box()
        name = action.inner_text()
        assert 0 <= box["x"] and box["x"] + box["width"] <= width, (name, box)
        assert 0 <= box["y"] and box["y"] + box["height"] <= height, (name, box)
        # a link on two lines: the middle of its first line
        assert action.evaluate("""(node) => { const r = node.getClientRects()[0];
            const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return node.contains(hit); }"""), name
    return actions.count()


def test_the_history_fits_1366_and_390_and_says_how_each_run_ended(page, shop, busy_shop,
                                                                    shot):
    runs = busy_shop
    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    rows = page.locator("#runs tbody tr[data-run-id]")
    expect(rows).to_have_count(7)
    row = {name: page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
           for name, run_id in runs.items()}

    # how each run ended, in French: the three ways a run stops early apart
    for name, key in (("timed_out", "run.stopped.timeout"),
                      ("cancelled", "run.stopped.cancelled"),
                      ("closed", "run.stopped.closed"), ("failed", "run.status.failed"),
                      ("bob_orders", "run.status.succeeded")):
        expect(row[name].locator(".status-text")).to_have_text(FR[key])
    expect(row["failed"].locator(".run-error")).not_to_be_empty()
    # the tokens of a run stopped at its limit are its calls' (they were 0 + 0)
    timed_out = shop.run(runs["timed_out"])
    assert timed_out["input_tokens"] > 0
    expect(row["timed_out"].locator("td.tokens")).to_have_text(
        f"{timed_out['input_tokens']} + {timed_out['output_tokens']}")
    # a link to the trace only where it arrived; where it did not, the row says so
    host = shop.run(runs["traced"])["trace_url"].split("/")[2]
    expect(row["traced"].get_by_role("link", name=FR["history.open_trace_on"].format(
        host=host))).to_be_visible()
    expect(row["unsent"].locator("td.trace a")).to_have_count(0)
    expect(row["unsent"].locator(".trace-state")).to_have_text(FR["history.trace_failed"])
    expect(page.locator("#trace-note")).to_have_text(FR["history.trace_unsent"])

    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        expect(rows).to_have_count(7)
        # the imported run's two actions, the ones once cut off, among all the others
        for name in (f"{FR['history.review']} #{runs['bob_orders']}",
                     f"{FR['history.undo']} #{runs['bob_orders']}"):
            expect(row["bob_orders"].get_by_role("button", name=name)).to_be_visible()
        assert expect_actions_on_screen(page, width, height) >= 9
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, f"{width}")
    # at 1366 a table whose statuses keep to one line; at 390 one card per run
    assert page.evaluate("getComputedStyle(document.querySelector('#runs tr')).display") \
        == "block"
    page.set_viewport_size({"width": 1366, "height": 768})
    assert page.evaluate("getComputedStyle(document.querySelector('#runs tr')).display") \
        == "table-row"
    statuses = page.locator("#runs td.status .status-text")
    for i in range(statuses.count()):
        lines = statuses.nth(i).evaluate("node => node.getClientRects().length")
        assert lines == 1, statuses.nth(i).inner_text()


def test_the_history_filters_in_french(page, shop, shot):
    bob_orders = shop.generate("bob", shop.orders)["run_id"]
    failed = failed_run(shop)
    ada_delivery = shop.generate("ada", shop.delivery)["run_id"]
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    expect_runs(page, [ada_delivery, failed, bob_orders])
    faq_filter = page.get_by_label(FR["history.faq"], exact=True)
    status_filter = page.get_by_label(FR["history.status"], exact=True)
    person = page.get_by_label(FR["history.who_filter"], exact=True)
    faq_filter.select_option(label="Delivery")
    assert shop.runs(faq_id=shop.delivery) == [ada_delivery]
    expect_runs(page, [ada_delivery])
    faq_filter.select_option(label=FR["history.all_faqs"])
    status_filter.select_option(label=FR["run.status.failed"])
    assert shop.runs(status="failed") == [failed]
    expect_runs(page, [failed])
    shot(page, "01-failed-only")
    status_filter.select_option(label=FR["history.all_statuses"])
    person.select_option(label="bob")
    assert shop.runs(user="bob") == [failed, bob_orders]
    expect_runs(page, [failed, bob_orders])
    # combined: nobody's run matches, and the page says so
    status_filter.select_option(label=FR["run.status.partial"])
    expect(page.locator("#runs tbody")).to_have_text(FR["history.none_match"])
    shot(page, "02-none-match")


def test_undo_asks_first_in_french(page, shop, shot):
    run_id = shop.generate("bob", shop.orders)["run_id"]
    imported = shop.api("bob").post(f"/api/bots/{shop.bot}/faqs/{shop.orders}/import",
                                    json={"run_id": run_id, "texts": [PARCEL, TRACK]})
    assert imported.json()["imported"] == 2, imported.text
    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    row = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    undo = row.get_by_role("button", name=f"{FR['history.undo']} #{run_id}")

    undo.click()
    dialog = page.get_by_role("dialog", name=FR["history.undo_title"].format(id=run_id))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(FR["history.undo_confirm"].format(count=2, title="Orders"))
    # two answers that cannot be mistaken: no "Annuler" under a title saying "annuler"
    keep = dialog.get_by_role("button", name=FR["history.undo_keep"])
    assert [b.inner_text() for b in dialog.get_by_role("button").all()] == [
        FR["history.undo_keep"], FR["history.undo_do"]]
    assert "Annuler" not in dialog.inner_text()
    expect(keep).to_be_focused()
    shot(page, "01-confirm")
    keep.click()
    expect(dialog).to_be_hidden()
    expect(undo).to_be_focused()
    assert shop.run(run_id)["imported"] == 2  # nothing removed

    undo.click()
    page.keyboard.press("Escape")  # Escape is a no as well
    expect(dialog).to_be_hidden()
    assert shop.run(run_id)["imported"] == 2

    undo.click()
    dialog.get_by_role("button", name=FR["history.undo_do"]).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toast")).to_have_text(FR["history.undone"].format(count=2))
    assert shop.run(run_id)["imported"] == 0
    expect(row.get_by_role("button", name=f"{FR['history.undo']} #{run_id}")).to_have_count(0)
    shot(page, "02-undone")


def test_a_run_that_kept_nothing_is_reviewed_for_its_rejected_ones(page, shop, shot):
    """The vendor's two sentences ask about parcels; asked for opening hours, the filters
    reject both. The history still offers Review, which lists them with their reason in
    French, and one can be kept anyway."""
    ada = shop.api("ada")
    faq = ada.post(f"/api/bots/{shop.bot}/faqs", json={"title": "Opening hours"}).json()["id"]
    for sentence in ("What time do you open?", "Are you open on Sunday?"):
        assert ada.post(f"/api/bots/{shop.bot}/faqs/{faq}/sentences",
                        json={"text": sentence}).status_code == 201
    run = shop.generate("bob", faq)
    assert run["candidates"] == [] and run["rejected"], run  # else this proves nothing
    reasons: dict[str, str] = {}  # the page lists a text once, with its first reason
    for r in run["rejected"]:
        if r["text"].strip():
            reasons.setdefault(r["text"].strip().lower(), r["reason"])

    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    dialog = open_review(page, run["run_id"])
    expect(dialog).to_be_visible()
    box = dialog.locator("#review-rejected-box")
    expect(box.locator("summary")).to_have_text(
        FR["gen.rejected_title"].format(count=len(reasons)))
    expect(dialog.locator("#review-nothing")).to_be_hidden()
    # the summary counts each rejected text once, as the list shows them
    expect(dialog.locator("#review-summary")).to_contain_text(
        ui_text("fr", "gen.rejected", count=len(reasons)))
    box.locator("summary").click()
    items = box.locator("li")
    expect(items).to_have_count(len(reasons))
    for i in range(len(reasons)):
        text = items.nth(i).locator("input").input_value().strip().lower()
        expect(items.nth(i).locator(".note")).to_have_text(
            f" ({FR['reason.' + reasons[text]]})")
    shot(page, "01-rejected-only")

    kept = items.first.locator("input").input_value()
    items.first.locator("input").check()
    dialog.get_by_role("button", name=FR["gen.validate"]).click()
    expect(dialog).to_be_hidden()
    sentences = shop.api("vic").get(f"/api/bots/{shop.bot}/faqs/{faq}/sentences").json()
    assert kept in [s["text"] for s in sentences["items"]]
