"""JSON Lines: one JSON object per line.

Sentence lines are `{"intent", "text", "locale", "origin"}` (a `"type": "sentence"` is
allowed, and is what a line without `type` is). So that answers survive, Utterly also
writes an FAQ line `{"type": "faq", "intent", "locale", "answer", "description", "tags"}`
before each FAQ's sentences, and a first line `{"type": "bot", "name", "locales"}`. Tools
that only want sentences skip the lines that have a `type` other than "sentence". Keys a
line does not need are ignored; blank lines too. Lines end with `\\n` only: JSON escapes
every line break inside a text, so a text never splits a line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .model import (
    BotData,
    BotSource,
    Collector,
    Limits,
    SentenceData,
    as_text,
    check_locale,
    check_origin,
    check_string,
    check_tags,
    default_locale,
    invalid,
    lines,
)


def _line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False) + "\n"


def stream(bot: BotSource) -> Iterator[str]:
    """The file in pieces: the bot's line, then one piece per FAQ."""
    yield _line({"type": "bot", "name": bot.name, "locales": bot.locales})
    for faq in bot.faqs(True):
        entry = {"type": "faq", "intent": faq.title}
        for key in ("locale", "answer", "description", "tags"):
            if getattr(faq, key) is not None:
                entry[key] = getattr(faq, key)
        yield "".join([_line(entry), *(
            _line({"intent": faq.title, "text": s.text, "locale": s.locale,
                   "origin": s.origin}) for s in faq.sentences)])


def dump(bot: BotData) -> str:
    return "".join(stream(BotSource.of(bot)))


def load(data: str | bytes, *, locale: str | None = None,
         limits: Limits | None = None) -> BotData:
    """JSON Lines. `locale` is for sentence lines without one."""
    collector = Collector(limits)
    name, locales = "", None
    for number, line in enumerate(lines(as_text(data), only_lf=True), start=1):
        line = line.removesuffix("\n")
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise invalid(where, f"not valid JSON at column {exc.colno}: {exc.msg}",
                          "write one JSON object per line") from None
        except RecursionError:
            raise invalid(where, "the JSON nests too deeply",
                          "write one flat JSON object per line") from None
        if not isinstance(value, dict):
            raise invalid(where, "the line is not a JSON object",
                          'write objects such as {"intent": …, "text": …, "locale": …}')
        kind = value.get("type", "sentence")
        if kind == "sentence":
            intent = check_string(value.get("intent"), where, "intent")
            text = check_string(value.get("text"), where, "text")
            given = value.get("locale")
            sentence_locale = (check_locale(given, where) if given is not None
                               else default_locale(locale, where))
            origin = check_origin(value.get("origin"), where)
            collector.add(intent, SentenceData(text, sentence_locale, origin, where))
        elif kind == "faq":
            faq = collector.faq(check_string(value.get("intent"), where, "intent"), where)
            if value.get("locale") is not None:
                faq.locale = check_locale(value["locale"], where)
            for key in ("answer", "description"):
                if key in value:
                    setattr(faq, key, check_string(value[key], where, key, required=False))
            if "tags" in value:
                faq.tags = check_tags(value["tags"], where)
        elif kind == "bot":
            name = check_string(value.get("name", ""), where, "name", required=False) or ""
            if value.get("locales") is not None:
                if not isinstance(value["locales"], list):
                    raise invalid(where, "`locales` is not a list",
                                  'write locales as a list, e.g. ["fr", "en"]', "locales")
                locales = [check_locale(x, where, "locales") for x in value["locales"]]
        else:
            raise invalid(where, f"`type` is `{str(kind)[:40]}`",
                          "use sentence, faq or bot (or leave `type` out for a sentence)",
                          "type")
    return collector.finish(name, locales)
