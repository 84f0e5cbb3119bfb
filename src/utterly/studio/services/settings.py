"""Per-bot settings: sentence generation (provider, prompt) and observability."""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...catalogue import CATALOGUE, DEFAULT_LOCAL_MODEL
from ...errors import ErrorCode, ProviderError, UtterlyError
from ...generation import acheck_provider
from ...observability import TracingConfig
from ...observability.check import check_langfuse, check_otlp
from ...outbound import OutboundPolicy, check_url
from ...prompt import (
    TEMPLATE_VARIABLES,
    RenderedPrompt,
    default_template,
    template_version,
    validate_template,
)
from ...providers import PROVIDERS, ProviderConfig, setting_fields
from ...providers.base import DEFAULT_TIMEOUT_S
from ...sentence_count import DEFAULT_SENTENCES
from ..access import Actor, bot_for
from ..errors import Invalid, from_core
from ..models import GenerationRun, ObservabilitySettings, SentenceGenerationSettings
from ..schemas import (
    CheckOut,
    ObservabilitySettingsIn,
    ObservabilitySettingsOut,
    PromptPreview,
    SentenceGenerationSettingsIn,
    SentenceGenerationSettingsOut,
    WaitEstimate,
)
from ..secrets import SecretBox, mask

# The settings stored in columns of their own; every other provider setting is one of
# the row's provider_options.
_COLUMNS = {"model", "base_url"}


def outbound_policy() -> OutboundPolicy:
    """The server's outbound policy (UTTERLY_OUTBOUND_ALLOW / _DENY), for every client built
    from stored settings: they name URLs that the server then connects to."""
    return OutboundPolicy.from_env()


def _check_url(value: str | None, field: str) -> str | None:
    try:
        return check_url(value, field, outbound_policy())
    except UtterlyError as exc:
        raise from_core(exc) from None


# ---- sentence generation --------------------------------------------------------------

def generation_row(session: Session, bot_id: int) -> SentenceGenerationSettings:
    row = session.get(SentenceGenerationSettings, bot_id)
    if row is None:  # a bot from before settings existed, or inserted by hand
        row = SentenceGenerationSettings(bot_id=bot_id, enabled=False, provider="local",
                                         temperature=0.7, nb_sentences=DEFAULT_SENTENCES,
                                         prompt_version=template_version(default_template()))
        session.add(row)
        session.flush()
    return row


def default_timeout(provider: str) -> float:
    """A generation's time limit when the bot sets none (ProviderInfo.default_timeout_s)."""
    info = PROVIDERS.get(provider)
    return info.default_timeout_s if info is not None else DEFAULT_TIMEOUT_S


def timeout_of(row: SentenceGenerationSettings) -> float:
    """The limit a generation of this bot runs with, every attempt included."""
    return row.timeout_s or default_timeout(row.provider)


# Calls at once to a provider's endpoint when the bot sets none: what the provider's
# registry entry says (the embedded model runs one generation at a time anyway). The one
# table every reader goes through: jobs.CONCURRENCY is this very dict, which tests lower.
DEFAULT_CONCURRENCY = {name: info.concurrency for name, info in PROVIDERS.items()}


def default_concurrency(provider: str) -> int:
    return DEFAULT_CONCURRENCY.get(provider, 2)  # 2: ProviderInfo's own default


def concurrency_of(row: SentenceGenerationSettings) -> int:
    """The calls at once this bot makes to its provider endpoint, across every worker."""
    return row.max_concurrency or default_concurrency(row.provider)


# The runs an estimate of the wait is made from: recent enough to reflect the model and the
# server as they are, enough for a median to shrug off one slow start.
ESTIMATE_RUNS = 20


# Seconds per requested sentence assumed before a bot's first finished run, for a model
# whose speed is not known (a hosted model writes faster, a busy server's slower): an
# estimate said as such, so that the first run is not announced with no idea at all.
DEFAULT_SECONDS_PER_SENTENCE = 1.0


