"""The API's request and response bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from ..providers import PROVIDERS, setting_fields
from ..request import VariationOptions, normalize_locale
from ..sentence_count import DEFAULT_SENTENCES, MAX_SENTENCES

Role = Literal["admin", "bot_user", "viewer"]
ProviderName = Literal[tuple(PROVIDERS)]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
# A bot's generation time limit: below 5 s no model answers; above 10 min nobody waits.
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 5.0, 600.0
# A bot's calls at once to its provider endpoint: at least one; above 64 a provider's rate
# limit answers long before the extra calls help.
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 64


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# One definition of a valid locale: the generation request's.
Locale = Annotated[str, AfterValidator(normalize_locale)]
Locales = Annotated[list[Locale], AfterValidator(_unique), Field(min_length=1, max_length=20)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---- auth and users -------------------------------------------------------------------

class Credentials(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int | None


class LoginOut(BaseModel):
    username: str
    csrf_token: str
    expires_in: int


class ApiTokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    # None: the server's default (90 days unless set); never beyond its maximum (365)
    expires_in_days: int | None = Field(default=None, ge=1, le=36500)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ApiTokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    token: str | None = None  # shown once, at creation


class NamespaceRole(BaseModel):
    id: int
    name: str
    role: Role


class Me(BaseModel):
    id: int
    username: str
    site_admin: bool
    namespaces: list[NamespaceRole]


class NamespaceIn(Strict):
    name: str = Field(min_length=2, max_length=64)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _username(v)


class MemberIn(Strict):
    username: str = Field(min_length=2, max_length=64)
    role: Role

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        return _username(v)


def _username(v: str) -> str:
    """A user's or a namespace's name, lower-cased."""
    v = v.lower()
    if not _NAME.match(v):
        # a type of our own, that the pages word in their language (catalogue/)
        raise PydanticCustomError("name_format",
                                  "use 2-64 lower-case letters, digits, '-', '_' or '.'")
    return v


class UserIn(Strict):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    site_admin: bool = False

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        return _username(v)


class UserOut(BaseModel):
    id: int
    username: str
    site_admin: bool
    disabled: bool
    created_at: datetime


class UserPatch(Strict):
    # a new password (a reset); disabled; the site-admin right
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    disabled: bool | None = None
    site_admin: bool | None = None


class MemberPatch(Strict):
    role: Role


class MemberOut(BaseModel):
    user_id: int
    username: str
    role: Role


# ---- bots, FAQs, sentences ------------------------------------------------------------

class BotIn(Strict):
    namespace_id: int | None = None
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    locales: Locales = Field(default_factory=lambda: ["en"])


class BotPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    locales: Locales | None = None


class BotOut(BaseModel):
    id: int
    namespace_id: int
    name: str
    description: str
    locales: list[str]
    created_at: datetime


class FaqIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    answer: str = Field(default="", max_length=20000)
    locale: Locale | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)


class FaqPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    answer: str | None = Field(default=None, max_length=20000)
    locale: Locale | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class FaqOut(BaseModel):
    id: int
    bot_id: int
    title: str
    description: str
    answer: str
    locale: str
    tags: list[str]
    human_sentences: int = 0
    generated_sentences: int = 0
    created_at: datetime
    updated_at: datetime


class SentenceIn(Strict):
    text: str = Field(min_length=1, max_length=500)
    locale: Locale | None = None


class SentenceBatchIn(Strict):
    sentences: list[SentenceIn] = Field(min_length=1, max_length=10000)


class SentenceOut(BaseModel):
    id: int
    faq_id: int
    text: str
    locale: str
    origin: Literal["human", "generated"]
    generation_run_id: int | None = None
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    temperature: float | None = None
    options: dict[str, Any] | None = None
    trace_id: str | None = None
    created_at: datetime


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Any]


# ---- providers ------------------------------------------------------------------------

class ProviderOut(BaseModel):
    """One chat provider, as the core's registry describes it."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    label: str
    label_fr: str | None = Field(description="its name in French; null: the same")
    fields: list[str] = Field(validation_alias="field_names",
                              description="the settings fields it takes")
    required: list[str] = Field(description="the settings fields it cannot work without")
    concurrency: int = Field(description="generations a job runs side by side")
    models: list[str] = Field(description="model names to suggest")
    default_base_url: str | None = Field(
        description="where it connects when base_url is empty; null: it needs one or takes none")
    in_process: bool = Field(description="runs inside the server (the embedded model)")
    free: bool = Field(description="costs nothing per token")
    default_timeout_s: float = Field(
        description="the time a generation may take when the bot's settings say none")


# ---- settings -------------------------------------------------------------------------

class _GenerationSettingsIn(Strict):
    """The settings but the providers' own: those come from the registry (below)."""

    enabled: bool = False
    provider: ProviderName = "local"
    temperature: float = Field(default=0.7, ge=0.0, le=1.0)
    nb_sentences: int = Field(default=DEFAULT_SENTENCES, ge=1, le=MAX_SENTENCES)
    # seconds a whole generation may take; None: the provider's default
    timeout_s: float | None = Field(default=None, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)
    # calls at once to the provider endpoint, across every worker; None: the provider's default
    max_concurrency: int | None = Field(default=None, ge=MIN_CONCURRENCY, le=MAX_CONCURRENCY)
    # None: the built-in default
    prompt_template: str | None = Field(default=None, max_length=20000)


