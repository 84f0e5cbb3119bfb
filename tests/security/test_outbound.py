"""Row 3: outbound URLs. The attacks: an admin types a URL that is not http(s), that hides
credentials, or whose `?` swallows the path the client appends; points the server at the
cloud metadata address or, in an install that forbids it, at the server's own loopback;
reads another service's answers through the check's error message; tells closed ports from
open ones by the error.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse

from tests.servers.run import ASGIServer, free_port
from tests.studio.conftest import problem
from utterly.errors import ErrorCode, ProviderError
from utterly.outbound import OutboundPolicy
from utterly.providers import ProviderConfig, create_provider

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SECRET_PAGE = "TOPSECRET-internal-page-do-not-quote"


def settings(world) -> str:
    return f"/api/bots/{world.bot}/settings"


@sqlite_only
@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/v1", "file:///etc/passwd", "gopher://127.0.0.1:70/", "127.0.0.1:8080",
    "http://user:pass@127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1?x=", "http://127.0.0.1/v1#f",
    "http://127.0.0.1:99999/v1", "http://127.0.0.1/ v1", "http:///v1",
])
def test_outbound_urls_are_http_without_userinfo_query_or_fragment(world, url):
    ada = world.studio.api("ada")
    for path, body in (
            ("sentence-generation", {"provider": "openai-compatible", "model": "m",
                                     "base_url": url}),
            ("sentence-generation", {"provider": "azure-openai", "azure_endpoint": url,
                                     "azure_deployment": "d", "api_version": "v",
                                     "api_key": "k"}),
            ("observability", {"otlp_endpoint": url}),
            ("observability", {"langfuse_host": url, "langfuse_public_key": "pk-lf-1",
                               "langfuse_secret_key": "sk-lf-1"})):
        field = next(k for k, v in body.items() if v == url)
        error = problem(ada.put(f"{settings(world)}/{path}", json=body), 422)
        assert error["field"] == field, (path, error)


@sqlite_only
@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data", "http://[fd00:ec2::254]/v1",
    "http://[::ffff:169.254.169.254]/v1", "http://169.254.1.1:8080/v1",
    "http://[fe80::1]:11434", "http://0.0.0.0:8080/v1", "http://100.100.100.200/v1",
])
def test_metadata_and_link_local_addresses_are_always_refused(world, url, monkeypatch):
    monkeypatch.setenv("UTTERLY_OUTBOUND_ALLOW", "all")  # even when everything is allowed
    error = problem(world.studio.api("ada").put(
        f"{settings(world)}/sentence-generation",
        json={"provider": "openai-compatible", "model": "m", "base_url": url}), 422)
    assert error["code"] == "outbound_refused" and error["field"] == "base_url"


@pytest.mark.parametrize("url", ["http://169.254.169.254", "http://[::ffff:a9fe:a9fe]",
                                 "http://[64:ff9b::a9fe:a9fe]"])
async def test_the_connect_time_guard_refuses_before_any_connection(url):
    # No save-time check here: the core client itself, as a job would build it.
    for provider in ("openai", "ollama"):
        client = create_provider(ProviderConfig(provider=provider, model="m", base_url=url,
                                                read_env=False, outbound=OutboundPolicy(),
                                                timeout_s=3, max_retries=0))
        with pytest.raises(ProviderError) as caught:
            await client.check()
        await client.aclose()
        assert caught.value.code == ErrorCode.OUTBOUND_REFUSED, caught.value


@sqlite_only
def test_the_deny_list_is_checked_on_the_resolved_address(world, capture, monkeypatch):
    """A multi-tenant install denies loopback: a name that resolves there (as a rebinding
    DNS name would) passes the save-time look at the URL but is refused at connect time."""
    url, seen = capture
    port = url.rsplit(":", 1)[1]
    monkeypatch.setenv("UTTERLY_OUTBOUND_DENY", "loopback,private")
    ada = world.studio.api("ada")
    literal = problem(ada.put(f"{settings(world)}/sentence-generation", json={
        "provider": "openai-compatible", "model": "gpt-4o-mini", "base_url": f"{url}/v1"}), 422)
    assert literal["code"] == "outbound_refused"
    named = ada.put(f"{settings(world)}/sentence-generation", json={
        "enabled": True, "provider": "openai-compatible", "model": "gpt-4o-mini",
        "base_url": f"http://localhost:{port}/v1"})
    # refused at connect time, in the same words as a name that does not resolve
    # (test_a_refused_name_and_an_unknown_name_get_the_same_answer)
    assert named.status_code >= 400 and named.json()["code"] == "unreachable", named.text
    checks = [ada.post(f"{settings(world)}/observability/check",
                       json={"otlp_endpoint": f"http://localhost:{port}"}).json(),
              ada.post(f"{settings(world)}/observability/check",
                       json={"langfuse_host": f"http://localhost:{port}",
                             "langfuse_public_key": "pk-lf-1",
                             "langfuse_secret_key": "sk-lf-1"}).json()]
    assert [c["error"]["code"] for c in checks] == ["unreachable"] * 2, checks
    assert seen == []  # nothing ever reached the loopback server
    # …and the operator can let one host through
    monkeypatch.setenv("UTTERLY_OUTBOUND_ALLOW", "localhost")
    monkeypatch.setenv("UTTERLY_OUTBOUND_DENY", "private")
    response = ada.put(f"{settings(world)}/sentence-generation", json={
        "enabled": True, "provider": "openai-compatible", "model": "gpt-4o-mini",
        "base_url": f"http://localhost:{port}/v1"})
    assert response.status_code == 200, response.text


def test_a_bad_policy_entry_is_refused_at_start():
    with pytest.raises(ValueError, match="UTTERLY_OUTBOUND_DENY"):
        OutboundPolicy.from_env({"UTTERLY_OUTBOUND_DENY": "10.0.0.0/8,not a host"})


@pytest.fixture
def other_service():
    """Some internal service that is not a model server: its pages must not be quoted."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str):
        if "unauthorized" in path:
            return PlainTextResponse(SECRET_PAGE, status_code=401)
        if "broken" in path:
            return HTMLResponse(f"<h1>{SECRET_PAGE}</h1>", status_code=500)
        return HTMLResponse(f"<html>{SECRET_PAGE}</html>", status_code=404)

    with ASGIServer(app) as url:
        yield url


