"""Who may call what: every bot and member route × admin/bot_user/viewer × foreign ids.

ROUTES lists each route once with the least role it needs, a valid body and the status a
permitted caller gets. The matrix then proves, on both databases:
- permitted roles get that status (never 401/403/404);
- lower roles get 403 `forbidden` naming the role needed, and change nothing;
- ids of another namespace answer exactly as ids that exist nowhere: 404, no oracle;
- no route answers without authentication.

The bodies are cheap: generation is disabled in `world` (generate is a 409) and provider
checks aim at a closed port, so no model ever runs here.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import select

from tests.servers.run import ASGIServer, free_port
from tests.studio.conftest import BACKENDS, Studio
from utterly.studio.app import create_app
from utterly.studio.config import StudioConfig
from utterly.studio.models import Base, GenerationJob, GenerationRun, TrainingSentence, User
from utterly.studio.services import accounts

ROLES = ("viewer", "bot_user", "admin")
USER_OF_ROLE = {"admin": "ada", "bot_user": "bob", "viewer": "vic"}
CANDIDATE = "J'ai perdu mon mot de passe"
MISSING_ID = 987_654


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # placeholders are the OpenAPI path parameters
    need: str  # the least role allowed
    status: int  # what an allowed role gets with `body`
    body: Callable[[dict], dict | bytes] | None = None  # bytes: a raw body (a file)
    code: str | None = None  # the problem code, when `status` is an error
    body_ids: tuple[str, ...] = ()  # ids the body refers to

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def keys(self) -> tuple[str, ...]:
        in_path = tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)
        return in_path + self.body_ids

    @property
    def children(self) -> tuple[str, ...]:
        """The ids below the first one (the bot or namespace the caller may belong to)."""
        return self.keys[1:]

    def call(self, client: httpx.Client, ids: dict) -> httpx.Response:
        body = self.body(ids) if self.body else None
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        return client.request(self.method, self.path.format(**ids), **kwargs)


BOT = "/api/bots/{bot_id}"
FAQ = BOT + "/faqs/{faq_id}"
SG = BOT + "/settings/sentence-generation"
OBS = BOT + "/settings/observability"
RUNS = BOT + "/generation-runs"
MEMBERS = "/api/namespaces/{namespace_id}/members"

ROUTES = [
    # bots
    Route("GET", "/api/bots", "viewer", 200),
    Route("POST", "/api/bots", "admin", 201, body_ids=("namespace_id",),
          body=lambda ids: {"namespace_id": ids["namespace_id"], "name": "Nouveau bot",
                            "locales": ["fr"]}),
    Route("GET", BOT, "viewer", 200),
    Route("PATCH", BOT, "admin", 200, lambda ids: {"description": "renamed"}),
    Route("DELETE", BOT, "admin", 204),
    # a bot's FAQs and sentences as a file: viewers export, bot users import
    Route("GET", BOT + "/export", "viewer", 200),
    Route("POST", BOT + "/import", "bot_user", 200,
          lambda ids: b"intent,text,locale\nColis,Mon colis est en retard,fr\n"),
    # FAQs
    Route("GET", BOT + "/faqs", "viewer", 200),
    Route("POST", BOT + "/faqs", "bot_user", 201,
          lambda ids: {"title": "Livraison", "locale": "fr"}),
    Route("GET", FAQ, "viewer", 200),
    Route("PATCH", FAQ, "bot_user", 200, lambda ids: {"answer": "Cliquez sur « oublié »"}),
    Route("DELETE", FAQ, "bot_user", 204),
    # sentences
    Route("GET", FAQ + "/sentences", "viewer", 200),
    Route("POST", FAQ + "/sentences", "bot_user", 201,
          lambda ids: {"text": "J'ai oublié mon mot de passe"}),
    Route("POST", FAQ + "/sentences/batch", "bot_user", 201,
          lambda ids: {"sentences": [{"text": "Mot de passe oublié"}]}),
    Route("DELETE", FAQ + "/sentences/{sentence_id}", "bot_user", 204),
    # settings: reading the generation settings is open to all members, the rest is admin
    Route("GET", SG, "viewer", 200),
    Route("PUT", SG, "admin", 200,
          lambda ids: {"enabled": False, "provider": "local", "temperature": 0.5}),
    Route("POST", SG + "/check", "admin", 200,
          lambda ids: {"provider": "ollama", "model": "tinyllama",
                       "base_url": _closed_port_url()}),
    Route("POST", SG + "/preview", "viewer", 200, lambda ids: {}),
    Route("GET", SG + "/export", "admin", 200),
    Route("POST", SG + "/import", "admin", 200,
          lambda ids: {"format": "utterly.sentence-generation-settings/1",
                       "settings": {"enabled": False, "provider": "local",
                                    "nb_sentences": 5}}),
    Route("GET", OBS, "admin", 200),
    Route("PUT", OBS, "admin", 200, lambda ids: {"enabled": False, "capture_content": False}),
    Route("POST", OBS + "/check", "admin", 200,
          lambda ids: {"otlp_endpoint": _closed_port_url()}),
    # generation
    Route("POST", FAQ + "/generate", "bot_user", 409, lambda ids: {"n": 1},
          code="generation_disabled"),
    Route("POST", FAQ + "/generate/stream", "bot_user", 409, lambda ids: {"n": 1},
          code="generation_disabled"),
    Route("POST", FAQ + "/generate/warm-up", "bot_user", 409, lambda ids: {"n": 1},
          code="generation_disabled"),
    # no stream runs here: an allowed role is told that this one does not exist
    Route("POST", BOT + "/generate/streams/{stream_id}/cancel", "bot_user", 404,
          code="not_found"),
    Route("POST", FAQ + "/import", "bot_user", 200, body_ids=("run_id",),
          body=lambda ids: {"run_id": ids["run_id"], "texts": [CANDIDATE]}),
    Route("GET", RUNS, "viewer", 200),
    Route("POST", BOT + "/generation-jobs", "bot_user", 409, lambda ids: {"n": 1},
          code="generation_disabled"),
    Route("GET", BOT + "/generation-jobs", "viewer", 200),
    Route("GET", BOT + "/generation-jobs/{job_id}", "viewer", 200),
    Route("POST", BOT + "/generation-jobs/{job_id}/cancel", "bot_user", 200),
    # the NLU loop: training stores a model (bot_user), parsing and evaluating read
    Route("POST", BOT + "/nlu/train", "bot_user", 200, lambda ids: {"locale": "fr"}),
    Route("POST", BOT + "/nlu/parse", "viewer", 409, lambda ids: {"text": "mot de passe"},
          code="model_not_trained"),
    # world's FAQs have one sentence each: too few to evaluate, past every access check
    Route("POST", BOT + "/nlu/evaluate", "viewer", 422, lambda ids: {"locale": "fr", "k": 2},
          code="invalid_input"),
    Route("GET", RUNS + "/{run_id}", "viewer", 200),
    Route("DELETE", RUNS + "/{run_id}/sentences", "bot_user", 200),
    # members
    Route("GET", MEMBERS, "viewer", 200),
    # an existing user: accounts are created by site administrators (tests/security)
    Route("POST", MEMBERS, "admin", 201, lambda ids: {"username": "gus", "role": "viewer"}),
    Route("PATCH", MEMBERS + "/{user_id}", "admin", 200, lambda ids: {"role": "bot_user"}),
    Route("DELETE", MEMBERS + "/{user_id}", "admin", 204),
]
WITH_IDS = [r for r in ROUTES if r.keys]


def _rank(role: str) -> int:
    return ROLES.index(role)


ALLOWED = [(r, role) for r in ROUTES for role in ROLES if _rank(role) >= _rank(r.need)]
FORBIDDEN = [(r, role) for r in ROUTES for role in ROLES if _rank(role) < _rank(r.need)]


def _pair_id(pair) -> str:
    route, role = pair
    return f"{route} as {role}"


# ---- one server per backend for this module -------------------------------------------
# The matrix has a few hundred cases; each starts from empty tables and a fresh `world`,
# but they share the app and its server instead of migrating and starting one each.

@pytest.fixture(scope="module", params=BACKENDS)
def _shared_studio(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('matrix-db') / 'utterly.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    # no job worker: the jobs below must stay as they are
    config = StudioConfig(data_dir=tmp_path_factory.mktemp("matrix-data"), database_url=url,
                          run_jobs=False)
    app = create_app(config)
    server = ASGIServer(app)
    server.start()
    try:
        yield Studio(url=server.url, app=app, config=config)
    finally:
        server.stop()
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def _clients(_shared_studio):
    """One client per user for the module (making one costs tens of milliseconds); each
    case gives it a fresh token."""
    clients = {name: httpx.Client(base_url=_shared_studio.url, timeout=60)
               for name in ("ada", "bob", "vic", "gus")}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def studio(_shared_studio):
    """Overrides conftest's `studio`: the shared server, its tables emptied."""
    # DELETE, not TRUNCATE: on tables this small it is many times faster on PostgreSQL.
    with _shared_studio.app.state.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    _shared_studio.clients.clear()
    return _shared_studio


