"""The gates of the Studio's model calls (providers/gate.py): per provider endpoint and
API key, at most the endpoint's limit of calls at once, and a 429 pauses them all.

The endpoint's limit is the operator's (UTTERLY_PROVIDER_SLOTS, SlotLimits below), never a
bot's: bots sharing an endpoint and key share its slots, and a bot's own `max_concurrency`
only lowers the part it may hold. Calls are counted per endpoint, per bot (its own limit)
and per namespace: among namespaces waiting for a slot, a free one goes to a namespace
holding the fewest (LocalGate says the rules), so a bot that asks for 64 at once gets the
endpoint's limit at most, and only while nobody else asks.

Without Redis the count is this process's. With UTTERLY_REDIS_URL (or a Redis
UTTERLY_BROKER_URL) it is the fleet's: every Studio process and worker sharing the Redis
counts against one limit (they must share UTTERLY_PROVIDER_SLOTS too). A bulk job's call
takes no slot while an interactive one waits for a slot, so that a person waits at most for
one call to end, never behind a job; and bulk jobs alone may use every slot.

The fleet's count is a sorted set of holders, each expiring 10 s after its last renewal
(a live call renews it): a worker killed during a call gives its slot back within 10 s.
(Dramatiq's ConcurrentRateLimiter keeps a bare counter whose expiry every acquisition
pushes back, so under steady load a slot lost in a crash would never come back.)
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .. import waiting
from ..errors import ErrorCode, UtterlyError
from ..providers import PROVIDERS, ProviderConfig
from ..providers.gate import (
    ENDPOINT_FULL,
    FAIR_SHARE,
    INTERACTIVE_FIRST,
    OWN_LIMIT,
    PAUSED,
    LocalGate,
    SharedCount,
    SlotWait,
)

PREFIX = "utterly:calls:"
SLOTS_ENV = "UTTERLY_PROVIDER_SLOTS"
# StudioConfig.provider_slots's default, for a process that never configured its gates
DEFAULT_SLOTS = 8
MAX_SLOTS = 1000

# One round trip per try; the same rules as LocalGate's. Members are "tenant|caller|id".
# KEYS: holders, interactive and bulk calls waiting that a free slot would serve (sorted
# sets: member -> expiry, ms), callers with an interactive call waiting (caller -> expiry),
# the pause after a 429. ARGV: the endpoint's limit, member, hold ms, bulk (1/0), how long
# a waiting mark lasts (ms), the caller's own limit, tenant, caller. Returns 1 (a slot),
# 0 (the endpoint is full), 2 (the caller is at its own limit), 3 (another namespace
# waiting holds fewer), 4 (an interactive call goes first), or -ms (paused that long).
# Redis's clock is the fleet's one clock. A caller's mark among those with an interactive
# call waiting goes when one of them gets a slot: another still waiting marks it again at
# its next try, as soon as that slot's taking is announced (RedisGate.slot).
_ACQUIRE = """
local paused = redis.call('PTTL', KEYS[5])
if paused > 0 then return -paused end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
local member, tenant, caller = ARGV[2], ARGV[7], ARGV[8]
local bulk = ARGV[4] == '1'
local mark = now + tonumber(ARGV[5])
local waiting = KEYS[2]
if bulk then
  waiting = KEYS[3]
else
  redis.call('ZADD', KEYS[4], mark, caller)
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
end
local total, own, held = 0, 0, {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local ht, hc = string.match(h, '^([^|]*)|([^|]*)|')
  ht = ht or ''
  total = total + 1
  held[ht] = (held[ht] or 0) + 1
  if ht == tenant and hc == caller then own = own + 1 end
end
if own >= tonumber(ARGV[6]) then
  redis.call('ZREM', waiting, member)
  return 2
end
redis.call('ZADD', waiting, mark, member)
redis.call('PEXPIRE', waiting, ARGV[5])
if bulk and (redis.call('ZCARD', KEYS[2]) > 0 or redis.call('ZSCORE', KEYS[4], caller)) then
  return 4
end
if total >= tonumber(ARGV[1]) then return 0 end
local mine = held[tenant] or 0
if mine > 0 then
  for _, w in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
    local wt = string.match(w, '^([^|]*)|') or ''
    if wt ~= tenant and (held[wt] or 0) < mine then return 3 end
  end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), member)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREM', waiting, member)