class WaitEstimate(BaseModel):
    seconds_per_sentence: float = Field(
        description="median latency per requested sentence of the bot's recent runs; "
                    "before any, the model's known speed or a stated default")
    runs: int = Field(description="how many recent runs the median is over (0: none yet)")
    source: Literal["runs", "model", "default"] = Field(
        default="runs", description="runs: the bot's recent runs; model: the embedded "
        "model's speed measured on 2 cores (docs/quality.md); default: a stated default, "
        "the model's speed not being known")


def _described(spec, **more):
    return Field(description=spec.label + (" (secret)" if spec.secret else ""), **more)


# Every setting some provider takes, as the registry declares it. A secret is write-only:
# omitted keeps the stored one, "" removes it.
SentenceGenerationSettingsIn = create_model(
    "SentenceGenerationSettingsIn", __base__=_GenerationSettingsIn,
    **{spec.name: (str | None, _described(spec, default=None, max_length=spec.max_length))
       for spec in setting_fields()})


class _GenerationSettingsOut(BaseModel):
    enabled: bool
    provider: ProviderName
    temperature: float
    nb_sentences: int
    timeout_s: float | None = Field(description="None: the provider's default")
    effective_timeout_s: float = Field(description="the limit a generation runs with now")
    default_timeout_s: dict[str, float] = Field(description="each provider's default")
    max_concurrency: int | None = Field(description="None: the provider's default")
    effective_max_concurrency: int = Field(
        description="the calls at once to the provider a bulk job makes now")
    default_max_concurrency: dict[str, int] = Field(description="each provider's default")
    estimate: WaitEstimate = Field(
        description="how long a generation takes, from this bot's recent runs with the "
                    "same provider; without such runs, an estimate (`source`)")
    prompt_template: str
    prompt_is_default: bool
    default_prompt_template: str
    prompt_version: str
    prompt_variables: list[str]
    updated_at: datetime | None
    content_traced_to: list[dict[str, str]] = Field(
        default_factory=list, description="where a generation's prompts and sentences also "
        "go, for tracing, when content capture is on (the bot's observability settings, or "
        "the server's environment): [{kind: langfuse | otlp, host: scheme://host[:port]}]; "
        "empty when they go nowhere but the provider")


# The providers' settings as stored; a secret is masked, never the secret itself.
SentenceGenerationSettingsOut = create_model(
    "SentenceGenerationSettingsOut", __base__=_GenerationSettingsOut,
    **{spec.name: (str | None, _described(spec)) for spec in setting_fields()})


class PromptPreviewIn(Strict):
    # None: the built-in default
    prompt_template: str | None = Field(default=None, max_length=20000)


class PromptPreview(BaseModel):
    messages: list[dict[str, str]]
    prompt_version: str
    variables: dict[str, str]


class SettingsExport(BaseModel):
    format: Literal["utterly.sentence-generation-settings/1"] = \
        "utterly.sentence-generation-settings/1"
    settings: SentenceGenerationSettingsIn


class ObservabilitySettingsIn(Strict):
    enabled: bool = False
    langfuse_public_key: str | None = Field(default=None, max_length=200)
    # write-only, as api_key above
    langfuse_secret_key: str | None = Field(default=None, max_length=200)
    langfuse_host: str | None = Field(default=None, max_length=500)
    otlp_endpoint: str | None = Field(default=None, max_length=500)
    # off unless asked: prompts and sentences leave the server only when an admin says so
    capture_content: bool = False


class ObservabilitySettingsOut(BaseModel):
    enabled: bool
    langfuse_public_key: str | None
    langfuse_secret_key: str | None = Field(description="masked; never the key itself")
    langfuse_host: str | None
    otlp_endpoint: str | None
    capture_content: bool
    updated_at: datetime | None


class CheckOut(BaseModel):
    ok: bool
    message: str
    provider: str | None = None
    model: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] | None = Field(
        default=None, description="code, message and hint when the check failed")


# ---- generation -----------------------------------------------------------------------

class GenerateIn(Strict):
    # None: the FAQ's own sentences (human ones first), up to 5
    sentences: list[str] | None = Field(default=None, min_length=1, max_length=20)
    locale: Locale | None = None
    options: VariationOptions = Field(default_factory=VariationOptions)
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    n: int | None = Field(default=None, ge=1, le=MAX_SENTENCES)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class Candidate(BaseModel):
    text: str
    status: Literal["new", "present", "conflict"]
    conflict_faq_id: int | None = None
    conflict_faq_title: str | None = None
    origin: str
    scores: dict[str, float] = Field(default_factory=dict)
    variations: list[str] = Field(default_factory=list)
    source_text: str | None = Field(
        default=None, description="for a transformed sentence (origin `transformed`): the "
        "model's sentence the variations were applied to; null otherwise, and for runs stored "
        "before it was recorded")
    conflict_risk: dict[str, Any] | None = Field(
        default=None, description="set when the sentence is closer to another FAQ than to its "
        "own (classifier margin or meaning similarity): faq_id and faq_title (the other FAQ), "
        "margin (p(other) − p(own), always set), similarity and own_similarity (to the "
        "nearest sentence of the other FAQ and of its own; null without embeddings), reason "
        "(classifier, similarity or both)")


