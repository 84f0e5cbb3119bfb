"""The Python API: `generate` (sync) and `agenerate` (async).

    >>> import utterly
    >>> result = utterly.generate("Comment réinitialiser mon mot de passe ?", locale="fr", n=5)
    >>> [s.text for s in result.sentences]

Both build the request (validated, errors name the field), the provider and the embedder,
run the pipeline, and close what they opened. A caller that built the request and the
provider config already (the CLI, the Studio) hands them over as they are.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Sequence

from .embeddings.base import EmbeddingProvider
from .observability import Tracer, TracingConfig, cost_of, get_tracer, spans, total_cost
from .observability.scores import quality_scores
from .pipeline import PipelineSettings, ProgressCallback, prepare_generation, run_generation
from .providers import ChatProvider, ProviderConfig, create_provider, setting_fields
from .providers.base import DEFAULT_TIMEOUT_S
from .request import GenerationRequest
from .result import GenerationResult
from .sentence_count import DEFAULT_SENTENCES


async def agenerate(
    sentences: str | Sequence[str] | GenerationRequest, *, locale: str = "en", n: int = DEFAULT_SENTENCES,
    temperature: float = 0.7, spelling_mistakes: bool = False, sms_language: bool = False,
    abbreviated_language: bool = False, prompt_template: str | None = None,
    seed: int | None = None, title: str | None = None, answer: str | None = None,
    other_intents: Sequence[dict] | None = None,
    provider: str | ProviderConfig | ChatProvider = "local", model: str | None = None,
    base_url: str | None = None, api_key: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
    embeddings: str | EmbeddingProvider | None = "local", embedding_model: str | None = None,
    settings: PipelineSettings | None = None, on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool | str | None] | None = None,
    tracing: TracingConfig | Tracer | str | None = "env", trace_context: dict | None = None,
    **provider_options: str | None,
) -> GenerationResult:
    """Generate `n` new sentences that ask what `sentences` ask. See docs/library.md.

    `title` and `answer`: the FAQ's, so the prompt knows what the question is about.
    `other_intents`: the bot's other FAQs, `{"name": ..., "sentences": [...]}` each; a
    candidate closer to one of them than to `sentences` is rejected as `other_intent`.
    `on_progress(event)` hears of each attempt, each judged sentence and each wait for the
    model (`waiting`, `waited`: utterly.waiting); `should_stop()`, asked as the model
    writes, ends the generation early with what is kept (`result.stopped`: "cancelled", or
    the word it returned).
    `tracing`: "env" (LANGFUSE_* / OTEL_EXPORTER_OTLP_ENDPOINT, nothing when unset), a
    TracingConfig or Tracer, or None. `trace_context`: user_id, session_id, tags, metadata.
    `sentences` may be a ready GenerationRequest, which then holds everything from `locale`
    to `other_intents` (those keywords must be left out), and `provider` a ProviderConfig,
    which holds `model` to `timeout_s`.
    `provider_options`: the provider's own settings (an Azure endpoint, deployment and API
    version), named as its ProviderInfo.fields name them.
    """
    if isinstance(sentences, GenerationRequest):
        _refuse_request_keywords(
            locale=locale, n=n, temperature=temperature, spelling_mistakes=spelling_mistakes,
            sms_language=sms_language, abbreviated_language=abbreviated_language,
            prompt_template=prompt_template, seed=seed, title=title, answer=answer,
            other_intents=other_intents)
        request = sentences
    else:
        request = GenerationRequest.build(
            sentences=[sentences] if isinstance(sentences, str) else list(sentences),
            locale=locale, n=n, temperature=temperature,
            options={"spelling_mistakes": spelling_mistakes, "sms_language": sms_language,
                     "abbreviated_language": abbreviated_language},
            prompt_template=prompt_template, seed=seed, title=title, answer=answer,
            other_intents=list(other_intents or []))
    owned = []
    if isinstance(provider, str):
        unknown = set(provider_options) - {spec.name for spec in setting_fields()}
        if unknown:
            raise TypeError(f"agenerate() got unexpected keyword arguments {sorted(unknown)}")
        provider = ProviderConfig.of(provider, model=model, base_url=base_url,
                                     api_key=api_key, timeout_s=timeout_s, **provider_options)
    if isinstance(provider, ProviderConfig):
        provider = create_provider(provider)
        owned.append(provider)
    if isinstance(embeddings, str):
        from .embeddings import create_embeddings

        embeddings = create_embeddings(embeddings, model=embedding_model)
        owned.append(embeddings)
    tracer = _tracer(tracing)
    try:
        if tracer is None:
            result = await run_generation(request, provider, embeddings, settings=settings,
                                          on_progress=on_progress, should_stop=should_stop)
            return _finish(result, None)
        context = trace_context or {}
        with spans.start_trace(
                tracer, TRACE_NAME, user_id=context.get("user_id"),
                session_id=context.get("session_id"),
                tags=list(context.get("tags") or []) + [f"locale:{request.locale}"]
                + [f"option:{k}" for k, v in request.options.model_dump().items() if v],
                metadata={"provider": provider.name, "model": provider.model,
                          "n": request.n, "temperature": request.temperature,
                          "options": request.options.model_dump(),
                          **(context.get("metadata") or {})},
                input={"sentences": request.sentences, "locale": request.locale},
                capture_content=_capture(tracing, context)) as handle:
            result = await run_generation(request, provider, embeddings, settings=settings,
                                          on_progress=on_progress, should_stop=should_stop)
            return _finish(result, handle)
    finally:
        for thing in owned:
            await thing.aclose()


# Their defaults tell which request keywords a caller gave along with a GenerationRequest.
_PARAMETERS = inspect.signature(agenerate).parameters


def _refuse_request_keywords(**keywords) -> None:
    """A ready request holds every request keyword: one given beside it would be silently
    ignored, so it is refused."""
    given = [name for name, value in keywords.items() if value != _PARAMETERS[name].default]
    if given:
        raise TypeError("agenerate() takes a GenerationRequest or the request keywords, "
                        f"not both: {', '.join(given)} belong in the request")


async def aprepare(request: GenerationRequest,
                   provider: ProviderConfig | ChatProvider) -> bool:
    """Have the model read the prompt of `request` now (the local model keeps what it
    read): an `agenerate` of the same request soon after shows its first sentence sooner.
    True when the provider could; remote providers cannot, and nothing is sent to them."""
    owned = isinstance(provider, ProviderConfig)
    if owned:
        provider = create_provider(provider)
    try:
        return await prepare_generation(request, provider)
    finally:
        if owned:
            await provider.aclose()


TRACE_NAME = "Sentence Generation"
CHECK_TRACE_NAME = "Check LLM Settings"


async def acheck_provider(config: ProviderConfig, *,
                          tracing: TracingConfig | Tracer | str | None = "env",
                          trace_context: dict | None = None):
    """The provider's own check (server answers, model exists), traced as
    "Check LLM Settings". Raises ProviderError with a code and a hint."""
    provider = create_provider(config)
    tracer = _tracer(tracing)
    context = trace_context or {}
    try:
        if tracer is None:
            return await provider.check()
        with spans.start_trace(tracer, CHECK_TRACE_NAME, user_id=context.get("user_id"),
                               session_id=context.get("session_id"),
                               tags=list(context.get("tags") or []),
                               metadata={"provider": provider.name, "model": provider.model,
                                         **(context.get("metadata") or {})},
                               capture_content=False) as handle:
            result = await provider.check()
            handle.root.set_attribute("utterly.check.ok", bool(result.ok))
            return result
    finally:
        await provider.aclose()


def _tracer(tracing) -> Tracer | None:
    if tracing == "env":
        tracing = TracingConfig.from_env()
    if isinstance(tracing, TracingConfig):
        return get_tracer(tracing) if tracing.enabled else None
    return tracing


def _capture(tracing, context: dict) -> bool | None:
    """Whether this call's trace carries content: the trace context says, else the config.
    Not the tracer's own config: configs that differ only in this share one tracer."""
    if context.get("capture_content") is not None:
        return context["capture_content"]
    if tracing == "env":
        tracing = TracingConfig.from_env()
    return tracing.capture_content if isinstance(tracing, TracingConfig) else None


