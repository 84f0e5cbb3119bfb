"""Per-bot settings over HTTP: sentence generation (provider, prompt, check, export/import)
and observability (Langfuse keys, OTLP endpoint, their check against fake servers).

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import pytest

from tests.servers.fixtures import RunningServer
from tests.servers.langfuse_server import basic_credentials, create_collector_app
from tests.servers.langfuse_server import create_app as langfuse_app
from tests.servers.run import ASGIServer, free_port
from utterly.prompt import default_template, template_version
from utterly.providers import PROVIDERS
from utterly.studio.models import SentenceGenerationSettings
from utterly.studio.services import settings as settings_service

from .conftest import TEST_MODEL, problem

OPENAI_KEY = "sk-test-abcdef1234"
PUBLIC_KEY = "pk-lf-0123456789abcdef"
SECRET_KEY = "sk-lf-fedcba9876543210"
CUSTOM_TEMPLATE = ("Write {{ nb_sentences }} new ways to ask, in {{ language_name }}:\n"
                   "{% for s in sentences %}- {{ s }}\n{% endfor %}")


def generation_url(world) -> str:
    return f"/api/bots/{world.bot}/settings/sentence-generation"


def observability_url(world) -> str:
    return f"/api/bots/{world.bot}/settings/observability"


def dead_url() -> str:
    """A URL on 127.0.0.1 where nobody listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def langfuse():
    """A fake Langfuse accepting PUBLIC_KEY:SECRET_KEY, fresh (no recorded request) per test."""
    app = langfuse_app(PUBLIC_KEY, SECRET_KEY)
    with ASGIServer(app) as url:
        yield RunningServer(url, app)


@pytest.fixture
def collector():
    app = create_collector_app()
    with ASGIServer(app) as url:
        yield RunningServer(url, app)


# ---- sentence generation: reading and validation --------------------------------------

def test_defaults_of_a_new_bot(world):
    settings = world.studio.api("vic").get(generation_url(world)).json()
    assert {k: settings[k] for k in ("enabled", "provider", "model", "base_url", "api_key",
                                     "temperature", "nb_sentences", "prompt_is_default")} == {
        "enabled": False, "provider": "local", "model": None, "base_url": None,
        "api_key": None, "temperature": 0.7, "nb_sentences": 10, "prompt_is_default": True}
    assert settings["prompt_template"] == default_template()
    assert settings["prompt_version"] == template_version(default_template())
    assert {"sentences", "nb_sentences", "locale", "options"} <= set(
        settings["prompt_variables"])


@pytest.mark.parametrize("change, field", [
    ({"temperature": 1.5}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"nb_sentences": 0}, "nb_sentences"),
    ({"nb_sentences": 51}, "nb_sentences"),
    ({"provider": "mistral"}, "provider"),
])
def test_out_of_range_values_name_the_field(world, change, field):
    body = problem(world.studio.api("ada").put(generation_url(world), json=change), 422)
    assert body["field"] == field
    assert body["hint"]


@pytest.mark.parametrize("body, field", [
    ({"provider": "ollama"}, "model"),
    ({"provider": "openai", "api_key": OPENAI_KEY}, "model"),
    ({"provider": "openai", "model": "gpt-4o-mini"}, "api_key"),
    ({"provider": "openai-compatible", "base_url": "http://127.0.0.1:8080/v1"}, "model"),
    ({"provider": "openai-compatible", "model": "smollm2"}, "base_url"),
])
def test_provider_required_fields_are_named(world, body, field):
    response = problem(world.studio.api("ada").put(generation_url(world), json=body), 422)
    assert response["field"] == field
    assert body["provider"] in response["detail"]
    assert response["hint"]


AZURE = {"provider": "azure-openai", "azure_endpoint": "https://acme.openai.azure.com",
         "azure_deployment": "gpt-4o-mini-prod", "api_version": "2024-10-21",
         "api_key": "azure-key-0123456789"}


@pytest.mark.parametrize("missing", ["azure_endpoint", "azure_deployment", "api_version",
                                     "api_key"])
