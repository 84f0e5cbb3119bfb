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
An IPv6 address that carries an IPv4 one is judged on that one too (`_candidates`); an IPv4
address spelt otherwise than in dotted decimal is not a valid URL (`check_url`).

At connect time a name that does not resolve and a name whose addresses are all refused
fail alike, or the answer would tell which internal names exist (`_addresses`).

    UTTERLY_OUTBOUND_DENY   refused destinations
    UTTERLY_OUTBOUND_ALLOW  when set, the only destinations allowed (DENY still wins)

Both take comma-separated CIDRs or addresses (10.0.0.0/8, ::1), host names (ollama.lan,
*.openai.azure.com) and the words `loopback`, `private`, `public` and `all`.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import logging
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


# IPv6 spellings of one IPv4 address: policy is decided on the IPv4 address they stand for.
_TRANSLATED = _nets("::ffff:0:0/96",      # IPv4-mapped
                    "::ffff:0:0:0/96",    # IPv4-translated (SIIT)
                    "64:ff9b::/96",       # NAT64, well-known prefix
                    "64:ff9b:1::/48")     # NAT64, local-use prefix (RFC 8215; /96 layout)
# IPv4-compatible (::a.b.c.d), deprecated since 2006: no server has one, and a kernel may
# still route it to the IPv4 address it holds. `::` and `::1` are not of them.
_COMPATIBLE = ipaddress.ip_network("::/96")
_NOT_COMPATIBLE = _nets("::/127")


def _candidates(ip: Address) -> tuple[Address, ...] | None:
    """The addresses a connection to `ip` reaches and that the policy must all allow:
    the IPv4 address behind a translated IPv6 one; a 6to4 or Teredo address and the IPv4
    gateways it tunnels through. None for an IPv4-compatible address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return (ip,)
    if ip in _COMPATIBLE and not any(ip in n for n in _NOT_COMPATIBLE):
        return None
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if any(ip in n for n in _TRANSLATED):
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip, ip.sixtofour)
    if ip.teredo is not None:
        return (ip, *ip.teredo)
    return (ip,)


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
        """Why connecting to `ip` (resolved from `host`) is refused, or None. An IPv6
        address that carries an IPv4 one is judged on both (`_candidates`)."""
        candidates = _candidates(ip)
        if candidates is None:
            return "an IPv4-compatible IPv6 address (deprecated)"
        for address in candidates:
            why = self._refusal(host, address)
            if why:
                return why
        return None

    def _refusal(self, host: str, ip: Address) -> str | None:
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


def policy_hint(policy: OutboundPolicy | None) -> str:
    """What to add to the hint of "cannot connect" when the operator's rules may be why
    (the same words whatever the name resolved to: see `_addresses`)."""
    if policy is None or not (policy.allow or policy.deny):
        return ""
    return ("; if they are, this server's outbound policy may refuse the address: ask its "
            f"administrator ({ALLOW_ENV} / {DENY_ENV})")


def check_url(url: str | None, field: str, policy: OutboundPolicy | None = None) -> str | None:
    """An outbound base URL as stored settings may hold it: http(s), a host, no user
    information, query or fragment (a `?` would swallow the path the client appends).
    Returns it without a trailing slash; raises InvalidRequest naming `field`."""
    if not url:
        return None
    hint = "e.g. http://127.0.0.1:11434 or https://cloud.langfuse.com"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidRequest(f"{field} must not contain spaces or control characters",
                             field=field, hint=hint, reason="url_spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest(f"{field} is not a valid URL", field=field, hint=hint,
                             reason="url_invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{field} must be an http(s) URL", field=field, hint=hint,
                             reason="url_scheme")
    if "@" in parts.netloc:
        raise InvalidRequest(f"{field} must not hold a user name or password", field=field,
                             hint="put credentials in the key fields, not in the URL",
                             reason="url_credentials")
    if "?" in url or "#" in url:
        raise InvalidRequest(f"{field} must not have a query (?) or a fragment (#)",
                             field=field, hint=hint, reason="url_query")
    canonical = _odd_ipv4(parts.hostname)
    if canonical:
        raise InvalidRequest(
            f"{field}: `{parts.hostname}` is an IPv4 address in a form that programs read "
            "differently (octal, hexadecimal, a number or fewer than four parts)",
            field=field, hint=f"write it in dotted decimal: {canonical}",
            reason="url_odd_ipv4", params={"host": parts.hostname, "canonical": canonical})
    if policy is not None:
        try:
            policy.check_host(parts.hostname)
        except OutboundRefused as exc:
            raise InvalidRequest(f"{field}: the server's outbound policy refuses it: {exc}",
                                 field=field, code=ErrorCode.OUTBOUND_REFUSED,
                                 params={"host": parts.hostname},
                                 hint="use another host, or ask the server's administrator "
                                      f"({ALLOW_ENV} / {DENY_ENV})") from None
    return url.rstrip("/")


def _odd_ipv4(host: str) -> str | None:
    """The dotted-decimal form of a host that the C library reads as an IPv4 address
    (`0177.0.0.1`, `0x7f.1`, `2130706433`, `127.1`) but is not written as one; else None.
    Python's ipaddress refuses these, the resolver takes them, the HTTP clients reject
    them: they are refused here, before any of them sees the URL."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except (OSError, ValueError):
        return None
    return str(ipaddress.IPv4Address(packed))


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

log = logging.getLogger("utterly.outbound")


def _addresses(policy: OutboundPolicy, host: str, infos, error: type[Exception]) -> list[str]:
    """The addresses of `host` to try, from getaddrinfo's answer (None: it did not resolve).

    A name that does not resolve and a name whose every address the policy refuses fail
    alike (`error`, a plain connect error): telling them apart would let whoever writes a
    URL learn which internal names exist. The operator's log says which it was. (What needs
    no resolution, an address literal or a host name a rule names, is refused before, by
    `check_host`, as it was when the URL was saved.)"""
    if infos is not None:
        try:
            return policy.choose(host, list(dict.fromkeys(i[4][0] for i in infos)))
        except OutboundRefused as exc:
            log.warning("outbound connection refused: %s", exc)
    # Raised out of the handler: not even the context may name the refusal (refused_in)
    raise error(f"{host} has no address this server may connect to")


class _AsyncGuard:
    def __init__(self, inner, policy: OutboundPolicy, connect_error: type[Exception]):
        self._inner, self._policy, self._error = inner, policy, connect_error

    async def connect_tcp(self, host, port, timeout=None, local_address=None,
                          socket_options=None):
        import anyio

        try:
            self._policy.check_host(host)
        except OutboundRefused as exc:
            raise self._error(str(exc)) from exc
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            infos = None
        addresses = _addresses(self._policy, host, infos, self._error)
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
            self._policy.check_host(host)
        except OutboundRefused as exc:
            raise self._error(str(exc)) from exc
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            infos = None
        addresses = _addresses(self._policy, host, infos, self._error)
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
