"""Tock's real Gen AI orchestrator, the reference for the tests of `utterly tock-bridge`.

Its code is Tock's own, unchanged, in shared/tock beside the repo (read-only in CI); its
dependencies live in a venv of their own, made by scripts/tock-orchestrator-venv.sh (`make
test` runs it; this fixture runs it too, which installs once, in about 2 minutes).
`tock_orchestrator` (session fixture) serves it on a free port of 127.0.0.1 and yields its base
URL; without the venv the tests that need it are skipped, unless UTTERLY_REQUIRE_TOCK=1 (CI),
where that is a failure. Its log (DEBUG, with every LLM call) is kept in the temp folder.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from .run import free_port, run_subprocess

ROOT = Path(__file__).resolve().parents[2]
TOCK_DIR = Path(os.environ.get("UTTERLY_TOCK_DIR", ROOT.parent / "shared" / "tock"))
VENV_SCRIPT = ROOT / "scripts" / "tock-orchestrator-venv.sh"

# Its settings come from environment variables (pydantic-settings, case-sensitive prefix).
# LangChain's rate limiter is on by default at 0.1 request/s with an empty bucket: every LLM
# call would wait about 10 s. Its 30 s LLM timeout and 0 retries are left as Tock ships them.
ORCHESTRATOR_ENV = {
    "tock_gen_ai_orchestrator_llm_rate_limits": "false",
    # shared/ must stay as it was copied (and is read-only in CI).
    "PYTHONDONTWRITEBYTECODE": "1",
}


def orchestrator_venv() -> tuple[Path | None, str]:
    """(the venv, "") once scripts/tock-orchestrator-venv.sh has made it, else (None, why)."""
    try:
        done = subprocess.run(["bash", str(VENV_SCRIPT)], capture_output=True, text=True,
                              timeout=900)
    except subprocess.TimeoutExpired:
        return None, f"{VENV_SCRIPT.name} did not finish within 15 minutes"
    venv = Path(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    if done.returncode != 0 or venv is None or not (venv / "bin" / "python").exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return None, f"{VENV_SCRIPT.name} failed ({done.returncode}):\n{tail}"
    return venv, ""


def start_orchestrator(venv: Path, log_path: str, env: dict | None = None):
    """A context manager running `orchestrator.sh serve` on a free port; yields its URL.
    The script execs uvicorn, so the terminate (then kill) on exit reaches the server."""
    port = free_port()
    return run_subprocess(["bash", str(TOCK_DIR / "orchestrator.sh"), "serve", str(venv),
                           str(port)], port=port, ready_path="/health-check",
                          env={**ORCHESTRATOR_ENV, **(env or {})}, log_path=log_path,
                          startup_timeout_s=120)


def tock_missing(reason: str):
    """Skip the test, or fail it where Tock is required (UTTERLY_REQUIRE_TOCK=1, CI)."""
    if os.environ.get("UTTERLY_REQUIRE_TOCK") == "1":
        pytest.fail(f"Tock's orchestrator is required (UTTERLY_REQUIRE_TOCK=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tock_orchestrator():
    venv, reason = orchestrator_venv()
    if venv is None:
        tock_missing(f"Tock's Gen AI orchestrator is not installed: {reason}")
    log = os.path.join(tempfile.gettempdir(), f"utterly-tock-orchestrator-{os.getpid()}.log")
    with start_orchestrator(venv, log) as url:
        yield url