def test_azure_needs_endpoint_deployment_version_and_key(world, missing):
    ada = world.studio.api("ada")
    body = {k: v for k, v in AZURE.items() if k != missing}
    assert problem(ada.put(generation_url(world), json=body), 422)["field"] == missing
    saved = ada.put(generation_url(world), json=AZURE)
    assert saved.status_code == 200, saved.text
    assert saved.json()["api_key"] == "…6789"


@pytest.mark.parametrize("field, value", [
    ("base_url", "127.0.0.1:8080/v1"),
    ("base_url", "ftp://models.example.com"),
    ("azure_endpoint", "acme.openai.azure.com"),
])
def test_urls_must_be_http(world, field, value):
    body = {**AZURE, "provider": "openai-compatible", "model": "m", "base_url": "http://h",
            field: value}
    response = problem(world.studio.api("ada").put(generation_url(world), json=body), 422)
    assert response["field"] == field


@pytest.mark.parametrize("template", [
    "Paraphrase {{ sentences }} in {{ dialect }}",     # unknown variable
    "Paraphrase {% for s in sentences %}{{ s }}",      # unclosed block
    "Paraphrase {{ sentences ",                        # unclosed expression
])
def test_broken_prompt_template_is_refused(world, template):
    ada = world.studio.api("ada")
    body = problem(ada.put(generation_url(world), json={"prompt_template": template}), 422)
    assert body["field"] == "prompt_template"
    assert body["hint"]
    assert ada.get(generation_url(world)).json()["prompt_is_default"] is True


def test_custom_template_changes_the_prompt_version_and_default_text_resets_it(world):
    ada = world.studio.api("ada")
    default_version = template_version(default_template())
    custom = ada.put(generation_url(world), json={"prompt_template": CUSTOM_TEMPLATE}).json()
    assert custom["prompt_is_default"] is False
    assert custom["prompt_template"] == CUSTOM_TEMPLATE
    assert custom["prompt_version"] == template_version(CUSTOM_TEMPLATE) != default_version
    # omitting the template means the default, as sending its text back does
    back = ada.put(generation_url(world), json={"prompt_template": default_template()}).json()
    assert (back["prompt_is_default"], back["prompt_version"]) == (True, default_version)
    ada.put(generation_url(world), json={"prompt_template": CUSTOM_TEMPLATE})
    omitted = ada.put(generation_url(world), json={}).json()
    assert (omitted["prompt_is_default"], omitted["prompt_version"]) == (True, default_version)


def test_put_saves_every_field(world):
    ada = world.studio.api("ada")
    body = {"provider": "openai-compatible", "model": "smollm2", "temperature": 0.25,
            "nb_sentences": 7, "base_url": "http://127.0.0.1:8080/v1/"}
    saved = ada.put(generation_url(world), json=body).json()
    assert ada.get(generation_url(world)).json() == saved
    assert {k: saved[k] for k in body} == {**body, "base_url": "http://127.0.0.1:8080/v1"}
    assert saved["enabled"] is False


# ---- sentence generation: calls at once to the provider -------------------------------

def test_the_default_calls_at_once_depend_on_the_provider(world):
    settings = world.studio.api("vic").get(generation_url(world)).json()
    assert settings["max_concurrency"] is None
    assert settings["default_max_concurrency"] == {
        name: info.concurrency for name, info in PROVIDERS.items()}
    # the embedded model runs one generation at a time; a server takes a few at once
    assert settings["effective_max_concurrency"] == settings["default_max_concurrency"][
        "local"] == 1
    assert settings["default_max_concurrency"]["openai-compatible"] > 1


@pytest.mark.parametrize("value", [0, -1, 65, 2.5, "many"])
def test_calls_at_once_out_of_bounds_name_the_field(world, value):
    ada = world.studio.api("ada")
    body = problem(ada.put(generation_url(world), json={"max_concurrency": value}), 422)
    assert body["field"] == "max_concurrency"
    assert body["detail"].startswith("max_concurrency: ")
    assert "1 to 64" in body["hint"]
    assert ada.get(generation_url(world)).json()["max_concurrency"] is None


