"""Generate sentences for an FAQ, import a person's selection, undo an import."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...errors import ErrorCode, ProviderError, UtterlyError
from ...generation import agenerate, aprepare
from ...normalize import normalize
from ...observability import TracingConfig, get_tracer, total_cost
from ...observability.spans import send_score
from ...observability.tracer import failure_code
from ...pipeline import PipelineSettings
from ...prompt import default_template, template_version
from ...providers import ProviderConfig
from ...providers.gate import OWN_LIMIT, PAUSED
from ...request import MAX_ANSWER_CHARS, GenerationRequest
from ...result import GenerationResult, Rejection, Usage
from ..access import Actor, bot_for, faq_for
from ..errors import Conflict, Invalid, NotFound, StudioError, from_core
from ..gates import GATES
from ..models import Faq, GenerationJobItem, GenerationRun, TrainingSentence, User
from ..schemas import Candidate, GenerateIn, GenerateOut, ImportIn, ImportOut, ImportReport
from ..secrets import SecretBox
from . import bot_limits, trace_delivery
from .bots import existing_sentences
from .bots import prepare as prepare_text
from .nlu import candidate_risks
from .settings import concurrency_of, config_of, generation_row, timeout_of, tracing_for

MAX_SOURCES = 5


def _sources(session: Session, faq: Faq, data: GenerateIn) -> list[str]:
    if data.sentences is not None:
        return data.sentences
    # Human sentences only, as the dialog ticks them: a drifted generated sentence used as
    # a source breeds more of its kind. Generated ones serve only an FAQ that has no other.
    rows = session.execute(select(TrainingSentence.text, TrainingSentence.origin).where(
        TrainingSentence.faq_id == faq.id).order_by(
        (TrainingSentence.origin != "human"), TrainingSentence.id).limit(MAX_SOURCES)).all()
    human = [text for text, origin in rows if origin == "human"]
    if rows:
        return human or [text for text, _ in rows]
    raise Invalid("this FAQ has no sentence to start from", field="sentences",
                  reason="faq_without_sentences",
                  hint="add the FAQ's question as a sentence, or give `sentences`")


# Sentences of each other FAQ given to the core's other-intent check (human ones first),
# and FAQs at most: a bounded query and a bounded embedding time whatever the bot's size.
CONTEXT_SENTENCES = 5
CONTEXT_FAQS = 2000


def _context(session: Session, faq: Faq, locale: str) -> dict:
    """What the bot builder already wrote about this question: the FAQ's title and answer,
    and the bot's other FAQs with a few of their sentences in the run's locale."""
    rank = func.row_number().over(
        partition_by=TrainingSentence.faq_id,
        order_by=((TrainingSentence.origin != "human"), TrainingSentence.id)).label("rank")
    ranked = select(TrainingSentence.faq_id, TrainingSentence.text, rank).where(
        TrainingSentence.bot_id == faq.bot_id, TrainingSentence.locale == locale,
        TrainingSentence.faq_id != faq.id).subquery()
    rows = session.execute(
        select(ranked.c.faq_id, Faq.title, ranked.c.text)
        .join(Faq, Faq.id == ranked.c.faq_id)
        .where(ranked.c.rank <= CONTEXT_SENTENCES)
        .order_by(ranked.c.faq_id, ranked.c.rank)).all()
    others: dict[int, dict] = {}
    for faq_id, title, text in rows:
        if faq_id not in others and len(others) >= CONTEXT_FAQS:
            break
        others.setdefault(faq_id, {"name": title, "sentences": []})["sentences"].append(text)
    # Only the answer's start reaches the prompt; a long one must not refuse the request.
    return {"title": faq.title, "answer": (faq.answer or "")[:MAX_ANSWER_CHARS] or None,
            "other_intents": list(others.values())}


def classify(session: Session, bot_id: int, faq_id: int, locale: str,
             texts: list[str]) -> list[dict]:
    """For each text: new, present (in this FAQ) or conflict (in another FAQ)."""
    keys = [normalize(t) for t in texts]
    found = existing_sentences(session, bot_id, locale, [k for k in keys if k])
    titles: dict[int, str] = {}
    out = []
    for text, key in zip(texts, keys):
        row = found.get(key)
        if row is None:
            out.append({"status": "new"})
        elif row.faq_id == faq_id:
            out.append({"status": "present", "sentence_id": row.id})
        else:
            if row.faq_id not in titles:
                titles[row.faq_id] = session.get(Faq, row.faq_id).title
            out.append({"status": "conflict", "conflict_faq_id": row.faq_id,
                        "conflict_faq_title": titles[row.faq_id]})
    return out


def candidates_of(session: Session, run: GenerationRun) -> list[Candidate]:
    """The run's candidates with their status as of now."""
    texts = [c["text"] for c in run.candidates]
    statuses = classify(session, run.bot_id, run.faq_id, run.request["locale"], texts)
    return [Candidate(text=c["text"], origin=c.get("origin", "model"),
                      scores=c.get("scores", {}), variations=c.get("variations", []),
                      source_text=c.get("source_text"), conflict_risk=c.get("conflict_risk"),
                      status=s["status"], conflict_faq_id=s.get("conflict_faq_id"),
                      conflict_faq_title=s.get("conflict_faq_title"))
            for c, s in zip(run.candidates, statuses)]


