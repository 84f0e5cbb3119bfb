"""The in-process gate (providers/gate.py) wakes its waiting calls rather than letting them
poll: each generation runs in a thread with its own event loop, as in the Studio."""

from __future__ import annotations

import asyncio
import threading

from utterly.providers import gate as gate_module
from utterly.providers.gate import LocalGate, SharedCount


def in_thread(coroutine_function) -> threading.Thread:
    thread = threading.Thread(target=lambda: asyncio.run(coroutine_function()), daemon=True)
    thread.start()
    return thread


def counted(gate, method: str) -> list:
    """What each call of the gate's `method` (one try for a slot) answered, from now on."""
    tries: list = []
    original = getattr(gate, method)

    def counting(*args):
        tries.append(original(*args))
        return tries[-1]

    setattr(gate, method, counting)
    return tries


def test_a_waiting_call_sleeps_until_a_slot_frees_and_is_woken_then(monkeypatch):
    # no safety net within the test: a slot is found by a wake-up or not at all
    monkeypatch.setattr(gate_module, "WAKE_NET_S", 60.0)
    count = SharedCount()
    holder = LocalGate(count, 1, caller="bot 1", tenant="ns 1")
    waiter = LocalGate(count, 1, caller="bot 2", tenant="ns 2")
    tries = counted(waiter, "_try")
    held, release, got = threading.Event(), threading.Event(), threading.Event()

    async def hold():
        async with holder.slot():
            held.set()
            await asyncio.to_thread(release.wait)

    async def wait():
        async with waiter.slot():
            got.set()

    holding = in_thread(hold)
    assert held.wait(10)
    waiting = in_thread(wait)
    try:
        # it waits, and polling would have tried dozens of times meanwhile (every 20 ms)
        assert not got.wait(0.8)
        assert tries == ["endpoint_full"]
    finally:
        release.set()
    assert got.wait(10), "the freed slot never reached the waiting call"
    holding.join(10), waiting.join(10)
    assert tries == ["endpoint_full", None]
    assert count.busy == 0 and not count.sleepers and not count.line
