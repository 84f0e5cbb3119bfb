"""Every failure a remote provider can meet, through the real SDK call path over real HTTP.

The faulty server answers each behaviour in OpenAI's and in Ollama's shape; the providers
must turn each into the right ErrorCode with a hint, retry only what waiting can cure, and
never leak the API key.
"""

from __future__ import annotations

import time

import pytest

from tests.servers.run import free_port
from utterly.errors import ErrorCode, ProviderError
from utterly.providers import ProviderConfig, create_provider
from utterly.providers.errors_map import parse_retry_after

SECRET = "sk-test-secret-4f9a8b7c6d5e4f3a2b1c7890"
MESSAGES = [{"role": "user", "content": "Rewrite: where is my parcel?"}]
SCHEMA = {"type": "object", "properties": {"sentences": {"type": "array",
                                                         "items": {"type": "string"}}},
          "required": ["sentences"], "additionalProperties": False}


class Sleeps:
    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds):
        self.waits.append(seconds)


def openai_provider(server, behaviour, **overrides):
    config = dict(provider="openai", model="gpt-4o-mini", base_url=f"{server.url}/{behaviour}/v1",
                  api_key=SECRET, timeout_s=5.0, max_retries=3)
    config.update(overrides)
    provider = create_provider(ProviderConfig(**config))
    provider._sleep = Sleeps()
    return provider


def ollama_provider(server, behaviour, **overrides):
    config = dict(provider="ollama", model="tinyllama", base_url=f"{server.url}/{behaviour}",
                  api_key=SECRET, timeout_s=5.0, max_retries=3)
    config.update(overrides)
    provider = create_provider(ProviderConfig(**config))
    provider._sleep = Sleeps()
    return provider


def assert_no_secret(error: ProviderError, provider=None):
    for text in (str(error), repr(error), error.message, error.hint, str(error.to_dict())):
        assert SECRET not in text
    if provider is not None:
        assert SECRET not in repr(provider)
        assert SECRET not in repr(provider.config)


async def fail(provider, call="complete") -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        if call == "complete":
            await provider.complete(MESSAGES, temperature=0.5, max_tokens=32)
        else:
            await provider.check()
    error = caught.value
    assert error.message and error.hint
    assert error.provider == provider.name
    assert_no_secret(error, provider)
    return error


# --- OpenAI shape ---------------------------------------------------------------------------

@pytest.mark.parametrize("behaviour, code, hits", [
    ("unauthorized", ErrorCode.AUTHENTICATION, 1),
    ("model-not-found", ErrorCode.MODEL_NOT_FOUND, 1),
    ("no-endpoint", ErrorCode.BAD_REQUEST, 1),
    ("quota", ErrorCode.CONFIGURATION, 1),
    ("server-error", ErrorCode.SERVER_ERROR, 3),  # retried twice
    ("garbage", ErrorCode.INVALID_RESPONSE, 1),
    ("garbage-json", ErrorCode.INVALID_RESPONSE, 1),
    ("wrong-json", ErrorCode.INVALID_RESPONSE, 1),
    ("context", ErrorCode.CONTEXT_TOO_LONG, 1),
])
async def test_openai_failures_are_classified(faulty_server, behaviour, code, hits):
    before = faulty_server.state.hits[behaviour]
    provider = openai_provider(faulty_server, behaviour)
    error = await fail(provider)
    assert error.code == code
    assert faulty_server.state.hits[behaviour] - before == hits
    await provider.aclose()


async def test_openai_hints_are_actionable(faulty_server):
    auth = await fail(openai_provider(faulty_server, "unauthorized"))
    assert "--api-key" in auth.hint and "OPENAI_API_KEY" in auth.hint
    missing = await fail(openai_provider(faulty_server, "model-not-found", model="gpt-9"))
    assert "gpt-9" in missing.message and "--model" in missing.hint
    context = await fail(openai_provider(faulty_server, "context"))
    assert "fewer" in context.hint
    garbage = await fail(openai_provider(faulty_server, "garbage"))
    assert "--base-url" in garbage.hint


async def test_openai_rate_limit_retried_until_it_succeeds(faulty_server):
    provider = openai_provider(faulty_server, "flaky2-openai")
    completion = await provider.complete(MESSAGES, temperature=0.5, max_tokens=32)
    assert completion.text and completion.input_tokens == 12 and completion.output_tokens == 9
    assert faulty_server.state.hits["flaky2-openai"] == 3
    assert provider._sleep.waits == [0.5, 0.5]  # the server's Retry-After, twice