@pytest.mark.parametrize("value", [1, 64])
def test_calls_at_once_take_their_bounds(world, value):
    saved = world.studio.api("ada").put(generation_url(world), json={"max_concurrency": value})
    assert saved.status_code == 200, saved.text
    assert saved.json()["effective_max_concurrency"] == value


def test_calls_at_once_are_saved_exported_and_reset(world):
    ada = world.studio.api("ada")
    saved = ada.put(generation_url(world), json={"max_concurrency": 3})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["max_concurrency"], saved.json()["effective_max_concurrency"]) == (3, 3)
    assert ada.get(generation_url(world)).json()["max_concurrency"] == 3
    assert ada.get(f"{generation_url(world)}/export").json()["settings"]["max_concurrency"] == 3
    with world.studio.sessions() as session:
        assert session.get(SentenceGenerationSettings, world.bot).max_concurrency == 3
    reset = ada.put(generation_url(world), json={}).json()
    assert reset["max_concurrency"] is None
    assert reset["effective_max_concurrency"] == reset["default_max_concurrency"]["local"]


def test_an_empty_limit_follows_the_provider_a_set_one_does_not(world):
    """As with timeout_s: null is the current provider's default, whichever it is; a value
    the admin set stays what it is when the provider changes."""
    ada = world.studio.api("ada")
    server = {"provider": "openai-compatible", "model": "smollm2",
              "base_url": "http://127.0.0.1:8080/v1"}
    moved = ada.put(generation_url(world), json=server).json()
    assert moved["max_concurrency"] is None
    assert moved["effective_max_concurrency"] == PROVIDERS["openai-compatible"].concurrency
    set_one = ada.put(generation_url(world), json={**server, "max_concurrency": 2}).json()
    assert set_one["effective_max_concurrency"] == 2
    back = ada.put(generation_url(world), json={"provider": "local",
                                                "max_concurrency": 2}).json()
    assert (back["max_concurrency"], back["effective_max_concurrency"]) == (2, 2)


def test_concurrency_of_reads_the_bots_setting_or_its_providers_default():
    row = SentenceGenerationSettings(provider="ollama", max_concurrency=None)
    assert settings_service.concurrency_of(row) == PROVIDERS["ollama"].concurrency
    row.max_concurrency = 7
    assert settings_service.concurrency_of(row) == 7
    row.provider = "local"  # a value the admin set does not follow the provider
    assert settings_service.concurrency_of(row) == 7


# ---- sentence generation: the API key -------------------------------------------------

def test_api_key_is_masked_kept_when_omitted_and_removed_when_empty(world):
    ada = world.studio.api("ada")
    openai = {"provider": "openai", "model": "gpt-4o-mini"}
    saved = ada.put(generation_url(world), json={**openai, "api_key": OPENAI_KEY}).json()
    assert saved["api_key"] == "sk-…1234"
    assert OPENAI_KEY not in ada.get(generation_url(world)).text

    kept = ada.put(generation_url(world), json={**openai, "temperature": 0.2}).json()
    assert (kept["api_key"], kept["temperature"]) == ("sk-…1234", 0.2)

    # the key is required by openai: removing it there is refused, and nothing changes
    assert problem(ada.put(generation_url(world), json={**openai, "api_key": ""}),
                   422)["field"] == "api_key"
    assert ada.get(generation_url(world)).json()["api_key"] == "sk-…1234"

    removed = ada.put(generation_url(world), json={"provider": "local", "api_key": ""}).json()
    assert removed["api_key"] is None
    assert problem(ada.put(generation_url(world), json=openai), 422)["field"] == "api_key"


# ---- sentence generation: enabling runs the check first -------------------------------

