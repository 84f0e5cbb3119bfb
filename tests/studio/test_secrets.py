"""Stored secrets (provider API keys, the Langfuse secret key): masked in the API, encrypted
at rest, absent from every response and log line, and movable to a new key.

The raw values carry the marker RAWSECRET, which no response, log or table may contain.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, inspect, text

from tests.servers.run import ASGIServer, free_port, run_subprocess
from tests.studio.conftest import PASSWORD, _truncate
from utterly.errors import ErrorCode
from utterly.studio.app import create_app
from utterly.studio.config import StudioConfig
from utterly.studio.secrets import SecretBox, SecretKeyError, mask
from utterly.studio.services import accounts

MARK = "RAWSECRET"
API_KEY = "sk-test-RAWSECRET-0123456789abcdef"
LF_SECRET = "sk-lf-RAWSECRET-fedcba9876543210"
LF_PUBLIC = "pk-lf-public-0123456789"
UTTERLY = str(Path(sys.executable).with_name("utterly"))


@pytest.fixture(autouse=True)
def _no_studio_env(monkeypatch):
    # A developer's own settings must not leak into the subprocesses.
    for name in ("UTTERLY_SECRET_KEY", "UTTERLY_NEW_SECRET_KEY", "UTTERLY_DATA_DIR",
                 "UTTERLY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def utterly(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([UTTERLY, *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- masking, the box, the key -----------------------------------------------------------

@pytest.mark.parametrize("secret, shown", [
    ("sk-abcdefghijklmnop1234", "sk-…1234"),
    ("sk-proj-abcdefghijkl0000", "sk-proj-…0000"),
    ("sk-lf-abcdefghij5678", "sk-lf-…5678"),
    ("pk-lf-abcdefgh9999", "pk-lf-…9999"),
    ("azure0123456789key", "…9key"),
    ("short-key", "…"),  # under 12 characters: nothing of it is shown
    ("", None),
    (None, None),
])
def test_mask_shows_the_conventional_prefix_and_last_four_characters_only(secret, shown):
    assert mask(secret) == shown


def test_secret_box_round_trip():
    box = SecretBox([Fernet(Fernet.generate_key())])
    token = box.encrypt(API_KEY)
    assert MARK not in token and token != API_KEY
    assert box.decrypt(token) == API_KEY
    assert box.encrypt(API_KEY) != token  # Fernet tokens are salted: no equality leak


def test_key_file_is_created_0600_on_first_start_and_reused_on_the_next(tmp_path):
    config = StudioConfig(data_dir=tmp_path / "data")
    assert not config.key_file.exists()
    first = create_app(config)
    assert config.key_file.parent == tmp_path / "data"
    assert mode(config.key_file) == 0o600
    key = config.key_file.read_bytes()
    token = first.state.studio.box.encrypt(API_KEY)
    first.state.engine.dispose()

    second = create_app(config)
    assert config.key_file.read_bytes() == key
    assert second.state.studio.box.decrypt(token) == API_KEY
    second.state.engine.dispose()


def test_utterly_secret_key_is_used_instead_of_a_key_file(tmp_path, monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("UTTERLY_SECRET_KEY", key)
    config = StudioConfig.from_env(data_dir=tmp_path / "data")
    assert config.secret_key == key
    app = create_app(config)
    token = app.state.studio.box.encrypt(API_KEY)
    app.state.engine.dispose()
    assert not config.key_file.exists()
    assert Fernet(key.encode()).decrypt(token.encode()).decode() == API_KEY


def test_comma_separated_keys_the_first_encrypts_all_decrypt(tmp_path):
    newest, older = Fernet.generate_key(), Fernet.generate_key()
    box = SecretBox.load(f"{newest.decode()}, {older.decode()}", tmp_path / "secret.key")
    token = box.encrypt(API_KEY).encode()
    assert Fernet(newest).decrypt(token).decode() == API_KEY
    with pytest.raises(InvalidToken):
        Fernet(older).decrypt(token)
    from_older = Fernet(older).encrypt(LF_SECRET.encode()).decode()
    assert box.decrypt(from_older) == LF_SECRET
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("bad, says", [("not-a-fernet-key", "is not a valid Fernet key"),
                                       ("c2hvcnQ=", "is not a valid Fernet key"),
                                       (" , ", "holds no key")])
def test_a_malformed_key_is_a_configuration_error_with_a_hint(tmp_path, bad, says):
    with pytest.raises(SecretKeyError) as caught:
        create_app(StudioConfig(data_dir=tmp_path / "data", secret_key=bad))
    error = caught.value
    assert error.code == ErrorCode.CONFIGURATION
    assert error.message == f"UTTERLY_SECRET_KEY {says}"  # the value itself is not quoted
    assert "utterly secrets new-key" in error.hint


def test_a_malformed_key_file_names_the_file(tmp_path):
    config = StudioConfig(data_dir=tmp_path / "data")
    config.data_dir.mkdir()
    config.key_file.write_text("garbage\n")
    with pytest.raises(SecretKeyError) as caught:
        SecretBox.load(None, config.key_file)
    assert str(config.key_file) in caught.value.message
    assert caught.value.hint


def test_serve_with_a_malformed_key_exits_with_a_message_not_a_traceback(tmp_path):
    bad = "this-is-not-a-key-RAWSECRET"
    done = utterly("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()),
                   env={"UTTERLY_SECRET_KEY": bad})
    assert done.returncode == 1
    assert "error: UTTERLY_SECRET_KEY is not a valid Fernet key" in done.stderr
    assert "hint: " in done.stderr and "utterly secrets new-key" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert MARK not in done.stderr + done.stdout


def test_decrypting_with_the_wrong_key_is_a_secret_key_error_with_a_hint():
    token = SecretBox([Fernet(Fernet.generate_key())]).encrypt(API_KEY)
    other = SecretBox([Fernet(Fernet.generate_key())])
    with pytest.raises(SecretKeyError) as caught:
        other.decrypt(token)
    error = caught.value
    assert error.code == ErrorCode.CONFIGURATION
    assert "UTTERLY_SECRET_KEY" in error.hint
    assert error.__suppress_context__  # raised `from None`: no InvalidToken chained


# ---- at rest -------------------------------------------------------------------------------

def _store_secrets(api: httpx.Client, bot: int) -> None:
    response = api.put(f"/api/bots/{bot}/settings/sentence-generation",
                       json={"provider": "openai", "model": "gpt-4o-mini", "api_key": API_KEY})
    assert response.status_code == 200, response.text
    assert response.json()["api_key"] == "sk-…cdef"
    response = api.put(f"/api/bots/{bot}/settings/observability",
                       json={"langfuse_public_key": LF_PUBLIC, "langfuse_secret_key": LF_SECRET,
                             "langfuse_host": "https://cloud.langfuse.com"})
    assert response.status_code == 200, response.text
    assert response.json()["langfuse_secret_key"] == "sk-lf-…3210"


def dump_database(engine) -> str:
    """Every row of every table, as text."""
    lines = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                lines.append(f"{table}: {tuple(row)!r}")
    return "\n".join(lines)


def encrypted_columns(engine, bot: int) -> tuple[str, str]:
    with engine.connect() as conn:
        api_key = conn.execute(text("SELECT api_key_encrypted FROM sentence_generation_settings "
                                    "WHERE bot_id = :b"), {"b": bot}).scalar_one()
        secret = conn.execute(text("SELECT langfuse_secret_key_encrypted FROM "
                                   "observability_settings WHERE bot_id = :b"),
                              {"b": bot}).scalar_one()
    return api_key, secret


def test_secrets_are_encrypted_at_rest(world):
    studio = world.studio
    _store_secrets(studio.api("ada"), world.bot)
    engine = studio.app.state.engine
    dump = dump_database(engine)
    assert "observability_settings" in dump and "sentence_generation_settings" in dump
    assert MARK not in dump
    api_key, secret = encrypted_columns(engine, world.bot)
    assert studio.box.decrypt(api_key) == API_KEY
    assert studio.box.decrypt(secret) == LF_SECRET
    # ...with the key of the key file in the data directory.
    key = Fernet(studio.config.key_file.read_bytes().strip())
    assert key.decrypt(api_key.encode()).decode() == API_KEY
    if studio.dialect == "sqlite":  # nor in the database's files, journal included
        database = Path(engine.url.database)
        files = list(database.parent.glob(database.name + "*"))
        assert database in files
        assert all(MARK.encode() not in f.read_bytes() for f in files)


# ---- nothing echoes a secret ---------------------------------------------------------------

def set_base_url(engine, bot: int, url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE sentence_generation_settings SET base_url = :u "
                          "WHERE bot_id = :b"), {"u": url, "b": bot})


def drive_settings_endpoints(api: httpx.Client, bot: int, faq: int, *, engine,
                             faulty_url: str) -> list[httpx.Response]:
    """Every request that might echo a stored secret; returns their responses."""
    closed = f"http://127.0.0.1:{free_port()}"
    gen = f"/api/bots/{bot}/settings/sentence-generation"
    obs = f"/api/bots/{bot}/settings/observability"
    seen: list[httpx.Response] = []

    def call(method: str, path: str, status: int, **kwargs) -> httpx.Response:
        response = api.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        seen.append(response)
        return response

    ollama = {"provider": "ollama", "model": "tinyllama", "base_url": closed,
              "api_key": API_KEY}
    assert call("PUT", gen, 200, json=ollama).json()["api_key"] == "sk-…cdef"
    assert call("GET", gen, 200).json()["api_key"] == "sk-…cdef"
    assert call("GET", f"{gen}/export", 200).json()["settings"]["api_key"] is None
    call("GET", f"{gen}/export", 200, params={"include_secret": "false"})
    # The stored settings are checked against a closed port: the failure is reported.
    check = call("POST", f"{gen}/check", 200).json()
    assert check["ok"] is False and closed in check["message"]
    check = call("POST", f"{gen}/check", 200, json={
        "provider": "openai-compatible", "model": "m", "base_url": closed + "/v1",
        "api_key": API_KEY}).json()
    assert check["ok"] is False and check["error"]["code"] == "unreachable"
    # Enabling checks first; a failed check is an error carrying the provider's message.
    assert call("PUT", gen, 502, json={**ollama, "enabled": True}).json()["code"] == \
        "unreachable"
    call("PUT", gen, 502, json={"enabled": True, "provider": "openai-compatible",
                                "model": "gpt-4o-mini", "api_key": API_KEY,
                                "base_url": f"{faulty_url}/unauthorized/v1"})
    # Bad input that carries the key.
    for body in ({**ollama, "temperature": 5}, {**ollama, "provider": "nope"},
                 {**ollama, "apikey": API_KEY}, {**ollama, "api_key": API_KEY * 20},
                 {**ollama, "api_key": {"value": API_KEY}},
                 {"provider": "openai", "api_key": API_KEY},
                 {**ollama, "base_url": "ftp://example.com"}):
        assert call("PUT", gen, 422, json=body).json()["code"] == "invalid_input"
    call("PUT", gen, 422, content=f'{{"api_key": "{API_KEY}", ',
         headers={"Content-Type": "application/json"})
    call("POST", f"{gen}/check", 422, json={**ollama, "temperature": -1})
    imported = call("POST", f"{gen}/import", 200, json={"settings": ollama}).json()
    assert imported["api_key"] == "sk-…cdef"

    langfuse = {"langfuse_public_key": LF_PUBLIC, "langfuse_secret_key": LF_SECRET,
                "langfuse_host": closed}
    assert call("PUT", obs, 200, json=langfuse).json()["langfuse_secret_key"] == "sk-lf-…3210"
    assert call("GET", obs, 200).json()["langfuse_secret_key"] == "sk-lf-…3210"
    check = call("POST", f"{obs}/check", 200).json()
    assert check["ok"] is False and closed in check["message"]
    assert call("POST", f"{obs}/check", 200, json=langfuse).json()["ok"] is False
    for body in ({**langfuse, "langfuse_secret_key": "RAWSECRET-without-its-prefix"},
                 {**langfuse, "langfuse_public_key": "public-RAWSECRET"},
                 {"langfuse_secret_key": LF_SECRET}, {**langfuse, "capture_content": "maybe"},
                 {**langfuse, "langfuse_host": "not a url"}):
        call("PUT", obs, 422, json=body)

    # A generation that fails with the stored key, and the history that records it.
    enabled = {"enabled": True, "provider": "openai-compatible", "model": "gpt-4o-mini",
               "base_url": f"{faulty_url}/ok/v1", "api_key": API_KEY}
    call("PUT", gen, 200, json=enabled)
    set_base_url(engine, bot, closed + "/v1")
    failed = call("POST", f"/api/bots/{bot}/faqs/{faq}/generate", 502, json={"n": 2}).json()
    runs = call("GET", f"/api/bots/{bot}/generation-runs", 200).json()
    assert runs["items"][0]["id"] == failed["run_id"]
    assert runs["items"][0]["error"]["code"] == "unreachable"
    call("GET", f"/api/bots/{bot}/generation-runs/{failed['run_id']}", 200)
    call("GET", gen, 200)
    return seen


def assert_never_echoed(responses: list[httpx.Response]) -> None:
    for response in responses:
        where = f"{response.request.method} {response.request.url}"
        assert MARK not in response.text, where
        assert all(MARK not in f"{k}: {v}" for k, v in response.headers.items()), where


def export_with_secret(api: httpx.Client, bot: int) -> httpx.Response:
    return api.get(f"/api/bots/{bot}/settings/sentence-generation/export",
                   params={"include_secret": "true"})


@contextlib.contextmanager
def capture_server_logs(caplog):
    """Everything logged at DEBUG, uvicorn's own loggers included (they do not propagate)."""
    caplog.set_level(logging.DEBUG)
    quiet = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.access", "uvicorn.error")]
    for logger in quiet:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    for logger in quiet[:2]:
        logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        for logger in quiet[:2]:
            logger.removeHandler(caplog.handler)


