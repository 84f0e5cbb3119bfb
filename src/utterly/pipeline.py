"""request → prompt → provider → parse → clean → vary → result, one sentence at a time.

A round asks the provider for several answers written side by side (the local model writes
up to 4 at the cost of about 2; the default template asks them all the same thing, so they
share the whole prompt, and a custom one may tell them apart with `stream`). Every
sentence is judged as soon as its line is written; a kept one gets its variation at once,
so what is shown while the model writes is what the result holds. A stream stops when it
has written what its prompt asked for, the round when `n` are kept. Only when the answers
end short does the pipeline ask again, telling the model what it already has. It knows
nothing of HTTP or storage.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from . import variations, waiting
from .clean import Cleaner, thresholds_for
from .embeddings.base import EmbeddingProvider
from .errors import ErrorCode, ProviderError
from .observability import spans
from .parse import ItemReader, ParseNote
from .prompt import render_request
from .providers.base import ChatProvider, Completion, open_stream
from .request import GenerationRequest, language_of
from .result import GenerationResult, Notice, Origin, Rejection, RejectReason, Sentence, Usage
from .topic import infer_topic

ProgressCallback = Callable[[dict], None]
T = TypeVar("T")

# How often `should_stop()` is asked while the provider is awaited (seconds): a Cancel
# frees the call (its connection, its gate slot, the local model) within this, even from
# a provider that sends nothing. A look is a flag read: asking often costs nothing.
STOP_POLL_S = 0.1

# What a trace keeps of each prompt message and raw answer, and of its parse problems: a
# run's trace is stored with it, and a model that rambles must not make it grow unbounded.
TRACE_TEXT_CHARS = 4000
TRACE_PROBLEMS = 10

# Tokens per sentence asked, generous: French is token-hungry.
_TOKENS_PER_SENTENCE = 40
_TOKENS_OVERHEAD = 16


@dataclass
class PipelineSettings:
    max_attempts: int = 3
    # each stream is asked for its share plus this many, to make up for rejections
    # without a second round
    spare: int = 2
    # answers written side by side; None: as many as the provider can (`max_streams`)
    streams: int | None = None
    # share of the sentences that must show each variation the user asked for
    variation_share: float = 0.5
    check_language: bool = True
    # seconds for the whole generation, every attempt included; None: only the provider's
    # own timeout bounds each call
    deadline_s: float | None = None
    # With no title, first ask the model to name what the examples ask (utterly.topic) and
    # give the prompt that name as the title
    infer_topic: bool = False
    # Name in the prompt this many of the bot's other FAQs, the closest to this one, each
    # with one of its sentences, as questions the new sentences must not ask (needs
    # `other_intents` and embeddings). Off: on the few-shot sets it moved the gain by less
    # than a seed's swing, and with the French rules it lost 2 points (docs/nlu.md)
    neighbours: int = 0


@dataclass
class _Run:
    request: GenerationRequest
    cleaner: Cleaner
    seed: int
    notify: ProgressCallback
    settings: PipelineSettings
    usage: Usage = field(default_factory=Usage)
    rejected: list[Rejection] = field(default_factory=list)
    attempts: int = 0
    model: str = ""
    parse_problems: list[ParseNote] = field(default_factory=list)
    parsed_any: bool = False
    first_candidate_s: float | None = None
    started: float = 0.0
    should_stop: Callable[[], bool | str | None] = lambda: False
    stopped: str | None = None
    trace: list[dict] = field(default_factory=list)
    neighbours: list[dict] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return len(self.cleaner.kept) >= self.request.n

    def stop_reason(self) -> str:
        """Why `should_stop()` said to stop: the word it gave (the Studio tells a Cancel,
        "cancelled", from a client that left, "closed"), else "cancelled"."""
        said = self.should_stop()
        return said if isinstance(said, str) and said else "cancelled"


async def run_generation(request: GenerationRequest, provider: ChatProvider,
                         embeddings: EmbeddingProvider | None = None, *,
                         settings: PipelineSettings | None = None,
                         on_progress: ProgressCallback | None = None,
                         should_stop: Callable[[], bool | str | None] | None = None
                         ) -> GenerationResult:
    """Generate for `request`. `should_stop()` is asked as the model writes, and every
    STOP_POLL_S while the provider is awaited (for a slot, an answer, a retry): when it
    says True (a client left, a Cancel button), the call is abandoned and the sentences
    kept so far are the result (`stopped="cancelled"`, or the word `should_stop()` returned
    instead of True). A model that times out after some sentences were kept gives them too
    (`stopped="timeout"`); before any, the timeout is raised, with the tokens used so far
    (`usage`). Every call's tokens count, also those of a call cut short."""
    settings = settings or PipelineSettings()
    started = time.perf_counter()
    seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**31)
    cleaner = Cleaner(inputs=list(request.sentences), locale=request.locale,
                      embeddings=spans.traced_embeddings(embeddings),
                      thresholds=thresholds_for(getattr(embeddings, "model", None)),
                      check_language=settings.check_language,
                      title=request.title, other_intents=request.other_intents)
    run = _Run(request=request, cleaner=cleaner, seed=seed, settings=settings,
               notify=on_progress or (lambda event: None), model=provider.model,
               started=started, should_stop=should_stop or (lambda: False))
    with waiting.listening(_heard(run)):
        await _attempts(run, provider)

    if not run.parsed_any and not run.stopped:
        error = ProviderError(
            ErrorCode.INVALID_RESPONSE,
            f"the model's answers held no sentences in {run.attempts} attempt(s)",
            hint="try a larger model or a simpler prompt template; "
                 + "; ".join(run.parse_problems[:3]), provider=provider.name)
        error.trace, error.usage = run.trace, run.usage
        raise error

    notices = (cleaner.notices + _variation_notices(run)
               + _end_notices(run, len(cleaner.kept), request.n))
    return GenerationResult(
        sentences=cleaner.kept, rejected=run.rejected, usage=run.usage,
        attempts=run.attempts, provider=provider.name, model=run.model,
        latency_s=time.perf_counter() - started, requested=request.n,
        warnings=[n.text for n in notices], notices=[n.to_dict() for n in notices],
        seed=seed, first_sentence_s=run.first_candidate_s, stopped=run.stopped,
        trace=run.trace)


