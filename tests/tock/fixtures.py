"""Request bodies as Tock Studio's Kotlin client sends them to a Gen AI orchestrator.

The JSON files live in tests/data/tock/requests; tests/data/tock/README.md says how each was
built. Placeholders are "{{UPPER_CASE}}" strings: the jinja2 prompts in the bodies use
lower-case "{{name}}" variables, which must reach the server untouched.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers.backends import count_tokens
from tests.servers.fixtures import AZURE_CHAT_DEPLOYMENT, OLLAMA_CHAT_MODEL
from tests.servers.langfuse_recorder import Recorder
from tests.servers.langfuse_recorder import create_app as langfuse_app
from tests.servers.run import ASGIServer
from tests.servers.scripted_openai import ScriptedOpenAI, numbered_list, run_scripted_openai

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


def post_as_tock(base_url: str, path: str, body: dict) -> httpx.Response:
    """`body` sent as Tock Studio's client sends it: the Jackson bytes, Retrofit's content
    type, no auth header. The timeout is above Tock's orchestrator's own 30 s LLM timeout, so
    that its answer is what comes back."""
    return httpx.post(base_url.rstrip("/") + path, content=body_bytes(body),
                      headers={"Content-Type": CONTENT_TYPE}, timeout=60)


# The raw keys the fixtures carry: the fakes below accept them, so the bodies go as they are.
FIXTURE_OPENAI_KEY: str = _request("completion_openai")["body"]["llm_setting"]["api_key"][
    "secret"]
_LANGFUSE = _request("completion_langfuse")["body"]["observability_setting"]
FIXTURE_LANGFUSE_KEYS: tuple[str, str] = (_LANGFUSE["public_key"],
                                          _LANGFUSE["secret_key"]["secret"])
# The FAQ sentences of the fixtures (fr), and a model's answer to them that shows what a
# server keeps: new French sentences, and lines a good server drops.
FIXTURE_SENTENCES: list[str] = _request("completion_openai")["body"]["prompt"]["inputs"][
    "sentences"]
NEW_FRENCH = ["Je voudrais changer mon mot de passe oublié", "Mot de passe perdu, que faire ?",
              "Comment récupérer mon mot de passe ?", "Je ne retrouve plus mon code secret",
              "Impossible de me connecter, j'ai perdu mon mot de passe",
              "Pouvez-vous m'aider à retrouver mon mot de passe ?"]
SCRIPTED_REPLY = [NEW_FRENCH[0],
                  FIXTURE_SENTENCES[0],           # a copy of a FAQ sentence
                  NEW_FRENCH[0] + " !",           # a near duplicate
                  "How do I reset my password?",  # English, for a French FAQ
                  NEW_FRENCH[1],
                  NEW_FRENCH[1],                  # an exact duplicate
                  *NEW_FRENCH[2:]]                # more new lines than nb_sentences (5)


@dataclass
class Fakes:
    """The loopback servers every fixture can be replayed against, and its placeholders."""

    openai: ScriptedOpenAI
    langfuse: Recorder
    placeholders: dict[str, str]

    def request(self, name: str) -> dict:
        """Fixture `name` for these fakes. Tock's Ollama fixtures name `tinyllama`; the
        Ollama fake serves OLLAMA_CHAT_MODEL, so the model is that one."""
        request = load_request(name, **self.placeholders)
        for key in ("llm_setting", "setting"):
            setting = request["body"].get(key)
            if isinstance(setting, dict) and setting.get("model") == "tinyllama":
                setting["model"] = OLLAMA_CHAT_MODEL
        return request


@contextlib.contextmanager
def fixture_fakes(azure_server, ollama_server, lines: list[str]) -> Iterator[Fakes]:
    """Fakes for the fixtures as Tock serialised them: the scripted OpenAI server and a
    Langfuse recorder that take the fixtures' keys, and the session's Azure and Ollama
    servers (their wire protocols, key, deployment and model) answering from the same
    script instead of SmolLM2, for the time of the block. Every provider replies `lines`
    as a numbered list."""
    reply = numbered_list(lines)

    async def scripted_chat(messages, json_schema, temperature, max_tokens, seed):
        return reply, 10, count_tokens(reply)

    vendors = [azure_server.state.deployments[AZURE_CHAT_DEPLOYMENT],
               ollama_server.state.models[OLLAMA_CHAT_MODEL]]
    before = [vendor.chat for vendor in vendors]
    recorder_app = langfuse_app(*FIXTURE_LANGFUSE_KEYS)
    with run_scripted_openai(lines, api_key=FIXTURE_OPENAI_KEY) as openai_server, \
            ASGIServer(recorder_app) as langfuse_url:
        langfuse = Recorder(langfuse_url, recorder_app)
        langfuse.public_key, langfuse.secret_key = FIXTURE_LANGFUSE_KEYS
        for vendor in vendors:
            vendor.chat = scripted_chat
        try:
            yield Fakes(openai_server, langfuse, {
                "OPENAI_BASE_URL": openai_server.base_url, "AZURE_ENDPOINT": azure_server.url,
                "OLLAMA_BASE_URL": ollama_server.url, "LANGFUSE_URL": langfuse_url})
        finally:
            for vendor, chat in zip(vendors, before, strict=True):
                vendor.chat = chat