@dataclass
class Ids:
    acme: dict = field(default_factory=dict)
    globex: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)


def _run(bot_id: int, faq_id: int, user_id: int) -> GenerationRun:
    return GenerationRun(
        bot_id=bot_id, faq_id=faq_id, user_id=user_id, status="succeeded", provider="local",
        model="smollm2-135m", temperature=0.7, options={}, latency_s=1.0,
        request={"sentences": ["source"], "locale": "fr", "n": 1, "temperature": 0.7,
                 "options": {}, "seed": None},
        candidates=[{"text": CANDIDATE, "origin": "model", "scores": {}, "variations": []}],
        rejected=[])


@pytest.fixture
def ids(world, _clients) -> Ids:
    """Every kind of id for both namespaces (a generation run and job each), and the users
    signed in with tokens issued directly: an argon2 login per case would be slow."""
    studio = world.studio
    with studio.sessions() as session, session.begin():
        acme_run, globex_run = (_run(world.bot, world.faq_password, world.users["bob"]),
                                _run(world.other_bot, world.other_faq, world.users["gus"]))
        # finished jobs: cancelling one changes nothing
        acme_job = GenerationJob(bot_id=world.bot, user_id=world.users["bob"],
                                 status="done", params={"n": 1})
        globex_job = GenerationJob(bot_id=world.other_bot, user_id=world.users["gus"],
                                   status="done", params={"n": 1})
        session.add_all([acme_run, globex_run, acme_job, globex_job])
        session.flush()

        def sentence(faq_id):
            return session.scalar(select(TrainingSentence.id).where(
                TrainingSentence.faq_id == faq_id))

        result = Ids(
            acme={"namespace_id": world.acme, "bot_id": world.bot,
                  "faq_id": world.faq_password, "sentence_id": sentence(world.faq_password),
                  "run_id": acme_run.id, "job_id": acme_job.id,
                  "user_id": world.users["vic"], "stream_id": "acme-stream"},
            globex={"namespace_id": world.globex, "bot_id": world.other_bot,
                    "faq_id": world.other_faq, "sentence_id": sentence(world.other_faq),
                    "run_id": globex_run.id, "job_id": globex_job.id,
                    "user_id": world.users["gus"], "stream_id": "globex-stream"})
        result.missing = {key: MISSING_ID for key in result.acme}
        for name, user_id in world.users.items():
            token, _, _ = accounts.issue_token(session, session.get(User, user_id), "access",
                                               hours=1)
            _clients[name].headers["Authorization"] = f"Bearer {token}"
            studio.clients[name] = _clients[name]  # what world.studio.api(name) returns
    return result


