"""Prompt templates: the default one, and users' own, rendered safely.

A template is Jinja2 text. Lines `### system` and `### user` split it into chat messages;
without them the whole text is the user message. A last `### assistant` section is the start
of the answer (e.g. "1." for a numbered list): the local model continues it; remote APIs,
which cannot, get the messages without it. User templates run in Jinja2's sandbox with
strict undefined variables, so a typo in a variable name is an error, not an empty string.

Variables available to a template (see `TEMPLATE_VARIABLES`):
  sentences        list of the example sentences
  nb_sentences     number of sentences to write
  locale           BCP 47 locale, e.g. "fr" or "en-GB"
  language         its language subtag, e.g. "fr"
  language_name    the language in English, e.g. "French"
  options          spelling_mistakes, sms_language, abbreviated_language (booleans)
  existing         sentences already kept by earlier attempts (empty on the first)
  title            the FAQ's title, or empty
  answer           the start of the FAQ's answer (at most ~300 characters), or empty
  neighbours       the bot's other FAQs closest to this one, `name` and one `sentence`
                   each (empty unless the pipeline is asked to name them)
  stream, streams  this answer's number (from 0) among the answers written side by side
                   in one call, and how many there are: a template may ask each for
                   another kind of message
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import ErrorCode, InvalidRequest
from .providers.base import Message
from .request import GenerationRequest, VariationOptions, language_of
from .template_limits import Limits, RenderFailed, TooCostly, render_here, render_limited

TEMPLATE_VARIABLES = {
    "sentences": "list of the example sentences",
    "nb_sentences": "number of sentences to write",
    "locale": "BCP 47 locale, e.g. fr or en-GB",
    "language": "language subtag of the locale, e.g. fr",
    "language_name": "the language in English, e.g. French",
    "options": "options.spelling_mistakes, options.sms_language, options.abbreviated_language",
    "existing": "sentences already kept by earlier attempts (empty at first)",
    "title": "the FAQ's title, or empty",
    "answer": "the start of the FAQ's answer, or empty",
    "neighbours": "the bot's other FAQs closest to this one (name, sentence), or empty",
    "stream": "this answer's number (from 0) among those written side by side",
    "streams": "how many answers are written side by side",
}
# The answer is context, not text to paraphrase: its start says what the FAQ is about.
ANSWER_CHARS = 300

LANGUAGE_NAMES = {
    "fr": "French", "en": "English", "de": "German", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "ro": "Romanian", "cs": "Czech",
    "el": "Greek", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian", "ar": "Arabic",
    "he": "Hebrew", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "hi": "Hindi",
    "ca": "Catalan", "eu": "Basque", "br": "Breton", "id": "Indonesian", "vi": "Vietnamese",
}

DEFAULT_SYSTEM = "You rewrite chatbot questions. Reply with JSON only."
MAX_SENTENCE_CHARS = 200
_SECTION = re.compile(r"^###\s*(system|user|assistant)\s*$", re.IGNORECASE | re.MULTILINE)


def default_template() -> str:
    return resources.files("utterly").joinpath("templates/default.j2").read_text("utf-8")


def template_version(template: str) -> str:
    """A short, stable id of a template's text, stored with what it generated."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:12]


@dataclass
class RenderedPrompt:
    messages: list[Message]
    version: str


def template_context(request: GenerationRequest, existing: list[str] | None = None,
                     nb_sentences: int | None = None, stream: int = 0,
                     streams: int = 1, neighbours: list[dict] | None = None) -> dict:
    return {
        "sentences": list(request.sentences),
        "nb_sentences": nb_sentences or request.n,
        "locale": request.locale,
        "language": request.language,
        "language_name": LANGUAGE_NAMES.get(request.language, request.locale),
        "options": request.options.model_dump(),
        "existing": list(existing or []),
        "title": request.title or "",
        "answer": _shorten(request.answer or "", ANSWER_CHARS),
        "neighbours": list(neighbours or []),
        "stream": stream,
        "streams": streams,
    }


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut after a sentence or a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end >= limit // 2:
        return cut[:end + 1]
    return cut.rsplit(" ", 1)[0] + "…"


@lru_cache(maxsize=1)
def default_template_cached() -> str:
    return default_template()


