"""What the generate dialog tells a French bot builder before and after a run: an option
asked for that could not be applied is said, with how many sentences show it, in the
results and again in the history's review; and the data notice names where the prompt and
the sentences go for tracing when content capture is on.

Runs come from the faulty server's OpenAI-compatible `ok` vendor, which always answers
`where is my parcel` and `track my order`: English abbreviations shorten none of their
words.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.servers.run import free_port
from utterly.studio.web.i18n import MESSAGES
from utterly.studio.web.i18n import text as ui_text

from .conftest import english_bot, open_generate, open_review

FR = MESSAGES["fr"]


def test_an_option_that_could_not_be_applied_is_said_in_results_and_review(page, shop, shot):
    dialog = open_generate(page, shop.bot, shop.orders)
    dialog.get_by_label(FR["gen.abbreviated_language"]).check()
    dialog.locator("#gen-run").click()
    expect(dialog.locator("#gen-results")).to_be_visible(timeout=60_000)

    expect(dialog.locator("#gen-candidates li")).to_have_count(2)
    expect(dialog.locator(".tag.variation")).to_have_count(0)
    said = ui_text("fr", "notice.variation_short", variation=FR["gen.abbreviated_language"],
                   shown=0, kept=2, target=1, count=0)
    assert "Langage abrégé" in said and "0 phrase sur 2" in said
    summary = dialog.locator("#gen-summary")
    expect(summary).to_contain_text(said)
    shot(page, "01-results")

    # the run keeps what it said: the API gives it, the history's review shows it
    run = shop.run(shop.runs()[0])
    assert run["notices"] == [{"code": "variation_short", "values": {
        "variation": "abbreviated_language", "shown": 0, "kept": 2, "target": 1}}]
    page.goto(shop.history)
    review = open_review(page, run["id"]).locator("#review-summary")
    expect(review).to_contain_text(said)
    shot(page, "02-review")


def test_the_data_notice_names_where_tracing_sends_the_content(page, studio_server,
                                                              faulty_server, shot):
    bot, faqs = english_bot(studio_server, f"{faulty_server.url}/ok/v1",
                            {"Orders": ["Where is my order?"]}, nb_sentences=2)
    ada = studio_server.users.api("ada")
    # a new bot captures no content: the notice names the provider only
    settings = ada.get(f"/api/bots/{bot}/settings/observability").json()
    assert settings["capture_content"] is False
    dialog = open_generate(page, bot, faqs["Orders"])
    warning = dialog.locator("#gen-warning")
    provider = FR["settings.provider.openai-compatible"]
    expect(warning).to_have_text(ui_text("fr", "gen.warning", provider=provider,
                                         model="gpt-4o-mini"))

    # traced without content: still the provider only
    host = f"http://127.0.0.1:{free_port()}"  # nobody listens: the save warns, and keeps
    body = {"enabled": True, "langfuse_public_key": "pk-lf-test",
            "langfuse_secret_key": "sk-lf-test", "langfuse_host": host,
            "otlp_endpoint": f"{host}/otel"}
    saved = ada.put(f"/api/bots/{bot}/settings/observability", json=body)
    assert saved.status_code == 200, saved.text
    page.reload()
    page.locator("#open-generate").click()
    expect(dialog.locator("#gen-run")).to_be_enabled()
    expect(warning).not_to_contain_text("Langfuse")

    # content capture turned on, on the settings page: both destinations are named
    page.goto(f"/bots/{bot}/settings/observability")
    capture = page.get_by_label(FR["settings.obs.capture"])
    expect(capture).not_to_be_checked()
    capture.check()
    with page.expect_response(lambda r: r.request.method == "PUT"
                              and r.url.endswith("/settings/observability")) as put:
        page.locator("main form").get_by_role("button", name=FR["common.save"]).click()
    assert put.value.ok
    assert ada.get(f"/api/bots/{bot}/settings/observability").json()["capture_content"]
    page.goto(f"/bots/{bot}/faqs/{faqs['Orders']}")
    page.locator("#open-generate").click()
    expect(dialog.locator("#gen-run")).to_be_enabled()
    destinations = (f"{ui_text('fr', 'gen.traced_langfuse', host=host)} et "
                    f"{ui_text('fr', 'gen.traced_otlp', host=host)}")
    expect(warning).to_have_text(
        ui_text("fr", "gen.warning", provider=provider, model="gpt-4o-mini") + " "
        + ui_text("fr", "gen.warning_tracing", destinations=destinations))
    shot(page, "01-traced")
