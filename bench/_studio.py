"""Shared helpers for the Studio benchmarks: a real app over HTTP on a fresh database.

    with studio("postgresql") as st:      # create_app on its own database, served by uvicorn
        bot = st.api.post("/api/bots", json={...}).json()

SQLite lives in a temporary directory; PostgreSQL gets a database of its own, created on
the server at UTTERLY_BENCH_POSTGRES_ADMIN_URL (default postgres@127.0.0.1:5432) and
dropped afterwards, even when the benchmark fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for tests/

from tests.postgres import throwaway_database  # noqa: E402
from utterly.studio.app import create_app  # noqa: E402
from utterly.studio.config import StudioConfig  # noqa: E402
from utterly.studio.services import accounts  # noqa: E402

PG_ADMIN_URL = os.environ.get("UTTERLY_BENCH_POSTGRES_ADMIN_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1"
BACKENDS = ("sqlite", "postgresql")


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread; yields the base URL."""
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it every keep-alive response waits ~40 ms (Nagle vs delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def database(backend: str, tmpdir: Path) -> Iterator[str]:
    """A database URL for `backend`: a SQLite file, or a PostgreSQL database of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{tmpdir / 'utterly.db'}"
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r}; use sqlite or postgresql")
    with throwaway_database(PG_ADMIN_URL, "utterly_bench") as url:
        yield url


@dataclass
class Studio:
    backend: str
    url: str
    app: object
    api: httpx.Client  # bearer token of `bench`, admin of namespace `bench`
    namespace_id: int

    @property
    def sessions(self):
        return self.app.state.studio.sessions

    def new_bot(self, name: str, locales=("fr",)) -> int:
        response = self.api.post("/api/bots", json={"name": name, "locales": list(locales),
                                                    "namespace_id": self.namespace_id})
        response.raise_for_status()
        return response.json()["id"]

    def new_faq(self, bot_id: int, title: str, locale: str = "fr") -> int:
        response = self.api.post(f"/api/bots/{bot_id}/faqs",
                                 json={"title": title, "locale": locale})
        response.raise_for_status()
        return response.json()["id"]


@contextlib.contextmanager
def studio(backend: str) -> Iterator[Studio]:
    """create_app on a fresh `backend` database, served over HTTP, with an admin user."""
    with tempfile.TemporaryDirectory(prefix="utterly-bench-") as tmp, \
            database(backend, Path(tmp)) as url:
        app = create_app(StudioConfig(data_dir=Path(tmp) / "data", database_url=url))
        try:
            with app.state.studio.sessions() as session, session.begin():
                user = accounts.create_user(session, "bench", PASSWORD)
                namespace = accounts.ensure_namespace(session, "bench")
                accounts.set_role(session, user, namespace, "admin")
                namespace_id = namespace.id
            with serve(app) as base:
                token = httpx.post(f"{base}/api/auth/token",
                                   json={"username": "bench", "password": PASSWORD})
                token.raise_for_status()
                with httpx.Client(base_url=base, timeout=600, headers={
                        "Authorization": f"Bearer {token.json()['access_token']}"}) as api:
                    yield Studio(backend, base, app, api, namespace_id)
        finally:
            app.state.engine.dispose()


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
