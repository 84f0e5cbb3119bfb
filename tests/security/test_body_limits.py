"""Row 7: request bodies are limited while they are read, and authentication comes first.

The attacks: a 400 MB JSON body sent before any authentication was read whole (28.7 s);
an import's body was read before the login was checked.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.studio.conftest import problem

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def raw_request(url: str, head: str, body: bytes = b"", timeout_s: float = 5.0) -> tuple[
        int, bytes, float]:
    """Send `head` (and `body`) on a socket, return (status, response body, seconds)."""
    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_end = data.index(b"\r\n\r\n")
        headers = data[:head_end].decode()
        length = int(next(line.split(":")[1] for line in headers.split("\r\n")
                          if line.lower().startswith("content-length")))
        rest = data[head_end + 4:]
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(headers.split()[1]), rest, time.monotonic() - started


def head(method: str, path: str, **headers: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n"


@sqlite_only
def test_a_declared_400_mb_body_is_refused_before_it_is_read(world):
    # Only the headers are sent: the answer must not wait for the 400 MB.
    status, body, seconds = raw_request(world.studio.url, head(
        "POST", "/api/auth/token", content_type="application/json",
        content_length=str(400 * 1024 * 1024)), b'{"username": "')
    assert status == 413 and seconds < 1.0, (status, body, seconds)
    assert json.loads(body)["code"] == "body_too_large"


@sqlite_only
def test_a_chunked_body_is_cut_at_the_limit(world):
    chunk = b"x" * 65536
    stream = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 40  # 2.5 MiB, no length declared
    status, body, _ = raw_request(world.studio.url, head(
        "POST", "/api/auth/login", content_type="application/json",
        transfer_encoding="chunked"), stream + b"0\r\n\r\n")
    assert status == 413, body
    assert json.loads(body)["code"] == "body_too_large"


def test_every_json_route_refuses_a_body_over_1_mib(world):
    bob = world.studio.api("bob")
    big = {"sentences": [{"text": "x" * 400}] * 3000}  # ~1.3 MB
    response = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences/batch",
                        json=big)
    assert problem(response, 413)["code"] == "body_too_large"
    ok = bob.post(f"/api/bots/{world.bot}/faqs/{world.faq_parcel}/sentences/batch",
                  json={"sentences": [{"text": "Mon colis n'arrive pas"}]})
    assert ok.status_code == 201, ok.text


@sqlite_only
def test_an_import_checks_the_login_and_the_role_before_reading_the_file(world):
    # 15 MB declared (under the import limit), none of it sent: the answer comes at once.
    path = f"/api/bots/{world.bot}/import"
    status, body, seconds = raw_request(world.studio.url, head(
        "POST", path, content_type="text/csv", content_length=str(15 * 1024 * 1024)))
    assert status == 401 and seconds < 2.0, (status, body, seconds)
    vic = world.studio.api("vic").headers["Authorization"]
    status, body, seconds = raw_request(world.studio.url, head(
        "POST", path, content_type="text/csv", authorization=vic,
        content_length=str(15 * 1024 * 1024)))
    assert status == 403 and seconds < 2.0, (status, body, seconds)


@sqlite_only
def test_an_import_over_its_own_limit_is_a_413(world):
    bob = world.studio.api("bob")
    response = bob.post(f"/api/bots/{world.bot}/import", content=b"a" * (21 * 1024 * 1024),
                        headers={"Content-Type": "text/csv"})
    assert problem(response, 413)["code"] == "body_too_large"
    ok = bob.post(f"/api/bots/{world.bot}/import?locale=fr",
                  content="intent,text\nColis,Mon colis est perdu\n".encode(),
                  headers={"Content-Type": "text/csv"})
    assert ok.status_code == 200, ok.text