def wait_estimate(session: Session, row: SentenceGenerationSettings) -> WaitEstimate:
    """The median seconds per requested sentence of the bot's recent finished runs with its
    current provider; stopped and failed runs say nothing of a normal wait. Without such
    runs, the embedded model's known speed, or DEFAULT_SECONDS_PER_SENTENCE."""
    rows = session.execute(
        select(GenerationRun.latency_s, GenerationRun.request)
        .where(GenerationRun.bot_id == row.bot_id, GenerationRun.provider == row.provider,
               GenerationRun.status == "succeeded", GenerationRun.latency_s.is_not(None))
        .order_by(GenerationRun.id.desc()).limit(ESTIMATE_RUNS)).all()
    per_sentence = [latency / request["n"] for latency, request in rows
                    if isinstance(request, dict) and (request.get("n") or 0) > 0]
    if per_sentence:
        return WaitEstimate(seconds_per_sentence=round(statistics.median(per_sentence), 3),
                            runs=len(per_sentence))
    known = CATALOGUE.get(row.model or DEFAULT_LOCAL_MODEL) if row.provider == "local" else None
    if known is not None and known.seconds_per_sentence is not None:
        return WaitEstimate(seconds_per_sentence=known.seconds_per_sentence, runs=0,
                            source="model")
    return WaitEstimate(seconds_per_sentence=DEFAULT_SECONDS_PER_SENTENCE, runs=0,
                        source="default")


def generation_out(row: SentenceGenerationSettings, box: SecretBox,
                   session: Session) -> SentenceGenerationSettingsOut:
    template = row.prompt_template or default_template()
    return SentenceGenerationSettingsOut(
        enabled=row.enabled, provider=row.provider,
        **{name: mask(value) if _is_secret(name) else value
           for name, value in stored_values(row, box).items()},
        temperature=row.temperature,
        nb_sentences=row.nb_sentences, timeout_s=row.timeout_s,
        effective_timeout_s=timeout_of(row),
        default_timeout_s={name: default_timeout(name) for name in PROVIDERS},
        max_concurrency=row.max_concurrency, effective_max_concurrency=concurrency_of(row),
        default_max_concurrency={name: default_concurrency(name) for name in PROVIDERS},
        estimate=wait_estimate(session, row),
        prompt_template=template,
        prompt_is_default=row.prompt_template is None, default_prompt_template=default_template(),
        prompt_version=template_version(template),
        prompt_variables=list(TEMPLATE_VARIABLES), updated_at=row.updated_at,
        content_traced_to=content_destinations(tracing_for(session, row.bot_id, box)))


def get_generation(session: Session, actor: Actor, bot_id: int, box: SecretBox
                   ) -> SentenceGenerationSettingsOut:
    bot = bot_for(session, actor, bot_id)
    return generation_out(generation_row(session, bot.id), box, session)


def _is_secret(name: str) -> bool:
    return any(spec.secret for spec in setting_fields() if spec.name == name)


def stored_values(row: SentenceGenerationSettings, box: SecretBox) -> dict[str, str | None]:
    """Every provider setting the row holds, by name, its secrets decrypted: never to be
    logged nor sent back as they are."""
    options = row.provider_options or {}
    values = {}
    for spec in setting_fields():
        if spec.name in _COLUMNS:
            values[spec.name] = getattr(row, spec.name)
        elif spec.name == "api_key":
            values[spec.name] = row.api_key_encrypted
        else:
            values[spec.name] = options.get(spec.name)
        if spec.secret and values[spec.name]:
            values[spec.name] = box.decrypt(values[spec.name])
    return values


def store_values(row: SentenceGenerationSettings, values: dict[str, str | None],
                 box: SecretBox) -> None:
    """Write the provider settings `values` (every one of setting_fields(); secrets in
    clear) into the row, its secrets encrypted."""
    options = {}
    for spec in setting_fields():
        value = values.get(spec.name) or None
        if spec.secret and value:
            value = box.encrypt(value)
        if spec.name in _COLUMNS:
            setattr(row, spec.name, value)
        elif spec.name == "api_key":
            row.api_key_encrypted = value
        elif value is not None:
            options[spec.name] = value
    row.provider_options = options or None


