"""Retries for remote providers: only for failures that waiting can fix.

A rate limit (429) is retried up to `max_retries` times, honouring the server's Retry-After;
a server error (5xx) or an unreachable server is retried at most twice or once, since it is
rarely cured by waiting a second. Everything else (bad key, unknown model, prompt too long,
timeout) fails at once: retrying would only make the user wait for the same answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import ErrorCode, ProviderError
from .gate import CallGate

T = TypeVar("T")

BASE_DELAY_S = 0.5
# How many retries each retryable code may use at most (RATE_LIMITED: all of max_retries).
_RETRY_CAP = {ErrorCode.SERVER_ERROR: 2, ErrorCode.UNREACHABLE: 1}


def backoff_delay(retry: int, *, rng: random.Random | None = None) -> float:
    """Delay before retry number `retry` (1-based): 0.5 s, 1 s, 2 s… plus up to 25 % jitter."""
    base = BASE_DELAY_S * 2 ** (retry - 1)
    return base * (1.0 + 0.25 * (rng or random).random())


def _allowed_retries(code: ErrorCode, max_retries: int) -> int:
    if code == ErrorCode.RATE_LIMITED:
        return max_retries
    if code in _RETRY_CAP:
        return min(_RETRY_CAP[code], max_retries)
    return 0


def _with_attempts(exc: ProviderError, attempts: int, provider: str, *,
                   hint: str | None = None) -> ProviderError:
    """A copy of `exc` whose message says how many attempts were made."""
    message = exc.message
    if attempts > 1:
        message = f"{message} (gave up after {attempts} attempts)"
    error = ProviderError(exc.code, message, hint=exc.hint if hint is None else hint,
                          provider=exc.provider or provider, retry_after=exc.retry_after)
    error.attempts = attempts
    return error


async def call_with_retries(fn: Callable[[], Awaitable[T]], *, max_retries: int, provider: str,
                            sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                            max_wait_s: float = 30.0, gate: CallGate | None = None) -> T:
    """Return `await fn()`, retrying rate limits, server errors and unreachable servers.

    Raises the last ProviderError, its message saying how many attempts were made (and its
    `attempts` attribute holding the number). A Retry-After longer than `max_wait_s` gives up
    at once with a hint saying when to try again. With a `gate`, each attempt waits for a
    slot, and a rate limit pauses every call through the gate, this one's retry included.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            if gate is None:
                return await fn()
            async with gate.slot():
                return await fn()
        except ProviderError as exc:
            retries_done = attempt - 1
            if retries_done >= _allowed_retries(exc.code, max_retries):
                if attempt == 1:
                    exc.attempts = 1
                    if not exc.provider:
                        exc.provider = provider
                    raise
                raise _with_attempts(exc, attempt, provider) from exc
            if exc.retry_after is not None and exc.retry_after > max_wait_s:
                when = time.strftime("%H:%M:%S", time.localtime(time.time() + exc.retry_after))
                hint = (f"the server asks to wait {exc.retry_after:g} s, longer than Utterly "
                        f"waits ({max_wait_s:g} s): try again after {when}")
                raise _with_attempts(exc, attempt, provider, hint=hint) from exc
            if exc.retry_after is not None and exc.retry_after >= 0:
                delay = exc.retry_after
            else:
                delay = min(backoff_delay(attempt), max_wait_s)
            if gate is not None and exc.code == ErrorCode.RATE_LIMITED:
                await gate.rate_limited(delay)  # the next slot() waits for the pause
                continue
            await sleep(delay)


async def call_classified(fn: Callable[[], Awaitable[T]], translate, target, *,
                          max_retries: int, provider: str,
                          sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                          max_wait_s: float = 30.0, gate: CallGate | None = None) -> T:
    """`call_with_retries` on an SDK call whose exceptions `translate(exc, target)` turns
    into ProviderErrors: the one way every remote provider and embedder calls its SDK."""
    async def once():
        try:
            return await fn()
        except Exception as exc:  # every SDK failure becomes a ProviderError
            raise translate(exc, target) from exc

    return await call_with_retries(once, max_retries=max_retries, provider=provider,
                                   sleep=sleep, max_wait_s=max_wait_s, gate=gate)
