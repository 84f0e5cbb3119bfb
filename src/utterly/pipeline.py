"""request → prompt → provider → parse → clean → vary → result.

The pipeline owns the count: it asks again, telling the model what it already has, until
enough valid sentences remain or the attempts run out. It knows nothing of HTTP or storage.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from . import variations
from .clean import Cleaner, thresholds_for
from .embeddings.base import EmbeddingProvider
from .observability import spans
from .errors import ErrorCode, ProviderError
from .parse import parse_sentences
from .prompt import output_schema, render_request
from .providers.base import ChatProvider
from .request import GenerationRequest
from .result import GenerationResult, Origin, RejectReason, Rejection, Sentence, Usage

ProgressCallback = Callable[[dict], None]

# Tokens per sentence asked, generous: French is token-hungry and JSON adds quotes.
_TOKENS_PER_SENTENCE = 48
_TOKENS_OVERHEAD = 64


@dataclass
class PipelineSettings:
    max_attempts: int = 4
    # ask for a few more than missing: small models repeat themselves
    overask: float = 0.5
    # share of the sentences that must show each variation the user asked for
    variation_share: float = 0.5
    check_language: bool = True
    use_json_schema: bool = True


@dataclass
class _Run:
    request: GenerationRequest
    usage: Usage = field(default_factory=Usage)
    rejected: list[Rejection] = field(default_factory=list)
    attempts: int = 0
    model: str = ""
    parse_problems: list[str] = field(default_factory=list)
    parsed_any: bool = False


async def run_generation(request: GenerationRequest, provider: ChatProvider,
                         embeddings: EmbeddingProvider | None = None, *,
                         settings: PipelineSettings | None = None,
                         on_progress: ProgressCallback | None = None) -> GenerationResult:
    settings = settings or PipelineSettings()
    started = time.perf_counter()
    seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**31)
    cleaner = Cleaner(inputs=list(request.sentences), locale=request.locale,
                      embeddings=spans.traced_embeddings(embeddings),
                      thresholds=thresholds_for(getattr(embeddings, "model", None)),
                      check_language=settings.check_language)
    run = _Run(request=request, model=provider.model)
    notify = on_progress or (lambda event: None)

    while len(cleaner.kept) < request.n and run.attempts < settings.max_attempts:
        missing = request.n - len(cleaner.kept)
        ask = min(50, missing + math.ceil(missing * settings.overask))
        run.attempts += 1
        with spans.span(f"attempt {run.attempts}", {"utterly.attempt": run.attempts,
                                                    "utterly.asked": ask,
                                                    "utterly.kept_before": len(cleaner.kept)}):
            await _attempt(run, cleaner, provider, settings, ask, seed, notify)

    if not run.parsed_any:
        raise ProviderError(
            ErrorCode.INVALID_RESPONSE,
            f"the model's answers held no sentences in {run.attempts} attempt(s)",
            hint="try a larger model or a simpler prompt template; "
                 + "; ".join(run.parse_problems[:3]), provider=provider.name)

    surplus = cleaner.kept[request.n:]
    del cleaner.kept[request.n:]
    run.rejected.extend(Rejection(s.text, RejectReason.SURPLUS, "more than requested")
                        for s in surplus)
    _honour_variations(cleaner, request, seed, settings.variation_share)

    warnings = list(cleaner.warnings)
    if len(cleaner.kept) < request.n:
        warnings.append(f"only {len(cleaner.kept)} of {request.n} sentences passed the "
                        f"filters after {run.attempts} attempt(s); see the rejected ones")
    return GenerationResult(
        sentences=cleaner.kept, rejected=run.rejected, usage=run.usage,
        attempts=run.attempts, provider=provider.name, model=run.model,
        latency_s=time.perf_counter() - started, requested=request.n, warnings=warnings,
        seed=seed)


async def _attempt(run: _Run, cleaner: Cleaner, provider: ChatProvider,
                   settings: PipelineSettings, ask: int, seed: int, notify) -> None:
    request = run.request
    with spans.span("render prompt"):
        prompt = render_request(request, existing=[s.text for s in cleaner.kept],
                                nb_sentences=ask)
    notify({"event": "attempt", "attempt": run.attempts, "asked": ask,
            "kept": len(cleaner.kept), "requested": request.n})
    temperature = _attempt_temperature(request.temperature, run.attempts)
    max_tokens = ask * _TOKENS_PER_SENTENCE + _TOKENS_OVERHEAD
    with spans.chat_span(provider.name, provider.model, prompt.messages,
                         temperature=temperature, max_tokens=max_tokens,
                         seed=seed + run.attempts - 1) as chat:
        completion = await provider.complete(
            prompt.messages, temperature=temperature, max_tokens=max_tokens,
            json_schema=output_schema(ask) if settings.use_json_schema else None,
            seed=seed + run.attempts - 1)
        if chat is not None:
            chat.record(completion)
    run.usage.add(completion.input_tokens, completion.output_tokens)
    run.model = completion.model or run.model
    with spans.span("parse") as parse_span:
        parsed = parse_sentences(completion.text)
        parse_span.set_attribute("utterly.parsed", len(parsed.sentences))
    run.parse_problems.extend(parsed.problems)
    if parsed.sentences:
        run.parsed_any = True
    with spans.span("clean") as clean_span:
        rejected = await cleaner.add(parsed.sentences)
        clean_span.set_attribute("utterly.kept", len(cleaner.kept))
        for reason, count in Counter(str(r.reason) for r in rejected).items():
            clean_span.set_attribute(f"utterly.rejected.{reason}", count)
    run.rejected.extend(rejected)
    notify({"event": "sentences", "attempt": run.attempts, "kept": len(cleaner.kept),
            "requested": request.n, "sentences": [s.text for s in cleaner.kept]})


def _attempt_temperature(base: float, attempt: int) -> float:
    """Warm up each retry a little: a model that repeated itself at one temperature tends to
    repeat itself again at the same one."""
    return min(1.0, base + 0.15 * (attempt - 1))


def _honour_variations(cleaner: Cleaner, request: GenerationRequest, seed: int,
                       share: float) -> None:
    """Make the requested share of sentences show each variation the user asked for.

    Small models mostly ignore "write in SMS language"; a deterministic transformation of a
    valid paraphrase keeps the promise, and the sentence says it was transformed.
    """
    kept = cleaner.kept
    if not kept:
        return
    kinds = [k for k in variations.KINDS if getattr(request.options, k)]
    target = max(1, math.ceil(len(kept) * share))
    for kind in kinds:
        showing = sum(1 for s in kept if variations.shows_variation(s.text, request.locale, kind))
        # Untransformed sentences first, so variations spread over the batch.
        order = sorted(range(len(kept)), key=lambda i: (kept[i].origin == Origin.TRANSFORMED, i))
        for i in order:
            if showing >= target:
                break
            sentence = kept[i]
            if variations.shows_variation(sentence.text, request.locale, kind):
                continue
            new_text = variations.apply_variation(sentence.text, request.locale, kind,
                                                  seed=seed + i)
            if not new_text or cleaner.is_taken(new_text):
                continue
            cleaner.replace(i, Sentence(
                text=new_text, origin=Origin.TRANSFORMED, scores=dict(sentence.scores),
                source_text=sentence.source_text or sentence.text,
                variations=[*sentence.variations, kind]))
            showing += 1
