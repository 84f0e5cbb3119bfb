"""A server that reads each HTTP request and never sends a byte back: a provider stuck
before its first token, whatever its protocol (OpenAI's, Ollama's). It records each
connection: the request line, and when the client closed it, which is what a caller that
gave up must do (an abandoned connection would keep the vendor's worker busy).
"""

from __future__ import annotations

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
    """Serves on 127.0.0.1 in daemon threads; use as a context manager."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[Connection] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = False

    def __enter__(self) -> SilentServer:
        threading.Thread(target=self._accept, daemon=True, name="silent-server").start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def first_request(self, timeout_s: float = 30.0) -> Connection:
        """The first connection whose request was read, waiting for it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                done = [c for c in self.connections if c.read.is_set()]
            if done:
                return done[0]
            time.sleep(0.01)
        raise AssertionError(f"no request reached the silent server in {timeout_s:g} s")

    def _accept(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            connection = Connection()
            with self._lock:
                self.connections.append(connection)
                self._sockets.append(sock)
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
            while sock.recv(65536):  # never answers; returns b"" when the client closes
                pass
        except OSError:
            pass
        finally:
            connection.closed_at = time.monotonic()
            connection.closed.set()
            sock.close()