@sqlite_only
@pytest.mark.parametrize("path", ["", "/unauthorized", "/broken"])
def test_checks_never_quote_what_a_non_vendor_server_answered(world, other_service, path):
    ada = world.studio.api("ada")
    answers = [
        ada.post(f"{settings(world)}/sentence-generation/check", json={
            "provider": "openai-compatible", "model": "m", "base_url": other_service + path}),
        ada.post(f"{settings(world)}/sentence-generation/check", json={
            "provider": "ollama", "model": "m", "base_url": other_service + path}),
        ada.post(f"{settings(world)}/sentence-generation/check", json={
            "provider": "azure-openai", "azure_endpoint": other_service + path,
            "azure_deployment": "d", "api_version": "2024-10-21", "api_key": "k"}),
        ada.post(f"{settings(world)}/observability/check",
                 json={"otlp_endpoint": other_service + path}),
        ada.post(f"{settings(world)}/observability/check",
                 json={"langfuse_host": other_service + path, "langfuse_public_key": "pk-lf-1",
                       "langfuse_secret_key": "sk-lf-1"}),
    ]
    for answer in answers:
        assert answer.status_code == 200 and answer.json()["ok"] is False, answer.text
        assert SECRET_PAGE not in answer.text and "<h1>" not in answer.text, answer.text
        assert "HTTP 4xx" in answer.text or "HTTP 5xx" in answer.text \
            or "refused the" in answer.text, answer.text


