"""The two settings pages in French: the generation form follows the provider it shows (model,
URL, check result, stored key), warns before unsaved changes are lost, explains the
temperature and the prompt's variables; the observability form says when a saved destination
cannot be reached, where the Langfuse keys come from and what content capture sends."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.servers.run import free_port
from utterly.prompt import TEMPLATE_VARIABLES
from utterly.providers import PROVIDERS
from utterly.studio.web.i18n import MESSAGES

from .conftest import login, switch

FR = MESSAGES["fr"]
KEY = "sk-test-abcdef1234"


def gen_url(bot: int) -> str:
    return f"/api/bots/{bot}/settings/sentence-generation"


def open_generation(page, bot):
    login(page, "ada", next_path=f"/bots/{bot}/settings/sentence-generation")
    switch(page, "fr")
    expect(page.locator("#variables li").first).to_be_visible()  # the form is filled


def open_observability(page, bot):
    login(page, "ada", next_path=f"/bots/{bot}/settings/observability")
    switch(page, "fr")
    expect(page.get_by_role("button", name=FR["settings.test"])).to_be_visible()


def field(page, key):
    return page.get_by_label(FR[key], exact=True)


# ---- generation settings --------------------------------------------------------------

def test_switching_provider_resets_model_url_check_and_key(page, bot, studio_server, shot):
    closed = free_port()
    stored = {"provider": "openai-compatible", "model": "mon-modele",
              "base_url": f"http://127.0.0.1:{closed}/v1", "api_key": KEY}
    ada = studio_server.users.api("ada")
    current = ada.get(gen_url(bot)).json()
    saved = ada.put(gen_url(bot), json={
        **stored, "enabled": False, "temperature": current["temperature"],
        "nb_sentences": current["nb_sentences"]})
    assert saved.status_code == 200, saved.text
    open_generation(page, bot)
    model, url, provider = field(page, "settings.model"), field(page, "settings.base_url"), \
        field(page, "settings.provider")
    remove = page.get_by_text(FR["settings.api_key_remove"])
    expect(model).to_have_value("mon-modele")
    expect(remove).to_be_visible()  # a key is stored, for this provider

    page.get_by_role("button", name=FR["settings.test"]).click()
    result = page.locator("#check-result")
    expect(result).to_have_class(re.compile(r"\berror\b"), timeout=60_000)
    shot(page, "01-stored-provider-checked")

    provider.select_option("ollama")
    ollama = PROVIDERS["ollama"]
    expect(model).to_have_value(ollama.models[0])
    expect(model).to_have_attribute("placeholder", ollama.models[0])
    expect(url).to_have_value("")
    expect(url).to_have_attribute("placeholder", ollama.default_base_url)
    expect(page.locator("#base_url_note")).to_have_text(f"Vide : {ollama.default_base_url}")
    expect(result).to_be_hidden()  # it told about the other provider
    expect(field(page, "settings.api_key")).to_be_hidden()
    shot(page, "02-ollama")

    provider.select_option("openai")
    openai = PROVIDERS["openai"]
    expect(model).to_have_value(openai.models[0])
    expect(url).to_have_value("")
    expect(url).to_have_attribute("placeholder", openai.default_base_url)
    expect(remove).to_be_hidden()  # the stored key is the other provider's
    expect(page.locator("#api_key_note")).to_contain_text("n'est pas envoyée à ce fournisseur")
    shot(page, "03-openai")

    provider.select_option("local")
    expect(model).to_have_attribute("placeholder", PROVIDERS["local"].models[0])
    expect(url).to_be_hidden()

    provider.select_option("openai-compatible")  # back: its stored values return
    expect(model).to_have_value("mon-modele")
    expect(url).to_have_value(stored["base_url"])
    expect(remove).to_be_visible()

    # saved with another provider, the old key is not kept for it
    provider.select_option("ollama")
    page.get_by_role("button", name=FR["common.save"]).click()
    expect(page.locator("#toast")).to_have_text(FR["common.saved"])
    after = ada.get(gen_url(bot)).json()
    assert (after["provider"], after["model"], after["base_url"], after["api_key"]) == \
        ("ollama", ollama.models[0], None, None)


def test_remove_key_shows_only_when_a_key_is_stored(page, bot):
    open_generation(page, bot)
    field(page, "settings.provider").select_option("openai")
    expect(field(page, "settings.api_key")).to_be_visible()
    expect(page.get_by_text(FR["settings.api_key_remove"])).to_be_hidden()
    expect(page.locator("#api_key_note")).to_be_empty()


def test_leaving_with_unsaved_changes_asks_first(page, bot, shot):
    open_generation(page, bot)
    faqs = page.locator("nav.botnav").get_by_role("link", name=FR["nav.faqs"])
    seen = []

    def answer(dialog, accept):
        seen.append((dialog.type, dialog.message))
        dialog.accept() if accept else dialog.dismiss()

    # nothing changed: the link just leaves
    faqs.click()
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/faqs$"))
    assert seen == []
    page.go_back()
    expect(page.locator("#variables li").first).to_be_visible()

    field(page, "settings.nb_sentences").fill("7")
    page.once("dialog", lambda d: answer(d, accept=False))
    faqs.click()
    expect(field(page, "settings.nb_sentences")).to_have_value("7")  # still here
    assert seen == [("confirm", FR["common.leave_unsaved"])]
    shot(page, "01-stayed")

    # the browser's own prompt when the tab closes; dismissed, the page stays
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()
    expect(field(page, "settings.nb_sentences")).to_have_value("7")


def test_leaving_after_saving_or_accepting_goes(page, bot):
    open_generation(page, bot)
    faqs = page.locator("nav.botnav").get_by_role("link", name=FR["nav.faqs"])
    field(page, "settings.nb_sentences").fill("7")
    page.get_by_role("button", name=FR["common.save"]).click()
    expect(page.locator("#toast")).to_have_text(FR["common.saved"])
    seen = []
    page.on("dialog", lambda d: (seen.append(d.type), d.accept()))
    faqs.click()
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/faqs$"))
    assert seen == []  # saved: nothing to lose

    page.go_back()
    expect(page.locator("#variables li").first).to_be_visible()
    field(page, "settings.nb_sentences").fill("8")
    faqs.click()  # accepted: it leaves, with no second prompt from the browser
    expect(page).to_have_url(re.compile(rf"/bots/{bot}/faqs$"))
    assert seen == ["confirm"]


def test_temperature_and_the_two_models_are_explained(page, bot, shot):
    open_generation(page, bot)
    temperature = page.locator("#temperature")  # its label also holds the value shown
    expect(temperature).to_have_accessible_name(re.compile("^" + FR["settings.temperature"]))
    expect(temperature).to_have_accessible_description(FR["settings.temperature_help"])
    assert "0 donne la formulation la plus prévisible" in FR["settings.temperature_help"]
    assert "1 la plus variée" in FR["settings.temperature_help"]
    temperature.fill("0.7")
    expect(page.locator("#temperature-value")).to_have_text("0,7")  # French decimal comma
    # the language model and the prompt template no longer share the word « Modèle »
    expect(field(page, "settings.model")).to_be_visible()
    expect(field(page, "settings.prompt")).to_be_visible()
    assert "modèle" not in FR["settings.prompt"].lower()
    expect(page.get_by_label("Modèle de prompt")).to_have_count(0)
    shot(page, "01-explained")


def test_prompt_editor_lists_the_variables_and_resets_to_the_default(page, bot, studio_server,
                                                                   shot):
    open_generation(page, bot)
    items = page.locator("#variables li")
    expect(items).to_have_count(len(TEMPLATE_VARIABLES))
    for name in TEMPLATE_VARIABLES:
        item = page.locator(f'#variables li[data-variable="{name}"]')
        expect(item).to_contain_text("{{ " + name + " }}")
        expect(item).to_contain_text(FR[f"settings.var.{name}"])
    prompt = field(page, "settings.prompt")
    reset = page.get_by_role("button", name=FR["settings.reset_prompt"])
    state = page.locator("#prompt-state")
    default = studio_server.users.api("ada").get(gen_url(bot)).json()["default_prompt_template"]
    expect(state).to_have_text(FR["settings.prompt_default"])
    expect(reset).to_be_disabled()

    prompt.press("Control+End")
    page.get_by_role("button", name="Insérer title").click()
    assert prompt.input_value().endswith("{{ title }}")
    expect(state).to_have_text(FR["settings.prompt_custom"])
    expect(reset).to_be_enabled()
    page.get_by_role("button", name=FR["settings.preview"]).click()
    expect(page.locator("#prompt-preview")).to_be_visible()  # the inserted variable renders
    shot(page, "01-variable-inserted")

    reset.click()
    expect(prompt).to_have_value(default)
    expect(state).to_have_text(FR["settings.prompt_default"])
    expect(reset).to_be_disabled()


# ---- observability --------------------------------------------------------------------

class FakeLangfuse(BaseHTTPRequestHandler):
    """Answers the projects endpoint as Langfuse does for valid keys."""

    def do_GET(self):  # noqa: N802 (the handler's API)
        payload = json.dumps({"data": [{"name": "demo"}]}).encode()
        self.send_response(200 if self.path == "/api/public/projects" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def langfuse():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLangfuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fill_langfuse(page, host: str):
    field(page, "settings.obs.public_key").fill("pk-lf-test-1234")
    field(page, "settings.obs.secret_key").fill("sk-lf-test-5678")
    field(page, "settings.obs.host").fill(host)


def test_saving_unreachable_destinations_warns_in_french(page, bot, studio_server, shot):
    host, otlp = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    open_observability(page, bot)
    page.get_by_role("switch", name=FR["settings.enabled"]).check()
    fill_langfuse(page, host)
    field(page, "settings.obs.otlp").fill(otlp)
    result = page.locator("#check-result")

    # a test first: a warning, never the red error style
    page.get_by_role("button", name=FR["settings.test"]).click()
    expect(result).to_contain_text(FR["settings.obs.unreachable"], timeout=30_000)
    expect(result).to_have_class(re.compile(r"\bwarning\b"))

    page.get_by_role("button", name=FR["common.save"]).click()
    expect(page.locator("#toast")).to_have_text(FR["common.saved"])
    expect(result).to_contain_text(FR["settings.obs.saved_unreachable"], timeout=30_000)
    expect(result).to_have_class(re.compile(r"\bwarning\b"))
    expect(result).not_to_have_class(re.compile(r"\berror\b"))
    lines = result.locator("li")
    expect(lines).to_have_count(2)
    why = FR["settings.obs.why.unreachable"]
    expect(lines.nth(0)).to_have_text(f"L'hôte Langfuse {host} : {why}.")
    expect(lines.nth(1)).to_have_text(f"Le point de terminaison OTLP {otlp} : {why}.")
    expect(page.locator("#settings-error")).to_be_hidden()
    expect(page.locator(".form-error:visible, .result.error:visible")).to_have_count(0)
    shot(page, "01-saved-unreachable")
    stored = studio_server.users.api("ada").get(f"/api/bots/{bot}/settings/observability").json()
    assert (stored["enabled"], stored["langfuse_host"], stored["otlp_endpoint"]) == \
        (True, host, otlp)

    # editing a field takes the stale result away
    field(page, "settings.obs.otlp").fill("")
    expect(result).to_be_hidden()


def test_saving_a_reachable_langfuse_says_so(page, bot, langfuse, shot):
    open_observability(page, bot)
    page.get_by_role("switch", name=FR["settings.enabled"]).check()
    fill_langfuse(page, langfuse)
    page.get_by_role("button", name=FR["common.save"]).click()
    result = page.locator("#check-result")
    expect(result).to_have_class(re.compile(r"\bok\b"), timeout=30_000)
    expect(result).to_have_text(f"Langfuse ({langfuse}) accepte les clés.")
    shot(page, "01-saved-reachable")


def test_langfuse_keys_guide_and_content_capture_are_explained(page, bot, shot):
    open_observability(page, bot)
    guide = page.locator("#langfuse-keys-help")
    expect(guide).to_have_attribute("open", "")  # no keys yet: the way to get them is shown
    expect(guide.locator("summary")).to_have_text(FR["settings.obs.keys_help"])
    for text in ("Settings › API keys", "pk-lf-", "sk-lf-", "https://cloud.langfuse.com"):
        expect(guide).to_contain_text(text)
    capture = field(page, "settings.obs.capture")
    expect(capture).to_have_accessible_description(FR["settings.obs.capture_help"])
    expect(page.locator("#capture-help")).to_be_visible()
    for words in ("quittent ce serveur", "Désactivé\u00a0: seuls les comptes", "jetons"):
        assert words in FR["settings.obs.capture_help"]
    shot(page, "01-guide")
