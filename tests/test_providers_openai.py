"""The OpenAI provider through the official SDK against llama.cpp's own OpenAI-compatible
server (llama_cpp.server, a subprocess) serving the real SmolLM2-135M."""

from __future__ import annotations

import json

import pytest

from tests.servers.backends import TEST_MODEL
from utterly.errors import ErrorCode, ProviderError
from utterly.prompt import output_schema
from utterly.providers import ChatProvider, ProviderConfig, create_provider

MESSAGES = [
    {"role": "system", "content": "You rewrite questions. Reply with JSON only."},
    {"role": "user", "content": 'Write 3 ways to ask "Where is my parcel?". '
                                'JSON: {"sentences": [...]}'},
]


@pytest.fixture(scope="module")
def config(llama_cpp_server):
    # no api_key: a local OpenAI-compatible server gets a placeholder
    return ProviderConfig(provider="openai", model=TEST_MODEL, base_url=llama_cpp_server,
                          timeout_s=60)


async def test_check(config):
    provider = create_provider(config)
    result = await provider.check()
    assert result.ok and TEST_MODEL in result.details["models"]
    await provider.aclose()


async def test_structured_completion_falls_back_to_what_the_server_supports(config):
    provider = create_provider(config)
    assert isinstance(provider, ChatProvider)
    completion = await provider.complete(MESSAGES, temperature=0.7, max_tokens=80,
                                         json_schema=output_schema(3), seed=7)
    # llama-cpp-python's server refuses the json_schema type (422) but takes json_object with
    # a schema, which it compiles into a grammar: the answer is valid JSON of that schema.
    data = json.loads(completion.text)
    assert isinstance(data["sentences"], list) and 1 <= len(data["sentences"]) <= 3
    assert completion.structured
    assert completion.input_tokens > 20 and 0 < completion.output_tokens <= 80
    assert completion.finish_reason in ("stop", "length")
    second = await provider.complete(MESSAGES, temperature=0.7, max_tokens=40,
                                     json_schema=output_schema(2), seed=8)
    assert second.structured and provider._format_mode == 1  # remembered
    await provider.aclose()


async def test_free_text_completion(config):
    provider = create_provider(config)
    completion = await provider.complete(MESSAGES[1:], temperature=0.2, max_tokens=12, seed=1)
    assert completion.text.strip() and not completion.structured
    assert completion.output_tokens <= 12


async def test_unknown_model_is_reported_with_the_choices(llama_cpp_server):
    provider = create_provider(ProviderConfig(provider="openai", model="gpt-4o",
                                              base_url=llama_cpp_server))
    with pytest.raises(ProviderError) as caught:
        await provider.check()
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND
    assert TEST_MODEL in caught.value.hint


async def test_prompt_longer_than_the_context(config):
    provider = create_provider(config)
    long = [{"role": "user", "content": "where is my parcel please " * 700}]
    with pytest.raises(ProviderError) as caught:
        await provider.complete(long, temperature=0.5, max_tokens=16)
    assert caught.value.code == ErrorCode.CONTEXT_TOO_LONG
    assert "fewer" in caught.value.hint
