"""The Studio's commands as a person runs them: `utterly users create`, `utterly serve` and
`utterly demo`, each a real subprocess of the installed `utterly` command."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.servers.run import free_port, port_answers
from tests.studio.conftest import PASSWORD
from utterly.studio.db import migrate
from utterly.studio.demo import DEMO_BOT, DEMO_PASSWORD, DEMO_USER, FAQS
from utterly.studio.models import Base

UTTERLY = str(Path(sys.executable).with_name("utterly"))


@pytest.fixture(autouse=True)
def _no_studio_env(monkeypatch):
    for name in ("UTTERLY_SECRET_KEY", "UTTERLY_DATA_DIR", "UTTERLY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> list[str]:
    """Storage options: the default SQLite file in the data directory, or PostgreSQL."""
    options = ["--data-dir", str(tmp_path / "data")]
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            migrate(engine)
            with engine.begin() as conn:  # the run's database is shared: start empty
                tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()
        options += ["--database-url", url]
    return options


def utterly(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([UTTERLY, *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


@contextlib.contextmanager
def running(*args: str, log: Path):
    """`utterly ARGS` serving on the port given in ARGS; yields its base URL once
    /api/health answers. Stopped with SIGINT (Ctrl-C), killed if it does not stop."""
    port = int(args[args.index("--port") + 1])
    with log.open("wb") as out:
        proc = subprocess.Popen([UTTERLY, *args], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while not healthy(url, port):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"no answer on {port}: {log.read_text()}"
                time.sleep(0.1)
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def healthy(url: str, port: int) -> bool:
    if not port_answers(port):
        return False
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/api/health", timeout=10).is_success
    return False


def login(url: str, username: str, password: str) -> httpx.Client:
    response = httpx.post(f"{url}/api/auth/token",
                          json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=url, timeout=30,
                        headers={"Authorization": f"Bearer {response.json()['access_token']}"})


# ---- users create, then serve --------------------------------------------------------

def test_users_create_then_serve_answers_health_login_and_an_offline_docs_page(storage,
                                                                              tmp_path):
    created = utterly("users", "create", "alice", "--admin", "--password-stdin", *storage,
                      stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created alice (admin of namespace default)"

    again = utterly("users", "create", "alice", "--admin", "--password-stdin", *storage,
                    stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "error: user `alice` already exists" in again.stderr
    assert "hint: choose another username" in again.stderr
    assert "Traceback" not in again.stderr

    short = utterly("users", "create", "bob", "--password-stdin", *storage, stdin="short\n")
    assert short.returncode == 1
    assert "error: password must have at least 8 characters" in short.stderr
    assert "Traceback" not in short.stderr

    port, log = free_port(), tmp_path / "serve.log"
    with running("serve", *storage, "--port", str(port), log=log) as url:
        health = httpx.get(f"{url}/api/health").json()
        assert health["status"] == "ok" and health["version"]
        assert health["database"] == ("postgresql" if "--database-url" in storage
                                      else "sqlite")
        with login(url, "alice", PASSWORD) as alice:
            me = alice.get("/api/auth/me").json()
        assert me["username"] == "alice"
        assert [(ns["name"], ns["role"]) for ns in me["namespaces"]] == [("default", "admin")]
        refused = httpx.post(f"{url}/api/auth/token",
                             json={"username": "bob", "password": "short"})
        assert refused.status_code == 401  # the refused user was not created

        docs = httpx.get(f"{url}/api/docs")
        assert docs.status_code == 200
        assert "text/html" in docs.headers["content-type"]
        assert not re.search(r"https?://", docs.text), "the docs page must work offline"
        assets = re.findall(r'(?:src|href)="(/api/docs-assets/[^"]+)"', docs.text)
        assert {Path(a).name for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
        for asset in assets:
            response = httpx.get(url + asset)
            assert response.status_code == 200, asset
            assert response.content
        assert httpx.get(f"{url}/api/openapi.json").json()["info"]["title"] == \
            "Utterly Studio API"
    assert f"Utterly Studio on http://127.0.0.1:{port}" in log.read_text()
    if "--database-url" not in storage:
        assert (tmp_path / "data" / "utterly.db").is_file()  # the default database


# ---- demo ------------------------------------------------------------------------------

def demo_state(url: str) -> dict:
    with login(url, DEMO_USER, DEMO_PASSWORD) as demo:
        bots = demo.get("/api/bots").json()
        assert [(b["name"], b["locales"]) for b in bots] == [(DEMO_BOT, ["fr"])]
        bot = bots[0]["id"]
        faqs = demo.get(f"/api/bots/{bot}/faqs").json()
        settings = demo.get(f"/api/bots/{bot}/settings/sentence-generation").json()
        namespaces = demo.get("/api/namespaces").json()
    return {"faqs": sorted((f["title"], f["locale"], f["human_sentences"]) for f in faqs),
            "generation": (settings["enabled"], settings["provider"]),
            "namespaces": [(ns["name"], ns["role"]) for ns in namespaces]}


def test_demo_prints_its_login_and_seeds_a_french_bot_once(storage, tmp_path):
    expected = {"faqs": sorted((title, "fr", len(sentences)) for title, _, sentences in FAQS),
                "generation": (True, "local"), "namespaces": [("demo", "admin")]}
    for attempt in (1, 2):  # the second start finds its data and adds nothing
        port, log = free_port(), tmp_path / f"demo{attempt}.log"
        with running("demo", *storage, "--port", str(port), log=log) as url:
            output = log.read_text()
            assert f"Utterly Studio on http://127.0.0.1:{port}" in output
            assert f"Demo login: {DEMO_USER} / {DEMO_PASSWORD}" in output
            assert demo_state(url) == expected