if not bulk then redis.call('ZREM', KEYS[4], caller) end
return 1
"""
# Renews a live holder's slot (KEYS: holders; ARGV: member, hold ms), if it still has one.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""
_REASONS = {0: ENDPOINT_FULL, 2: OWN_LIMIT, 3: FAIR_SHARE, 4: INTERACTIVE_FIRST}
# How long a slot outlives its holder's last renewal (s): a killed worker's calls stop
# counting this long after it died.
HOLD_S = 10.0
# A waiting call renews its marks at each try; a caller gone (a killed process) stops
# holding others back this long after its last try (ms).
WAIT_MARK_MS = 2000


# How often a call waiting for a fleet slot reads its place in line (s): a round trip
# that only a person watching needs, not each try's.
PLACE_EVERY_S = 0.5
# A waiting call tries again when told that the endpoint's line changed (a slot freed, a
# call came or left: CHANGED, published by the process where it happened), and after this
# long with no word (s): a safety net for what nobody announces (a killed worker's slot
# that expired, a lost connection), shorter than WAIT_MARK_MS so that its marks live on.
WAKE_NET_S = 1.0
CHANGED = ":changed"


class Wakeups:
    """The calls of this process waiting for fleet slots, woken when Redis says that their
    endpoint's line changed: one thread per Redis client listens for every endpoint, and
    wakes each waiting call on its own event loop (each generation runs on its own)."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.sleepers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self.thread: threading.Thread | None = None

    def add(self, channel: str, sleeper) -> None:
        with self.lock:
            self.sleepers.setdefault(channel, set()).add(sleeper)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._listen, daemon=True,
                                               name="utterly-gate-wakeups")
                self.thread.start()

    def remove(self, channel: str, sleeper) -> None:
        with self.lock:
            here = self.sleepers.get(channel, set())
            here.discard(sleeper)
            if not here:
                self.sleepers.pop(channel, None)

    def wake(self, channel: str) -> None:
        with self.lock:
            sleepers = list(self.sleepers.get(channel, ()))
        for loop, event in sleepers:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its loop has closed: the call is gone
                pass

    def _listen(self) -> None:
        while True:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(PREFIX + "*" + CHANGED)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        channel = message["channel"]
                        self.wake(channel.decode() if isinstance(channel, bytes)
                                  else channel)
            except Exception:  # Redis gone for a while: the safety net wakes the calls
                time.sleep(1.0)


_WAKEUPS: dict[int, Wakeups] = {}
_WAKEUPS_LOCK = threading.Lock()


def wakeups_for(client) -> Wakeups:
    with _WAKEUPS_LOCK:
        found = _WAKEUPS.get(id(client))
        if found is None or found.client is not client:
            found = _WAKEUPS[id(client)] = Wakeups(client)
        return found


def _arrival(name: str) -> int:
    """When a waiting call came (ms), from its name; 0 for a name that does not say."""
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def endpoint_url(config: ProviderConfig) -> str | None:
    """Where `config` connects: its base URL, else the first URL of the provider's own
    settings (an Azure endpoint), else the provider's default."""
    info = PROVIDERS[config.provider]
    urls = [config.base_url, *(config.value(spec.name) for spec in info.options
                               if spec.kind == "url")]
    return next((url for url in urls if url), None) or info.default_base_url