def _checked_urls(values: dict[str, str | None]) -> dict[str, str | None]:
    """The values with every URL checked against the outbound policy (422 when refused)."""
    return {name: _check_url(value, name) if spec.kind == "url" else value
            for spec in setting_fields() for name, value in values.items()
            if spec.name == name}


def provider_config(provider: str, values: dict, timeout_s: float | None) -> ProviderConfig:
    """The core's provider config for what the settings say (`values`: by setting name,
    secrets in clear): nothing from the server's environment (its OPENAI_API_KEY would
    otherwise go to the URL an admin typed), and connections only where the outbound policy
    allows."""
    return ProviderConfig.of(
        provider, **{spec.name: values.get(spec.name) for spec in setting_fields()},
        timeout_s=timeout_s or default_timeout(provider), read_env=False,
        outbound=outbound_policy())


def endpoint_config(row: SentenceGenerationSettings) -> ProviderConfig:
    """The row's provider and where it connects, without its secrets: enough to know which
    endpoint's limits apply."""
    options = row.provider_options or {}
    return ProviderConfig.of(row.provider, base_url=row.base_url, **{
        spec.name: options.get(spec.name) for spec in setting_fields()
        if spec.kind == "url" and spec.name not in _COLUMNS})


def _check_local_model(provider: str, model: str | None) -> None:
    """The Studio's local provider runs only the embedded catalogue's models. A path would let
    anyone who can create a namespace (and so administer it) make the server open, and
    report on, any file it can read; custom GGUF files are for the CLI and the library."""
    if provider == "local" and model and model not in CATALOGUE:
        raise Invalid(f"`{model}` is not one of the Studio's local models", field="model",
                      hint="use one of: " + ", ".join(CATALOGUE)
                           + " (leave it empty for the default)",
                      reason="unknown_local_model",
                      params={"model": model, "models": ", ".join(CATALOGUE)})


def config_of(row: SentenceGenerationSettings, box: SecretBox) -> ProviderConfig:
    _check_local_model(row.provider, row.model)
    return provider_config(row.provider, _checked_urls(stored_values(row, box)),
                           row.timeout_s)


def custom_template(template: str | None) -> str | None:
    """The template that settings with `template` store and so must render first; None
    when they keep the stored one or follow the default."""
    if template is None or template.strip() == default_template().strip():
        return None
    return template


def _resolve(data: SentenceGenerationSettingsIn, row: SentenceGenerationSettings,
             box: SecretBox, template_checked: bool = False) -> tuple[dict, dict]:
    """Validated fields: the settings but the provider's, and the provider's by name, their
    secrets in clear (new, kept or removed: an omitted secret keeps the stored one).
    `template_checked`: the caller rendered `custom_template(data.prompt_template)` already
    (the API does, outside any web thread: studio/template_renders.py)."""
    names = [spec.name for spec in setting_fields()]
    fields = data.model_dump(exclude=set(names))
    _check_local_model(data.provider, data.model)
    stored = stored_values(row, box)
    values = _checked_urls({name: getattr(data, name) for name in names})
    for name in names:
        if _is_secret(name):
            values[name] = stored[name] if values[name] is None else (values[name] or None)
    if data.prompt_template is not None:
        if custom_template(data.prompt_template) is None:
            fields["prompt_template"] = None  # "reset to default" keeps following updates
        elif not template_checked:
            try:
                validate_template(data.prompt_template)
            except UtterlyError as exc:
                raise from_core(exc) from None
    info = PROVIDERS[data.provider]
    for spec in info.fields:
        if spec.name in info.required and not values.get(spec.name):
            raise Invalid(f"{spec.name} is required for provider `{data.provider}`",
                          field=spec.name, hint=spec.hint, reason="required_for_provider",
                          params={"provider": data.provider})
    return fields, values