class GenerateOut(BaseModel):
    run_id: int
    candidates: list[Candidate]
    rejected: list[dict[str, Any]]
    usage: dict[str, int]
    latency_s: float
    requested: int
    warnings: list[str]
    notices: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the warnings, each as {code, values}: timed_out {kept}, cancelled "
        "{kept}, too_few_passed {kept, requested, attempts}, embeddings_skipped {reason}, "
        "variation_short {variation, shown, kept, target} (an option asked for shows in "
        "fewer kept sentences than aimed for), variation_no_table {variation, language}")
    provider: str
    model: str | None
    prompt_version: str | None
    trace_id: str | None
    trace_url: str | None
    status: str = Field(description="succeeded, or partial: stopped early (`stopped`)")
    stopped: str | None = Field(default=None, description="timeout, cancelled, or closed "
                                "(its client left)")
    timeout_s: float | None = Field(default=None, description="the limit it ran with")


class ImportIn(Strict):
    run_id: int
    texts: list[str] = Field(min_length=1, max_length=100)


class ImportReport(BaseModel):
    text: str
    status: Literal["imported", "already_present", "conflict", "not_from_run"]
    sentence_id: int | None = None
    conflict_faq_id: int | None = None
    conflict_faq_title: str | None = None


class ImportOut(BaseModel):
    run_id: int
    imported: int
    report: list[ImportReport]


class RefusedReport(ImportReport):
    # Nothing was imported, so what would have been says so.
    status: Literal["would_import", "already_present", "conflict", "not_from_run"]


class ImportRefused(BaseModel):
    """The 409 problem of an import that was refused as a whole."""
    type: str
    title: str
    status: int
    detail: str
    code: Literal["import_refused"]
    hint: str
    report: list[RefusedReport]


# How a generation run ended (GenerationRun.status)
RunStatus = Literal["succeeded", "partial", "failed"]


class RunOut(BaseModel):
    id: int
    bot_id: int
    faq_id: int | None
    faq_title: str | None
    username: str | None
    created_at: datetime
    status: str
    provider: str
    model: str | None
    prompt_version: str | None
    temperature: float | None
    options: dict[str, Any] | None
    kept: int
    rejected_count: int
    imported: int
    latency_s: float | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    trace_id: str | None
    trace_url: str | None
    trace_export: Literal["sent", "failed", "pending"] | None = Field(
        default=None, description="whether the trace reached its Langfuse/OTLP "
        "destinations: sent, failed, pending (not known yet); null when it was not exported")
    stopped: Literal["timeout", "cancelled", "closed"] | None = Field(
        default=None, description="why a partial run stopped early: at the bot's time "
        "limit, by Cancel, or because its client left (the dialog or the page closed)")
    error: dict[str, Any] | None


class RunDetail(RunOut):
    request: dict[str, Any]
    candidates: list[Candidate]
    rejected: list[dict[str, Any]]
    notices: list[dict[str, Any]] = Field(
        default_factory=list, description="the run's warnings as its generate answer gave "
        "them (GenerateOut.notices); empty for runs stored before they were kept")
    trace: dict[str, Any] | None = Field(
        description="calls (each attempt's prompts, raw answers, parse problems, tokens, "
                    "latency, error), timeout_s, export (Langfuse/OTLP configured, "
                    "drops counted) and notices; None for runs stored before traces were "
                    "kept")


# ---- NLU and bulk generation ----------------------------------------------------------

Features = Literal["tfidf", "embeddings"]


class NluTrainIn(Strict):
    locale: Locale | None = None
    features: Features = "tfidf"


class NluParseIn(Strict):
    text: str = Field(min_length=1, max_length=500)
    locale: Locale | None = None
    # per request, not stored: see docs/nlu.md (the "unknown" threshold); None: the default
    threshold: float | None = Field(default=None, ge=0, le=1)


class NluEvaluateIn(Strict):
    locale: Locale | None = None
    k: int = Field(default=5, ge=2, le=10)
    features: Features = "tfidf"


class JobIn(Strict):
    # None: every FAQ of the bot (that has at least one sentence)
    faq_ids: list[int] | None = Field(default=None, max_length=10000)
    # only FAQs with fewer sentences than this
    below: int | None = Field(default=None, ge=1, le=100000)
    options: VariationOptions = Field(default_factory=VariationOptions)
    n: int | None = Field(default=None, ge=1, le=MAX_SENTENCES)
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    auto_import: bool = False
    # with auto_import: the least meaning similarity to the FAQ's sentences to import
    min_score: float = Field(
        default=0.6, ge=0.0, le=1.0,
        description="with auto_import: the least `similarity` score (meaning similarity to "
        "the FAQ's sentences) to import; a candidate without a score (the embedding filter "
        "was skipped) is never auto-imported")
