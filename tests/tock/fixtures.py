"""Request bodies as Tock Studio's Kotlin client sends them to a Gen AI orchestrator.

The JSON files live in tests/data/tock/requests; tests/data/tock/README.md says how each was
built. Placeholders are "{{UPPER_CASE}}" strings: the jinja2 prompts in the bodies use
lower-case "{{name}}" variables, which must reach the server untouched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REQUESTS_DIR = Path(__file__).resolve().parents[1] / "data" / "tock" / "requests"
ALL_REQUESTS: list[str] = sorted(p.stem for p in REQUESTS_DIR.glob("*.json"))
# Retrofit's Jackson converter sends this, and Jackson writes the body compact in UTF-8.
CONTENT_TYPE = "application/json; charset=UTF-8"

_PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


def _walk_strings(value: Any, fn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    return value


def _request(name: str) -> dict:
    raw = json.loads((REQUESTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return {k: raw[k] for k in ("method", "path", "body")}


def needed_placeholders(name: str) -> set[str]:
    """The placeholder names a fixture needs, e.g. {"OPENAI_BASE_URL"}."""
    found: set[str] = set()

    def collect(s: str) -> str:
        found.update(_PLACEHOLDER.findall(s))
        return s

    _walk_strings(_request(name), collect)
    return found


def load_request(name: str, **placeholders: str) -> dict:
    """{"method", "path", "body"} of fixture `name`, with each "{{NAME}}" replaced.

    A placeholder left without a value raises KeyError: a literal "{{OPENAI_BASE_URL}}" sent
    on would fail later as a confusing connection error.
    """
    missing = sorted(needed_placeholders(name) - placeholders.keys())
    if missing:
        raise KeyError(f"{name} needs placeholders {missing}")

    def fill(s: str) -> str:
        return _PLACEHOLDER.sub(lambda m: placeholders[m.group(1)], s)

    return _walk_strings(_request(name), fill)


def body_bytes(body: dict) -> bytes:
    """The body as Jackson puts it on the wire: compact, UTF-8, non-ASCII unescaped."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
