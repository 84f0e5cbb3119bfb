"""Run test servers on 127.0.0.1: an ASGI app in a thread, or a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class ASGIServer:
    """uvicorn serving `app` on a free port in a daemon thread. Use as a context manager."""

    def __init__(self, app, *, startup_timeout_s: float = 10.0, **uvicorn_options):
        import uvicorn

        # IPPROTO_TCP explicitly: with protocol 0, asyncio does not recognise the socket as
        # TCP and leaves Nagle's algorithm on, adding ~40 ms to every keep-alive request.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # An idle kept-alive connection is closed after 1 s (uvicorn's default is 5 s): a
        # client must cope with a close that crosses its next request, as real servers do
        # (test_an_export_on_a_connection_closed_meanwhile_is_sent_again).
        # `uvicorn_options`: what `utterly serve` adds (its proxy headers, say).
        config = uvicorn.Config(app, log_level="warning", lifespan="auto",
                                timeout_graceful_shutdown=1, timeout_keep_alive=1,
                                **uvicorn_options)
        self.server = uvicorn.Server(config)
        self.startup_timeout_s = startup_timeout_s
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name=f"uvicorn-{self.port}")

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"test server on port {self.port} did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        if self.thread.is_alive():  # a handler that never returns: force it
            self.server.force_exit = True
            self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def run_asgi(app) -> Iterator[str]:
    """Serve `app` for the duration of the block; yields the base URL."""
    with ASGIServer(app) as url:
        yield url


@contextlib.contextmanager
def run_subprocess(args: Sequence[str], *, port: int, startup_timeout_s: float = 60.0,
                   ready_path: str | None = None, env: dict | None = None,
                   log_path: str | None = None) -> Iterator[str]:
    """Start `args` (which must listen on `port`), wait until it answers, yield its URL.

    With `ready_path`, waits until a GET on it answers 200 (a server can accept connections
    before it has loaded its model). The process is terminated, then killed, on exit.
    """
    import httpx

    url = f"http://127.0.0.1:{port}"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {proc.returncode} before answering"
                                   + (f"; see {log_path}" if log_path else ""))
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args[:3])} did not answer on port {port} "
                                   f"within {startup_timeout_s:g} s")
            if port_answers(port):
                if ready_path is None:
                    break
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + ready_path, timeout=2).status_code == 200:
                        break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if log_path:
            log.close()


def python_module_args(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