async def test_openai_rate_limit_gives_up_after_max_retries(faulty_server):
    provider = openai_provider(faulty_server, "rate-limited", max_retries=2)
    before = faulty_server.state.hits["rate-limited"]
    error = await fail(provider)
    assert error.code == ErrorCode.RATE_LIMITED and error.retry_after == 1.0
    assert faulty_server.state.hits["rate-limited"] - before == 3
    assert provider._sleep.waits == [1.0, 1.0]
    assert "after 3 attempts" in error.message


async def test_openai_retry_after_ms_is_read(faulty_server):
    provider = openai_provider(faulty_server, "rate-limited-ms", max_retries=1)
    error = await fail(provider)
    assert error.retry_after == pytest.approx(0.25)
    assert provider._sleep.waits == [pytest.approx(0.25)]


async def test_openai_huge_retry_after_gives_up_at_once(faulty_server):
    provider = openai_provider(faulty_server, "rate-limited-long")
    before = faulty_server.state.hits["rate-limited-long"]
    error = await fail(provider)
    assert error.code == ErrorCode.RATE_LIMITED and error.retry_after == 3600
    assert faulty_server.state.hits["rate-limited-long"] - before == 1
    assert provider._sleep.waits == []
    assert "try again after" in error.hint


async def test_openai_server_that_never_answers_times_out(faulty_server):
    provider = openai_provider(faulty_server, "hang", timeout_s=0.5)
    started = time.monotonic()
    error = await fail(provider)
    assert error.code == ErrorCode.TIMEOUT
    assert time.monotonic() - started < 5
    assert "--timeout" in error.hint and "0.5" in error.hint


async def test_openai_unreachable_server():
    port = free_port()  # nothing listens there
    provider = create_provider(ProviderConfig(provider="openai",
                                              base_url=f"http://127.0.0.1:{port}/v1",
                                              api_key=SECRET, timeout_s=2))
    provider._sleep = Sleeps()
    error = await fail(provider)
    assert error.code == ErrorCode.UNREACHABLE
    assert str(port) in error.message and "running" in error.hint
    assert len(provider._sleep.waits) == 1  # retried once


async def test_openai_falls_back_when_json_schema_is_refused(faulty_server):
    provider = openai_provider(faulty_server, "no-schema")
    first = await provider.complete(MESSAGES, temperature=0.5, max_tokens=32, json_schema=SCHEMA)
    assert faulty_server.state.hits["no-schema"] == 2
    assert faulty_server.state.last_openai_body["response_format"]["type"] == "json_object"
    assert first.structured
    await provider.complete(MESSAGES, temperature=0.5, max_tokens=32, json_schema=SCHEMA)
    assert faulty_server.state.hits["no-schema"] == 3  # remembered: no second refusal


async def test_openai_check(faulty_server):
    ok = await openai_provider(faulty_server, "ok").check()
    assert ok.ok and ok.model == "gpt-4o-mini" and "gpt-4o-mini" in ok.details["models"]
    missing = await fail(openai_provider(faulty_server, "ok", model="gpt-9"), call="check")
    assert missing.code == ErrorCode.MODEL_NOT_FOUND and "gpt-4o-mini" in missing.hint
    auth = await fail(openai_provider(faulty_server, "unauthorized"), call="check")
    assert auth.code == ErrorCode.AUTHENTICATION


async def test_openai_embeddings_errors(faulty_server):
    from utterly.embeddings.openai import OpenAIEmbeddings

    ok = OpenAIEmbeddings(base_url=f"{faulty_server.url}/ok/v1", api_key=SECRET)
    vectors = await ok.embed(["a", "b"])
    assert vectors.shape == (2, 3)
    bad = OpenAIEmbeddings(base_url=f"{faulty_server.url}/unauthorized/v1", api_key=SECRET)
    with pytest.raises(ProviderError) as caught:
        await bad.embed(["a"])
    assert caught.value.code == ErrorCode.AUTHENTICATION
    assert_no_secret(caught.value, bad)


# --- Ollama shape ---------------------------------------------------------------------------

@pytest.mark.parametrize("behaviour, code, hits", [
    ("unauthorized", ErrorCode.AUTHENTICATION, 1),
    ("model-not-found", ErrorCode.MODEL_NOT_FOUND, 1),
    ("server-error", ErrorCode.SERVER_ERROR, 3),
    ("garbage", ErrorCode.INVALID_RESPONSE, 1),
    ("wrong-json", ErrorCode.INVALID_RESPONSE, 1),
    ("rate-limited", ErrorCode.RATE_LIMITED, 4),
])
async def test_ollama_failures_are_classified(faulty_server, behaviour, code, hits):
    before = faulty_server.state.hits[behaviour]
    provider = ollama_provider(faulty_server, behaviour)
    error = await fail(provider)
    assert error.code == code
    assert faulty_server.state.hits[behaviour] - before == hits
    await provider.aclose()


