"""The Ollama provider through the official SDK, against Ollama's wire protocol over real HTTP,
answered by the real SmolLM2-135M (llama.cpp) and multilingual-e5-small."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.servers.fixtures import OLLAMA_CHAT_MODEL, OLLAMA_EMBED_MODEL
from utterly.errors import ErrorCode, ProviderError
from utterly.prompt import output_schema
from utterly.providers import ChatProvider, ProviderConfig, create_provider

MESSAGES = [
    {"role": "system", "content": "You rewrite questions. Reply with JSON only."},
    {"role": "user", "content": 'Write 3 ways to ask "Where is my parcel?". '
                                'JSON: {"sentences": [...]}'},
]


@pytest.fixture
def provider(ollama_server):
    return create_provider(ProviderConfig(provider="ollama", model=OLLAMA_CHAT_MODEL,
                                          base_url=ollama_server.url, timeout_s=60))


async def test_structured_completion(provider, ollama_server):
    assert isinstance(provider, ChatProvider)
    completion = await provider.complete(MESSAGES, temperature=0.7, max_tokens=80,
                                         json_schema=output_schema(3), seed=7)
    data = json.loads(completion.text)
    assert isinstance(data["sentences"], list) and 1 <= len(data["sentences"]) <= 3
    assert completion.structured and completion.model == OLLAMA_CHAT_MODEL
    assert completion.input_tokens > 20 and 0 < completion.output_tokens <= 80
    assert completion.finish_reason in ("stop", "length")
    # what went over the wire: Ollama's native fields
    path, body = ollama_server.state.requests[-1]
    assert path == "/api/chat" and body["stream"] is False
    assert body["format"] == output_schema(3)
    assert body["options"] == {"temperature": 0.7, "num_predict": 80, "seed": 7}
    await provider.aclose()


async def test_free_text_completion(provider):
    completion = await provider.complete(MESSAGES[1:], temperature=0.2, max_tokens=16)
    assert completion.text.strip() and not completion.structured
    assert completion.output_tokens <= 16


async def test_streaming_wire_protocol(ollama_server):
    import ollama

    client = ollama.AsyncClient(host=ollama_server.url)
    chunks = [c async for c in await client.chat(model=OLLAMA_CHAT_MODEL, messages=MESSAGES,
                                                 stream=True, format="json",
                                                 options={"num_predict": 24, "seed": 1})]
    assert len(chunks) >= 2 and all(not c.done for c in chunks[:-1])
    final = chunks[-1]
    assert final.done and final.done_reason in ("stop", "length")
    assert final.prompt_eval_count > 0 and final.eval_count > 0 and final.total_duration > 0
    assert "".join(c.message.content for c in chunks).strip()
    await client.close()


async def test_check(provider, ollama_server):
    result = await provider.check()
    assert result.ok and result.details["model"] == OLLAMA_CHAT_MODEL
    assert OLLAMA_EMBED_MODEL in result.details["models"]


async def test_unknown_model(ollama_server):
    provider = create_provider(ProviderConfig(provider="ollama", model="llama3.2",
                                              base_url=ollama_server.url))
    for call in (provider.check(), provider.complete(MESSAGES, temperature=0.5, max_tokens=8)):
        with pytest.raises(ProviderError) as caught:
            await call
        assert caught.value.code == ErrorCode.MODEL_NOT_FOUND
        assert caught.value.hint == "run `ollama pull llama3.2`"


async def test_embeddings(ollama_server):
    from utterly.embeddings.ollama import OllamaEmbeddings

    embedder = OllamaEmbeddings(base_url=ollama_server.url)  # default nomic-embed-text
    vectors = await embedder.embed(["Where is my parcel?", "Where's my package?",
                                    "The weather is nice today."])
    assert vectors.dtype == np.float32 and vectors.shape[0] == 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    await embedder.aclose()


async def test_embed_wire_protocol_accepts_a_string(ollama_server):
    import ollama

    client = ollama.AsyncClient(host=ollama_server.url)
    response = await client.embed(model="nomic-embed-text", input="hello")
    assert len(response.embeddings) == 1 and len(response.embeddings[0]) > 100
    assert response.prompt_eval_count >= 1
    await client.close()
