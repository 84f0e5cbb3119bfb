"""Row 10: a bounded cache of tracers. The attack: an admin saves 150 different
observability settings (one OTLP endpoint after another) and checks each; every distinct
config kept a tracer and its export threads forever (150 configs, 155 threads)."""

from __future__ import annotations

import threading
import time

import pytest

from utterly.observability import TracingConfig, get_tracer
from utterly.observability import tracer as tracer_module


def test_evicted_tracers_are_shut_down_and_threads_stay_bounded(capture):
    url, _ = capture
    before = threading.active_count()
    made = [get_tracer(TracingConfig(otlp_endpoint=f"{url}/t{i}")) for i in range(150)]
    deadline = time.monotonic() + 20
    while threading.active_count() > before + 3 * tracer_module.MAX_TRACERS + 2:
        assert time.monotonic() < deadline, threading.active_count() - before
        time.sleep(0.1)
    assert sum(not t._closed for t in made) <= tracer_module.MAX_TRACERS
    assert all(t._closed for t in made[:-tracer_module.MAX_TRACERS])
    # the most recent ones are still the process's tracers
    assert get_tracer(TracingConfig(otlp_endpoint=f"{url}/t149")) is made[-1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_studio_admin_cycling_observability_settings_keeps_threads_bounded(world, capture):
    url, _ = capture
    ada = world.studio.api("ada")
    settings = f"/api/bots/{world.bot}/settings"
    response = ada.put(f"{settings}/sentence-generation", json={
        "provider": "openai-compatible", "model": "gpt-4o-mini", "base_url": f"{url}/v1"})
    assert response.status_code == 200, response.text
    before = threading.active_count()
    for i in range(60):
        saved = ada.put(f"{settings}/observability",
                        json={"enabled": True, "otlp_endpoint": f"{url}/c{i}"})
        assert saved.status_code == 200, saved.text
        assert ada.post(f"{settings}/sentence-generation/check").json()["ok"]
    deadline = time.monotonic() + 20
    while threading.active_count() > before + 3 * tracer_module.MAX_TRACERS + 2:
        assert time.monotonic() < deadline, threading.active_count() - before
        time.sleep(0.1)