def _heard(run: _Run) -> waiting.Listener:
    """Waits for the model, told on the generation's own loop: some are told from a
    worker thread (the embedded model's), and a caller's callback expects its loop's."""
    loop = asyncio.get_running_loop()

    def heard(event: dict) -> None:
        try:
            loop.call_soon_threadsafe(run.notify, event)
        except RuntimeError:  # the loop has closed: the generation is over
            pass

    return heard


async def _attempts(run: _Run, provider: ChatProvider) -> None:
    """Attempts until `n` are kept, the attempts run out, or the generation is stopped."""
    request, cleaner, settings = run.request, run.cleaner, run.settings
    if settings.infer_topic and not request.title:
        run.request = await _with_topic(run, provider)
    run.neighbours = await _closest_others(cleaner, run.request, settings)
    while not run.done and run.attempts < settings.max_attempts and not run.stopped:
        run.attempts += 1
        missing = request.n - len(cleaner.kept)
        with spans.span(f"attempt {run.attempts}", {"utterly.attempt": run.attempts,
                                                    "utterly.asked": missing,
                                                    "utterly.kept_before": len(cleaner.kept)
                                                    }) as attempt:
            plan = _plan(run.request, provider, settings, missing,
                         [s.text for s in cleaner.kept], run.neighbours)
            attempt.set_attribute("utterly.streams", len(plan.prompts))
            try:
                await _bounded_round(run, provider, missing, plan)
            except ProviderError as exc:
                if exc.code != ErrorCode.TIMEOUT or not cleaner.kept:
                    exc.trace, exc.usage = run.trace, run.usage
                    raise
                run.stopped = "timeout"
                run.parsed_any = True
        if run.should_stop():
            run.stopped = run.stopped or run.stop_reason()