@pytest.fixture
def banner_port():
    """An open port that is no HTTP server: it sends a banner and hangs up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


@sqlite_only
def test_closed_and_open_ports_give_the_same_error(world, banner_port):
    closed = free_port()
    ada = world.studio.api("ada")
    errors = {}
    for name, port in (("closed", closed), ("open", banner_port)):
        for provider in ("openai-compatible", "ollama"):
            base = f"http://127.0.0.1:{port}" + ("/v1" if provider != "ollama" else "")
            answer = ada.post(f"{settings(world)}/sentence-generation/check",
                              json={"provider": provider, "model": "m", "base_url": base})
            error = answer.json()["error"]
            errors[name, provider] = (error["code"], error["message"].replace(str(port), "P"),
                                      error["hint"])
        otlp = ada.post(f"{settings(world)}/observability/check",
                        json={"otlp_endpoint": f"http://127.0.0.1:{port}"}).json()["error"]
        errors[name, "otlp"] = (otlp["code"], otlp["message"].replace(str(port), "P"))
    for provider in ("openai-compatible", "ollama", "otlp"):
        assert errors["closed", provider] == errors["open", provider], errors
        assert errors["closed", provider][0] == "unreachable"


def test_policy_rules():
    policy = OutboundPolicy.from_env({"UTTERLY_OUTBOUND_ALLOW": "public,ollama.lan,10.1.2.3",
                                      "UTTERLY_OUTBOUND_DENY": "*.evil.example"})
    ip = ipaddress.ip_address
    assert policy.refusal("api.openai.com", ip("104.18.6.192")) is None
    assert policy.refusal("ollama.lan", ip("192.168.1.20")) is None
    assert policy.refusal("x", ip("10.1.2.3")) is None
    assert policy.refusal("x", ip("10.1.2.4")) == "not in UTTERLY_OUTBOUND_ALLOW"
    assert policy.refusal("x", ip("127.0.0.1")) == "not in UTTERLY_OUTBOUND_ALLOW"
    assert policy.refusal("a.evil.example", ip("104.18.6.192")) == \
        "refused by UTTERLY_OUTBOUND_DENY"
    default = OutboundPolicy()
    assert default.refusal("localhost", ip("127.0.0.1")) is None
    assert default.refusal("lan", ip("192.168.1.2")) is None
    assert default.refusal("m", ip("169.254.169.254")) == "a cloud metadata address"
    assert default.refusal("m", ip("::ffff:169.254.169.254")) == "a cloud metadata address"
    assert default.refusal("m", ip("fe80::1")) == "a link-local address"


# ---- issue 24 ---------------------------------------------------------------------------

@sqlite_only
@pytest.mark.parametrize("host, canonical", [
    ("0177.0.0.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("0251.0376.0251.0376", "169.254.169.254"),
])
def test_an_address_in_octal_or_hex_is_a_validation_error_not_a_500(world, capture, host,
                                                                     canonical):
    """`http://0177.0.0.1` was saved (Python does not read it as an address, so no rule saw
    one), then the HTTP client refused to parse it inside the check: a 500."""
    port = capture[0].rsplit(":", 1)[1]
    url = f"http://{host}:{port}"
    ada = world.studio.api("ada")
    answers = [
        ("base_url", ada.put(f"{settings(world)}/sentence-generation", json={
            "provider": "openai-compatible", "model": "gpt-4o-mini", "base_url": url + "/v1"})),
        ("base_url", ada.post(f"{settings(world)}/sentence-generation/check", json={
            "provider": "ollama", "model": "tinyllama", "base_url": url})),
        ("azure_endpoint", ada.post(f"{settings(world)}/sentence-generation/check", json={
            "provider": "azure-openai", "azure_endpoint": url, "azure_deployment": "d",
            "api_version": "2024-10-21", "api_key": "k"})),
        ("otlp_endpoint", ada.post(f"{settings(world)}/observability/check",
                                   json={"otlp_endpoint": url})),
        ("langfuse_host", ada.post(f"{settings(world)}/observability/check", json={
            "langfuse_host": url, "langfuse_public_key": "pk-lf-1",
            "langfuse_secret_key": "sk-lf-1"})),
    ]
    for field, answer in answers:
        error = problem(answer, 422)
        assert error["code"] == "invalid_input" and error["field"] == field, error
        assert canonical in error["hint"], error
    assert capture[1] == []


EMBEDDING_LOOPBACK = [
    "::7f00:1", "::127.0.0.1",                  # IPv4-compatible (deprecated)
    "::ffff:127.0.0.1", "::ffff:0:7f00:1",      # IPv4-mapped, IPv4-translated
    "64:ff9b::7f00:1", "64:ff9b:1::7f00:1",     # NAT64, well-known and local-use
    "2002:7f00:1::1",                           # 6to4 through 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",     # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", EMBEDDING_LOOPBACK)
def test_ipv6_addresses_carrying_an_ipv4_one_are_judged_on_it(address):
    ip = ipaddress.ip_address(address)
    for env in ({"UTTERLY_OUTBOUND_DENY": "loopback"}, {"UTTERLY_OUTBOUND_ALLOW": "public"}):
        assert OutboundPolicy.from_env(env).refusal("h", ip) is not None, (address, env)
    # the metadata address inside one is refused whatever the policy
    metadata = ipaddress.ip_address(address.replace("7f00:1", "a9fe:a9fe")
                                    .replace("127.0.0.1", "169.254.169.254"))
    if metadata != ip:
        everything = OutboundPolicy.from_env({"UTTERLY_OUTBOUND_ALLOW": "all"})
        assert everything.refusal("h", metadata) is not None, metadata


def test_embedded_ipv4_rules_keep_what_was_allowed():
    default, ip = OutboundPolicy(), ipaddress.ip_address
    assert default.refusal("h", ip("::7f00:1")) == "an IPv4-compatible IPv6 address (deprecated)"
    assert default.refusal("h", ip("::1")) is None  # ::0.0.0.1 is loopback, not compatible
    assert default.refusal("h", ip("::")) == "an unspecified address"
    assert default.refusal("h", ip("::ffff:127.0.0.1")) is None  # as 127.0.0.1 is
    public = OutboundPolicy.from_env({"UTTERLY_OUTBOUND_ALLOW": "public"})
    assert public.refusal("h", ip("::ffff:8.8.8.8")) is None
    assert public.refusal("h", ip("64:ff9b::808:808")) is None
    assert public.refusal("h", ip("2002:a00:1::1")) == "not in UTTERLY_OUTBOUND_ALLOW"


@sqlite_only
@pytest.mark.parametrize("address", EMBEDDING_LOOPBACK)
def test_the_studio_refuses_loopback_spelled_in_ipv6(world, capture, monkeypatch, address):
    url, seen = capture
    port = url.rsplit(":", 1)[1]
    monkeypatch.setenv("UTTERLY_OUTBOUND_ALLOW", "public")
    error = problem(world.studio.api("ada").put(
        f"{settings(world)}/sentence-generation",
        json={"provider": "openai-compatible", "model": "m",
              "base_url": f"http://[{address}]:{port}/v1"}), 422)
    assert error["code"] == "outbound_refused" and error["field"] == "base_url", error
    assert seen == []


@sqlite_only
def test_a_refused_name_and_an_unknown_name_get_the_same_answer(world, capture, monkeypatch):
    """The oracle: `outbound_refused` for a name that resolves to a denied address, and
    `unreachable` for one that does not resolve, told which internal names exist."""
    url, seen = capture
    port = url.rsplit(":", 1)[1]
    monkeypatch.setenv("UTTERLY_OUTBOUND_DENY", "loopback,private")
    ada = world.studio.api("ada")

    def answers(host: str) -> list:
        base = f"http://{host}:{port}"
        found = []
        for provider, body in (
                ("openai-compatible", {"model": "m", "base_url": base + "/v1"}),
                ("ollama", {"model": "tinyllama", "base_url": base}),
                ("azure-openai", {"azure_endpoint": base, "azure_deployment": "d",
                                  "api_version": "2024-10-21", "api_key": "k"})):
            found.append(ada.post(f"{settings(world)}/sentence-generation/check",
                                  json={"provider": provider, **body}).json()["error"])
            found.append(ada.put(f"{settings(world)}/sentence-generation",
                                 json={"provider": provider, "enabled": True, **body}).json())
        for body in ({"otlp_endpoint": base},
                     {"langfuse_host": base, "langfuse_public_key": "pk-lf-1",
                      "langfuse_secret_key": "sk-lf-1"}):
            found.append(ada.post(f"{settings(world)}/observability/check",
                                  json=body).json()["error"])
        return [{k: str(v).replace(host, "HOST") for k, v in answer.items()
                 if k in ("code", "message", "hint", "detail", "status")}
                for answer in found]

    refused, unknown = answers("localhost"), answers("no-such-host.invalid")
    assert refused == unknown
    assert {a["code"] for a in refused} == {"unreachable"}, refused
    # the legitimate user is told what to check, the policy included
    assert all("UTTERLY_OUTBOUND_DENY" in a["hint"] for a in refused), refused
    assert seen == []
