"""Where the Studio keeps its data and how it is reached, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path("utterly-data")
OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class StudioConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    # None: a SQLite file in data_dir
    database_url: str | None = None
    # Fernet key(s), comma-separated, newest first; None: the key file in data_dir
    secret_key: str | None = field(default=None, repr=False)
    # Browsers only send the session cookie over HTTPS when this is on.
    secure_cookies: bool = False
    session_hours: float = 12.0
    access_token_hours: float = 12.0
    # API tokens: the lifetime when none is asked for, and the longest one may ask for
    # (UTTERLY_API_TOKEN_DAYS, UTTERLY_API_TOKEN_MAX_DAYS)
    api_token_days: int = 90
    api_token_max_days: int = 365
    # run bulk generation jobs in this process (off for processes that only serve reads):
    # UTTERLY_RUN_JOBS=0|false|no|off, or `utterly serve --no-jobs`
    run_jobs: bool = True
    # Database connections per process: the pool, what may open beyond it, and how long a
    # request waits for one before answering 503 database_busy (UTTERLY_DB_POOL_SIZE,
    # UTTERLY_DB_MAX_OVERFLOW, UTTERLY_DB_POOL_TIMEOUT in seconds)
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout_s: float = 10.0
    # how long a statement waits for another transaction's lock before 503 database_busy
    # (UTTERLY_DB_LOCK_TIMEOUT, seconds)
    db_lock_timeout_s: float = 10.0
    # generations running at once in this process, in threads of their own (the others
    # wait for one): UTTERLY_GENERATION_THREADS
    generation_threads: int = 16
    # Each namespace's and each user's share of them: generations running or waiting for a
    # thread, beyond which one more is refused at once with 429 namespace_busy / user_busy
    # (studio/fair_share.py): UTTERLY_GENERATION_NAMESPACE_LIMIT,
    # UTTERLY_GENERATION_USER_LIMIT. None: half and a quarter of generation_threads.
    generation_namespace_limit: int | None = None
    generation_user_limit: int | None = None
    # The task queue's broker (redis://… or amqp://…): bulk jobs then run in `utterly
    # worker` processes, not here (UTTERLY_BROKER_URL). None: in this process.
    broker_url: str | None = None
    # Where every process counts the calls at once to each provider endpoint
    # (UTTERLY_REDIS_URL; by default the broker's, when it is Redis). None: per process.
    redis_url: str | None = None
    # Reverse proxies whose X-Forwarded-For is believed: addresses or CIDRs, comma-separated
    # (UTTERLY_TRUSTED_PROXIES, else FORWARDED_ALLOW_IPS). None by default: the client is
    # the TCP peer, or anyone who reaches the port could name any address for the throttle.
    trusted_proxies: str = ""
    # Failed logins of one username, from any address, before each further one waits
    # (UTTERLY_LOGIN_USER_ATTEMPTS)
    login_user_attempts: int = 10
    # Bulk jobs a namespace may have queued or running at once; one more is refused with
    # 429 too_many_jobs (UTTERLY_MAX_JOBS_PER_NAMESPACE)
    max_jobs_per_namespace: int = 3
    # job turns the Studio's own worker runs at once without a broker, one namespace each
    # (UTTERLY_JOB_THREADS): a namespace whose provider hangs holds one, not the others
    job_threads: int = 4
    # Calls at once to one provider endpoint and key, for every bot using it together, in
    # every process (a bot's `max_concurrency` only lowers its own part): a number, then
    # `host[:port]=N` for servers that take more or fewer, comma-separated
    # (UTTERLY_PROVIDER_SLOTS, e.g. `8,llm.lan:8080=2`; checked by studio/gates.py).
    provider_slots: str = "8"
    # Prompt templates rendered while a request waits (previews, settings checks): worker
    # processes of their own, and renders at once per user and per namespace, beyond which
    # a request is refused at once with 429 (UTTERLY_TEMPLATE_REQUEST_WORKERS,
    # UTTERLY_TEMPLATE_RENDERS_PER_USER, UTTERLY_TEMPLATE_RENDERS_PER_NAMESPACE). Fewer per
    # namespace than workers: one namespace never takes them all.
    template_request_workers: int = 4
    template_renders_per_user: int = 2
    template_renders_per_namespace: int = 3
    # Rows, not bytes: the sentences one import may bring, and the sentences and FAQs a bot
    # may hold (imports, additions and exports are refused past them; docs/security.md):
    # UTTERLY_MAX_IMPORT_SENTENCES, UTTERLY_MAX_BOT_SENTENCES, UTTERLY_MAX_BOT_FAQS
    max_import_sentences: int = 50_000
    max_bot_sentences: int = 200_000
    max_bot_faqs: int = 2_000
    # conflict indexes (re)built at once in this process, the others wait for one
    # (UTTERLY_CONFLICT_BUILDS)
    conflict_builds: int = 1

    @classmethod
    def from_env(cls, **overrides) -> "StudioConfig":
        env = os.environ
        values = {
            "data_dir": Path(env.get("UTTERLY_DATA_DIR", DEFAULT_DATA_DIR)),
            "database_url": env.get("UTTERLY_DATABASE_URL") or None,
            "secret_key": env.get("UTTERLY_SECRET_KEY") or None,
            "secure_cookies": env.get("UTTERLY_SECURE_COOKIES", "") in ("1", "true", "yes"),
            "run_jobs": env.get("UTTERLY_RUN_JOBS", "").strip().lower() not in OFF,
            "api_token_days": int(env.get("UTTERLY_API_TOKEN_DAYS") or cls.api_token_days),
            "api_token_max_days": int(env.get("UTTERLY_API_TOKEN_MAX_DAYS")
                                      or cls.api_token_max_days),
            "db_pool_size": _number(env, "UTTERLY_DB_POOL_SIZE", cls.db_pool_size, int, 1),
            "db_max_overflow": _number(env, "UTTERLY_DB_MAX_OVERFLOW", cls.db_max_overflow,
                                       int, 0),
            "db_pool_timeout_s": _number(env, "UTTERLY_DB_POOL_TIMEOUT", cls.db_pool_timeout_s,
                                         float, 0.1),
            "db_lock_timeout_s": _number(env, "UTTERLY_DB_LOCK_TIMEOUT", cls.db_lock_timeout_s,
                                         float, 0.1),
            "generation_threads": _number(env, "UTTERLY_GENERATION_THREADS",
                                          cls.generation_threads, int, 1),
            "generation_namespace_limit": _number(env, "UTTERLY_GENERATION_NAMESPACE_LIMIT",
                                                  None, int, 1),
            "generation_user_limit": _number(env, "UTTERLY_GENERATION_USER_LIMIT", None,
                                             int, 1),
            "broker_url": env.get("UTTERLY_BROKER_URL", "").strip() or None,
            "redis_url": env.get("UTTERLY_REDIS_URL", "").strip() or None,
            "trusted_proxies": (env.get("UTTERLY_TRUSTED_PROXIES")
                                or env.get("FORWARDED_ALLOW_IPS", "")).strip(),
            "login_user_attempts": _number(env, "UTTERLY_LOGIN_USER_ATTEMPTS",
                                           cls.login_user_attempts, int, 1),
            "max_jobs_per_namespace": _number(env, "UTTERLY_MAX_JOBS_PER_NAMESPACE",
                                              cls.max_jobs_per_namespace, int, 1),
            "job_threads": _number(env, "UTTERLY_JOB_THREADS", cls.job_threads, int, 1),
            "provider_slots": env.get("UTTERLY_PROVIDER_SLOTS", "").strip() or cls.provider_slots,
            "template_request_workers": _number(env, "UTTERLY_TEMPLATE_REQUEST_WORKERS",
                                                cls.template_request_workers, int, 1),
            "template_renders_per_user": _number(env, "UTTERLY_TEMPLATE_RENDERS_PER_USER",
                                                 cls.template_renders_per_user, int, 1),
            "template_renders_per_namespace": _number(
                env, "UTTERLY_TEMPLATE_RENDERS_PER_NAMESPACE",
                cls.template_renders_per_namespace, int, 1),
            "max_import_sentences": _number(env, "UTTERLY_MAX_IMPORT_SENTENCES",
                                            cls.max_import_sentences, int, 1),
            "max_bot_sentences": _number(env, "UTTERLY_MAX_BOT_SENTENCES",
                                         cls.max_bot_sentences, int, 1),
            "max_bot_faqs": _number(env, "UTTERLY_MAX_BOT_FAQS", cls.max_bot_faqs, int, 1),
            "conflict_builds": _number(env, "UTTERLY_CONFLICT_BUILDS", cls.conflict_builds,
                                       int, 1),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Bare postgresql:// means psycopg 3 here, the driver we ship.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'utterly.db').resolve()}"

    @property
    def pool(self) -> dict:
        """make_engine's pool and lock options."""
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow,
                "pool_timeout_s": self.db_pool_timeout_s,
                "lock_timeout_s": self.db_lock_timeout_s}

    @property
    def generation_shares(self) -> tuple[int, int]:
        """(per namespace, per user) generations at once. By default a namespace never
        holds more than half the threads, so the other half serves everyone else, and a
        user a quarter, so that one person leaves room to the rest of their namespace."""
        return (self.generation_namespace_limit or max(1, self.generation_threads // 2),
                self.generation_user_limit or max(1, self.generation_threads // 4))

    @property
    def limits_url(self) -> str | None:
        """The Redis that counts provider calls across the fleet, if any."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url and self.broker_url.split("://", 1)[0].lower() in (
                "redis", "rediss", "unix"):
            return self.broker_url
        return None

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"


def _number(env, name: str, default, kind, least):
    """A number from the environment, or a message that names the variable and the fix."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < least:
        what = "a whole number" if kind is int else "a number"
        raise SystemExit(f"{name}={raw!r} is not valid: use {what} of at least {least}")
    return value