@dataclass
class Plan:
    """A generation request checked against the bot, ready to run."""

    actor: Actor
    bot_id: int
    faq_id: int
    # whose share of the Studio's generation threads it takes (studio/fair_share.py)
    namespace_id: int
    provider_name: str
    config: ProviderConfig = field(repr=False)
    prompt_version: str
    # The core's request, validated once: what the model is asked, and what the run stores
    # of it (stored_request)
    request: GenerationRequest = field(repr=False)
    # the bot's limit for the whole generation (settings `timeout_s`, or its default)
    timeout_s: float = 120.0
    tracing: TracingConfig | None = field(default=None, repr=False)
    trace_context: dict = field(default_factory=dict)


def prepare(session_factory, actor: Actor, bot_id: int, faq_id: int, data: GenerateIn,
            box: SecretBox, *, bulk: bool = False) -> Plan:
    """Everything that can refuse a generation before a model is called. `bulk`: for a
    bulk job, whose calls leave a slot to interactive generations (studio/gates.py)."""
    with session_factory() as session:
        bot, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
        settings = generation_row(session, bot.id)
        if not settings.enabled:
            raise Conflict("sentence generation is disabled for this bot",
                           code="generation_disabled",
                           hint="an admin can enable it in Gen AI › Sentence generation "
                                "settings")
        locale = data.locale or faq.locale
        if locale not in bot.locales:
            raise Invalid(f"locale `{locale}` is not one of this bot's locales {bot.locales}",
                          field="locale", hint="use one of the bot's locales",
                          reason="locale_not_in_bot",
                          params={"locale": locale, "locales": ", ".join(bot.locales)})
        template = settings.prompt_template
        config = GATES.gated(config_of(settings, box), concurrency_of(settings), bulk=bulk,
                             bot_id=bot.id, namespace_id=bot.namespace_id)
        wanted = dict(sentences=_sources(session, faq, data), locale=locale,
                      n=data.n or settings.nb_sentences,
                      temperature=(settings.temperature if data.temperature is None
                                   else data.temperature),
                      options=data.options.model_dump(), seed=data.seed,
                      **_context(session, faq, locale), prompt_template=template)
        fields = dict(
            actor=actor, bot_id=bot.id, faq_id=faq.id, namespace_id=bot.namespace_id,
            provider_name=settings.provider,
            config=config, prompt_version=template_version(template or default_template()),
            timeout_s=timeout_of(settings),
            tracing=tracing_for(session, bot.id, box),
            trace_context={
                "user_id": actor.username, "session_id": f"bot-{bot.id}-faq-{faq.id}",
                "tags": [f"bot:{bot.name}", f"faq:{faq.title}"],
                "metadata": {"bot_id": bot.id, "faq_id": faq.id, "faq": faq.title,
                             "namespace_id": bot.namespace_id}})
        session.commit()
    try:  # the core's own validation, so that a bad request fails before streaming starts
        request = GenerationRequest.build(**wanted)
    except UtterlyError as exc:
        raise from_core(exc) from None
    return Plan(**fields, request=request)


