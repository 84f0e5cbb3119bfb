"""Issue 24: the settings' "test connection" read internal services for whoever can type a
URL. A service that answers in a vendor's own shape (OpenAI's model list and error format,
Ollama's, Langfuse's projects) had its words quoted: "choose one of: internal-db-password=…",
its error message, a project name. The attack: point each check at such a service, on
127.0.0.1, and read the answer. A check now says the status and our own words only.

Where the line is: a check (and the check that guards a save) never quotes the URL's answer;
a generation's error may still quote a provider's own error message, redacted, to the users
of the bot whose admin chose that provider (tests/test_provider_errors.py)."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse

from tests.servers.run import ASGIServer

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SECRET = "internal-db-password=hunter2-do-not-quote"


def _error(status: int, vendor: str = "openai") -> JSONResponse:
    body = {"error": SECRET} if vendor == "ollama" else \
        {"error": {"message": SECRET, "type": "x", "code": SECRET}}
    return JSONResponse(body, status_code=status)


def _chat(model: str, content: str | None = "ok", refusal: str | None = None) -> dict:
    return {"id": "c", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": refusal}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _models(mode: str):
    if mode == "listing":  # the model asked for is not listed: the names were quoted
        return {"object": "list", "data": [{"id": SECRET, "object": "model"},
                                            {"id": "db.internal:5432", "object": "model"}]}
    if mode == "listed":  # it is: the other names went into the details
        return {"object": "list", "data": [{"id": "m", "object": "model"},
                                            {"id": SECRET, "object": "model"}]}
    if mode == "refusal":
        return _error(404)  # no listing: the check asks the model for one token
    return _error({"auth": 401, "forbidden": 403, "bad": 400, "broken": 500,
                   "missing": 404, "big": 413}[mode])


def _azure(mode: str, deployment: str):
    if mode == "azure-ok":
        return JSONResponse(_chat(SECRET))  # the model it says it served
    if mode == "azure-refusal":
        return JSONResponse(_chat(deployment, content=None, refusal=SECRET))
    return _error({"azure-auth": 401, "azure-missing": 404}[mode])


def _tags(mode: str):
    names = {"ollama-tags": [SECRET], "ollama-listed": ["tinyllama:latest", SECRET]}
    if mode in names:
        return {"models": [{"name": name, "model": name, "size": 1, "digest": "d",
                            "modified_at": "2025-01-01T00:00:00Z"} for name in names[mode]]}
    return _error({"ollama-auth": 401, "ollama-broken": 500, "ollama-bad": 400}[mode],
                  "ollama")


def internal_service() -> FastAPI:
    """Answers as each vendor would, with internal data in every text it returns. The first
    path segment picks the behaviour."""
    app = FastAPI()
    app.get("/{mode}/v1/models")(_models)
    app.post("/{mode}/openai/deployments/{deployment}/chat/completions")(_azure)
    app.get("/{mode}/api/tags")(_tags)

    @app.post("/{mode}/v1/chat/completions")
    async def chat(mode: str):
        if mode == "refusal":
            return JSONResponse(_chat("m", content=None, refusal=SECRET))
        return _error({"missing": 404}.get(mode, 500))

    @app.get("/{mode}/")
    async def ollama_root(mode: str):
        return PlainTextResponse("Ollama is running")

    @app.get("/{mode}/api/public/projects")
    async def projects(mode: str):
        if mode == "langfuse":
            return {"data": [{"id": "p", "name": SECRET}]}
        return _error({"langfuse-auth": 401, "langfuse-broken": 500}[mode])

    return app


@pytest.fixture(scope="module")
def service():
    with ASGIServer(internal_service()) as url:
        yield url


def settings(world) -> str:
    return f"/api/bots/{world.bot}/settings"


def _assert_not_quoted(answer) -> dict:
    assert SECRET not in answer.text and "db.internal" not in answer.text, answer.text
    assert "hunter2" not in answer.text.lower(), answer.text
    return answer.json()


OPENAI_CASES = [  # mode, the check's error code (None: it succeeds), words it must say
    ("listing", "model_not_found", "the server's list of models does not have it"),
    ("listed", None, "serves m"),
    ("auth", "authentication", "HTTP 401"),
    ("forbidden", "authentication", "HTTP 403"),
    ("bad", "bad_request", "HTTP 400"),
    ("broken", "server_error", "HTTP 500"),
    ("missing", "bad_request", "HTTP 404"),
    ("big", "context_too_long", "does not fit"),
    ("refusal", "bad_request", "the model refused"),
]



def _says(check: dict, code: str | None, words: str, *, with_hint: bool = False) -> None:
    """The check passed (code None) or failed with `code`, in words that hold `words`
    (in its message, or its hint too)."""
    assert check["ok"] is (code is None), check
    if code is not None:
        assert check["error"]["code"] == code, check
    text = check["message"]
    if with_hint:
        text += " " + (check["error"] or {}).get("hint", "")
    assert words in text, check

@sqlite_only
@pytest.mark.parametrize("provider", ["openai-compatible", "openai"])
@pytest.mark.parametrize("mode, code, words", OPENAI_CASES)
def test_openai_checks_never_quote_the_service(world, service, provider, mode, code, words):
    ada = world.studio.api("ada")
    body = {"provider": provider, "model": "m", "base_url": f"{service}/{mode}/v1",
            "api_key": "sk-test-key-123456"}
    check = _assert_not_quoted(ada.post(f"{settings(world)}/sentence-generation/check",
                                        json=body))
    _says(check, code, words, with_hint=True)
    # saving with `enabled: true` runs the same check first
    saved = ada.put(f"{settings(world)}/sentence-generation", json={**body, "enabled": True})
    _assert_not_quoted(saved)
    assert (saved.status_code == 200) is (code is None), saved.text


AZURE_CASES = [
    ("azure-ok", None, "answers at"),
    ("azure-refusal", "bad_request", "the model refused"),
    ("azure-auth", "authentication", "HTTP 401"),
    ("azure-missing", "model_not_found", "HTTP 404"),
]


@sqlite_only
@pytest.mark.parametrize("mode, code, words", AZURE_CASES)
def test_azure_checks_never_quote_the_service(world, service, mode, code, words):
    check = _assert_not_quoted(world.studio.api("ada").post(
        f"{settings(world)}/sentence-generation/check",
        json={"provider": "azure-openai", "azure_endpoint": f"{service}/{mode}",
              "azure_deployment": "d", "api_version": "2024-10-21", "api_key": "k-123456"}))
    _says(check, code, words)


OLLAMA_CASES = [
    ("ollama-tags", "model_not_found", "not available"),
    ("ollama-listed", None, "serves tinyllama:latest"),
    ("ollama-auth", "authentication", "HTTP 401"),
    ("ollama-broken", "server_error", "HTTP 500"),
    ("ollama-bad", "bad_request", "HTTP 400"),
]


@sqlite_only
@pytest.mark.parametrize("mode, code, words", OLLAMA_CASES)
def test_ollama_checks_never_quote_the_service(world, service, mode, code, words):
    check = _assert_not_quoted(world.studio.api("ada").post(
        f"{settings(world)}/sentence-generation/check",
        json={"provider": "ollama", "model": "tinyllama", "base_url": f"{service}/{mode}"}))
    _says(check, code, words)


@sqlite_only
@pytest.mark.parametrize("mode, code, words", [
    ("langfuse", None, "accepts the keys"),
    ("langfuse-auth", "authentication", "refused the keys"),
    ("langfuse-broken", "server_error", "HTTP 5xx"),
])
def test_langfuse_checks_never_quote_the_service(world, service, mode, code, words):
    check = _assert_not_quoted(world.studio.api("ada").post(
        f"{settings(world)}/observability/check",
        json={"langfuse_host": f"{service}/{mode}", "langfuse_public_key": "pk-lf-1",
              "langfuse_secret_key": "sk-lf-1"}))
    _says(check, code, words)


async def test_the_library_and_the_cli_still_quote_a_vendor_s_words(service):
    """The line, seen from the core: quoting is the config's choice. The Studio's and the
    bridge's checks turn it off; the CLI (whose user runs the server) keeps the server's
    list of models as a hint, and a generation keeps a vendor's error message."""
    from utterly.errors import ProviderError
    from utterly.outbound import OutboundPolicy
    from utterly.providers import ProviderConfig, create_provider

    for quote in (True, False):
        client = create_provider(ProviderConfig(
            provider="openai-compatible", model="m", base_url=f"{service}/listing/v1",
            read_env=False, outbound=OutboundPolicy(), max_retries=0, quote_server=quote))
        with pytest.raises(ProviderError) as caught:
            await client.check()
        await client.aclose()
        assert (SECRET in str(caught.value)) is quote, caught.value