def test_no_response_or_log_line_carries_a_stored_secret(world, faulty_server, caplog):
    studio = world.studio
    ada, bob = studio.api("ada"), studio.api("bob")
    with capture_server_logs(caplog):
        responses = drive_settings_endpoints(ada, world.bot, world.faq_password,
                                             engine=studio.app.state.engine,
                                             faulty_url=faulty_server.url)
        # Members who are not admins read the masked settings, never the export.
        responses.append(bob.get(f"/api/bots/{world.bot}/settings/sentence-generation"))
        assert responses[-1].json()["api_key"] == "sk-…cdef"
        for name in ("bob", "vic"):
            responses.append(export_with_secret(studio.api(name), world.bot))
            assert responses[-1].status_code == 403
        # The one place the key may appear: an admin's export that asks for it.
        exported = export_with_secret(ada, world.bot)
    assert_never_echoed(responses)
    assert exported.status_code == 200
    assert exported.json()["settings"]["api_key"] == API_KEY
    # The server's DEBUG logs were captured (its provider calls), and none has the key.
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert MARK not in caplog.text
    assert all(MARK not in r.getMessage() for r in caplog.records)


def test_utterly_serve_never_returns_or_prints_a_secret(tmp_path, faulty_server):
    data = tmp_path / "data"
    created = utterly("users", "create", "alice", "--admin", "--password-stdin",
                      "--data-dir", str(data), stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    port, log = free_port(), tmp_path / "serve.log"
    with run_subprocess([UTTERLY, "serve", "--data-dir", str(data), "--port", str(port)],
                        port=port, ready_path="/api/health", log_path=str(log),
                        startup_timeout_s=120) as url:
        token = httpx.post(f"{url}/api/auth/token",
                           json={"username": "alice", "password": PASSWORD}).json()
        with httpx.Client(base_url=url, timeout=60, headers={
                "Authorization": f"Bearer {token['access_token']}"}) as api:
            bot = api.post("/api/bots", json={"name": "Secret bot", "locales": ["fr"]}).json()
            faq = api.post(f"/api/bots/{bot['id']}/faqs", json={"title": "Mot de passe"}).json()
            assert api.post(f"/api/bots/{bot['id']}/faqs/{faq['id']}/sentences", json={
                "text": "Comment réinitialiser mon mot de passe ?"}).status_code == 201
            engine = create_engine(f"sqlite:///{data / 'utterly.db'}")
            try:
                responses = drive_settings_endpoints(api, bot["id"], faq["id"], engine=engine,
                                                     faulty_url=faulty_server.url)
            finally:
                engine.dispose()
            exported = export_with_secret(api, bot["id"])
    assert_never_echoed(responses)
    assert exported.json()["settings"]["api_key"] == API_KEY
    output = log.read_text()
    assert f"Utterly Studio on http://127.0.0.1:{port}" in output
    assert MARK not in output


# ---- rotation ------------------------------------------------------------------------------

@contextlib.contextmanager
def serving(config: StudioConfig):
    app = create_app(config)
    server = ASGIServer(app)
    server.start()
    try:
        yield app, server.url
    finally:
        server.stop()
        app.state.engine.dispose()


def admin_client(url: str) -> httpx.Client:
    token = httpx.post(f"{url}/api/auth/token",
                       json={"username": "alice", "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def seed_secrets(config: StudioConfig, *, truncate: bool = False) -> tuple[int, tuple[str, str]]:
    """A fresh Studio with admin alice and a bot holding both secrets; returns the bot id
    and its encrypted columns."""
    with serving(config) as (app, url):
        if truncate:
            _truncate(app)
        with app.state.studio.sessions() as session, session.begin():
            user = accounts.create_user(session, "alice", PASSWORD)
            accounts.set_role(session, user, accounts.ensure_namespace(session, "acme"),
                              "admin")
        with admin_client(url) as api:
            bot = api.post("/api/bots", json={"name": "Rotated", "locales": ["fr"]}).json()["id"]
            _store_secrets(api, bot)
        return bot, encrypted_columns(app.state.engine, bot)


def assert_studio_reads_secrets(config: StudioConfig, bot: int) -> None:
    with serving(config) as (_, url), admin_client(url) as api:
        settings = f"/api/bots/{bot}/settings"
        assert api.get(f"{settings}/sentence-generation").json()["api_key"] == "sk-…cdef"
        assert api.get(f"{settings}/observability").json()["langfuse_secret_key"] == \
            "sk-lf-…3210"
        assert export_with_secret(api, bot).json()["settings"]["api_key"] == API_KEY


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_rotate_re_encrypts_every_secret_with_a_new_key_file(tmp_path, request, backend):
    database = [] if backend == "sqlite" else ["--database-url",
                                               request.getfixturevalue("postgres_url")]
    config = StudioConfig(data_dir=tmp_path / "data",
                          database_url=database[1] if database else None)
    bot, before = seed_secrets(config, truncate=bool(database))
    old_key = config.key_file.read_bytes().strip()

    done = utterly("secrets", "rotate", "--data-dir", str(config.data_dir), *database)
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2 secret(s)" in done.stdout
    assert MARK not in done.stdout + done.stderr

    new_key = config.key_file.read_bytes().strip()
    assert new_key != old_key and b"," not in new_key  # the old key is gone
    assert mode(config.key_file) == 0o600
    engine = create_engine(config.url)
    try:
        after = encrypted_columns(engine, bot)
    finally:
        engine.dispose()
    assert after[0] != before[0] and after[1] != before[1]
    assert [Fernet(new_key).decrypt(v.encode()).decode() for v in after] == [API_KEY, LF_SECRET]
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(after[0].encode())
    assert_studio_reads_secrets(config, bot)


def test_rotate_with_an_environment_key_needs_the_new_key_and_moves_to_it(tmp_path):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    config = StudioConfig(data_dir=tmp_path / "data", secret_key=old_key)
    bot, before = seed_secrets(config)
    data = ["--data-dir", str(config.data_dir)]

    refused = utterly("secrets", "rotate", *data, env={"UTTERLY_SECRET_KEY": old_key})
    assert refused.returncode != 0
    assert "error: the current key comes from UTTERLY_SECRET_KEY" in refused.stderr
    assert "--new-key" in refused.stderr and "Traceback" not in refused.stderr
    engine = create_engine(config.url)
    try:
        assert encrypted_columns(engine, bot) == before

        done = utterly("secrets", "rotate", *data, "--new-key", new_key,
                       env={"UTTERLY_SECRET_KEY": old_key})
        assert done.returncode == 0, done.stderr
        assert "re-encrypted 2 secret(s)" in done.stdout
        assert "UTTERLY_SECRET_KEY" in done.stdout
        after = encrypted_columns(engine, bot)
    finally:
        engine.dispose()
    assert not config.key_file.exists()
    assert [Fernet(new_key).decrypt(v.encode()).decode() for v in after] == [API_KEY, LF_SECRET]
    assert_studio_reads_secrets(StudioConfig(data_dir=config.data_dir, secret_key=new_key), bot)

    # The old key alone opens nothing any more, and the API says so in a problem.
    with serving(config) as (_, url), admin_client(url) as api:
        response = api.get(f"/api/bots/{bot}/settings/sentence-generation")
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "configuration"
    assert "UTTERLY_SECRET_KEY" in problem["hint"]
    assert MARK not in response.text