def stored_request(request: GenerationRequest) -> dict:
    """What a run stores of its request (GenerationRun.request): not the FAQ's title and
    answer nor the bot's other FAQs, which the FAQ and the bot hold, nor the template,
    which `prompt_version` names."""
    return {"sentences": request.sentences, "locale": request.locale, "n": request.n,
            "temperature": request.temperature, "options": request.options.model_dump(),
            "seed": request.seed}


def warm_up(plan: Plan) -> bool:
    """Have the model read the prompt this generation would send, before the click: the
    local model keeps what it read, so the generation shows its first sentence sooner.
    `plan` was checked (prepare) like a generation's; nothing is stored, nothing is sent to
    a remote provider. True when the model read it."""
    try:
        return asyncio.run(aprepare(plan.request, plan.config))
    except ProviderError as exc:
        raise from_core(exc) from None


def execute(session_factory, plan: Plan, on_progress=None, should_stop=None,
            on_stored=None) -> GenerateOut:
    """Run the core generation and store the run, failed or not. `on_stored(session, run)`
    writes in the run's own transaction (a bulk job marks its item there: no crash can
    leave a stored run whose item would be generated again).

    The model call happens outside any database transaction: it can take a minute, and a
    connection must not be held (or a SQLite write lock taken) for that long.
    """
    request = plan.request
    started = time.perf_counter()
    result: GenerationResult | None = None
    error: ProviderError | None = None
    dropped_before = _dropped(plan.tracing)
    try:
        result = asyncio.run(agenerate(
            plan.request, provider=plan.config, on_progress=on_progress,
            tracing=plan.tracing, trace_context=plan.trace_context, should_stop=should_stop,
            settings=PipelineSettings(deadline_s=plan.timeout_s)))
    except ProviderError as exc:
        error = _named_timeout(exc, plan) if exc.code == ErrorCode.TIMEOUT else exc
    except UtterlyError as exc:  # the request itself was refused: nothing ran
        raise from_core(exc) from None
    latency = result.latency_s if result else time.perf_counter() - started
    # a failed run's calls used tokens too (one that timed out above all)
    usage = result.usage if result else (error.usage or Usage())
    model = (result.model if result else None) or plan.config.model
    cost = result.cost_usd if result else total_cost(
        plan.provider_name, model, usage.input_tokens, usage.output_tokens)
    trace = {"calls": (result.trace if result else error.trace) or [],
             "timeout_s": plan.timeout_s, "stopped": result.stopped if result else None,
             "export": _export_status(plan.tracing, dropped_before),
             # what the run said about itself (GenerateOut.notices), for its later review
             "notices": result.notices if result else []}

    with session_factory() as session, session.begin():
        run = GenerationRun(
            bot_id=plan.bot_id, faq_id=plan.faq_id, user_id=plan.actor.user_id,
            request=stored_request(request), status=_status(result),
            provider=plan.provider_name,
            model=model,
            prompt_version=plan.prompt_version, temperature=request.temperature,
            options=request.options.model_dump(), latency_s=round(latency, 3),
            candidates=_candidates(session, plan, result) if result else [],
            rejected=stored_rejections(result.rejected) if result else [],
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cost=cost,
            trace_id=result.trace_id if result else None,
            trace_url=result.trace_url if result else None,
            error=error.to_dict() if error else None, trace=trace)
        session.add(run)
        session.flush()
        if on_stored is not None:
            on_stored(session, run)
        if error is not None:
            failure = from_core(error)
            failure.extra["run_id"] = run.id
            if error.code == ErrorCode.TIMEOUT:
                failure.extra.update(setting="timeout_s", timeout_s=plan.timeout_s)
        else:
            candidates = candidates_of(session, run)
    trace_delivery.follow(session_factory, run.id, plan.tracing, run.trace_id)
    if error is not None:
        raise failure
    return GenerateOut(
        run_id=run.id, candidates=candidates, rejected=run.rejected,
        usage={"input_tokens": run.input_tokens, "output_tokens": run.output_tokens},
        latency_s=run.latency_s, requested=request.n, warnings=result.warnings,
        notices=result.notices,
        provider=run.provider, model=run.model, prompt_version=plan.prompt_version,
        trace_id=run.trace_id, trace_url=run.trace_url, status=run.status,
        stopped=result.stopped, timeout_s=plan.timeout_s)