async def _with_topic(run: _Run, provider: ChatProvider) -> GenerationRequest:
    """The request with a title the model gave the examples, for the prompt only (the
    cleaner keeps the request it was built with); as it was when the model gives none in
    time. A topic is a help, never a reason to fail."""
    limit = run.settings.deadline_s
    left = None if limit is None else max(0.0, limit / 4 - (time.perf_counter() - run.started))
    with spans.span("infer topic") as span:
        try:
            async with asyncio.timeout(left):
                topic, completion = await _unless_stopped(
                    run, lambda: infer_topic(run.request, provider, seed=run.seed))
        except _Stopped:
            run.stopped = run.stop_reason()
            return run.request
        except (ProviderError, TimeoutError):
            return run.request
        run.usage.add(completion.input_tokens, completion.output_tokens)
        span.set_attribute("utterly.topic", topic or "")
    return run.request.model_copy(update={"title": topic}) if topic else run.request


def _end_notices(run, kept: int, n: int) -> list[Notice]:
    """Why a run kept fewer than the `n` sentences asked, if it did."""
    if run.stopped == "timeout":
        return [Notice("timed_out", {"kept": kept},
                       f"the model did not finish in time; kept the {kept} sentence(s) "
                       "ready by then")]
    if run.stopped:  # cancelled, or a word of the caller's (closed)
        return [Notice("cancelled", {"kept": kept},
                       f"stopped on request after {kept} sentence(s)")]
    if kept < n:
        return [Notice("too_few_passed",
                       {"kept": kept, "requested": n, "attempts": run.attempts},
                       f"only {kept} of {n} sentences passed the filters after "
                       f"{run.attempts} attempt(s); see the rejected ones")]
    return []


def _variation_notices(run: _Run) -> list[Notice]:
    """Each variation asked for that shows in fewer kept sentences than `variation_share`
    aims at: its transform found nothing to change in the others (no table phrase to
    shorten), or has no table for the language. Said, never silently short."""
    request, kept = run.request, run.cleaner.kept
    if not kept:
        return []
    notices = []
    for kind in variations.KINDS:
        if not getattr(request.options, kind):
            continue
        target = math.ceil(len(kept) * run.settings.variation_share)
        shown = sum(1 for s in kept if kind in s.variations
                    or variations.shows_variation(s.text, request.locale, kind))
        if shown >= target:
            continue
        name = kind.replace("_", " ")
        language = language_of(request.locale)
        if kind != "spelling_mistakes" and language not in variations.supported_languages():
            notices.append(Notice(
                "variation_no_table", {"variation": kind, "language": language},
                f"{name} was not applied: it has no table for this language ({language})"))
            continue
        notices.append(Notice(
            "variation_short", {"variation": kind, "shown": shown, "kept": len(kept),
                                "target": target},
            f"{name} was applied to {shown} of {len(kept)} "
            f"{'sentence' if len(kept) == 1 else 'sentences'} ({target} aimed for): the "
            "others had nothing it could change"))
    return notices


@dataclass
class _Plan:
    prompts: list[list[dict]]
    # sentences each prompt asks for (the template's `nb_sentences`): its share of the
    # missing, and some spare
    per_prompt: int


def _plan(request: GenerationRequest, provider: ChatProvider, settings: PipelineSettings,
          missing: int, existing: list[str], neighbours: list[dict] | None = None) -> _Plan:
    most = settings.streams or getattr(provider, "max_streams", 1)
    streams = max(1, min(most, missing))
    share = math.ceil(missing / streams)
    per_prompt = share + settings.spare
    with spans.span("render prompt"):
        prompts = [render_request(request, existing=existing, nb_sentences=per_prompt,
                                  stream=i, streams=streams, neighbours=neighbours).messages
                   for i in range(streams)]
    return _Plan(prompts, per_prompt)