def _finish(result: GenerationResult, handle) -> GenerationResult:
    """Cost and quality for every result; trace id, URL and scores when traced."""
    cost = cost_of(result.provider, result.model, result.usage.input_tokens,
                   result.usage.output_tokens)
    result.cost_usd = total_cost(result.provider, result.model, result.usage.input_tokens,
                                 result.usage.output_tokens)
    result.quality = quality_scores(result)
    if handle is not None:
        result.trace_id, result.trace_url = handle.trace_id, handle.url
        root = handle.root
        root.set_attribute("utterly.kept", len(result.sentences))
        root.set_attribute("utterly.rejected", len(result.rejected))
        root.set_attribute("utterly.attempts", result.attempts)
        if handle.capture_content:
            root.set_attribute("langfuse.trace.output", json.dumps(
                [s.text for s in result.sentences], ensure_ascii=False))
        if cost is not None:
            root.set_attribute("utterly.cost_usd", cost["total"])
        for name, value in result.quality.items():
            handle.score(name, value)
    return result


def generate(sentences: str | Sequence[str] | GenerationRequest, **kwargs) -> GenerationResult:
    """Synchronous `agenerate`, for scripts and notebooks without a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(agenerate(sentences, **kwargs))
    raise RuntimeError("utterly.generate() was called inside a running event loop: "
                       "use `await utterly.agenerate(...)` there")


def load_filters() -> None:
    """Load what the filters of every generation use (the local embedding model, the
    language detector's models) now, rather than in the first generation: a process that
    will generate many times (`utterly worker`) calls it on start."""
    from .embeddings.local import get_engine
    from .language import detect_language, is_wrong_language

    get_engine().encode(["warm-up"])
    for text, locale in (("Où est mon colis, s'il vous plaît ?", "fr"),
                         ("Where is my parcel, please?", "en")):
        detect_language(text)
        is_wrong_language(text, locale)