def endpoint_key(config: ProviderConfig) -> str:
    """One endpoint and key: what a provider's rate limit applies to. The key is hashed so
    that no secret is written to Redis."""
    raw = "\n".join([config.provider, endpoint_url(config) or "", config.api_key or ""])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class SlotLimits:
    """The calls at once each provider endpoint takes, as the operator set them in
    UTTERLY_PROVIDER_SLOTS: one number for every endpoint, then, comma-separated,
    `host=N` or `host:port=N` for the servers that take more or fewer (`8,llm.lan:8080=2,
    api.openai.com=32`). A host's entry with its port wins over one without."""

    default: int = DEFAULT_SLOTS
    # (host, port or None for any port, limit)
    hosts: tuple[tuple[str, int | None, int], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> SlotLimits:
        """UtterlyError names a bad entry."""
        default, hosts = None, []
        for entry in (e.strip() for e in (text or "").split(",")):
            if not entry:
                continue
            where, is_host, number = entry.rpartition("=")
            limit = _slots(number.strip(), entry)
            if not is_host:
                if default is not None:
                    raise _bad(entry, "is a second number for every endpoint")
                default = limit
                continue
            hosts.append((*_host_port(where.strip(), entry), limit))
        return cls(DEFAULT_SLOTS if default is None else default, tuple(hosts))

    def limit_for(self, url: str | None) -> int:
        host, port = _url_host_port(url)
        for wanted in (port, None):
            found = [n for h, p, n in self.hosts if h == host and p == wanted]
            if host and found:
                return found[-1]
        return self.default


def _slots(number: str, entry: str) -> int:
    try:
        value = int(number)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SLOTS:
        raise _bad(entry, f"is not a whole number of calls at once from 1 to {MAX_SLOTS}")
    return value


def _host_port(where: str, entry: str) -> tuple[str, int | None]:
    parts = urlsplit(where if "//" in where else "//" + where)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1:
        raise _bad(entry, "names no server as `host` or `host:port`")
    return parts.hostname, port


def _bad(entry: str, what: str) -> UtterlyError:
    return UtterlyError(f"{SLOTS_ENV}: `{entry}` {what}", code=ErrorCode.CONFIGURATION,
                        hint="give one number for every provider endpoint, then, "
                             "comma-separated, `host=N` or `host:port=N` for the servers "
                             "that take more or fewer, e.g. `8,llm.lan:8080=2`")


def _url_host_port(url: str | None) -> tuple[str | None, int | None]:
    if not url:
        return None, None
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.hostname, port


def _part(name: str) -> str:
    return name.replace("|", "/")


class RedisGate:
    """LocalGate's rules among every process sharing the Redis. A holder's slot expires
    `hold_s` after its last renewal; a live call renews it every third of that, so a
    killed worker's slots come back within `hold_s`."""

    def __init__(self, client, key: str, limit: int, hold_s: float = HOLD_S, *,
                 bulk: bool = False, caller: str = "", caller_limit: int | None = None,
                 tenant: str = ""):
        if limit < 1 or (caller_limit is not None and caller_limit < 1):
            raise ValueError("limit must be at least 1")
        self.client = client
        self.holders = PREFIX + key
        self.waiting = PREFIX + key + ":waiting"
        self.waiting_bulk = PREFIX + key + ":waiting-bulk"
        self.callers_waiting = PREFIX + key + ":callers-waiting"
        self.pause = PREFIX + key + ":pause"
        self.changed = PREFIX + key + CHANGED
        self.limit = limit
        self.caller_limit = limit if caller_limit is None else min(caller_limit, limit)
        self.bulk = bulk
        self.caller = _part(caller)
        self.tenant = _part(tenant)
        self.hold_ms = int(hold_s * 1000)
        self.wait: SlotWait | None = None
        self._acquire_script = client.register_script(_ACQUIRE)
        self._renew_script = client.register_script(_RENEW)

    def member(self, name: str) -> str:
        return f"{self.tenant}|{self.caller}|{name}"

    def try_slot(self, name: str) -> int:
        """One try for the call `name`: 1 (the slot is its), 0 (the endpoint is full), 2
        (its caller is at its own limit), 3 (another namespace waiting holds fewer), 4 (an
        interactive call goes first), -ms (paused that long)."""
        return self._acquire_script(
            keys=[self.holders, self.waiting, self.waiting_bulk, self.callers_waiting,
                  self.pause],
            args=[self.limit, self.member(name), self.hold_ms, int(self.bulk), WAIT_MARK_MS,
                  self.caller_limit, self.tenant, self.caller])

    def _forget(self, name: str) -> None:
        """A call that stops waiting: it holds nobody back any more."""
        try:
            self.client.zrem(self.waiting_bulk if self.bulk else self.waiting,
                             self.member(name))
            if not self.bulk:
                self.client.zrem(self.callers_waiting, self.caller)
            self._announce()
        except Exception:  # Redis gone: the marks expire on their own
            pass

    def _announce(self) -> None:
        """The line changed: every process's calls waiting for this endpoint try again."""
        self.client.publish(self.changed, b"1")

    async def _renew(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.hold_ms / 3000)
            self._renew_script(keys=[self.holders], args=[token, self.hold_ms])

    def place(self, name: str) -> int:
        """Where the call `name` stands among the calls waiting for this endpoint across
        the fleet, in the order they came (1: the next served if the fair shares let it); a
        bulk call after every interactive one."""
        mine = (_arrival(name), name)
        waiting_here = self.client.zrange(self.waiting_bulk if self.bulk else self.waiting,
                                          0, -1)
        ahead = 0
        for member in waiting_here:
            other = member.decode().rsplit("|", 1)[-1]
            ahead += (_arrival(other), other) < mine
        if self.bulk:
            ahead += self.client.zcard(self.waiting)
        return ahead + 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        # its arrival first: the place of each waiting call is read from the names
        name = f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex}"
        started = time.monotonic()
        told = waiting.Wait(waiting.SLOTS)
        looked = 0.0
        woken = asyncio.Event()
        sleeper = (asyncio.get_running_loop(), woken)
        wakeups = wakeups_for(self.client)
        # listening before the first try: a slot freed just after it is not missed
        wakeups.add(self.changed, sleeper)
        try:
            first = True
            while True:
                woken.clear()
                got = self.try_slot(name)
                if got == 1:
                    break
                if got < 0:  # paused after a 429
                    self.wait = SlotWait(started, PAUSED)
                    await asyncio.sleep(-got / 1000)
                    continue
                if first:  # it waits: the others' places change
                    first = False
                    self._announce()
                self.wait = SlotWait(started, _REASONS.get(got, ENDPOINT_FULL))
                if time.monotonic() - looked >= PLACE_EVERY_S:  # one more round trip
                    looked = time.monotonic()
                    told.place(self.place(name))
                try:
                    async with asyncio.timeout(WAKE_NET_S):
                        await woken.wait()
                except TimeoutError:
                    pass
        except BaseException:
            self._forget(name)
            raise
        finally:
            wakeups.remove(self.changed, sleeper)
        self.wait = None
        told.over()
        token = self.member(name)
        # it stopped waiting: the marks it held (a fair share, a person first) are gone
        self._announce()
        renewing = asyncio.create_task(self._renew(token))
        try:
            yield
        finally:
            renewing.cancel()
            self.client.zrem(self.holders, token)
            self._announce()

    async def rate_limited(self, delay_s: float) -> None:
        delay_ms = max(1, int(delay_s * 1000))
        if self.client.pttl(self.pause) < delay_ms:
            self.client.set(self.pause, 1, px=delay_ms)