async def prepare_generation(request: GenerationRequest, provider: ChatProvider,
                             embeddings: EmbeddingProvider | None = None, *,
                             settings: PipelineSettings | None = None) -> bool:
    """Have the provider read the first call's prompts now, when it can keep what it reads
    (the local model): the generation of the same request soon after starts writing
    sooner. True when the provider did. `embeddings`: as the generation will have them,
    to name the same closest other FAQs in the prompt."""
    prepare = getattr(provider, "prepare", None)
    if prepare is None:
        return False
    settings = settings or PipelineSettings()
    neighbours = []
    if settings.neighbours and request.other_intents:
        neighbours = await _closest_others(
            Cleaner(inputs=list(request.sentences), locale=request.locale,
                    embeddings=embeddings, title=request.title,
                    other_intents=request.other_intents), request, settings)
    plan = _plan(request, provider, settings, request.n, [], neighbours)
    await prepare(plan.prompts)
    return True


async def _closest_others(cleaner: Cleaner, request: GenerationRequest,
                          settings: PipelineSettings) -> list[dict]:
    if not settings.neighbours or not request.other_intents:
        return []
    with spans.span("closest other FAQs"):
        return await cleaner.closest_others(settings.neighbours)


async def _bounded_round(run: _Run, provider: ChatProvider, missing: int,
                         plan: _Plan) -> None:
    """A round within what is left of `deadline_s`: the provider's timeout bounds one call,
    this bounds the generation, however many attempts it takes."""
    limit = run.settings.deadline_s
    if limit is None:
        await _round(run, provider, missing, plan)
        return
    left = max(0.0, limit - (time.perf_counter() - run.started))
    try:
        async with asyncio.timeout(left):
            await _round(run, provider, missing, plan)
    except TimeoutError:
        error = ProviderError(ErrorCode.TIMEOUT, f"the model did not finish within {limit:g} s",
                              hint="raise the time limit or ask for fewer sentences",
                              provider=provider.name)
        if run.trace:
            run.trace[-1]["error"] = error.to_dict()
        raise error from None


async def _round(run: _Run, provider: ChatProvider, missing: int, plan: _Plan) -> None:
    """One call: answers side by side, each asked for its share of `missing`."""
    request = run.request
    prompts = plan.prompts
    streams = len(prompts)
    run.notify({"event": "attempt", "attempt": run.attempts, "asked": missing,
                "streams": streams, "kept": len(run.cleaner.kept), "requested": request.n})
    temperature = min(1.0, request.temperature + 0.15 * (run.attempts - 1))
    max_tokens = plan.per_prompt * _TOKENS_PER_SENTENCE + _TOKENS_OVERHEAD
    seed = run.seed + 1000 * (run.attempts - 1)
    stream = open_stream(provider, prompts, temperature=temperature, max_tokens=max_tokens,
                         seed=seed)
    record = _open_record(run, prompts, missing, temperature=temperature,
                          max_tokens=max_tokens, seed=seed)
    try:
        await _read_round(run, provider, stream, plan, temperature=temperature,
                          max_tokens=max_tokens, seed=seed)
    except ProviderError as exc:
        record["error"] = exc.to_dict()
        raise
    finally:
        _close_record(record, run, stream)
        # here, not once the answers are read: a call cut short (the time limit, a Cancel)
        # used its tokens too
        run.usage.add(stream.input_tokens, stream.output_tokens)


