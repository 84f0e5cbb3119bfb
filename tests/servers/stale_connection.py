"""An HTTP receiver whose keep-alive connections go stale, on 127.0.0.1.

It answers the first request of each connection (200, empty body, the connection kept
alive), and closes the connection without answering when a second request comes on it:
what a client sees when the server's idle timeout closes a kept-alive connection just as the
client sends its next request on it (uvicorn closes idle connections after 5 s by default,
after 1 s in tests/servers/run.py; nginx after 75 s). A client that sends the request once
more, on a new connection, loses nothing; one that does not loses that request.

What it answered is kept (`received`: path and body, in order), and `stale` counts the
requests it closed a connection on. `spans()` decodes what came to an OTLP path (Langfuse's
or a collector's), as the recorder does.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator

from .langfuse_recorder import RecordedSpan, decode_spans

OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n"
      b"Connection: keep-alive\r\n\r\n")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        served = 0
        while True:
            request_line = self.rfile.readline()
            if not request_line.strip():
                return  # the client closed the connection
            headers: dict[str, str] = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length", 0)))
            if served:
                with self.server.lock:
                    self.server.stale += 1
                return  # closed without an answer, as an idle timeout would have
            with self.server.lock:
                self.server.received.append((request_line.split()[1].decode(), body))
            self.wfile.write(OK)
            self.wfile.flush()
            served += 1


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[tuple[str, bytes]] = []
        self.stale = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[RecordedSpan]:
        with self.lock:
            received = list(self.received)
        return [span for path, body in received if path.endswith("/v1/traces")
                for span in decode_spans(body, path)]


@contextlib.contextmanager
def run_stale_connection_receiver() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True, name="stale-connection-receiver")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