def run_check(config: ProviderConfig, tracing: TracingConfig | None = None,
              trace_context: dict | None = None) -> CheckOut:
    """The provider's own check, its failure classified rather than raised. It quotes
    nothing the URL answered (ProviderConfig.quote_server): its status and our words only.
    The URL is whatever a bot's admin typed, and may be some internal service's: a check
    that quoted it (its error message, the models it lists) would be a way to read that
    service. A generation's errors may still quote a provider's own error message."""
    config = replace(config, quote_server=False)
    try:
        result = asyncio.run(acheck_provider(config, tracing=tracing,
                                             trace_context=trace_context))
    except UtterlyError as exc:
        # The provider's own name when it set one: an openai-compatible server is `openai`.
        return CheckOut(ok=False, message=exc.message,
                        provider=getattr(exc, "provider", None) or config.provider,
                        model=config.model, error=exc.to_dict())
    return CheckOut(ok=result.ok, message=result.message, provider=result.provider,
                    model=result.model, details=result.details)


def put_generation(session: Session, actor: Actor, bot_id: int,
                   data: SentenceGenerationSettingsIn, box: SecretBox, *,
                   template_checked: bool = False) -> SentenceGenerationSettingsOut:
    bot = bot_for(session, actor, bot_id, "admin")
    row = generation_row(session, bot.id)
    fields, values = _resolve(data, row, box, template_checked)
    if data.enabled:
        check = run_check(provider_config(data.provider, values, data.timeout_s))
        if not check.ok:
            error = check.error or {"code": ErrorCode.SERVER_ERROR, "message": check.message}
            raise from_core(ProviderError(
                ErrorCode(error["code"]), "the provider check failed, settings not saved: "
                + error["message"], hint=error.get("hint", ""), provider=data.provider))
    for name, value in fields.items():
        setattr(row, name, value)
    store_values(row, values, box)
    row.prompt_version = template_version(row.prompt_template or default_template())
    row.updated_by = actor.user_id
    session.flush()
    return generation_out(row, box, session)


def check_generation(session: Session, actor: Actor, bot_id: int,
                     data: SentenceGenerationSettingsIn | None, box: SecretBox, *,
                     template_checked: bool = False) -> CheckOut:
    bot = bot_for(session, actor, bot_id, "admin")
    row = generation_row(session, bot.id)
    tracing = tracing_for(session, bot.id, box)
    context = {"user_id": actor.username, "tags": [f"bot:{bot.name}"],
               "metadata": {"bot_id": bot.id}}
    if data is None:
        return run_check(config_of(row, box), tracing, context)
    _, values = _resolve(data, row, box, template_checked)
    return run_check(provider_config(data.provider, values, data.timeout_s), tracing, context)


def bot_scope(session_factory, actor: Actor, bot_id: int, role: str = "viewer"
              ) -> tuple[int, str]:
    """The namespace and first locale of a bot the actor may act on as `role` (404 or 403
    as `bot_for`), in a short session of its own: a template render is admitted per
    namespace, and must not hold a connection while it runs; its example is in the bot's
    language."""
    with session_factory() as session:
        bot = bot_for(session, actor, bot_id, role)
        return bot.namespace_id, bot.locales[0]


def template_or_default(template: str | None) -> str:
    return template if template is not None else default_template()


def preview_of(template: str, rendered: RenderedPrompt) -> PromptPreview:
    """The prompt a template gives on the example request (prompt.validate_template)."""
    return PromptPreview(messages=rendered.messages, prompt_version=template_version(template),
                         variables=TEMPLATE_VARIABLES)