def _named_timeout(error: ProviderError, plan: Plan) -> ProviderError:
    """The timeout as a Studio user fixes it: the bot's setting, not the CLI's option; and
    when the time ran out waiting for a call slot, whose slots it waited for."""
    message = (f"the model did not finish within the bot's generation time limit "
               f"({plan.timeout_s:g} s)")
    hint = ("raise `timeout_s` in Gen AI › Sentence generation settings, or ask for fewer "
            "sentences")
    waited = _slot_wait(plan.config.gate)
    if waited is not None:
        message, hint = f"{message}: {waited[0]}", waited[1]
    named = ProviderError(ErrorCode.TIMEOUT, message, hint=hint, provider=error.provider)
    named.trace, named.usage = error.trace, error.usage
    return named


def _slot_wait(gate) -> tuple[str, str] | None:
    """What a generation whose time ran out was still waiting for, if a call slot (studio/
    gates.py): the words of the message and the hint."""
    wait = getattr(gate, "wait", None)
    if wait is None:
        return None
    waited = f"it waited {time.monotonic() - wait.since:.0f} s"
    if wait.reason == OWN_LIMIT:
        return (f"{waited} for one of this bot's own {gate.caller_limit} call(s) at once to "
                "its provider to end",
                "raise the bot's Calls at once to the provider (`max_concurrency`) or its "
                "`timeout_s` in Gen AI › Sentence generation settings")
    if wait.reason == PAUSED:
        return (f"{waited}: the provider asked every caller of its endpoint to pause (429)",
                "try again later; the provider's rate limit was reached")
    return (f"{waited} for one of the {gate.limit} calls at once that its provider endpoint "
            "takes from every bot using it, held by other generations",
            "try again later, or raise `timeout_s`; the server's operator sets the "
            "endpoint's calls at once (UTTERLY_PROVIDER_SLOTS)")


def _dropped(tracing: TracingConfig | None) -> dict[str, int]:
    if tracing is None:
        return {}
    return {c.kind: c.dropped for c in get_tracer(tracing).counters}


def _export_status(tracing: TracingConfig | None, before: dict[str, int]) -> dict:
    """Whether the run's trace was to be exported, and what each destination had failed to
    take by the end of the run, with why it last failed (a status or an error's name, never
    an address). The spans leave in batches after the run, so a failure to export this very
    run shows in the next runs' counts (docs/observability.md)."""
    if tracing is None:
        return {"configured": False, "destinations": []}
    destinations = []
    for c in get_tracer(tracing).counters:
        destination = {"kind": c.kind, "dropped": c.dropped,
                       "dropped_during_run": c.dropped - before.get(c.kind, 0),
                       "last_failure": c.last_failure}
        failure = failure_code(c.last_failure)
        if failure:  # the pages word it from the code (catalogue `export_failure.*`)
            destination.update(last_failure_code=failure[0], last_failure_params=failure[1])
        destinations.append(destination)
    return {"configured": True, "destinations": destinations}