def _open_record(run: _Run, prompts: list[list[dict]], missing: int, **call) -> dict:
    """The trace record of the call about to be made (what was sent, capped)."""
    distinct: list[list[dict]] = []
    for messages in prompts:
        if messages not in distinct:  # the default template sends every stream the same
            distinct.append(messages)
    record = {"attempt": run.attempts, "asked": missing, "streams": len(prompts), **call,
              "prompts": [[{"role": m["role"], "content": _capped(m["content"])}
                           for m in messages] for messages in distinct],
              "_started": time.perf_counter(), "_kept": len(run.cleaner.kept),
              "_rejected": len(run.rejected), "_problems": len(run.parse_problems)}
    run.trace.append(record)
    return record


def _close_record(record: dict, run: _Run, stream) -> None:
    """What came back: the raw answers (capped), how they were read, tokens and latency."""
    record["answers"] = [_capped(text) for text in stream.texts]
    record["finish_reasons"] = list(stream.finish_reasons)
    # False: the prompts' last `assistant` message (the answer's start) was not sent
    record["prefilled"] = stream.prefilled
    record["model"] = stream.model or run.model
    record["input_tokens"] = stream.input_tokens
    record["output_tokens"] = stream.output_tokens
    record["latency_s"] = round(time.perf_counter() - record.pop("_started"), 3)
    record["kept"] = len(run.cleaner.kept) - record.pop("_kept")
    record["rejected"] = len(run.rejected) - record.pop("_rejected")
    problems = run.parse_problems[record.pop("_problems"):]
    record["parse_problems"] = [_capped(p, 300) for p in problems[:TRACE_PROBLEMS]]
    # the same notes by code and values, for a reader who words them in another language
    record["parse_notes"] = [{"code": p.code, "values": p.values}
                             for p in problems[:TRACE_PROBLEMS]]