def export_generation(session: Session, actor: Actor, bot_id: int, box: SecretBox,
                      include_secret: bool) -> SentenceGenerationSettingsIn:
    bot = bot_for(session, actor, bot_id, "admin")
    row = generation_row(session, bot.id)
    values = stored_values(row, box)
    return SentenceGenerationSettingsIn(
        enabled=row.enabled, provider=row.provider,
        **{name: None if _is_secret(name) and not include_secret else value
           for name, value in values.items()},
        temperature=row.temperature,
        nb_sentences=row.nb_sentences, timeout_s=row.timeout_s,
        max_concurrency=row.max_concurrency, prompt_template=row.prompt_template)


# ---- observability --------------------------------------------------------------------

def tracing_for(session: Session, bot_id: int, box: SecretBox) -> TracingConfig | None:
    """Where this bot's traces go: its observability settings when enabled, else the
    server's environment (LANGFUSE_*, OTEL_EXPORTER_OTLP_ENDPOINT; content only with
    UTTERLY_TRACE_CONTENT=1), else nowhere."""
    row = session.get(ObservabilitySettings, bot_id)
    if row is None or not row.enabled:
        return TracingConfig.from_env(capture_by_default=False)
    secret = (box.decrypt(row.langfuse_secret_key_encrypted)
              if row.langfuse_secret_key_encrypted else None)
    config = TracingConfig(langfuse_public_key=row.langfuse_public_key,
                           langfuse_secret_key=secret, langfuse_host=row.langfuse_host,
                           otlp_endpoint=row.otlp_endpoint,
                           capture_content=row.capture_content, outbound=outbound_policy())
    return config if config.enabled else None


def content_destinations(tracing: TracingConfig | None) -> list[dict]:
    """Where a generation's prompts and sentences also go, for tracing, when content
    capture is on: each destination's kind and origin (scheme, host and port: never a
    path or credentials), for the people about to send them to know."""
    if tracing is None or not tracing.capture_content:
        return []
    found = []
    if tracing.langfuse:
        found.append({"kind": "langfuse", "host": _origin(tracing.langfuse_host)})
    if tracing.otlp_endpoint:
        found.append({"kind": "otlp", "host": _origin(tracing.otlp_endpoint)})
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # the environment's URL is not checked as stored settings are
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def observability_row(session: Session, bot_id: int) -> ObservabilitySettings:
    row = session.get(ObservabilitySettings, bot_id)
    if row is None:
        row = ObservabilitySettings(bot_id=bot_id, enabled=False, capture_content=False)
        session.add(row)
        session.flush()
    return row


def observability_out(row: ObservabilitySettings, box: SecretBox) -> ObservabilitySettingsOut:
    secret = (box.decrypt(row.langfuse_secret_key_encrypted)
              if row.langfuse_secret_key_encrypted else None)
    return ObservabilitySettingsOut(
        enabled=row.enabled, langfuse_public_key=row.langfuse_public_key,
        langfuse_secret_key=mask(secret), langfuse_host=row.langfuse_host,
        otlp_endpoint=row.otlp_endpoint, capture_content=row.capture_content,
        updated_at=row.updated_at)


def get_observability(session: Session, actor: Actor, bot_id: int, box: SecretBox
                      ) -> ObservabilitySettingsOut:
    bot = bot_for(session, actor, bot_id, "admin")
    return observability_out(observability_row(session, bot.id), box)