class Gates:
    """Hands each generation its gate; configured once per process (`configure`)."""

    def __init__(self):
        self._client = None
        self._counts: dict[str, SharedCount] = {}
        self._lock = threading.Lock()
        self.slots = SlotLimits()

    def configure(self, redis_url: str | None, slots: str | None = None) -> None:
        """`slots`: UTTERLY_PROVIDER_SLOTS's text (None: the default); UtterlyError names
        a bad entry, before anything changes."""
        limits = SlotLimits.parse(slots)
        if redis_url:
            import redis

            self._client = redis.Redis.from_url(redis_url, socket_timeout=5)
        else:
            self._client = None
        self.slots = limits

    @property
    def shared(self) -> bool:
        return self._client is not None

    def limit_for(self, config: ProviderConfig) -> int | None:
        """The calls at once `config`'s endpoint takes from every bot together; None for
        the embedded model, which no gate bounds."""
        if PROVIDERS[config.provider].in_process:
            return None
        return self.slots.limit_for(endpoint_url(config))

    def gate_for(self, config: ProviderConfig, bot_limit: int, *, bulk: bool, bot_id: int,
                 namespace_id: int):
        """The gate of a generation of bot `bot_id` with `config`: the endpoint's limit for
        every bot together, `bot_limit` (its `max_concurrency`) for this bot's calls.
        None for the embedded model, which runs in this process one generation at a time
        anyway."""
        limit = self.limit_for(config)
        if limit is None:
            return None
        key = endpoint_key(config)
        whose = dict(bulk=bulk, caller=f"bot{bot_id}", caller_limit=bot_limit,
                     tenant=f"ns{namespace_id}")
        if self._client is not None:
            return RedisGate(self._client, key, limit, **whose)
        with self._lock:
            count = self._counts.setdefault(key, SharedCount())
        return LocalGate(count, limit, **whose)

    def gated(self, config: ProviderConfig, bot_limit: int, *, bulk: bool, bot_id: int,
              namespace_id: int) -> ProviderConfig:
        return replace(config, gate=self.gate_for(config, bot_limit, bulk=bulk, bot_id=bot_id,
                                                  namespace_id=namespace_id))


GATES = Gates()