# What the Studio stores of a sentence: TrainingSentence.text is a String(500).
SENTENCE_MAX_CHARS = TrainingSentence.__table__.c.text.type.length


def stored_rejections(rejected: list[Rejection]) -> list[dict]:
    """The rejections a run keeps: each text once, with its first reason (answers written
    side by side, and later attempts, refuse the same text again), and at most a sentence's
    length of it: a model can write one line of hundreds of thousands of characters, which
    no one can import anyway (`truncated`, with its `length`)."""
    seen: set[str] = set()
    out = []
    for r in rejected:
        key = normalize(r.text) or r.text
        if key in seen:
            continue
        seen.add(key)
        entry = {"text": r.text, "reason": str(r.reason), "detail": r.detail}
        if r.code:  # the detail as a code and values, for the pages to word it
            entry.update(code=r.code, params=r.params)
        if len(r.text) > SENTENCE_MAX_CHARS:
            entry.update(text=r.text[:SENTENCE_MAX_CHARS], truncated=True, length=len(r.text))
        out.append(entry)
    return out


def _status(result: GenerationResult | None) -> str:
    """failed (nothing came back), partial (stopped early: at the time limit, by a Cancel,
    or by a client who left, which the run's `trace.stopped` tells apart; what was kept is
    there to review), or succeeded."""
    if result is None:
        return "failed"
    return "partial" if result.stopped else "succeeded"


def _candidates(session: Session, plan: Plan, result: GenerationResult) -> list[dict]:
    texts = [s.text for s in result.sentences]
    risks = candidate_risks(session, plan.bot_id, plan.faq_id, plan.request.locale, texts)
    return [{"text": s.text, "origin": str(s.origin), "scores": s.scores,
             "variations": s.variations, "source_text": s.source_text, "conflict_risk": risk}
            for s, risk in zip(result.sentences, risks)]


def generate(session_factory, actor: Actor, bot_id: int, faq_id: int, data: GenerateIn,
             box: SecretBox, on_stored=None, bulk: bool = False) -> GenerateOut:
    plan = prepare(session_factory, actor, bot_id, faq_id, data, box, bulk=bulk)
    return execute(session_factory, plan, on_stored=on_stored)


def require_generator(session: Session, actor: Actor, bot_id: int) -> None:
    """Who may generate on the bot (and so stop a generation): a bot_user or more."""
    bot_for(session, actor, bot_id, "bot_user")


def _run_of(session: Session, bot_id: int, run_id: int, field: str | None = None
            ) -> GenerationRun:
    run = session.get(GenerationRun, run_id)
    if run is None or run.bot_id != bot_id:
        raise NotFound("generation run", field=field)
    return run