def _capped(text: str, limit: int = TRACE_TEXT_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f" […{len(text) - limit} more]"


async def _read_round(run: _Run, provider: ChatProvider, stream, plan: _Plan, *,
                      temperature: float, max_tokens: int, seed: int) -> None:
    """Judge each sentence as its line is written; stop when `n` are kept."""
    prompts = plan.prompts
    written_by = [0] * len(prompts)
    readers = [ItemReader(_prefill(p) if stream.prefilled else "") for p in prompts]
    judged: Counter = Counter()
    with spans.streamed_call_spans(provider.name, provider.model, prompts[0],
                                   temperature=temperature, max_tokens=max_tokens,
                                   seed=seed) as (chat, parse_span, clean_span):
        async with stream:
            pieces = aiter(stream)
            while True:
                try:
                    piece = await _unless_stopped(run, lambda: anext(pieces))
                except StopAsyncIteration:
                    break
                except _Stopped:
                    run.stopped = run.stop_reason()
                    break
                for text in readers[piece.stream].feed(piece.text):
                    written_by[piece.stream] += 1
                    await _judge(run, text, clean_span, judged)
                    if run.done:
                        break
                    # No stop at a stream's share: a step of 3 sequences costs about what
                    # one of 4 does, so the fastest answers fill in for the slowest until
                    # `n` are kept.
                    if written_by[piece.stream] >= plan.per_prompt:
                        stream.stop(piece.stream)
                if run.done:
                    break
        # What the answers held that was not read as they came (JSON, a last line).
        for i, reader in enumerate(readers):
            parsed = reader.finish(complete=stream.finish_reasons[i] == "stop")
            run.parse_problems.extend(parsed.problems)
            for text in parsed.sentences:
                await _judge(run, text, clean_span, judged)
        run.parsed_any = run.parsed_any or any(r._read for r in readers)
        parse_span.set_attribute("utterly.parsed", sum(judged.values()))
        clean_span.set_attribute("utterly.kept", len(run.cleaner.kept))
        for reason, count in judged.items():
            if reason != "kept":
                clean_span.set_attribute(f"utterly.rejected.{reason}", count)
        completion = Completion(text="\n\n".join(stream.texts), model=stream.model,
                                input_tokens=stream.input_tokens,
                                output_tokens=stream.output_tokens,
                                finish_reason=stream.finish_reasons[0])
        if chat is not None:
            chat.record(completion)
    run.model = stream.model or run.model


class _Stopped(Exception):
    """`should_stop()` said True before or while the provider was awaited."""


async def _unless_stopped(run: _Run, call: Callable[[], Awaitable[T]]) -> T:
    """`await call()`, looking at `should_stop()` every STOP_POLL_S meanwhile; when it
    says True, the call is cancelled and _Stopped raised. Asking only between pieces is not
    enough: a provider that sends nothing, or a full gate, would hold the generation (its
    thread, its slot) until its time limit. Cancelling is what frees them: the SDK closes
    its connection, the gate's `async with slot()` gives the slot back or stops waiting,
    the local stream tells the model to stop at its next token."""
    if run.should_stop():
        raise _Stopped
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    fired = False

    def look() -> None:
        nonlocal fired, handle
        if run.should_stop():
            fired = True
            task.cancel()
        else:
            handle = loop.call_later(STOP_POLL_S, look)

    handle = loop.call_later(STOP_POLL_S, look)
    try:
        result = await call()
    except BaseException:
        # Ours alone (no one else cancelled the task): the stop asked for, whatever the
        # cancelled call raised on its way out.
        if fired and task.uncancel() == 0:
            raise _Stopped from None
        raise
    finally:
        handle.cancel()
    if fired:  # the call swallowed the cancel: the stop is seen before the next call
        task.uncancel()
    return result


async def _judge(run: _Run, text: str, clean_span, judged: Counter) -> bool:
    """Keep or reject one candidate; a kept one gets its variations now. True when kept."""
    cleaner = run.cleaner
    surplus = run.done
    before = len(cleaner.kept)
    with spans.use(clean_span):
        rejected = await cleaner.add([text])
    if surplus and len(cleaner.kept) > before:
        # Judged like the others, so that its reason is the true one; valid, but too many.
        rejected.append(Rejection(cleaner.pop_last().text, RejectReason.SURPLUS,
                                  "more than requested"))
    run.rejected.extend(rejected)
    judged.update(str(r.reason) for r in rejected)
    if len(cleaner.kept) == before:
        run.notify({"event": "rejected", "text": text,
                    "reason": str(rejected[0].reason) if rejected else "",
                    "kept": len(cleaner.kept), "requested": run.request.n})
        return False
    judged["kept"] += 1
    _vary(run, before)
    if run.first_candidate_s is None:
        run.first_candidate_s = time.perf_counter() - run.started
    run.notify({"event": "sentences", "attempt": run.attempts, "kept": len(cleaner.kept),
                "requested": run.request.n, "sentences": [s.text for s in cleaner.kept]})
    return True


def _vary(run: _Run, index: int) -> None:
    """Give sentence `index` the variations still owed: each variation asked for must show
    in `variation_share` of the sentences, spread over them as they come.

    Small models mostly ignore "write in SMS language"; a deterministic transformation of a
    valid paraphrase keeps the promise, and the sentence says it was transformed.
    """
    request, cleaner = run.request, run.cleaner
    for kind in variations.KINDS:
        if not getattr(request.options, kind):
            continue
        sentence = cleaner.kept[index]
        if variations.shows_variation(sentence.text, request.locale, kind):
            continue
        showing = sum(1 for s in cleaner.kept[:index]
                      if variations.shows_variation(s.text, request.locale, kind))
        if showing >= math.ceil((index + 1) * run.settings.variation_share):
            continue
        new_text = variations.apply_variation(sentence.text, request.locale, kind,
                                              seed=run.seed + index)
        if not new_text or cleaner.is_taken(new_text):
            continue
        cleaner.replace(index, Sentence(
            text=new_text, origin=Origin.TRANSFORMED, scores=dict(sentence.scores),
            source_text=sentence.source_text or sentence.text,
            variations=[*sentence.variations, kind]))


def _prefill(messages: list[dict]) -> str:
    return messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else ""
