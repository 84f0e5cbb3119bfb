"""The Studio's tables. Alembic migrations (studio/migrations) create and evolve them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..sentence_count import DEFAULT_SENTENCES


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite forgets the time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


Timestamp = UTCDateTime()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # creates namespaces and accounts; roles inside namespaces are memberships
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # a disabled user cannot log in, and their tokens are gone
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan")


class LoginAttempts(Base):
    """Recent login attempts of one (username, client address) pair: the throttle's state,
    shared by every process on the database. The key is a hash: no username or address is
    kept in clear for failed logins."""

    __tablename__ = "login_attempts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # epoch seconds (the clock every process shares)
    last_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    next_allowed_at: Mapped[float] = mapped_column(Float, default=0.0)


class Namespace(Base):
    __tablename__ = "namespaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Membership(Base):
    """A user's role in one namespace: admin, bot_user or viewer."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "namespace_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    user: Mapped[User] = relationship(back_populates="memberships")
    namespace: Mapped[Namespace] = relationship()


class Token(Base):
    """A bearer token, session or API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # access | session | api
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    user: Mapped[User] = relationship()


class Bot(Base):
    __tablename__ = "bots"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    locales: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    namespace: Mapped[Namespace] = relationship()


class Faq(Base):
    __tablename__ = "faqs"
    __table_args__ = (UniqueConstraint("bot_id", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(35))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class TrainingSentence(Base):
    """One way users ask an FAQ. Its normalised text is unique per bot and locale, so the
    same question can never train two FAQs."""

    __tablename__ = "training_sentences"
    __table_args__ = (UniqueConstraint("bot_id", "locale", "normalized",
                                       name="uq_sentence_bot_locale_text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    faq_id: Mapped[int] = mapped_column(ForeignKey("faqs.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(35))
    origin: Mapped[str] = mapped_column(String(16), default="human")  # human | generated
    generation_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation_runs.id", ondelete="SET NULL"), index=True)
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    temperature: Mapped[float | None] = mapped_column(Float)
    options: Mapped[dict[str, Any] | None] = mapped_column()
    trace_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class SentenceGenerationSettings(Base):
    __tablename__ = "sentence_generation_settings"
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"),
                                        primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    provider: Mapped[str] = mapped_column(String(32), default="local")
    model: Mapped[str | None] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(500))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # The settings of the provider's own (ProviderInfo.fields beyond model, base_url and
    # api_key) by name; a secret one encrypted as api_key is. None: none given.
    provider_options: Mapped[dict[str, Any] | None] = mapped_column()
    temperature: Mapped[float] = mapped_column(Float, default=0.7)
    nb_sentences: Mapped[int] = mapped_column(Integer, default=DEFAULT_SENTENCES)
    # seconds a whole generation may take; None: the provider's default (settings service)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    # calls at once to the provider endpoint, across every worker (None: the provider's)
    max_concurrency: Mapped[int | None] = mapped_column(Integer)
    # None: the built-in default template
    prompt_template: Mapped[str | None] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ObservabilitySettings(Base):
    __tablename__ = "observability_settings"
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"),
                                        primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    langfuse_public_key: Mapped[str | None] = mapped_column(String(200))
    langfuse_secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    langfuse_host: Mapped[str | None] = mapped_column(String(500))
    otlp_endpoint: Mapped[str | None] = mapped_column(String(500))
    # Off for new bots: prompts and sentences leave for the backend only when an admin says
    # so. No server default, so rows stored before keep the value they hold.
    capture_content: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GenerationRun(Base):
    """One request to generate sentences for an FAQ, whatever came of it."""

    __tablename__ = "generation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # succeeded | partial | failed
    request: Mapped[dict[str, Any]] = mapped_column()
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    rejected: Mapped[list[Any]] = mapped_column(default=list)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    temperature: Mapped[float | None] = mapped_column(Float)
    options: Mapped[dict[str, Any] | None] = mapped_column()
    latency_s: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float)
    error: Mapped[dict[str, Any] | None] = mapped_column()
    trace_id: Mapped[str | None] = mapped_column(String(64))
    trace_url: Mapped[str | None] = mapped_column(String(500))
    # the run's own trace: each call's prompts and raw answers (capped by the core), and
    # whether the export to Langfuse/OTLP was configured; None for runs from before 0007
    trace: Mapped[dict[str, Any] | None] = mapped_column()
    user: Mapped[User | None] = relationship()


class NluModel(Base):
    """The bot's trained intent classifier for one locale (the latest training wins)."""

    __tablename__ = "nlu_models"
    __table_args__ = (UniqueConstraint("bot_id", "locale"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(35))
    features: Mapped[str] = mapped_column(String(16))
    trained_on: Mapped[int] = mapped_column(Integer)
    generated_used: Mapped[int] = mapped_column(Integer, default=0)
    intents: Mapped[list[Any]] = mapped_column(default=list)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GenerationJob(Base):
    """Generation for many FAQs of a bot; its state survives crashes and restarts."""

    __tablename__ = "generation_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))  # queued|running|done|cancelled|failed
    params: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    error: Mapped[dict[str, Any] | None] = mapped_column()
    # the turn a queued task message must carry to run the job (services/queue.py): a
    # message of an older turn is a duplicate or a stale redelivery, and is dropped
    turn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the turn given out last (its message sent, or taken by a Studio's worker), and when
    # (services/jobs.py, `dispatch`): a queued job whose `sent_turn` is its `turn` has its
    # turn on the way, and its namespace has no other turn given out
    sent_turn: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)


class GenerationJobItem(Base):
    __tablename__ = "generation_job_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("generation_jobs.id", ondelete="CASCADE"),
                                        index=True)
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))  # pending|running|done|failed|skipped
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation_runs.id", ondelete="SET NULL"))
    imported: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column()
