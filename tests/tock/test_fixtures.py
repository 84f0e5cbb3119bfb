"""The Tock request fixtures stay parseable, traceable to Tock's sources and Jackson-shaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.tock.fixtures import (
    ALL_REQUESTS,
    REQUESTS_DIR,
    body_bytes,
    load_request,
    needed_placeholders,
)

# CI lays shared/ beside the clone, as on developers' machines.
SHARED_TOCK = Path(__file__).resolve().parents[2].parent / "shared" / "tock"
DEFAULT_PROMPT_TS = (
    "tock-studio-side/bot/admin/web/src/app/configuration/sentence-generation-settings/"
    "models/engines-configuration.ts"
)
SOURCE_PATH = re.compile(r"[\w.-]+(?:/[\w.-]+)+\.(?:kt|ts|py)\b")
VALUES = {
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "AZURE_ENDPOINT": "http://127.0.0.1:9",
    "OLLAMA_BASE_URL": "http://127.0.0.1:9",
    "LANGFUSE_URL": "http://127.0.0.1:9",
}
# Cases Tock's client can produce as is; the others are hand-made edge cases.
TOCK_MADE = {
    "completion_openai", "completion_openai_options_fr_FR", "completion_azure",
    "completion_ollama", "completion_legacy_path", "completion_langfuse",
    "completion_reasoning_effort", "completion_aws_secret", "completion_gcp_secret",
    "completion_fstring", "completion_bad_template", "status_openai", "status_azure",
    "status_ollama", "status_openai_langfuse", "status_langfuse",
}
HAND_MADE = {
    "completion_unknown_field", "completion_malformed", "status_provider_mismatch",
    "status_unknown_provider",
}


def _raw(name: str) -> dict:
    return json.loads((REQUESTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _settings(body: dict) -> list[dict]:
    found = [body[k] for k in ("llm_setting", "setting", "observability_setting") if k in body]
    return [s for s in found if isinstance(s, dict)]


def _walk(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,))


def test_the_fixture_set_is_complete():
    assert set(ALL_REQUESTS) == TOCK_MADE | HAND_MADE


@pytest.mark.parametrize("name", ALL_REQUESTS)
def test_fixture_parses_and_has_the_request_fields(name):
    raw = _raw(name)
    assert list(raw) == ["source", "method", "path", "body"]
    assert raw["method"] == "POST"
    assert raw["path"].startswith("/") and isinstance(raw["body"], dict)


@pytest.mark.parametrize("name", ALL_REQUESTS)
def test_source_names_existing_tock_files(name):
    assert SHARED_TOCK.is_dir(), f"Tock's sources are expected at {SHARED_TOCK}"
    paths = SOURCE_PATH.findall(_raw(name)["source"])
    assert paths, "the source must name at least one file under shared/tock"
    for rel in paths:
        assert (SHARED_TOCK / rel).is_file(), rel


@pytest.mark.parametrize("name", ALL_REQUESTS)
def test_placeholders_are_all_replaced(name):
    request = load_request(name, **VALUES)
    text = json.dumps(request)
    assert not re.search(r"\{\{[A-Z][A-Z0-9_]*\}\}", text)
    if needed_placeholders(name):
        with pytest.raises(KeyError):
            load_request(name)


def test_jinja_variables_are_not_taken_for_placeholders():
    body = load_request("completion_openai", **VALUES)["body"]
    template = body["prompt"]["template"]
    assert "{{nb_sentences}}" in template and "{{format_instructions}}" in template
    assert body["llm_setting"]["base_url"] == VALUES["OPENAI_BASE_URL"]


def test_default_prompt_is_tock_s_verbatim():
    ts = (SHARED_TOCK / DEFAULT_PROMPT_TS).read_text(encoding="utf-8")
    default = re.search(r"export const DefaultPrompt: string = `(.*?)`;", ts, re.S).group(1)
    uses_default = [n for n in ALL_REQUESTS if "template = DefaultPrompt" in _raw(n)["source"]]
    assert len(uses_default) >= 10
    for name in uses_default:
        assert _raw(name)["body"]["prompt"]["template"] == default, name


@pytest.mark.parametrize("name", ALL_REQUESTS)
def test_bodies_have_the_jackson_shape(name):
    body = _raw(name)["body"]
    for path, value in _walk(body):
        # NON_NULL inclusion: Tock never sends null.
        assert value is not None, path
        if isinstance(value, dict) and path[-1:] != ("inputs",):
            assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in value), path
    for setting in _settings(body):
        # EXISTING_PROPERTY discriminators are inherited, non-creator properties: written last.
        assert list(setting)[-1] == "provider"
        if "temperature" in setting:
            assert isinstance(setting["temperature"], str)
        for key in ("api_key", "secret_key"):
            if key in setting:
                secret = setting[key]
                assert list(secret)[-1] == "type"
                assert secret["type"] in {"Raw", "AwsSecretsManager", "GcpSecretManager"}


def test_status_paths_follow_the_setting_provider():
    for name in TOCK_MADE:
        request = _raw(name)
        if request["path"].startswith("/llm-providers/"):
            provider = request["body"]["setting"]["provider"]
            assert request["path"] == f"/llm-providers/{provider}/setting/status"


def test_wire_bytes_are_compact_utf8():
    body = load_request("completion_openai", **VALUES)["body"]
    wire = body_bytes(body)
    assert wire.startswith(b'{"llm_setting":{"api_key":{"secret":')
    assert "réinitialiser".encode() in wire