def render(template: str, context: dict) -> RenderedPrompt:
    # Sandboxed, bounded in operands, loops and output (template_limits); a template other
    # than the built-in one also runs in a worker process under a wall clock and a memory
    # limit, so that no template can hold this process.
    try:
        if template == default_template_cached():
            text = render_here(template, context, Limits.from_env())
        else:
            text = render_limited(template, context)
    except TooCostly as exc:
        raise InvalidRequest(
            f"prompt_template is too costly to render: {exc}", field="prompt_template",
            code=ErrorCode.TEMPLATE_TOO_COSTLY,
            hint="render what the prompt needs: no big numbers, long repetitions or loops "
                 "over large ranges") from None
    except RenderFailed as exc:
        # reason: template_<problem> (template_undefined, template_syntax, …), its params
        # the line, name, token or tag when Jinja2 said them
        params = {k: v for k, v in exc.params.items() if k != "problem"}
        reason = f"template_{exc.params.get('problem', 'runtime')}"
        if exc.kind == "undefined":
            raise InvalidRequest(
                f"prompt_template uses an unknown variable: {exc.message}",
                field="prompt_template", reason=reason, params=params,
                hint="available variables: " + ", ".join(TEMPLATE_VARIABLES)) from None
        raise InvalidRequest(f"prompt_template cannot be rendered: {exc.message}",
                             field="prompt_template", hint="fix the Jinja2 syntax",
                             reason=reason, params=params) from None
    return RenderedPrompt(messages=split_messages(text), version=template_version(template))


def split_messages(text: str) -> list[Message]:
    parts = _SECTION.split(text)
    if len(parts) == 1:
        return [{"role": "system", "content": DEFAULT_SYSTEM},
                {"role": "user", "content": text.strip()}]
    messages: list[Message] = []
    for role, content in zip(parts[1::2], parts[2::2]):
        if content.strip():
            messages.append({"role": role.lower(), "content": content.strip()})
    if not any(m["role"] == "user" for m in messages):
        raise InvalidRequest("prompt_template has no user message",
                             field="prompt_template", hint="add a '### user' section",
                             reason="template_no_user")
    if any(m["role"] == "assistant" for m in messages[:-1]):
        raise InvalidRequest("prompt_template has an '### assistant' section before the end",
                             field="prompt_template", reason="template_assistant_not_last",
                             hint="only the last section may be '### assistant' (the start "
                                  "of the answer)")
    return messages


def render_request(request: GenerationRequest, existing: list[str] | None = None,
                   nb_sentences: int | None = None, stream: int = 0,
                   streams: int = 1, neighbours: list[dict] | None = None) -> RenderedPrompt:
    template = request.prompt_template or default_template_cached()
    return render(template, template_context(request, existing, nb_sentences, stream,
                                             streams, neighbours))


# The example a template is checked and previewed on, per language: a bot's builders see
# it in the preview, in their bot's language when there is one here (English otherwise).
EXAMPLES = {
    "en": {"sentences": ["How do I reset my password?"], "title": "Password reset",
           "answer": "Click 'Forgot password' on the login page.",
           "existing": ["Reset my password"]},
    "fr": {"sentences": ["Comment réinitialiser mon mot de passe ?"],
           "title": "Réinitialiser le mot de passe",
           "answer": "Cliquez sur « Mot de passe oublié » sur la page de connexion.",
           "existing": ["Réinitialiser mon mot de passe"]},
}


def validate_template(template: str, locale: str = "en") -> RenderedPrompt:
    """Render a template on an example request in `locale`'s language (English when
    EXAMPLES has none); raise InvalidRequest naming the problem."""
    example = EXAMPLES.get(language_of(locale))
    if example is None:
        example, locale = EXAMPLES["en"], "en"
    request = GenerationRequest(
        sentences=example["sentences"], locale=locale, n=5,
        options=VariationOptions(spelling_mistakes=True, sms_language=True,
                                 abbreviated_language=True),
        title=example["title"], answer=example["answer"])
    rendered = render(template, template_context(request, existing=example["existing"],
                                                 stream=1, streams=4))
    if not any(m["content"] for m in rendered.messages if m["role"] == "user"):
        raise InvalidRequest("prompt_template renders an empty user message",
                             field="prompt_template", hint="write the instructions",
                             reason="template_empty_user")
    return rendered


def output_schema(n: int) -> dict:
    """JSON schema of the answer; providers that support it constrain decoding to it."""
    return {
        "type": "object",
        "properties": {
            "sentences": {
                "type": "array",
                "items": {"type": "string", "minLength": 2, "maxLength": MAX_SENTENCE_CHARS},
                "minItems": 1,
                "maxItems": n,
            }
        },
        "required": ["sentences"],
        "additionalProperties": False,
    }
