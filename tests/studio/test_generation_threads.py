"""Generations that hang on a provider never take the web's threads: /api/health and
ordinary reads are answered while 45 of them wait (issue 14: the shared pool of 40 threads
once filled and the Studio stopped answering for minutes); on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from tests.studio.conftest import use_vendor
from utterly.studio.config import StudioConfig

HANGING = 45


@pytest.fixture
def studio_overrides() -> dict:
    # 45 generations of one user: shares large enough that none is refused (the shares
    # themselves are tests/studio/test_fair_share.py's)
    return {"generation_namespace_limit": HANGING, "generation_user_limit": HANGING}


def test_reads_are_answered_while_45_generations_hang(shop):
    world = shop
    use_vendor(world, "hang", timeout_s=5)  # the shortest limit: each ends in 5 s
    path = f"/api/bots/{world.bot}/faqs/{world.orders}/generate"
    ended: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def hang() -> None:
        response = world.studio.api("bob").post(path, json={"n": 1}, timeout=300)
        with lock:
            ended.append(time.monotonic())
            statuses.append(response.status_code)

    threads = [threading.Thread(target=hang) for _ in range(HANGING)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let them reach the provider
    reader = world.studio.api("vic")
    answered = []
    for _ in range(5):
        health = world.studio.anonymous().get("/api/health", timeout=300)
        bots = reader.get("/api/bots", timeout=300)
        answered.append(time.monotonic())
        assert health.status_code == 200 and bots.status_code == 200
    for thread in threads:
        thread.join()

    # every read came back while the generations still hung: none had ended yet
    assert max(answered) < min(ended), (max(answered), min(ended))
    assert statuses == [504] * HANGING  # and each ended at the bot's limit


def test_the_generation_threads_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UTTERLY_GENERATION_THREADS", "4")
    assert StudioConfig.from_env().generation_threads == 4
