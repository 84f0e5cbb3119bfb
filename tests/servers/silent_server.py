"""A provider that never answers: a TCP server on 127.0.0.1 that accepts each connection,
reads what the client sends (an HTTP request) and never writes a byte back, until the
client gives up and closes. It counts the connections open at once, and the most there
were: how many calls were waiting on it together."""

from __future__ import annotations

import contextlib
import socket
import threading


class SilentServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.open_now = 0
        self.peak = 0
        self.accepted = 0
        self.connections: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="silent-server").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self.lock:
                if self.closed:
                    conn.close()
                    return
                self.connections.append(conn)
                self.accepted += 1
                self.open_now += 1
                self.peak = max(self.peak, self.open_now)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass  # the request, read and never answered
        with self.lock:
            self.open_now -= 1

    def close(self) -> None:
        """Stop listening and drop every connection: the calls waiting fail at once."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            connections = list(self.connections)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
