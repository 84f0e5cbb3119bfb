"""What a reviewer needs, and the history page, in French.

The review (from the history) and the generate dialog share one candidate list: per
candidate its similarity to the examples, a mark on transformed sentences with their
variation in plain words, the conflict notes; sorting by score or by order of generation;
"Sélectionner les sûres". The history fits a 1366×768 screen, filters by FAQ, status and
person, and asks before Undo.

Runs come from the faulty server's OpenAI-compatible `ok` behaviour (a real HTTP vendor that
always answers `where is my parcel` and `track my order`). The FAQ "Orders" has the examples
"Where is my order?" and "Track my order please": the second candidate is then much closer
to the examples than the first, so sorting by score changes the order and only one of them
is safe. The tests read the scores from the API rather than assume them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.servers.run import free_port
from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import enable_generation, english_bot, login, switch

FR = MESSAGES["fr"]
SAFE_SIMILARITY = 0.6  # app.js SAFE_SIMILARITY: the bulk job's auto-import default
PARCEL, TRACK = "where is my parcel", "track my order"


@dataclass
class Shop:
    bot: int
    orders: int
    delivery: int
    users: object
    vendor_url: str

    @property
    def history(self) -> str:
        return f"/bots/{self.bot}/history"

    def api(self, username: str):
        return self.users.api(username)

    def generate(self, username: str, faq_id: int, **body) -> dict:
        response = self.api(username).post(f"/api/bots/{self.bot}/faqs/{faq_id}/generate",
                                           json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def run(self, run_id: int) -> dict:
        response = self.api("vic").get(f"/api/bots/{self.bot}/generation-runs/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def runs(self, **params) -> list[int]:
        response = self.api("vic").get(f"/api/bots/{self.bot}/generation-runs",
                                       params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]


@pytest.fixture
def shop(studio_server, faulty_server) -> Shop:
    vendor_url = f"{faulty_server.url}/ok/v1"
    bot, faqs = english_bot(studio_server, vendor_url,
                            {"Orders": ["Where is my order?", "Track my order please"],
                             "Delivery": ["When will it arrive?"]},
                            temperature=0.5, nb_sentences=2)
    return Shop(bot=bot, orders=faqs["Orders"], delivery=faqs["Delivery"],
                users=studio_server.users, vendor_url=vendor_url)


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
    row = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    row.get_by_role("button", name=f"{FR['history.review']} #{run_id}").click()
    dialog = page.get_by_role("dialog", name=FR["review.title"].format(id=run_id))
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


@pytest.fixture
def busy_shop(shop) -> dict:
    """Runs of two people on two FAQs, one failed, one imported from, one traced to a
    Langfuse host nobody listens on."""
    bob_orders = shop.generate("bob", shop.orders)["run_id"]
    imported = shop.api("bob").post(f"/api/bots/{shop.bot}/faqs/{shop.orders}/import",
                                    json={"run_id": bob_orders, "texts": [TRACK]})
    assert imported.status_code == 200, imported.text
    failed = failed_run(shop)
    traced = shop.api("ada").put(f"/api/bots/{shop.bot}/settings/observability", json={
        "enabled": True, "langfuse_public_key": "pk-lf-test", "langfuse_secret_key": "sk-lf-test",
        "langfuse_host": f"http://127.0.0.1:{free_port()}"})
    assert traced.status_code == 200, traced.text
    ada_delivery = shop.generate("ada", shop.delivery)["run_id"]
    assert shop.run(ada_delivery)["trace_url"]
    return {"bob_orders": bob_orders, "failed": failed, "ada_delivery": ada_delivery}


def expect_runs(page, run_ids: list[int]) -> None:
    """Wait until the table shows exactly these runs, in this order: a filter reloads the
    table, and a table of the same size may still be the previous filter's."""
    rows = page.locator("#runs tbody tr[data-run-id]")
    expect(rows).to_have_count(len(run_ids))
    for i, run_id in enumerate(run_ids):
        expect(rows.nth(i)).to_have_attribute("data-run-id", str(run_id))


def test_the_history_fits_1366_and_filters_in_french(page, shop, busy_shop, shot):
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, "bob", next_path=shop.history)
    switch(page, "fr")
    runs = busy_shop
    expect(page.locator("#runs tbody tr[data-run-id]")).to_have_count(3)

    # nothing sticks out sideways, and the actions of every row are on screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(
        "(() => { const w = document.querySelector('.table-wrap');"
        " return w.scrollWidth <= w.clientWidth; })()")
    row = page.locator(f'#runs tbody tr[data-run-id="{runs["bob_orders"]}"]')
    for name in (f"{FR['history.review']} #{runs['bob_orders']}",
                 f"{FR['history.undo']} #{runs['bob_orders']}"):
        button = row.get_by_role("button", name=name)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= 1366, (name, box)
    # each status on one line, the failure's message under it
    statuses = page.locator("#runs td.status .status-text")
    for i in range(statuses.count()):
        lines = statuses.nth(i).evaluate("node => node.getClientRects().length")
        assert lines == 1, statuses.nth(i).inner_text()
    failed_row = page.locator(f'#runs tbody tr[data-run-id="{runs["failed"]}"]')
    expect(failed_row.locator(".status-text")).to_have_text(FR["run.status.failed"])
    expect(failed_row.locator(".run-error")).not_to_be_empty()
    # the trace link says where it goes, and that its arrival is not known
    traced_row = page.locator(f'#runs tbody tr[data-run-id="{runs["ada_delivery"]}"]')
    host = shop.run(runs["ada_delivery"])["trace_url"].split("/")[2]
    expect(traced_row.get_by_role("link", name=FR["history.open_trace_on"].format(host=host))
           ).to_be_visible()
    expect(page.locator("#trace-note")).to_have_text(FR["history.trace_unsent"])
    shot(page, "01-1366")

    faq_filter = page.get_by_label(FR["history.faq"], exact=True)
    status_filter = page.get_by_label(FR["history.status"], exact=True)
    person = page.get_by_label(FR["history.who_filter"], exact=True)
    faq_filter.select_option(label="Delivery")
    assert shop.runs(faq_id=shop.delivery) == [runs["ada_delivery"]]
    expect_runs(page, [runs["ada_delivery"]])
    faq_filter.select_option(label=FR["history.all_faqs"])
    status_filter.select_option(label=FR["run.status.failed"])
    assert shop.runs(status="failed") == [runs["failed"]]
    expect_runs(page, [runs["failed"]])
    shot(page, "02-failed-only")
    status_filter.select_option(label=FR["history.all_statuses"])
    person.select_option(label="bob")
    assert shop.runs(user="bob") == [runs["failed"], runs["bob_orders"]]
    expect_runs(page, [runs["failed"], runs["bob_orders"]])
    # combined: nobody's run matches, and the page says so
    status_filter.select_option(label=FR["run.status.partial"])
    expect(page.locator("#runs tbody")).to_have_text(FR["history.none_match"])
    shot(page, "03-none-match")


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
    expect(dialog.get_by_role("button", name=FR["common.cancel"])).to_be_focused()
    shot(page, "01-confirm")
    dialog.get_by_role("button", name=FR["common.cancel"]).click()
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
    row = page.locator(f'#runs tbody tr[data-run-id="{run["run_id"]}"]')
    row.get_by_role("button", name=f"{FR['history.review']} #{run['run_id']}").click()
    dialog = page.locator("#review-dialog")
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
