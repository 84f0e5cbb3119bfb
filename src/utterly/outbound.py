"""Where a server may connect on behalf of settings that its users wrote: the shape of an
outbound URL, and a policy checked on the resolved address at connect time.

Checking a URL's host when it is saved is not enough: a name can resolve elsewhere later
(DNS rebinding), and a server can redirect. So the HTTP clients built for stored settings
resolve the name themselves, check every address, and connect to the checked one; TLS still
verifies the certificate against the name.

Always refused: link-local addresses (cloud metadata services live there), the known
metadata addresses outside it, and addresses no server has (unspecified, multicast,
broadcast, reserved). Loopback and private ranges are allowed unless the operator says
otherwise: a model server on the same host or LAN (Ollama, llama.cpp) is the usual setup.

    UTTERLY_OUTBOUND_DENY   refused destinations
    UTTERLY_OUTBOUND_ALLOW  when set, the only destinations allowed (DENY still wins)

Both take comma-separated CIDRs or addresses (10.0.0.0/8, ::1), host names (ollama.lan,
*.openai.azure.com) and the words `loopback`, `private`, `public` and `all`.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ErrorCode, InvalidRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# (networks, why) in the order they are tested; never allowed, whatever the settings say
_ALWAYS_REFUSED = (
    (_nets("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32",
           "169.254.170.2/32"), "a cloud metadata address"),
    (_nets("169.254.0.0/16", "fe80::/10"), "a link-local address"),
    (_nets("0.0.0.0/8", "::/128"), "an unspecified address"),
    (_nets("224.0.0.0/4", "ff00::/8", "255.255.255.255/32"), "a multicast or broadcast address"),
    (_nets("240.0.0.0/4"), "a reserved address"),
)
_SHORTHANDS = {
    "loopback": _nets("127.0.0.0/8", "::1/128"),
    "private": _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                     "fc00::/7"),
    "all": _nets("0.0.0.0/0", "::/0"),
}
ALLOW_ENV, DENY_ENV = "UTTERLY_OUTBOUND_ALLOW", "UTTERLY_OUTBOUND_DENY"


class OutboundRefused(Exception):
    """The policy refuses a destination. The message names the host and why, never more."""


def _unwrap(ip: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else `ip`."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


@dataclass(frozen=True)
class Rules:
    """Networks, host names (`*.` for any subdomain), and `public` (globally routed)."""

    networks: tuple[Network, ...] = ()
    hosts: tuple[str, ...] = ()
    public: bool = False

    @classmethod
    def parse(cls, text: str, source: str) -> "Rules":
        networks: list[Network] = []
        hosts: list[str] = []
        public = False
        for item in (i.strip().lower() for i in text.split(",")):
            if not item:
                continue
            if item == "public":
                public = True
            elif item in _SHORTHANDS:
                networks.extend(_SHORTHANDS[item])
            else:
                try:
                    networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                except ValueError:
                    name = item.removeprefix("*.")
                    if not name or any(c in name for c in "/:@ ") or "*" in name:
                        raise ValueError(f"{source}: `{item}` is neither a CIDR, an address, "
                                         "a host name nor loopback/private/public/all") from None
                    hosts.append(item)
        return cls(tuple(networks), tuple(hosts), public)

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts or self.public)

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:]))
                   for h in self.hosts)

    def matches(self, host: str, ip: Address) -> bool:
        if self.matches_host(host):
            return True
        if self.public and ip.is_global:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True)
class OutboundPolicy:
    allow: Rules = Rules()
    deny: Rules = Rules()

    @classmethod
    def from_env(cls, environ=None) -> "OutboundPolicy":
        """The policy of UTTERLY_OUTBOUND_ALLOW / _DENY; ValueError names a bad entry."""
        env = os.environ if environ is None else environ
        return cls(allow=Rules.parse(env.get(ALLOW_ENV, ""), ALLOW_ENV),
                   deny=Rules.parse(env.get(DENY_ENV, ""), DENY_ENV))

    def refusal(self, host: str, ip: Address) -> str | None:
        """Why connecting to `ip` (resolved from `host`) is refused, or None."""
        ip = _unwrap(ip)
        for networks, why in _ALWAYS_REFUSED:
            if any(ip.version == n.version and ip in n for n in networks):
                return why
        if self.deny.matches(host, ip):
            return f"refused by {DENY_ENV}"
        if self.allow and not self.allow.matches(host, ip):
            return f"not in {ALLOW_ENV}"
        return None

    def check_host(self, host: str) -> None:
        """What can be told before resolving: an address literal, or a host name the
        rules name. Raises OutboundRefused."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if self.deny.matches_host(host):
                raise OutboundRefused(f"{host} is refused by {DENY_ENV}") from None
            return
        why = self.refusal(host, ip)
        if why:
            raise OutboundRefused(f"{host} is {why}")

    def choose(self, host: str, addresses: list[str]) -> list[str]:
        """The addresses of `host` that may be connected to; OutboundRefused if none."""
        allowed, reasons = [], []
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            why = self.refusal(host, ip)
            if why is None:
                allowed.append(text)
            else:
                reasons.append(why)
        if not allowed:
            why = reasons[0] if reasons else "not resolvable"
            raise OutboundRefused(f"{host} is {why}")
        return allowed


