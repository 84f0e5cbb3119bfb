"""The Python API: `generate` (sync) and `agenerate` (async).

    >>> import utterly
    >>> result = utterly.generate("Comment réinitialiser mon mot de passe ?", locale="fr", n=5)
    >>> [s.text for s in result.sentences]

Both build the request (validated, errors name the field), the provider and the embedder,
run the pipeline, and close what they opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .embeddings.base import EmbeddingProvider
from .pipeline import PipelineSettings, ProgressCallback, run_generation
from .providers import ChatProvider, ProviderConfig, create_provider
from .providers.base import DEFAULT_TIMEOUT_S
from .request import GenerationRequest
from .result import GenerationResult


async def agenerate(
    sentences: str | Sequence[str], *, locale: str = "en", n: int = 10,
    temperature: float = 0.7, spelling_mistakes: bool = False, sms_language: bool = False,
    abbreviated_language: bool = False, prompt_template: str | None = None,
    seed: int | None = None,
    provider: str | ProviderConfig | ChatProvider = "local", model: str | None = None,
    base_url: str | None = None, api_key: str | None = None,
    azure_endpoint: str | None = None, azure_deployment: str | None = None,
    api_version: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
    embeddings: str | EmbeddingProvider | None = "local", embedding_model: str | None = None,
    settings: PipelineSettings | None = None, on_progress: ProgressCallback | None = None,
) -> GenerationResult:
    """Generate `n` new sentences that ask what `sentences` ask. See docs/library.md."""
    request = GenerationRequest.build(
        sentences=[sentences] if isinstance(sentences, str) else list(sentences),
        locale=locale, n=n, temperature=temperature,
        options={"spelling_mistakes": spelling_mistakes, "sms_language": sms_language,
                 "abbreviated_language": abbreviated_language},
        prompt_template=prompt_template, seed=seed)
    owned = []
    if isinstance(provider, str):
        provider = ProviderConfig(
            provider=provider, model=model, base_url=base_url, api_key=api_key,
            azure_endpoint=azure_endpoint, azure_deployment=azure_deployment,
            api_version=api_version, timeout_s=timeout_s)
    if isinstance(provider, ProviderConfig):
        provider = create_provider(provider)
        owned.append(provider)
    if isinstance(embeddings, str):
        from .embeddings import create_embeddings

        embeddings = create_embeddings(embeddings, model=embedding_model)
        owned.append(embeddings)
    try:
        return await run_generation(request, provider, embeddings, settings=settings,
                                    on_progress=on_progress)
    finally:
        for thing in owned:
            await thing.aclose()


def generate(sentences: str | Sequence[str], **kwargs) -> GenerationResult:
    """Synchronous `agenerate`, for scripts and notebooks without a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(agenerate(sentences, **kwargs))
    raise RuntimeError("utterly.generate() was called inside a running event loop: "
                       "use `await utterly.agenerate(...)` there")
