"""The gates of the Studio's model calls (providers/gate.py): per provider endpoint and
API key, at most the bot's `max_concurrency` calls at once, and a 429 pauses them all.

Without Redis the count is this process's. With UTTERLY_REDIS_URL (or a Redis
UTTERLY_BROKER_URL) it is the fleet's: every Studio process and worker sharing the Redis
counts against one limit. A bulk job's call takes no slot while an interactive one waits
for a slot, so that a person waits at most for one call to end, never behind a job; and
bulk jobs alone may use every slot.

The fleet's count is a sorted set of holders, each expiring 10 s after its last renewal
(a live call renews it): a worker killed during a call gives its slot back within 10 s.
(Dramatiq's ConcurrentRateLimiter keeps a bare counter whose expiry every acquisition
pushes back, so under steady load a slot lost in a crash would never come back.)
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from ..providers import PROVIDERS, ProviderConfig
from ..providers.gate import LocalGate, SharedCount, poll_delay

PREFIX = "utterly:calls:"

# One round trip per try. KEYS: holders, interactive callers waiting (sorted sets: token ->
# expiry, ms), the pause after a 429. ARGV: limit, token, hold ms, bulk (1/0), how long a
# waiting mark lasts (ms). Returns 1 (a slot), 0 (none free), or -ms (paused that long).
# Redis's clock is the fleet's one clock.
_ACQUIRE = """
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return -paused end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if ARGV[4] == '1' then
  if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
# Renews a live holder's slot (KEYS: holders; ARGV: token, hold ms), if it still has one.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""
# How long a slot outlives its holder's last renewal (s): a killed worker's calls stop
# counting this long after it died.
HOLD_S = 10.0
# A waiting interactive call renews its mark at each try; a caller gone stops holding
# bulk calls back this long after its last try (ms).
WAIT_MARK_MS = 2000


def endpoint_key(config: ProviderConfig) -> str:
    """One endpoint and key: what a provider's rate limit applies to. The key is hashed so
    that no secret is written to Redis."""
    where = config.base_url or config.azure_endpoint or PROVIDERS[config.provider].default_base_url
    raw = "\n".join([config.provider, where or "", config.api_key or ""])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class RedisGate:
    """At most `limit` calls at once among every process sharing the Redis. A holder's
    slot expires `hold_s` after its last renewal; a live call renews it every third of
    that, so a killed worker's slots come back within `hold_s`."""

    def __init__(self, client, key: str, limit: int, hold_s: float = HOLD_S, *,
                 bulk: bool = False):
        self.client = client
        self.holders = PREFIX + key
        self.waiting = PREFIX + key + ":waiting"
        self.pause = PREFIX + key + ":pause"
        self.limit = limit
        self.bulk = bulk
        self.hold_ms = int(hold_s * 1000)
        self._acquire_script = client.register_script(_ACQUIRE)
        self._renew_script = client.register_script(_RENEW)

    def try_slot(self, token: str) -> int:
        """One try: 1 (the slot is `token`'s), 0 (none free), -ms (paused that long)."""
        return self._acquire_script(
            keys=[self.holders, self.waiting, self.pause],
            args=[self.limit, token, self.hold_ms, int(self.bulk), WAIT_MARK_MS])

    async def _renew(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.hold_ms / 3000)
            self._renew_script(keys=[self.holders], args=[token, self.hold_ms])

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        tries = 0
        while True:
            got = self.try_slot(token)
            if got == 1:
                break
            if got < 0:  # paused after a 429
                await asyncio.sleep(min(-got / 1000, 1.0))
                continue
            tries += 1
            await asyncio.sleep(poll_delay(tries, self.bulk))
        renewing = asyncio.create_task(self._renew(token))
        try:
            yield
        finally:
            renewing.cancel()
            self.client.zrem(self.holders, token)

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

    def configure(self, redis_url: str | None) -> None:
        if redis_url:
            import redis

            self._client = redis.Redis.from_url(redis_url, socket_timeout=5)
        else:
            self._client = None

    @property
    def shared(self) -> bool:
        return self._client is not None

    def gate_for(self, config: ProviderConfig, limit: int, *, bulk: bool):
        """The gate of a generation with `config`; None for the embedded model, which
        runs in this process one generation at a time anyway."""
        if config.provider == "local":
            return None
        key = endpoint_key(config)
        if self._client is not None:
            return RedisGate(self._client, key, limit, bulk=bulk)
        with self._lock:
            count = self._counts.setdefault(key, SharedCount())
        return LocalGate(count, limit, bulk=bulk)

    def gated(self, config: ProviderConfig, limit: int, *, bulk: bool) -> ProviderConfig:
        return replace(config, gate=self.gate_for(config, limit, bulk=bulk))


GATES = Gates()
