"""GET /api/providers (the core's registry, for the settings page) and the settings'
validation following the registry's required fields, over HTTP.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import pytest

from utterly.providers import PROVIDERS

from .conftest import problem

# A value for every settings field a provider may take.
VALUES = {"model": "gpt-4o-mini", "base_url": "https://models.example.com/v1",
          "api_key": "sk-test-abcdef1234", "azure_endpoint": "https://acme.openai.azure.com",
          "azure_deployment": "gpt-4o-mini-prod", "api_version": "2024-10-21"}


def test_any_member_reads_the_registry(world):
    for user in ("ada", "vic", "gus"):
        response = world.studio.api(user).get("/api/providers")
        assert response.status_code == 200, response.text
        assert response.json() == [
            {"name": info.name, "label": info.label, "label_fr": info.label_fr,
             "fields": list(info.field_names), "required": list(info.required),
             "concurrency": info.concurrency, "models": list(info.models),
             "default_base_url": info.default_base_url, "in_process": info.in_process,
             "free": info.free, "default_timeout_s": info.default_timeout_s}
            for info in PROVIDERS.values()]


def test_anonymous_gets_401(world):
    with world.studio.anonymous() as anonymous:
        body = problem(anonymous.get("/api/providers"), 401)
    assert body["code"] == "not_authenticated"


def test_the_openapi_document_lists_it(world):
    with world.studio.anonymous() as anonymous:
        paths = anonymous.get("/api/openapi.json").json()["paths"]
    assert "get" in paths["/api/providers"]


@pytest.mark.parametrize("name", [n for n, info in PROVIDERS.items() if info.required])
def test_each_required_field_missing_is_named(world, name):
    info = PROVIDERS[name]
    ada = world.studio.api("ada")
    url = f"/api/bots/{world.bot}/settings/sentence-generation"
    complete = {"provider": name, **{field: VALUES[field] for field in info.field_names}}
    for field in info.required:
        body = problem(ada.put(url, json={k: v for k, v in complete.items() if k != field}),
                       422)
        assert body["field"] == field and name in body["detail"] and body["hint"]
    saved = ada.put(url, json=complete)
    assert saved.status_code == 200, saved.text
    assert saved.json()["provider"] == name