def snapshot(studio: Studio) -> dict:
    """Every row of every table, to prove a refused request changed nothing."""
    with studio.app.state.engine.connect() as conn:
        return {table.name: conn.execute(
                    select(table).order_by(*table.primary_key.columns)).all()
                for table in Base.metadata.sorted_tables}


# ---- the matrix -------------------------------------------------------------------------

def test_the_matrix_lists_every_bot_and_member_route(studio):
    served = {(method.upper(), path) for path, item in studio.app.openapi()["paths"].items()
              for method in item
              if path.startswith("/api/bots") or path.startswith("/api/namespaces/")}
    assert {(r.method, r.path) for r in ROUTES} == served


@pytest.mark.parametrize("route, role", ALLOWED, ids=[_pair_id(p) for p in ALLOWED])
def test_allowed_role_gets_the_expected_answer(world, ids, route, role):
    response = route.call(world.studio.api(USER_OF_ROLE[role]), ids.acme)

    assert response.status_code == route.status, response.text
    if route.code:
        assert response.json()["code"] == route.code


@pytest.mark.parametrize("route, role", FORBIDDEN, ids=[_pair_id(p) for p in FORBIDDEN])
def test_role_below_the_minimum_is_forbidden_and_changes_nothing(world, ids, route, role):
    before = snapshot(world.studio)

    response = route.call(world.studio.api(USER_OF_ROLE[role]), ids.acme)

    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "forbidden"
    assert f"`{role}`" in problem["detail"] and f"`{route.need}`" in problem["detail"]
    article = "an" if route.need == "admin" else "a"
    assert f" {article} {route.need} can " in problem["hint"], problem["hint"]
    assert snapshot(world.studio) == before