def test_enabling_with_the_local_model_checks_it_and_saves(world):
    ada = world.studio.api("ada")
    response = ada.put(generation_url(world), json={
        "enabled": True, "provider": "local", "model": TEST_MODEL, "nb_sentences": 3})
    assert response.status_code == 200, response.text
    settings = ada.get(generation_url(world)).json()
    assert (settings["enabled"], settings["model"], settings["nb_sentences"]) == \
        (True, TEST_MODEL, 3)


def test_enabling_with_an_unreachable_server_saves_nothing(world):
    ada = world.studio.api("ada")
    before = ada.put(generation_url(world), json={"temperature": 0.3,
                                                  "nb_sentences": 4}).json()
    response = ada.put(generation_url(world), json={
        "enabled": True, "provider": "ollama", "model": "tinyllama", "base_url": dead_url(),
        "temperature": 0.9, "nb_sentences": 20})
    body = problem(response, 502)
    assert body["code"] == "unreachable"
    assert "not saved" in body["detail"]
    assert body["hint"]
    assert ada.get(generation_url(world)).json() == before


def test_disabled_settings_are_saved_without_a_check(world):
    # Saving a provider that is down is fine as long as generation stays off.
    response = world.studio.api("ada").put(generation_url(world), json={
        "provider": "ollama", "model": "tinyllama", "base_url": dead_url()})
    assert response.status_code == 200, response.text
    assert response.json()["provider"] == "ollama"


def test_check_uses_the_stored_settings_without_a_body(world):
    ada = world.studio.api("ada")
    ada.put(generation_url(world), json={"provider": "local", "model": TEST_MODEL})
    response = ada.post(f"{generation_url(world)}/check")
    assert response.status_code == 200, response.text
    check = response.json()
    assert (check["ok"], check["provider"], check["model"], check["error"]) == \
        (True, "local", TEST_MODEL, None)

    ada.put(generation_url(world), json={"provider": "ollama", "model": "tinyllama",
                                         "base_url": dead_url()})
    check = ada.post(f"{generation_url(world)}/check").json()
    assert (check["ok"], check["error"]["code"]) == (False, "unreachable")


def test_check_of_unsaved_settings_reports_the_failure(world, faulty_server):
    ada = world.studio.api("ada")
    url = f"{generation_url(world)}/check"
    ok = ada.post(url, json={"provider": "local", "model": TEST_MODEL}).json()
    assert ok["ok"] is True

    dead = ada.post(url, json={"provider": "ollama", "model": "tinyllama",
                               "base_url": dead_url()})
    assert dead.status_code == 200, dead.text
    dead = dead.json()
    assert dead["ok"] is False
    assert dead["error"]["code"] == "unreachable"
    assert dead["error"]["hint"] and dead["message"]

    ollama = f"{faulty_server.url}/ok"  # an Ollama serving tinyllama:latest only
    found = ada.post(url, json={"provider": "ollama", "model": "tinyllama",
                                "base_url": ollama}).json()
    assert found["ok"] is True, found
    missing = ada.post(url, json={"provider": "ollama", "model": "llama3",
                                  "base_url": ollama}).json()
    assert (missing["ok"], missing["error"]["code"]) == (False, "model_not_found")
    # what to do, in our words; not the server's list of models (a check quotes nothing)
    assert "ollama pull llama3" in missing["error"]["hint"]
    assert "tinyllama" not in missing["error"]["hint"] + missing["message"]

    # nothing of this was saved
    assert ada.get(generation_url(world)).json()["provider"] == "local"


def test_check_of_unsaved_settings_validates_them_first(world):
    body = problem(world.studio.api("ada").post(f"{generation_url(world)}/check",
                                                json={"provider": "openai"}), 422)
    assert body["field"] == "model"


@pytest.mark.parametrize("model", ["/etc/passwd", "../../secret.key", "no-such-model",
                                   "/tmp/any.gguf"])
