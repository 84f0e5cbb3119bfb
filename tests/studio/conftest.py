"""Studio fixtures: a real `create_app` served over HTTP on 127.0.0.1, on SQLite (always)
and PostgreSQL (a database of its own per run), with a populated world of two namespaces.

Every test that takes `studio` or `world` runs once per database backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text

from tests.postgres import throwaway_database
from tests.servers.run import ASGIServer, port_answers
from utterly.normalize import normalize
from utterly.prompt import default_template, template_version
from utterly.studio.app import create_app
from utterly.studio.config import StudioConfig
from utterly.studio.models import (
    Base,
    Bot,
    Faq,
    Membership,
    Namespace,
    ObservabilitySettings,
    SentenceGenerationSettings,
    TrainingSentence,
    User,
)
from utterly.studio.passwords import hash_password

PASSWORD = "correct-horse-1"
PG_ADMIN_URL = os.environ.get("UTTERLY_TEST_POSTGRES_ADMIN_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


# Redis's database 15 is the tests' own: each test that uses it starts and ends it empty.
REDIS_URL = os.environ.get("UTTERLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(name: str, port: int) -> None:
    """Skip when a broker does not answer on 127.0.0.1, or fail where CI requires it."""
    if not port_answers(port):
        if os.environ.get("UTTERLY_REQUIRE_BROKERS") == "1":
            pytest.fail(f"{name} is required (UTTERLY_REQUIRE_BROKERS=1) on port {port}")
        pytest.skip(f"{name} not reachable on 127.0.0.1:{port}")


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_service("Redis", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # an earlier test's messages, slots and call counts
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    # One argon2 hash for every test user: hashing is slow on purpose.
    return hash_password(PASSWORD)


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (tests/postgres.py), dropped on exit. The test is
    skipped when the server does not answer, or fails where CI requires it."""
    import psycopg

    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(PG_ADMIN_URL, prefix,
                                                         connect_timeout=3))
        except psycopg.OperationalError as exc:
            if os.environ.get("UTTERLY_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required (UTTERLY_REQUIRE_POSTGRES=1) but "
                            f"{PG_ADMIN_URL} refused: {exc}")
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this run and dropped after it."""
    with postgres_database("utterly_test") as url:
        yield url


def _truncate(app) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with app.state.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'utterly.db'}"
    return request.getfixturevalue("postgres_url")


@dataclass
class Studio:
    url: str
    app: object
    config: StudioConfig
    clients: dict = field(default_factory=dict)

    @property
    def sessions(self):
        return self.app.state.studio.sessions

    @property
    def box(self):
        return self.app.state.studio.box

    @property
    def dialect(self) -> str:
        return self.app.state.engine.dialect.name

    def anonymous(self) -> httpx.Client:
        return self._client("", None)

    def api(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """A client authenticated as `username` with a bearer token (cached per user)."""
        if username not in self.clients:
            response = httpx.post(f"{self.url}/api/auth/token",
                                  json={"username": username, "password": password})
            assert response.status_code == 200, response.text
            self.clients[username] = self._client(username, response.json()["access_token"])
        return self.clients[username]

    def _client(self, key, token) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@contextmanager
def running_studio(config: StudioConfig) -> Iterator[Studio]:
    """The Studio app on `config`, served on a free port; an emptied database on PostgreSQL."""
    app = create_app(config)
    if app.state.engine.dialect.name == "postgresql":
        _truncate(app)
    server = ASGIServer(app)
    server.start()
    st = Studio(url=server.url, app=app, config=config)
    try:
        yield st
    finally:
        st.close()
        server.stop()
        app.state.engine.dispose()


@pytest.fixture
def studio_overrides() -> dict:
    """StudioConfig fields for `studio`: a test module that needs others redefines this."""
    return {}


@pytest.fixture
def studio(database_url, tmp_path, studio_overrides):
    with running_studio(StudioConfig(data_dir=tmp_path / "data", database_url=database_url,
                                     **studio_overrides)) as st:
        yield st


@dataclass
class World:
    """Two namespaces. acme: ada (admin), bob (bot_user), vic (viewer), a bot with two FAQs.
    globex: gus (admin) and its own bot and FAQ, foreign to acme's users."""

    studio: Studio
    acme: int = 0
    globex: int = 0
    bot: int = 0
    faq_password: int = 0
    faq_parcel: int = 0
    other_bot: int = 0
    other_faq: int = 0
    users: dict = field(default_factory=dict)


def _user(session, name, password_hash, namespace, role) -> User:
    user = User(username=name, password_hash=password_hash)
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, namespace_id=namespace.id, role=role))
    return user


def _bot(session, namespace, name, locales) -> Bot:
    bot = Bot(namespace_id=namespace.id, name=name, locales=locales)
    session.add(bot)
    session.flush()
    session.add(SentenceGenerationSettings(
        bot_id=bot.id, prompt_version=template_version(default_template())))
    session.add(ObservabilitySettings(bot_id=bot.id))
    return bot