@pytest.mark.parametrize("route", WITH_IDS, ids=str)
def test_foreign_ids_answer_exactly_like_ids_that_exist_nowhere(world, ids, route):
    """gus (admin of globex) on acme's ids, acme's users on globex's ids: 404, never 403,
    with the body an unknown id gets. Also with the caller's own bot (or namespace) and a
    foreign id below it, for an admin, whom no role check stops first."""
    before = snapshot(world.studio)
    callers = [("gus", ids.globex, ids.acme)] + [(u, ids.acme, ids.globex)
                                                 for u in ("ada", "bob", "vic")]
    for user, own, foreign in callers:
        client = world.studio.api(user)
        answer, unknown = route.call(client, foreign), route.call(client, ids.missing)
        assert answer.status_code == 404, f"{user} on foreign ids: {answer.text}"
        assert answer.json()["code"] == "not_found"
        assert answer.json() == unknown.json(), f"{user}: foreign and unknown ids differ"
        if user not in ("gus", "ada"):
            continue
        for key in route.children:
            answer = route.call(client, {**own, key: foreign[key]})
            unknown = route.call(client, {**own, key: MISSING_ID})
            assert answer.status_code == 404, f"{user} with a foreign {key}: {answer.text}"
            assert answer.json() == unknown.json(), f"{user}: foreign and unknown {key} differ"
    assert snapshot(world.studio) == before


@pytest.mark.parametrize("role", ["bot_user", "viewer"])
def test_a_lower_role_cannot_tell_foreign_ids_from_missing_ones_either(world, ids, role):
    """Where the role check comes first, a foreign id below the caller's bot and an unknown
    one get the same answer too (403 for writes, 404 for reads)."""
    client = world.studio.api(USER_OF_ROLE[role])
    for route in WITH_IDS:
        for key in route.children:
            answer = route.call(client, {**ids.acme, key: ids.globex[key]})
            unknown = route.call(client, {**ids.acme, key: MISSING_ID})
            assert (answer.status_code, answer.json()) == (unknown.status_code, unknown.json()), \
                f"{route} with a foreign {key}"
            assert answer.status_code in (403, 404), f"{route} with a foreign {key}"


def test_no_route_answers_without_authentication(world, ids):
    failures = []
    with world.studio.anonymous() as anonymous:
        for route in ROUTES:
            response = route.call(anonymous, ids.acme)
            if (response.status_code != 401 or response.json()["code"] != "not_authenticated"
                    or response.headers.get("www-authenticate") != "Bearer"):
                failures.append(f"{route}: {response.status_code} {response.text[:120]}")
    assert failures == []
