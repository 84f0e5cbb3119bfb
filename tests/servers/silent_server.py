"""A provider stuck before its first byte, on 127.0.0.1: it accepts every connection, reads
the HTTP request, and never sends anything back, whatever the protocol (OpenAI's, Ollama's).
It records what a caller's fairness and cancel tests look at: each connection (its request
line, when the request was read, when the client closed it: a caller that gave up must
close, or the vendor's worker stays busy), how many requests came, how many connections are
open now and the most there were at once. `hang_up()` (or `close()`, or leaving the `with`
block) drops every connection and stops listening: the calls waiting then fail at once, as
on an unreachable server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Connection:
    request_line: str = ""
    opened_at: float = 0.0   # time.monotonic() when the whole request was read
    closed_at: float | None = None
    read: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)


class SilentServer:
    """Listens from creation, in daemon threads; usable as a context manager."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[Connection] = []
        self.open_now = 0
        self.peak = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="silent-server").start()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.hang_up()

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self.connections)

    @property
    def requests(self) -> int:
        """Connections a whole request came on: calls waiting on the server (or that did)."""
        with self._lock:
            return sum(c.read.is_set() for c in self.connections)

    def wait_for_requests(self, count: int, timeout_s: float = 60.0) -> None:
        """Until `count` requests came, or fail after `timeout_s`: a bound for a busy
        machine, not a measurement."""
        deadline = time.monotonic() + timeout_s
        while self.requests < count:
            assert time.monotonic() < deadline, f"{self.requests} of {count} calls came"
            time.sleep(0.02)

    def first_request(self, timeout_s: float = 30.0) -> Connection:
        """The first connection whose request was read, waiting for it."""
        self.wait_for_requests(1, timeout_s)
        with self._lock:
            return next(c for c in self.connections if c.read.is_set())

    def hang_up(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sockets = list(self._sockets)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    close = hang_up

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:  # hung up
                return
            connection = Connection()
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                self.connections.append(connection)
                self._sockets.append(sock)
                self.open_now += 1
                self.peak = max(self.peak, self.open_now)
            threading.Thread(target=self._hold, args=(sock, connection), daemon=True).start()

    def _hold(self, sock: socket.socket, connection: Connection) -> None:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            connection.request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                body += chunk
            connection.opened_at = time.monotonic()
            connection.read.set()
            while sock.recv(65536):  # never answers; b"" when the client closes
                pass
        except OSError:
            pass
        finally:
            connection.closed_at = time.monotonic()
            connection.closed.set()
            with self._lock:
                self.open_now -= 1
            with contextlib.suppress(OSError):
                sock.close()