def test_the_local_provider_takes_catalogue_models_only(world, model):
    # A path would make the server open (and report on) any file it can read.
    ada = world.studio.api("ada")
    before = ada.get(generation_url(world)).json()
    for method, url in (("PUT", generation_url(world)),
                        ("POST", f"{generation_url(world)}/check")):
        body = problem(ada.request(method, url, json={"provider": "local", "model": model}),
                       422)
        assert body["field"] == "model"
        assert TEST_MODEL in body["hint"]
    assert ada.get(generation_url(world)).json() == before


# ---- sentence generation: export and import -------------------------------------------

def test_export_leaves_the_secret_out_unless_asked(world):
    ada = world.studio.api("ada")
    ada.put(generation_url(world), json={"provider": "openai", "model": "gpt-4o-mini",
                                         "api_key": OPENAI_KEY, "temperature": 0.4})
    exported = ada.get(f"{generation_url(world)}/export").json()
    assert exported["format"] == "utterly.sentence-generation-settings/1"
    assert exported["settings"]["api_key"] is None
    assert (exported["settings"]["provider"], exported["settings"]["temperature"]) == \
        ("openai", 0.4)
    with_secret = ada.get(f"{generation_url(world)}/export",
                          params={"include_secret": "true"}).json()
    assert with_secret["settings"]["api_key"] == OPENAI_KEY


def test_export_import_round_trip_to_another_bot(world):
    ada = world.studio.api("ada")
    ada.put(generation_url(world), json={
        "provider": "openai", "model": "gpt-4o-mini", "api_key": OPENAI_KEY,
        "temperature": 0.35, "nb_sentences": 12, "max_concurrency": 3,
        "prompt_template": CUSTOM_TEMPLATE})
    original = ada.get(generation_url(world)).json()
    assert original["max_concurrency"] == 3
    other = ada.post("/api/bots", json={"name": "Support"}).json()["id"]
    other_url = f"/api/bots/{other}/settings/sentence-generation"

    # without the secret, the other bot has no key to keep: openai needs one
    plain = ada.get(f"{generation_url(world)}/export").json()
    assert problem(ada.post(f"{other_url}/import", json=plain), 422)["field"] == "api_key"

    full = ada.get(f"{generation_url(world)}/export", params={"include_secret": True}).json()
    imported = ada.post(f"{other_url}/import", json=full)
    assert imported.status_code == 200, imported.text
    copy = ada.get(other_url).json()
    assert {k: v for k, v in copy.items() if k != "updated_at"} == \
        {k: v for k, v in original.items() if k != "updated_at"}

    # the secretless export, imported where a key is stored, keeps that key
    assert ada.post(f"{other_url}/import", json=plain).json()["api_key"] == "sk-…1234"


def test_import_refuses_another_format(world):
    body = problem(world.studio.api("ada").post(
        f"{generation_url(world)}/import",
        json={"format": "something-else/2", "settings": {}}), 422)
    assert body["field"] == "format"


# ---- observability --------------------------------------------------------------------

LANGFUSE = {"langfuse_public_key": PUBLIC_KEY, "langfuse_secret_key": SECRET_KEY}


def test_observability_defaults(world):
    settings = world.studio.api("ada").get(observability_url(world)).json()
    # content capture is off for a new bot: prompts and sentences leave only when asked
    assert {k: v for k, v in settings.items() if k != "updated_at"} == {
        "enabled": False, "langfuse_public_key": None, "langfuse_secret_key": None,
        "langfuse_host": None, "otlp_endpoint": None, "capture_content": False}