def import_sentences(session: Session, actor: Actor, bot_id: int, faq_id: int,
                     data: ImportIn, box: SecretBox | None = None) -> ImportOut:
    """Import a selection of a run's candidates into the FAQ, all or nothing. A rejected
    candidate of the run may be imported too: the filters advise, the reviewer decides.

    Repeating a request reports `already_present` for what it imported the first time. A
    refusal (409 `import_refused`) reports `would_import` for the acceptable texts, since
    nothing was imported.
    """
    bot, faq = faq_for(session, actor, bot_id, faq_id, "bot_user")
    run = _run_of(session, bot.id, data.run_id, field="run_id")
    locale = run.request["locale"]
    # A rejected candidate is the run's too: the reviewer may keep one the filters refused
    # (the conflict check below still applies).
    offered = [*run.candidates, *run.rejected] if run.faq_id == faq.id else []
    by_key = {normalize(c["text"]): c for c in reversed(offered) if c.get("text")}
    texts = [_importable(t, f"texts.{i}", by_key) for i, t in enumerate(data.texts)]
    statuses = classify(session, bot.id, faq.id, locale, texts)
    report: list[ImportReport] = []
    to_add: dict[str, tuple[int, str]] = {}
    for i, (text, status) in enumerate(zip(texts, statuses)):
        key = normalize(text)
        if key not in by_key:
            report.append(ImportReport(text=text, status="not_from_run"))
        elif status["status"] == "conflict":
            report.append(ImportReport(text=text, status="conflict",
                                       conflict_faq_id=status["conflict_faq_id"],
                                       conflict_faq_title=status["conflict_faq_title"]))
        elif status["status"] == "present" or key in to_add:
            report.append(ImportReport(text=text, status="already_present",
                                       sentence_id=status.get("sentence_id")))
        else:
            to_add[key] = (len(report), by_key[key]["text"])
            report.append(ImportReport(text=text, status="imported"))
    refused = [r for r in report if r.status in ("conflict", "not_from_run")]
    if refused:
        # Nothing is imported: what would have been is `would_import`, not `imported`.
        raise StudioError(
            f"{len(refused)} of {len(report)} sentences cannot be imported; nothing was "
            "imported", status=409, code="import_refused",
            hint="leave out the sentences marked conflict or not_from_run and try again",
            report=[{**r.model_dump(),
                     "status": "would_import" if r.status == "imported" else r.status}
                    for r in report])
    bot_limits.check_room(session, bot.id, sentences=len(to_add))
    rows = []
    for key, (index, text) in to_add.items():
        row = TrainingSentence(
            bot_id=bot.id, faq_id=faq.id, text=text, normalized=key, locale=locale,
            origin="generated", generation_run_id=run.id, provider=run.provider,
            model=run.model, prompt_version=run.prompt_version, temperature=run.temperature,
            options=run.options, trace_id=run.trace_id, created_by=actor.user_id)
        rows.append((index, row))
        session.add(row)
    session.flush()
    for index, row in rows:
        report[index].sentence_id = row.id
    _score_acceptance(session, run, box)
    return ImportOut(run_id=run.id, imported=len(rows), report=report)


def _importable(text: str, field: str, offered: dict[str, dict]) -> str:
    """The text as a sentence is stored, or a 422 naming the field: a rejected candidate
    ("keep anyway") is held to a sentence's length like any other."""
    shown = prepare_text(text, field)[0]
    if len(shown) > SENTENCE_MAX_CHARS:
        raise Invalid(f"{field} has {len(shown):,} characters; a sentence has at most "
                      f"{SENTENCE_MAX_CHARS}", field=field, reason="sentence_too_long",
                      params={"length": len(shown), "max_length": SENTENCE_MAX_CHARS},
                      hint="leave it out, or shorten it and add it as a sentence of your own")
    entry = offered.get(normalize(shown))
    if entry is not None and entry.get("truncated"):
        raise Invalid(f"{field} is the start of a rejected text of {entry['length']:,} "
                      f"characters, stored cut; a sentence has at most {SENTENCE_MAX_CHARS}",
                      field=field, reason="sentence_too_long",
                      params={"length": entry["length"], "max_length": SENTENCE_MAX_CHARS},
                      hint="leave it out, or shorten it and add it as a sentence of your own")
    return shown


def _score_acceptance(session: Session, run: GenerationRun, box) -> None:
    """The share of a run's candidates a person imported, as a score on its trace."""
    if not run.trace_id or not run.candidates:
        return
    tracing = tracing_for(session, run.bot_id, box) if box is not None else None
    if tracing is None or not tracing.langfuse:
        return
    imported = imported_counts(session, [run.id]).get(run.id, 0)
    send_score(get_tracer(tracing), run.trace_id, "accepted_share",
               round(imported / len(run.candidates), 4))


def undo_import(session: Session, actor: Actor, bot_id: int, run_id: int) -> int:
    bot = bot_for(session, actor, bot_id, "bot_user")
    run = _run_of(session, bot.id, run_id)
    result = session.execute(delete(TrainingSentence).where(
        TrainingSentence.generation_run_id == run.id))
    return result.rowcount


