"""The Azure OpenAI provider through the official SDK (AsyncAzureOpenAI) against Azure's
wire protocol over real HTTP, answered by the real SmolLM2-135M and multilingual-e5-small."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.servers.fixtures import AZURE_CHAT_DEPLOYMENT, AZURE_EMBED_DEPLOYMENT, AZURE_TEST_KEY
from utterly.errors import ErrorCode, ProviderError
from utterly.prompt import output_schema
from utterly.providers import ChatProvider, ProviderConfig, create_provider

MESSAGES = [
    {"role": "system", "content": "You rewrite questions. Reply with JSON only."},
    {"role": "user", "content": 'Write 3 ways to ask "Where is my parcel?". '
                                'JSON: {"sentences": [...]}'},
]


def azure(server, **overrides) -> ProviderConfig:
    fields = dict(provider="azure-openai", azure_endpoint=server.url,
                  azure_deployment=AZURE_CHAT_DEPLOYMENT, api_key=AZURE_TEST_KEY, timeout_s=60)
    fields.update(overrides)
    return ProviderConfig(**fields)


async def test_structured_completion(azure_server):
    provider = create_provider(azure(azure_server))
    assert isinstance(provider, ChatProvider)
    completion = await provider.complete(MESSAGES, temperature=0.7, max_tokens=80,
                                         json_schema=output_schema(3), seed=7)
    data = json.loads(completion.text)
    assert isinstance(data["sentences"], list) and 1 <= len(data["sentences"]) <= 3
    assert completion.structured and completion.model == "gpt-4o-mini"
    assert completion.input_tokens > 20 and 0 < completion.output_tokens <= 80
    deployment, query, headers, body = azure_server.state.requests[-1]
    assert deployment == AZURE_CHAT_DEPLOYMENT and query["api-version"] == "2024-10-21"
    assert headers["api-key"] == AZURE_TEST_KEY
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"] == output_schema(3)
    assert body["seed"] == 7 and body["max_tokens"] == 80
    await provider.aclose()


async def test_check_and_api_version_from_env(azure_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    provider = create_provider(azure(azure_server))
    result = await provider.check()
    assert result.ok and result.model == AZURE_CHAT_DEPLOYMENT
    assert result.details["api_version"] == "2025-01-01-preview"
    assert azure_server.state.requests[-1][1]["api-version"] == "2025-01-01-preview"


async def test_wrong_key(azure_server):
    wrong = "wrong-key-0000111122223333"
    provider = create_provider(azure(azure_server, api_key=wrong))
    with pytest.raises(ProviderError) as caught:
        await provider.check()
    error = caught.value
    assert error.code == ErrorCode.AUTHENTICATION
    assert "AZURE_OPENAI_API_KEY" in error.hint and "--api-key" in error.hint
    for text in (str(error), repr(error), str(error.to_dict()), repr(provider)):
        assert wrong not in text and AZURE_TEST_KEY not in text


async def test_unknown_deployment(azure_server):
    provider = create_provider(azure(azure_server, azure_deployment="gpt-5-missing"))
    for call in (provider.check(), provider.complete(MESSAGES, temperature=0.5, max_tokens=8)):
        with pytest.raises(ProviderError) as caught:
            await call
        error = caught.value
        assert error.code == ErrorCode.MODEL_NOT_FOUND
        assert "gpt-5-missing" in error.message and azure_server.url in error.message
        assert "--azure-deployment" in error.hint


async def test_prompt_longer_than_the_context(azure_server):
    provider = create_provider(azure(azure_server))
    long = [{"role": "user", "content": "where is my parcel please " * 700}]
    with pytest.raises(ProviderError) as caught:
        await provider.complete(long, temperature=0.5, max_tokens=16)
    assert caught.value.code == ErrorCode.CONTEXT_TOO_LONG


async def test_embeddings(azure_server):
    from utterly.embeddings.openai import AzureOpenAIEmbeddings

    embedder = AzureOpenAIEmbeddings(azure_endpoint=azure_server.url,
                                     azure_deployment=AZURE_EMBED_DEPLOYMENT,
                                     api_key=AZURE_TEST_KEY)
    vectors = await embedder.embed(["Where is my parcel?", "Where's my package?",
                                    "The weather is nice today."])
    assert vectors.dtype == np.float32 and vectors.shape[0] == 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    assert azure_server.state.requests[-1][0] == AZURE_EMBED_DEPLOYMENT
    await embedder.aclose()
