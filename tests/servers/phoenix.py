"""A real Arize Phoenix (an OpenTelemetry backend) for the tracing tests.

Phoenix lives in a venv of its own, made by scripts/phoenix-venv.sh (`make test` runs it).
`phoenix` (session fixture) starts it on free ports with a temporary working directory and
waits until it answers; without the venv the tests that need it are skipped, unless
UTTERLY_REQUIRE_PHOENIX=1 (CI), where that is a failure.

Spans are read back through Phoenix's REST API:
GET /v1/projects/default/spans?trace_id=… → {"data": [{"name", "context": {"trace_id",
"span_id"}, "parent_id", "span_kind", "attributes": {…}, …}], "next_cursor"}.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .run import free_port, run_subprocess

PHOENIX_VERSION = os.environ.get("PHOENIX_VERSION", "20.26.1")


def phoenix_venv() -> Path:
    """Where scripts/phoenix-venv.sh installs Phoenix (same defaults, same overrides)."""
    default = Path.home() / ".cache" / "utterly" / f"phoenix-{PHOENIX_VERSION}"
    return Path(os.environ.get("UTTERLY_PHOENIX_VENV", default))


def phoenix_executable() -> Path | None:
    """bin/phoenix of a completed install (the script's stamp file), else None."""
    venv = phoenix_venv()
    stamp = venv / f".installed-arize-phoenix-{PHOENIX_VERSION}"
    executable = venv / "bin" / "phoenix"
    return executable if stamp.exists() and os.access(executable, os.X_OK) else None


@dataclass
class Phoenix:
    url: str

    @property
    def otlp_endpoint(self) -> str:
        """The base URL an OTLP/HTTP exporter takes (…/v1/traces is added to it)."""
        return self.url

    def spans(self, trace_id: str | None = None, *, name: str | None = None) -> list[dict]:
        """Every span stored in the default project, of one trace or with one name."""
        params: dict = {"limit": 1000}
        if trace_id:
            params["trace_id"] = trace_id
        if name:
            params["name"] = name
        spans: list[dict] = []
        while True:
            response = httpx.get(f"{self.url}/v1/projects/default/spans", params=params,
                                 timeout=10)
            response.raise_for_status()
            page = response.json()
            spans.extend(page["data"])
            if not page.get("next_cursor"):
                return spans
            params["cursor"] = page["next_cursor"]

    def wait_for(self, trace_id: str | None = None, *, name: str | None = None,
                 until: Callable[[list[dict]], bool] = bool,
                 timeout_s: float = 60.0) -> list[dict]:
        """Poll until the spans (of the trace, or with the name) satisfy `until`; Phoenix
        stores what it receives asynchronously. Fails with what it has after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans(trace_id, name=name)
            if until(spans):
                return spans
            if time.monotonic() > deadline:
                pytest.fail(f"Phoenix did not hold the expected spans within {timeout_s:g} s "
                            f"(trace {trace_id}, name {name}); it has "
                            f"{sorted(s['name'] for s in spans)}")
            time.sleep(0.2)


def start_phoenix(executable: Path, working_dir: str, log_path: str):
    """A context manager running Phoenix on free ports; yields its base URL."""
    port, grpc_port = free_port(), free_port()
    env = {"PHOENIX_WORKING_DIR": working_dir, "PHOENIX_PORT": str(port),
           "PHOENIX_GRPC_PORT": str(grpc_port), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_TELEMETRY_ENABLED": "false"}
    return run_subprocess([str(executable), "serve"], port=port, ready_path="/healthz",
                          env=env, log_path=log_path, startup_timeout_s=180)


@pytest.fixture(scope="session")
def phoenix():
    executable = phoenix_executable()
    if executable is None:
        reason = (f"Arize Phoenix {PHOENIX_VERSION} is not installed in {phoenix_venv()}; "
                  "run `bash scripts/phoenix-venv.sh` (make test does)")
        if os.environ.get("UTTERLY_REQUIRE_PHOENIX") == "1":
            pytest.fail(f"Phoenix is required (UTTERLY_REQUIRE_PHOENIX=1): {reason}")
        pytest.skip(reason)
    working_dir = tempfile.mkdtemp(prefix="utterly-phoenix-")
    log = working_dir + ".log"  # kept after the run, for a failed start
    try:
        with start_phoenix(executable, working_dir, log) as url:
            yield Phoenix(url)
    finally:
        shutil.rmtree(working_dir, ignore_errors=True)
