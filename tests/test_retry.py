"""The retry layer: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from utterly.errors import ErrorCode, ProviderError
from utterly.providers.retry import backoff_delay, call_with_retries


class Recorder:
    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def failing(codes: list[ErrorCode | None], retry_after: float | None = None):
    """An async callable failing with `codes` in turn; None means success."""
    calls = {"n": 0}

    async def fn():
        code = codes[min(calls["n"], len(codes) - 1)]
        calls["n"] += 1
        if code is None:
            return "ok"
        raise ProviderError(code, f"failure {calls['n']}", hint="a hint", provider="test",
                            retry_after=retry_after)

    fn.calls = calls
    return fn


async def test_success_needs_no_wait():
    sleep = Recorder()
    fn = failing([None])
    assert await call_with_retries(fn, max_retries=3, provider="t", sleep=sleep) == "ok"
    assert fn.calls["n"] == 1 and sleep.waits == []


async def test_rate_limit_backs_off_exponentially_then_succeeds():
    sleep = Recorder()
    fn = failing([ErrorCode.RATE_LIMITED] * 3 + [None])
    assert await call_with_retries(fn, max_retries=3, provider="t", sleep=sleep) == "ok"
    assert fn.calls["n"] == 4
    assert len(sleep.waits) == 3
    for wait, base in zip(sleep.waits, (0.5, 1.0, 2.0), strict=True):
        assert base <= wait <= base * 1.25


async def test_retry_after_is_honoured():
    sleep = Recorder()
    fn = failing([ErrorCode.RATE_LIMITED, None], retry_after=4.0)
    assert await call_with_retries(fn, max_retries=3, provider="t", sleep=sleep) == "ok"
    assert sleep.waits == [4.0]


async def test_gives_up_after_max_retries_and_says_so():
    sleep = Recorder()
    fn = failing([ErrorCode.RATE_LIMITED])
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(fn, max_retries=2, provider="t", sleep=sleep)
    assert fn.calls["n"] == 3 and len(sleep.waits) == 2
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert "after 3 attempts" in caught.value.message
    assert caught.value.attempts == 3
    assert caught.value.hint == "a hint"


async def test_huge_retry_after_gives_up_at_once_with_a_when():
    sleep = Recorder()
    fn = failing([ErrorCode.RATE_LIMITED], retry_after=3600)
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(fn, max_retries=5, provider="t", sleep=sleep, max_wait_s=30)
    assert fn.calls["n"] == 1 and sleep.waits == []
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert "3600" in caught.value.hint and "try again after" in caught.value.hint
    assert caught.value.retry_after == 3600


@pytest.mark.parametrize("code, allowed", [(ErrorCode.SERVER_ERROR, 2),
                                           (ErrorCode.UNREACHABLE, 1)])
async def test_server_errors_are_retried_only_a_little(code, allowed):
    sleep = Recorder()
    fn = failing([code])
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(fn, max_retries=5, provider="t", sleep=sleep)
    assert fn.calls["n"] == allowed + 1
    assert caught.value.code == code


@pytest.mark.parametrize("code", [ErrorCode.AUTHENTICATION, ErrorCode.MODEL_NOT_FOUND,
                                  ErrorCode.TIMEOUT, ErrorCode.CONTEXT_TOO_LONG,
                                  ErrorCode.BAD_REQUEST, ErrorCode.INVALID_RESPONSE,
                                  ErrorCode.CONFIGURATION])
async def test_other_errors_fail_at_once(code):
    sleep = Recorder()
    fn = failing([code])
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(fn, max_retries=5, provider="t", sleep=sleep)
    assert fn.calls["n"] == 1 and sleep.waits == []
    assert caught.value.code == code and "attempts" not in caught.value.message


async def test_zero_retries_means_one_attempt():
    fn = failing([ErrorCode.RATE_LIMITED])
    with pytest.raises(ProviderError):
        await call_with_retries(fn, max_retries=0, provider="t", sleep=Recorder())
    assert fn.calls["n"] == 1


async def test_non_provider_errors_propagate_untouched():
    async def fn():
        raise KeyError("x")

    with pytest.raises(KeyError):
        await call_with_retries(fn, max_retries=3, provider="t", sleep=Recorder())


def test_backoff_grows_and_is_jittered():
    import random

    rng = random.Random(1)
    delays = [backoff_delay(n, rng=rng) for n in (1, 2, 3, 4)]
    assert all(0.5 * 2 ** i <= d <= 0.5 * 2 ** i * 1.25 for i, d in enumerate(delays))