def check_url(url: str | None, field: str, policy: OutboundPolicy | None = None) -> str | None:
    """An outbound base URL as stored settings may hold it: http(s), a host, no user
    information, query or fragment (a `?` would swallow the path the client appends).
    Returns it without a trailing slash; raises InvalidRequest naming `field`."""
    if not url:
        return None
    hint = "e.g. http://127.0.0.1:11434 or https://cloud.langfuse.com"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidRequest(f"{field} must not contain spaces or control characters",
                             field=field, hint=hint)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest(f"{field} is not a valid URL", field=field, hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{field} must be an http(s) URL", field=field, hint=hint)
    if "@" in parts.netloc:
        raise InvalidRequest(f"{field} must not hold a user name or password", field=field,
                             hint="put credentials in the key fields, not in the URL")
    if "?" in url or "#" in url:
        raise InvalidRequest(f"{field} must not have a query (?) or a fragment (#)",
                             field=field, hint=hint)
    if policy is not None:
        try:
            policy.check_host(parts.hostname)
        except OutboundRefused as exc:
            raise InvalidRequest(f"{field}: the server's outbound policy refuses it: {exc}",
                                 field=field, code=ErrorCode.OUTBOUND_REFUSED,
                                 hint="use another host, or ask the server's administrator "
                                      f"({ALLOW_ENV} / {DENY_ENV})") from None
    return url.rstrip("/")


def refused_in(exc: BaseException | None) -> OutboundRefused | None:
    """The OutboundRefused at the root of an exception chain (SDKs wrap what they catch)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OutboundRefused):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


# ---- connect-time enforcement --------------------------------------------------------
# httpx (and httpx2, the openai SDK's) build their connection pool without a network-backend
# parameter; the pool's backend is replaced after construction. Both libraries are pinned,
# and tests/security checks the guard on every client that uses it.

class _AsyncGuard:
    def __init__(self, inner, policy: OutboundPolicy, connect_error: type[Exception]):
        self._inner, self._policy, self._error = inner, policy, connect_error

    async def connect_tcp(self, host, port, timeout=None, local_address=None,
                          socket_options=None):
        import anyio

        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            raise self._error(f"cannot resolve {host}") from None
        try:
            addresses = self._policy.choose(host, list(dict.fromkeys(i[4][0] for i in infos)))
        except OutboundRefused as exc:
            raise self._error(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except self._error as exc:
                last = exc
        raise last

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise self._error("unix sockets are not an outbound destination") \
            from OutboundRefused("a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _SyncGuard:
    def __init__(self, inner, policy: OutboundPolicy, connect_error: type[Exception]):
        self._inner, self._policy, self._error = inner, policy, connect_error

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise self._error(f"cannot resolve {host}") from None
        try:
            addresses = self._policy.choose(host, list(dict.fromkeys(i[4][0] for i in infos)))
        except OutboundRefused as exc:
            raise self._error(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address,
                                               socket_options)
            except self._error as exc:
                last = exc
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise self._error("unix sockets are not an outbound destination") \
            from OutboundRefused("a unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _guard(transport, guard_cls, policy: OutboundPolicy, connect_error):
    pool = transport._pool
    pool._network_backend = guard_cls(pool._network_backend, policy, connect_error)
    return transport


@functools.lru_cache(maxsize=2)
def _tls(library: str):
    """The clients' TLS context, made once per process: loading the certificate
    authorities took 50 ms of CPU, a third of a whole generation's on a fast provider."""
    return importlib.import_module(library).create_ssl_context()


def async_transport(policy: OutboundPolicy):
    """An httpx async transport that connects only where `policy` allows."""
    import httpcore
    import httpx

    return _guard(httpx.AsyncHTTPTransport(verify=_tls("httpx")), _AsyncGuard, policy,
                  httpcore.ConnectError)


def sync_transport(policy: OutboundPolicy):
    """An httpx transport that connects only where `policy` allows."""
    import httpcore
    import httpx

    return _guard(httpx.HTTPTransport(verify=_tls("httpx")), _SyncGuard, policy,
                  httpcore.ConnectError)


def async_transport2(policy: OutboundPolicy):
    """The same for httpx2, the HTTP client of the openai SDK."""
    import httpcore2
    import httpx2

    return _guard(httpx2.AsyncHTTPTransport(verify=_tls("httpx2")), _AsyncGuard, policy,
                  httpcore2.ConnectError)