def _resolve_observability(data: ObservabilitySettingsIn, row: ObservabilitySettings,
                           box: SecretBox) -> tuple[dict, str | None]:
    fields = data.model_dump(exclude={"langfuse_secret_key"})
    fields["langfuse_host"] = _check_url(data.langfuse_host, "langfuse_host")
    fields["otlp_endpoint"] = _check_url(data.otlp_endpoint, "otlp_endpoint")
    if data.langfuse_secret_key is None:
        secret = (box.decrypt(row.langfuse_secret_key_encrypted)
                  if row.langfuse_secret_key_encrypted else None)
    else:
        secret = data.langfuse_secret_key or None
    public = data.langfuse_public_key
    if public and not public.startswith("pk-lf-"):
        raise Invalid("langfuse_public_key must start with `pk-lf-`",
                      field="langfuse_public_key", reason="key_prefix",
                      params={"prefix": "pk-lf-"},
                      hint="copy the public key from Langfuse › Project settings › API keys")
    if data.langfuse_secret_key and not data.langfuse_secret_key.startswith("sk-lf-"):
        raise Invalid("langfuse_secret_key must start with `sk-lf-`",
                      field="langfuse_secret_key", reason="key_prefix",
                      params={"prefix": "sk-lf-"},
                      hint="copy the secret key from Langfuse › Project settings › API keys")
    if public or secret:
        for name, value in (("langfuse_public_key", public), ("langfuse_secret_key", secret),
                            ("langfuse_host", fields["langfuse_host"])):
            if not value:
                raise Invalid(f"{name} is required with the other Langfuse fields",
                              field=name, hint="give the public key, secret key and host",
                              reason="langfuse_incomplete")
    if data.enabled and not (public or fields["otlp_endpoint"]):
        raise Invalid("nothing to send traces to", field="enabled", reason="no_destination",
                      hint="fill in the Langfuse keys and host, or an OTLP endpoint")
    return fields, secret


def put_observability(session: Session, actor: Actor, bot_id: int,
                      data: ObservabilitySettingsIn, box: SecretBox) -> ObservabilitySettingsOut:
    bot = bot_for(session, actor, bot_id, "admin")
    row = observability_row(session, bot.id)
    fields, secret = _resolve_observability(data, row, box)
    for name, value in fields.items():
        setattr(row, name, value)
    row.langfuse_secret_key_encrypted = box.encrypt(secret) if secret else None
    row.updated_by = actor.user_id
    session.flush()
    return observability_out(row, box)


CHECK_TIMEOUT_S = 5.0


def _checked(provider: str, check) -> CheckOut:
    """An observability check's result, its failure classified rather than raised (as
    `run_check` does for a provider)."""
    try:
        result = check()
    except UtterlyError as exc:
        return CheckOut(ok=False, message=exc.message, provider=provider, error=exc.to_dict())
    return CheckOut(ok=result.ok, message=result.message, provider=result.provider,
                    details=result.details)


def check_observability(session: Session, actor: Actor, bot_id: int,
                        data: ObservabilitySettingsIn | None, box: SecretBox) -> CheckOut:
    bot = bot_for(session, actor, bot_id, "admin")
    row = observability_row(session, bot.id)
    if data is not None:
        fields, secret = _resolve_observability(data, row, box)
    else:  # checked again: saved before the rules of today, or by hand
        fields = {"langfuse_public_key": row.langfuse_public_key,
                  "langfuse_host": _check_url(row.langfuse_host, "langfuse_host"),
                  "otlp_endpoint": _check_url(row.otlp_endpoint, "otlp_endpoint")}
        secret = (box.decrypt(row.langfuse_secret_key_encrypted)
                  if row.langfuse_secret_key_encrypted else None)
    results = []
    if fields["langfuse_public_key"] and secret and fields["langfuse_host"]:
        results.append(_checked("langfuse", lambda: check_langfuse(
            fields["langfuse_host"], fields["langfuse_public_key"], secret,
            timeout_s=CHECK_TIMEOUT_S, outbound=outbound_policy())))
    if fields["otlp_endpoint"]:
        results.append(_checked("otlp", lambda: check_otlp(
            fields["otlp_endpoint"], timeout_s=CHECK_TIMEOUT_S, outbound=outbound_policy())))
    if not results:
        raise Invalid("nothing to check", field="langfuse_host", reason="no_destination",
                      hint="fill in the Langfuse keys and host, or an OTLP endpoint")
    failed = [r for r in results if not r.ok]
    if len(results) == 1:
        return results[0]
    first = failed[0] if failed else results[0]
    return CheckOut(ok=not failed, message="; ".join(r.message for r in results),
                    provider=first.provider, error=first.error,
                    details={r.provider: r.model_dump(exclude_none=True) for r in results})