def test_members_are_told_where_content_goes_only_when_it_is_captured(world, monkeypatch):
    def told() -> list[dict]:  # what the generate dialog reads, as a bot_user
        return world.studio.api("bob").get(generation_url(world)).json()["content_traced_to"]

    assert told() == []
    # the server's environment: traced, but content only when the operator says so
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/v1")
    monkeypatch.delenv("UTTERLY_TRACE_CONTENT", raising=False)
    assert told() == []
    monkeypatch.setenv("UTTERLY_TRACE_CONTENT", "1")
    assert told() == [{"kind": "otlp", "host": "http://127.0.0.1:4318"}]

    # the bot's own settings win over the environment; capture is off unless ticked
    host = dead_url()
    ada = world.studio.api("ada")
    saved = ada.put(observability_url(world), json={**LANGFUSE, "langfuse_host": host + "/lf",
                                                    "enabled": True})
    assert saved.status_code == 200, saved.text
    assert saved.json()["capture_content"] is False
    assert told() == []
    saved = ada.put(observability_url(world), json={
        **LANGFUSE, "langfuse_host": host + "/lf", "otlp_endpoint": host + "/otel",
        "enabled": True, "capture_content": True})
    assert saved.status_code == 200, saved.text
    # the origin only: never a path, never a key
    assert told() == [{"kind": "langfuse", "host": host}, {"kind": "otlp", "host": host}]


def test_observability_secret_is_masked_and_kept_when_omitted(world):
    ada = world.studio.api("ada")
    saved = ada.put(observability_url(world), json={
        **LANGFUSE, "langfuse_host": "https://cloud.langfuse.com/", "enabled": True,
        "capture_content": False})
    assert saved.status_code == 200, saved.text
    saved = saved.json()
    assert saved["langfuse_secret_key"] == "sk-lf-…3210"
    assert (saved["langfuse_public_key"], saved["langfuse_host"], saved["enabled"],
            saved["capture_content"]) == (PUBLIC_KEY, "https://cloud.langfuse.com", True,
                                          False)
    assert SECRET_KEY not in ada.get(observability_url(world)).text
    kept = ada.put(observability_url(world), json={
        "langfuse_public_key": PUBLIC_KEY, "langfuse_host": "https://cloud.langfuse.com"})
    assert kept.json()["langfuse_secret_key"] == "sk-lf-…3210"


@pytest.mark.parametrize("body, field", [
    ({"langfuse_public_key": "lf-public", "langfuse_secret_key": SECRET_KEY,
      "langfuse_host": "https://cloud.langfuse.com"}, "langfuse_public_key"),
    ({"langfuse_public_key": PUBLIC_KEY, "langfuse_secret_key": "secret",
      "langfuse_host": "https://cloud.langfuse.com"}, "langfuse_secret_key"),
    ({"langfuse_public_key": PUBLIC_KEY, "langfuse_host": "https://cloud.langfuse.com"},
     "langfuse_secret_key"),
    ({"langfuse_secret_key": SECRET_KEY, "langfuse_host": "https://cloud.langfuse.com"},
     "langfuse_public_key"),
    (LANGFUSE, "langfuse_host"),
    ({**LANGFUSE, "langfuse_host": "cloud.langfuse.com"}, "langfuse_host"),
    ({"otlp_endpoint": "collector:4318"}, "otlp_endpoint"),
    ({"enabled": True}, "enabled"),
])
def test_observability_validation_names_the_field(world, body, field):
    ada = world.studio.api("ada")
    response = problem(ada.put(observability_url(world), json=body), 422)
    assert response["field"] == field
    assert response["hint"]
    assert ada.get(observability_url(world)).json()["langfuse_public_key"] is None


def test_observability_enabled_with_an_otlp_endpoint_only(world):
    response = world.studio.api("ada").put(observability_url(world), json={
        "enabled": True, "otlp_endpoint": "http://127.0.0.1:4318"})
    assert response.status_code == 200, response.text
    assert response.json()["otlp_endpoint"] == "http://127.0.0.1:4318"


def test_langfuse_check_sends_basic_auth_and_writes_no_trace(world, langfuse):
    ada = world.studio.api("ada")
    ada.put(observability_url(world), json={**LANGFUSE, "langfuse_host": langfuse.url})
    response = ada.post(f"{observability_url(world)}/check")
    assert response.status_code == 200, response.text
    check = response.json()
    assert (check["ok"], check["provider"], check["error"]) == (True, "langfuse", None)
    # not the project's name: a check quotes nothing the host answered
    assert "demo" not in response.text and "accepts the keys" in check["message"]

    requests = langfuse.state.requests
    assert [(r.method, r.path) for r in requests] == [("GET", "/api/public/projects")]
    assert basic_credentials(requests[0].headers) == (PUBLIC_KEY, SECRET_KEY)


