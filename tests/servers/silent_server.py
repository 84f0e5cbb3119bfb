"""A provider that never answers, on 127.0.0.1: it accepts every connection and reads every
request, and sends nothing back, not even a status line; until `hang_up()`, which closes
every connection and stops listening (the calls then fail as an unreachable server, at once).

`requests` counts the connections a request came on: how many calls are waiting on it.
"""

from __future__ import annotations

import socket
import threading
import time


class SilentServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._asked: set[int] = set()
        threading.Thread(target=self._accept, name="silent-accept", daemon=True).start()

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self._asked)

    def wait_for_requests(self, count: int, timeout_s: float = 60.0) -> None:
        """Until `count` calls wait on it (a generation reached it), or fail after
        `timeout_s`: a bound for a busy machine, not a measurement."""
        deadline = time.monotonic() + timeout_s
        while self.requests < count:
            assert time.monotonic() < deadline, f"{self.requests} of {count} calls came"
            time.sleep(0.05)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # hung up
                return
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        try:
            while connection.recv(65536):
                with self._lock:
                    self._asked.add(id(connection))
        except OSError:
            pass

    def hang_up(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