async def test_ollama_model_not_found_says_how_to_pull(faulty_server):
    error = await fail(ollama_provider(faulty_server, "model-not-found", model="llama3.2"))
    assert "`ollama pull llama3.2`" in error.hint


async def test_ollama_rate_limit_backs_off_then_succeeds(faulty_server):
    provider = ollama_provider(faulty_server, "flaky1-ollama")
    completion = await provider.complete(MESSAGES, temperature=0.5, max_tokens=32)
    assert completion.input_tokens == 12 and completion.output_tokens == 9
    assert faulty_server.state.hits["flaky1-ollama"] == 2
    assert len(provider._sleep.waits) == 1 and 0.5 <= provider._sleep.waits[0] <= 0.625


async def test_ollama_server_that_never_answers_times_out(faulty_server):
    provider = ollama_provider(faulty_server, "hang", timeout_s=0.5)
    started = time.monotonic()
    error = await fail(provider)
    assert error.code == ErrorCode.TIMEOUT and "--timeout" in error.hint
    assert time.monotonic() - started < 5


async def test_ollama_unreachable_server():
    port = free_port()
    provider = create_provider(ProviderConfig(provider="ollama",
                                              base_url=f"http://127.0.0.1:{port}",
                                              api_key=SECRET, timeout_s=2))
    provider._sleep = Sleeps()
    for call in ("complete", "check"):
        error = await fail(provider, call)
        assert error.code == ErrorCode.UNREACHABLE
        assert str(port) in error.message and "ollama serve" in error.hint


async def test_ollama_check(faulty_server):
    ok = await ollama_provider(faulty_server, "ok").check()  # tinyllama → tinyllama:latest
    assert ok.ok and ok.details["model"] == "tinyllama:latest"
    missing = await fail(ollama_provider(faulty_server, "ok", model="llama3"), call="check")
    assert missing.code == ErrorCode.MODEL_NOT_FOUND and "ollama pull llama3" in missing.hint
    tagged = await fail(ollama_provider(faulty_server, "ok", model="tinyllama:1.1b"),
                        call="check")
    assert tagged.code == ErrorCode.MODEL_NOT_FOUND
    other = await fail(ollama_provider(faulty_server, "not-ollama"), call="check")
    assert other.code == ErrorCode.INVALID_RESPONSE


async def test_ollama_embeddings_errors(faulty_server):
    from utterly.embeddings.ollama import OllamaEmbeddings

    missing = OllamaEmbeddings(base_url=f"{faulty_server.url}/model-not-found", api_key=SECRET)
    with pytest.raises(ProviderError) as caught:
        await missing.embed(["a"])
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND
    assert "ollama pull nomic-embed-text" in caught.value.hint
    assert_no_secret(caught.value, missing)


# --- configuration --------------------------------------------------------------------------

def test_openai_without_key_names_the_option_and_env_var(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderError) as caught:
        create_provider(ProviderConfig(provider="openai"))
    assert caught.value.code == ErrorCode.CONFIGURATION
    assert "--api-key" in caught.value.hint and "OPENAI_API_KEY" in caught.value.hint


def test_openai_compatible_server_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = create_provider(ProviderConfig(provider="openai",
                                              base_url="http://127.0.0.1:1/v1"))
    assert provider.model == "gpt-4o-mini"


@pytest.mark.parametrize("fields, words", [
    ({"azure_deployment": "d", "api_key": SECRET}, ("--azure-endpoint", "AZURE_OPENAI_ENDPOINT")),
    ({"azure_endpoint": "https://x.openai.azure.com", "api_key": SECRET},
     ("--azure-deployment",)),
    ({"azure_endpoint": "https://x.openai.azure.com", "azure_deployment": "d"},
     ("--api-key", "AZURE_OPENAI_API_KEY")),
])
def test_azure_missing_configuration(monkeypatch, fields, words):
    for var in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ProviderError) as caught:
        create_provider(ProviderConfig(provider="azure-openai", **fields))
    assert caught.value.code == ErrorCode.CONFIGURATION
    assert all(word in caught.value.hint for word in words)
    assert_no_secret(caught.value)


def test_retry_after_parsing():
    assert parse_retry_after({"retry-after": "7"}) == 7
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
