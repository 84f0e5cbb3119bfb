"""What an FAQ is about, in a few words, when only its examples are known.

The FAQ's title tells the model what a question is about: on a French FAQ benchmark the
title alone carried almost all of the bot's context's gain. A request from Tock's pop-up,
the CLI without `--title` or the library called with examples only has none; one short call
asks the model to name it from the examples, and that name stands in for the title in the
prompt (never in the filters: a wrong name must not reject a good sentence).
"""

from __future__ import annotations

import re

from .normalize import normalize, tidy
from .prompt import LANGUAGE_NAMES
from .providers.base import ChatProvider, Message
from .request import GenerationRequest

MAX_TOPIC_CHARS = 80
_TOKENS = 24
_LABEL = re.compile(r"^\s*(title|topic|subject|sujet|titre|thème|theme)\s*:\s*", re.IGNORECASE)


def topic_messages(request: GenerationRequest) -> list[Message]:
    language = LANGUAGE_NAMES.get(request.language, request.locale)
    examples = "\n".join(f"- {s}" for s in request.sentences)
    return [
        {"role": "system",
         "content": f"You give short titles, in {language}, to the questions of a chatbot's "
                    "FAQ."},
        {"role": "user",
         "content": f"Users write these messages to a chatbot:\n{examples}\n\n"
                    f"Name what they ask for in 2 to 6 words of {language}, as the title of "
                    f"an FAQ. Reply with the {language} title only."},
    ]


def read_topic(text: str, request: GenerationRequest) -> str | None:
    """The title in a model's answer: its first line without labels, quotes or a final
    full stop; None when there is none, or when it only repeats an example."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    line = _LABEL.sub("", tidy(lines[0]).replace("*", ""))
    line = line.strip().strip("\"'«»“”*#").strip().rstrip(".")
    if not line or len(line) > MAX_TOPIC_CHARS or not any(c.isalpha() for c in line):
        return None
    if normalize(line) in {normalize(s) for s in request.sentences}:
        return None
    return line


async def infer_topic(request: GenerationRequest, provider: ChatProvider,
                      seed: int | None = None) -> tuple[str | None, object]:
    """(the topic or None, the completion) for a request without a title."""
    completion = await provider.complete(topic_messages(request), temperature=0.0,
                                         max_tokens=_TOKENS, seed=seed)
    return read_topic(completion.text, request), completion
