"""Issue 24: answers that carry a secret (a token at login, a new API token, the settings
export with its API key) had no Cache-Control: a browser's or a shared proxy's cache could
keep them. Every API answer is now `Cache-Control: no-store`; pages and static files are
not concerned (they hold no secret)."""

from __future__ import annotations

import httpx
import pytest

from tests.studio.conftest import PASSWORD

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_answers_carrying_a_secret_are_not_stored(world):
    url = world.studio.url
    ada = world.studio.api("ada")
    ada.put(f"/api/bots/{world.bot}/settings/sentence-generation", json={
        "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-export-secret-123"})
    export = ada.get(f"/api/bots/{world.bot}/settings/sentence-generation/export",
                     params={"include_secret": "true"})
    token = httpx.post(f"{url}/api/auth/token", json={"username": "ada", "password": PASSWORD})
    login = httpx.post(f"{url}/api/auth/login", json={"username": "ada", "password": PASSWORD})
    api_token = ada.post("/api/auth/api-tokens", json={"name": "ci"})
    failed = httpx.post(f"{url}/api/auth/token", json={"username": "ada", "password": "nope"})
    for answer, secret in ((export, "sk-export-secret-123"),
                           (token, token.json().get("access_token")),
                           (login, login.json().get("csrf_token")),
                           (api_token, api_token.json().get("token")),
                           (failed, None)):
        assert answer.status_code < 500, answer.text
        if secret:
            assert secret in answer.text  # the answer does carry it…
        assert answer.headers.get("cache-control") == "no-store", answer.request.url


@sqlite_only
def test_pages_are_left_to_the_browser_cache(world):
    login_page = httpx.get(f"{world.studio.url}/login")
    assert login_page.status_code == 200
    assert "no-store" not in login_page.headers.get("cache-control", "")