def _faq(session, bot, title, locale, sentences) -> Faq:
    faq = Faq(bot_id=bot.id, title=title, locale=locale, answer=f"answer of {title}")
    session.add(faq)
    session.flush()
    for s in sentences:
        session.add(TrainingSentence(bot_id=bot.id, faq_id=faq.id, text=s,
                                     normalized=normalize(s), locale=locale, origin="human"))
    return faq


@pytest.fixture
def world(studio, password_hash) -> World:
    w = World(studio=studio)
    with studio.sessions() as session, session.begin():
        acme, globex = Namespace(name="acme"), Namespace(name="globex")
        session.add_all([acme, globex])
        session.flush()
        for name, role in (("ada", "admin"), ("bob", "bot_user"), ("vic", "viewer")):
            w.users[name] = _user(session, name, password_hash, acme, role).id
        w.users["gus"] = _user(session, "gus", password_hash, globex, "admin").id
        bot = _bot(session, acme, "Acme bot", ["fr", "en"])
        other = _bot(session, globex, "Globex bot", ["fr"])
        w.faq_password = _faq(session, bot, "Mot de passe", "fr",
                              ["Comment réinitialiser mon mot de passe ?"]).id
        w.faq_parcel = _faq(session, bot, "Colis", "fr", ["Où est mon colis ?"]).id
        w.other_faq = _faq(session, other, "Horaires", "fr",
                           ["Quels sont vos horaires ?"]).id
        w.acme, w.globex, w.bot, w.other_bot = acme.id, globex.id, bot.id, other.id
    return w


TEST_MODEL = "smollm2-135m"


@pytest.fixture
def generation_enabled(world) -> World:
    """acme's bot generates with the local SmolLM2 model (3 sentences by default)."""
    with world.studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.bot)
        row.enabled, row.provider, row.model, row.nb_sentences = True, "local", TEST_MODEL, 3
    return world


def generate_with_candidates(world, user: str, seeds=range(1, 9), **body) -> dict:
    """A generation of the password FAQ that kept at least one sentence. SmolLM2 (135M) keeps
    none for some seeds, and which ones changes with the prompt: the tests that need a kept
    sentence take the first seed that gives one, and fail only if none of 8 does."""
    client = world.studio.api(user)
    for seed in seeds:
        # the small model is slow on a busy machine: a generous timeout, never an assertion
        response = client.post(f"/api/bots/{world.bot}/faqs/{world.faq_password}/generate",
                               json={**body, "seed": seed}, timeout=900)
        assert response.status_code == 200, response.text
        out = response.json()
        if out["candidates"]:
            return out
    raise AssertionError(f"SmolLM2 kept no sentence in {len(seeds)} seeds: {out['rejected']}")


PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    """The problem+json body of an error response, after checking its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == f"urn:utterly:problem:{body['code']}"
    assert body["title"] and body["detail"]
    return body


# ---- a vendor over HTTP: the faulty server's OpenAI-compatible shapes -------------------

KEY = "sk-test-timeout-trace-0123456789"


def use_vendor(world, behaviour: str, **fields) -> None:
    """Generate through the faulty server's `behaviour`, with an API key stored as the
    settings store it (encrypted), bypassing the provider check."""
    with world.studio.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, world.bot)
        row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
        row.base_url = f"{world.vendor.url}/{behaviour}/v1"
        row.api_key_encrypted = world.studio.box.encrypt(KEY)
        row.nb_sentences = 2
        for name, value in fields.items():
            setattr(row, name, value)


def add_orders(world) -> None:
    """bob adds the English FAQ "Orders" ("Where is my order?") to acme's bot:
    `world.orders` is its id."""
    bob = world.studio.api("bob")
    faq = bob.post(f"/api/bots/{world.bot}/faqs", json={"title": "Orders", "locale": "en"})
    assert faq.status_code == 201, faq.text
    world.orders = faq.json()["id"]
    bob.post(f"/api/bots/{world.bot}/faqs/{world.orders}/sentences",
             json={"text": "Where is my order?"})


@pytest.fixture
def shop(world, faulty_server):
    """acme's bot with an English FAQ, "Orders", which the vendor's answers suit."""
    world.vendor = faulty_server
    add_orders(world)
    return world


# far beyond a test: only a cancel, or a client that leaves, ends its generation in time
SILENT_LIMIT_S = 120


@pytest.fixture
def silent_vendor(shop):
    """acme's bot generating through a vendor that reads each request and never answers
    (tests/servers/silent_server.py): `shop.silent`."""
    from tests.servers.silent_server import SilentServer

    with SilentServer() as server:
        with shop.studio.sessions() as session, session.begin():
            row = session.get(SentenceGenerationSettings, shop.bot)
            row.enabled, row.provider, row.model = True, "openai-compatible", "gpt-4o-mini"
            row.base_url = f"{server.url}/v1"
            row.api_key_encrypted = shop.studio.box.encrypt(KEY)
            row.nb_sentences, row.timeout_s = 2, SILENT_LIMIT_S
        shop.silent = server
        yield shop