def test_langfuse_check_with_wrong_keys_is_an_authentication_failure(world, langfuse):
    check = world.studio.api("ada").post(f"{observability_url(world)}/check", json={
        "langfuse_public_key": PUBLIC_KEY, "langfuse_secret_key": "sk-lf-not-the-right-one",
        "langfuse_host": langfuse.url})
    assert check.status_code == 200, check.text
    check = check.json()
    assert (check["ok"], check["error"]["code"]) == (False, "authentication")
    assert check["error"]["hint"]
    assert len(langfuse.state.requests) == 1


def test_langfuse_check_of_a_closed_port_is_unreachable(world):
    check = world.studio.api("ada").post(f"{observability_url(world)}/check", json={
        **LANGFUSE, "langfuse_host": dead_url()}).json()
    assert (check["ok"], check["error"]["code"]) == (False, "unreachable")
    assert check["error"]["hint"]


def test_langfuse_check_of_a_server_that_does_not_answer_times_out(world, langfuse,
                                                                   monkeypatch):
    monkeypatch.setattr(settings_service, "CHECK_TIMEOUT_S", 0.5)
    langfuse.state.answer_after_s = 30
    check = world.studio.api("ada").post(f"{observability_url(world)}/check", json={
        **LANGFUSE, "langfuse_host": langfuse.url}).json()
    assert (check["ok"], check["error"]["code"]) == (False, "timeout")
    assert "within 0.5 s" in check["error"]["message"]
    assert check["error"]["hint"]


def test_langfuse_check_of_something_else_is_not_ok(world, collector):
    check = world.studio.api("ada").post(f"{observability_url(world)}/check", json={
        **LANGFUSE, "langfuse_host": collector.url}).json()
    assert (check["ok"], check["error"]["code"]) == (False, "server_error")


def test_otlp_check_posts_to_the_traces_endpoint(world, collector):
    ada = world.studio.api("ada")
    check = ada.post(f"{observability_url(world)}/check",
                     json={"otlp_endpoint": collector.url}).json()
    assert (check["ok"], check["provider"]) == (True, "otlp")
    assert [(r.method, r.path) for r in collector.state.requests] == [("POST", "/v1/traces")]
    assert collector.state.requests[0].headers["content-type"] == "application/x-protobuf"

    missing = ada.post(f"{observability_url(world)}/check",
                       json={"otlp_endpoint": f"{collector.url}/otlp"}).json()
    assert (missing["ok"], missing["error"]["code"]) == (False, "server_error")
    dead = ada.post(f"{observability_url(world)}/check",
                    json={"otlp_endpoint": dead_url()}).json()
    assert (dead["ok"], dead["error"]["code"]) == (False, "unreachable")


def test_check_of_both_targets_reports_each(world, langfuse, collector):
    ada = world.studio.api("ada")
    ada.put(observability_url(world), json={**LANGFUSE, "langfuse_host": langfuse.url,
                                            "otlp_endpoint": collector.url, "enabled": True})
    check = ada.post(f"{observability_url(world)}/check").json()
    assert check["ok"] is True
    assert set(check["details"]) == {"langfuse", "otlp"}
    assert check["details"]["langfuse"]["ok"] and check["details"]["otlp"]["ok"]

    # one failing target fails the check and says which
    broken = ada.post(f"{observability_url(world)}/check", json={
        **LANGFUSE, "langfuse_host": langfuse.url, "otlp_endpoint": dead_url()}).json()
    assert (broken["ok"], broken["provider"], broken["error"]["code"]) == \
        (False, "otlp", "unreachable")
    assert broken["details"]["langfuse"]["ok"] is True


def test_check_with_nothing_to_check_is_refused(world):
    body = problem(world.studio.api("ada").post(f"{observability_url(world)}/check"), 422)
    assert body["field"] == "langfuse_host"