def imported_counts(session: Session, run_ids: list[int]) -> dict[int, int]:
    if not run_ids:
        return {}
    rows = session.execute(select(TrainingSentence.generation_run_id, func.count()).where(
        TrainingSentence.generation_run_id.in_(run_ids)).group_by(
        TrainingSentence.generation_run_id))
    return dict(rows.all())


def list_runs(session: Session, actor: Actor, bot_id: int, *, faq_id: int | None,
              limit: int, offset: int, status: str | None = None,
              user: str | None = None, job_id: int | None = None) -> tuple[int, list[dict]]:
    """The bot's runs, newest first, of one FAQ, status, username and bulk job when given.
    An unknown username matches nothing: which names exist is not for a bot's viewer to
    probe."""
    bot = bot_for(session, actor, bot_id)
    where = [GenerationRun.bot_id == bot.id]
    if faq_id is not None:
        where.append(GenerationRun.faq_id == faq_id)
    if status is not None:
        where.append(GenerationRun.status == status)
    if user is not None:
        where.append(GenerationRun.user_id.in_(
            select(User.id).where(User.username == user).scalar_subquery()))
    if job_id is not None:
        where.append(GenerationRun.id.in_(select(GenerationJobItem.run_id).where(
            GenerationJobItem.job_id == job_id)))
    total = session.scalar(select(func.count()).select_from(GenerationRun).where(*where))
    runs = list(session.scalars(select(GenerationRun).where(*where).order_by(
        GenerationRun.id.desc()).limit(limit).offset(offset)))
    return total, [summary(session, run, imported) for run, imported in
                   zip(runs, _imported_list(session, runs))]


def history_filters(session: Session, actor: Actor, bot_id: int) -> dict:
    """What the history can be filtered by: the FAQs and the people that have runs on the
    bot (an FAQ or a person without one would only ever show an empty list)."""
    bot = bot_for(session, actor, bot_id)
    faqs = session.execute(select(Faq.id, Faq.title).where(Faq.id.in_(
        select(GenerationRun.faq_id).where(GenerationRun.bot_id == bot.id))).order_by(
        Faq.title, Faq.id)).all()
    people = session.scalars(select(User.username).where(User.id.in_(
        select(GenerationRun.user_id).where(GenerationRun.bot_id == bot.id))).order_by(
        User.username)).all()
    return {"faqs": [{"id": i, "title": t} for i, t in faqs], "people": list(people)}


def _imported_list(session: Session, runs: list[GenerationRun]) -> list[int]:
    counts = imported_counts(session, [r.id for r in runs])
    return [counts.get(r.id, 0) for r in runs]


def summary(session: Session, run: GenerationRun, imported: int) -> dict:
    faq = session.get(Faq, run.faq_id) if run.faq_id else None
    user = session.get(User, run.user_id) if run.user_id else None
    return {
        "id": run.id, "bot_id": run.bot_id, "faq_id": run.faq_id,
        "faq_title": faq.title if faq else None, "username": user.username if user else None,
        "created_at": run.created_at, "status": run.status, "provider": run.provider,
        "model": run.model, "prompt_version": run.prompt_version,
        "temperature": run.temperature, "options": run.options,
        "kept": len(run.candidates), "rejected_count": len(run.rejected),
        "imported": imported, "latency_s": run.latency_s, "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens, "cost": run.cost, "trace_id": run.trace_id,
        "trace_url": run.trace_url, "trace_export": trace_delivery.status(run.trace),
        "stopped": (run.trace or {}).get("stopped"), "error": run.error,
    }


def get_run(session: Session, actor: Actor, bot_id: int, run_id: int) -> dict:
    bot = bot_for(session, actor, bot_id)
    run = _run_of(session, bot.id, run_id)
    data = summary(session, run, imported_counts(session, [run.id]).get(run.id, 0))
    data.update(request=run.request, rejected=run.rejected, trace=run.trace,
                notices=(run.trace or {}).get("notices", []),
                candidates=candidates_of(session, run) if run.faq_id else [])
    return data
