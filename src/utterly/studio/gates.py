"""The gates of the Studio's model calls (providers/gate.py): per provider endpoint and
API key, at most the bot's `max_concurrency` calls at once, and a 429 pauses them all.

Without Redis the count is this process's. With UTTERLY_REDIS_URL (or a Redis
UTTERLY_BROKER_URL) it is the fleet's: every Studio process and worker sharing the Redis
counts against one limit. A bulk job's call takes no slot while an interactive one waits
for a slot, so that a person waits at most for one call to end, never behind a job; and
bulk jobs alone may use every slot.

The fleet's count is a sorted set of holders, each expiring after the call's own time
limit: a worker killed during a call gives its slot back when that time is over. (Dramatiq's
ConcurrentRateLimiter keeps a bare counter whose expiry every acquisition pushes back, so
under steady load a slot lost in a crash would never come back.)
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
from ..providers.gate import POLL_S, LocalGate, SharedCount

PREFIX = "utterly:calls:"

# KEYS[1] holders, KEYS[2] interactive callers waiting (sorted sets: token -> expiry, ms).
# ARGV: now, limit, token, expiry, bulk (1/0), expiry of a waiting mark.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if ARGV[5] == '1' then
  if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
else
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[6] - ARGV[1])
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4] - ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 1
end
return 0
"""
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
    """At most `limit` calls at once among every process sharing the Redis."""

    def __init__(self, client, key: str, limit: int, hold_s: float, *, bulk: bool = False):
        self.client = client
        self.holders = PREFIX + key
        self.waiting = PREFIX + key + ":waiting"
        self.pause = PREFIX + key + ":pause"
        self.limit = limit
        self.bulk = bulk
        self.hold_ms = int(hold_s * 1000)
        self._acquire_script = client.register_script(_ACQUIRE)

    def _now_ms(self) -> int:
        seconds, micros = self.client.time()  # Redis's clock: the fleet's one clock
        return seconds * 1000 + micros // 1000

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        while True:
            paused_ms = self.client.pttl(self.pause)
            if paused_ms > 0:
                await asyncio.sleep(min(paused_ms / 1000, 1.0))
                continue
            now = self._now_ms()
            if self._acquire_script(keys=[self.holders, self.waiting],
                                    args=[now, self.limit, token, now + self.hold_ms,
                                          int(self.bulk), now + WAIT_MARK_MS]):
                break
            await asyncio.sleep(POLL_S * 2)
        try:
            yield
        finally:
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
            return RedisGate(self._client, key, limit, hold_s=config.timeout_s + 30, bulk=bulk)
        with self._lock:
            count = self._counts.setdefault(key, SharedCount())
        return LocalGate(count, limit, bulk=bulk)

    def gated(self, config: ProviderConfig, limit: int, *, bulk: bool) -> ProviderConfig:
        return replace(config, gate=self.gate_for(config, limit, bulk=bulk))


GATES = Gates()
