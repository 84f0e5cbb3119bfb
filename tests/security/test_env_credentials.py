"""Row 2: clients built from stored settings never read the server's environment.

The attack: the server runs with the operator's credentials in its environment; an admin
of a namespace points a bot at a URL of theirs, with no key, and checks and generates. The
OpenAI SDK used to send OPENAI_API_KEY there, the ollama SDK OLLAMA_API_KEY, and the OTLP
exporter OTEL_EXPORTER_OTLP_HEADERS. Here every such variable holds a canary, the URL is a
recording server, and the canary must never reach it.
"""

from __future__ import annotations

import time

import pytest

CANARY = "CANARY7f3e9b"
ENVIRONMENT = {
    "OPENAI_API_KEY": f"sk-{CANARY}-openai-key",
    "OPENAI_ADMIN_KEY": f"sk-admin-{CANARY}",
    "OPENAI_ORG_ID": f"org-{CANARY}",
    "OPENAI_PROJECT_ID": f"proj_{CANARY}",
    "OPENAI_WEBHOOK_SECRET": f"whsec_{CANARY}",
    "OPENAI_CUSTOM_HEADERS": f"Authorization: Bearer {CANARY}-custom\nX-Leak: {CANARY}-h",
    "OPENAI_BASE_URL": f"http://127.0.0.1:9/{CANARY}",
    "AZURE_OPENAI_API_KEY": f"{CANARY}-azure-key",
    "AZURE_OPENAI_AD_TOKEN": f"{CANARY}-azure-ad-token",
    "AZURE_OPENAI_ENDPOINT": f"http://127.0.0.1:9/{CANARY}",
    "OPENAI_API_VERSION": f"{CANARY}-version",
    "OLLAMA_API_KEY": f"{CANARY}-ollama-key",
    "OLLAMA_HOST": "127.0.0.1:9",
    "LANGFUSE_PUBLIC_KEY": f"pk-lf-{CANARY}",
    "LANGFUSE_SECRET_KEY": f"sk-lf-{CANARY}",
    "LANGFUSE_HOST": "http://127.0.0.1:9",
    "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {CANARY}-otel,x-leak={CANARY}",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"x-traces-leak={CANARY}",
}
PROVIDERS = {
    "openai-compatible": lambda url: {"model": "gpt-4o-mini", "base_url": f"{url}/v1"},
    "ollama": lambda url: {"model": "tinyllama", "base_url": url},
    # Azure needs a key: the stored one goes, none of the environment's
    "azure-openai": lambda url: {"azure_endpoint": url, "azure_deployment": "gpt-4o-mini",
                                 "api_version": "2024-10-21", "api_key": "stored-azure-key-1"},
}


@pytest.fixture
def canaries(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def _wait_for(seen, path_part: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(path_part in s.target for s in seen):
        assert time.monotonic() < deadline, f"nothing reached {path_part}"
        time.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_no_environment_credential_reaches_an_admin_chosen_url(world, capture, canaries,
                                                               provider):
    url, seen = capture
    ada, bob = world.studio.api("ada"), world.studio.api("bob")
    settings = f"/api/bots/{world.bot}/settings"
    observability = {"enabled": True, "otlp_endpoint": url, "langfuse_host": url,
                     "langfuse_public_key": "pk-lf-stored-0001",
                     "langfuse_secret_key": "sk-lf-stored-0001"}
    response = ada.put(f"{settings}/observability", json=observability)
    assert response.status_code == 200, response.text
    assert ada.post(f"{settings}/observability/check").json()["ok"]

    body = {"enabled": True, "provider": provider, "nb_sentences": 2, **PROVIDERS[provider](url)}
    response = ada.put(f"{settings}/sentence-generation", json=body)  # runs the check
    assert response.status_code == 200, response.text
    check = ada.post(f"{settings}/sentence-generation/check")
    assert check.json()["ok"], check.text
    generated = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/generate",
                         json={"sentences": ["Where is my parcel?"], "locale": "en"})
    assert generated.status_code == 200, generated.text
    _wait_for(seen, "/v1/traces")
    _wait_for(seen, "/api/public/otel/v1/traces")

    chat = "/api/chat" if provider == "ollama" else "/chat/completions"
    assert any(chat in s.target for s in seen)
    assert len(seen) >= 6  # the checks, the generation, the traces: the test saw traffic
    for request in seen:
        assert CANARY not in request.text(), request.text()
    # what the settings hold is what was sent
    if provider == "azure-openai":
        assert all(dict(s.headers).get("api-key") == "stored-azure-key-1"
                   for s in seen if chat in s.target)
    else:
        auth = {dict(s.headers).get("authorization") for s in seen if chat in s.target}
        assert auth <= {None, "Bearer not-needed"}, auth
