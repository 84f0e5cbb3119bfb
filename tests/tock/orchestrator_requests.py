"""Requests to a Gen AI orchestrator built as Tock Studio builds them, for the tests that send
the same request to Tock's real orchestrator and to `utterly tock-bridge`.

Tock Studio (bot/admin/server service/CompletionService.kt) sends sentence generation as
`POST /completion/sentences` {llm_setting, prompt: {formatter, template, inputs}}, with its
saved setting (temperature kept as a string), its saved prompt (by default `DefaultPrompt`
of engines-configuration.ts, jinja2) and inputs {locale, nb_sentences, sentences, options};
its Jackson mapper writes snake_case and leaves out nulls (no observability_setting then).
A setting is checked on save with `POST /llm-providers/{provider}/setting/status` {setting}.
"""

from __future__ import annotations

import functools
import re

from tests.servers.tock_orchestrator import TOCK_DIR

SENTENCES_PATH = "/completion/sentences"
ENGINES_CONFIGURATION = (TOCK_DIR / "tock-studio-side" / "bot" / "admin" / "web" / "src" / "app"
                         / "configuration" / "sentence-generation-settings" / "models"
                         / "engines-configuration.ts")
_DEFAULT_PROMPT = re.compile(r"export const DefaultPrompt\s*(?::\s*string\s*)?=\s*`"
                             r"((?:[^`\\]|\\.)*)`", re.S)


@functools.cache
def default_prompt() -> str:
    """Tock Studio's default sentence-generation prompt, read from Tock's own source."""
    source = ENGINES_CONFIGURATION.read_text(encoding="utf-8")
    found = _DEFAULT_PROMPT.search(source)
    if found is None:
        raise LookupError(f"no `export const DefaultPrompt = `…`` in {ENGINES_CONFIGURATION}")
    literal = found.group(1)
    # A template literal's ${…} is evaluated by TypeScript: the text alone would be wrong.
    if "${" in literal.replace("\\${", ""):
        raise ValueError("DefaultPrompt has a ${…} substitution; it cannot be read as text")
    return re.sub(r"\\(.)", r"\1", literal, flags=re.S)


def raw_key(secret: str) -> dict:
    return {"type": "Raw", "secret": secret}


def openai_setting(base_url: str, api_key: str, *, model: str = "gpt-4o-mini",
                   temperature: str = "0.7", **extra) -> dict:
    """Tock's OpenAILLMSetting: `base_url` is the OpenAI API base (…/v1)."""
    return {"provider": "OpenAI", "api_key": raw_key(api_key), "model": model,
            "base_url": base_url, "temperature": temperature, **extra}


def sentence_inputs(sentences: list[str], *, locale: str = "fr", nb_sentences: int = 3,
                    spelling_mistakes: bool = False, sms_language: bool = False,
                    abbreviated_language: bool = False) -> dict:
    """The inputs map of CompletionService.generateSentences."""
    return {"locale": locale, "nb_sentences": nb_sentences, "sentences": list(sentences),
            "options": {"spelling_mistakes": spelling_mistakes, "sms_language": sms_language,
                        "abbreviated_language": abbreviated_language}}


def sentences_request(setting: dict, inputs: dict, *, template: str | None = None,
                      formatter: str = "jinja2") -> dict:
    """A `POST /completion/sentences` body; the template is Tock's default unless given."""
    return {"llm_setting": setting,
            "prompt": {"formatter": formatter,
                       "template": default_prompt() if template is None else template,
                       "inputs": inputs}}


def setting_status_path(provider: str) -> str:
    return f"/llm-providers/{provider}/setting/status"


def setting_status_request(setting: dict) -> dict:
    return {"setting": setting}
