"""Tock's sentences dump: the JSON that Tock Studio imports ("Import sentences dump").

Based on theopenconversationkit/tock (read at commit d92e72aa1dff, July 2026):

- nlp/front/shared/src/main/kotlin/codec/SentencesDump.kt: `SentencesDump(applicationName,
  language: Locale? = null, sentences: List<SentenceDump>)`; `SentenceDump(text, intent,
  creationDate = now, entities: List<SentenceEntityDump> = [], language: Locale? = null,
  status = model, forReview = false, reviewComment = null)`; `SentenceEntityDump(entity,
  role, subEntities = [], start, end)`. The Kotlin parameters without a default are the
  mandatory fields: `applicationName`, `sentences`, and each sentence's `text` and
  `intent`. (nlp/api/client/src/main/kotlin/model/dump/SentencesDump.kt is the NLP API's
  copy of the same shape.)
- nlp/front/shared/src/main/kotlin/config/ClassifiedSentenceStatus.kt: status is one of
  inbox, validated, model, deleted.
- nlp/front/service/src/main/kotlin/ApplicationCodecService.kt, `importSentences`: the
  application is `applicationName.withoutNamespace()` (created when missing); a sentence's
  language is its own `language`, else the dump's, else the sentence is refused ("please
  specify a language"); only `Locale.language` is kept (en_GB becomes en) and it must be a
  language the JVM knows; the intent is re-namespaced into the importing namespace
  (`intent.changeNamespace(namespace)`) and created when missing, except `tock:unknown`;
  status `model` is stored as `validated` so that the model is rebuilt.
  `exportSentences` writes `applicationName` and every `intent` qualified
  ("namespace:name", see shared/src/main/kotlin/Strings.kt: a qualified name splits at its
  first ':' and keeps only the next part, so an intent name must not contain ':').
- shared/src/main/kotlin/jackson/Jackson.kt: Tock's mapper sets
  FAIL_ON_UNKNOWN_PROPERTIES to false (the upload route, AdminVerticle `/dump/sentences`,
  reads the file with it), and writes `java.util.Locale` as its `toString()` ("fr",
  "en_GB").
- nlp/front/shared/src/main/kotlin/codec/ApplicationDump.kt (`ApplicationDump(application,
  entityTypes, intents, sentences: List<ClassifiedSentence>, faqs, dumpType, timestamp)`),
  config/IntentDefinition.kt (`name`, `namespace`, `label`, `description`, `_id`),
  config/ClassifiedSentence.kt (`text`, `language`, `status`, `classification.intentId`)
  and config/FaqDefinition.kt (`intentId`, `tags`): the full application dump, which this
  module also reads.

What Utterly writes: one sentence per training sentence, `intent` an unqualified Tock-safe
name derived from the FAQ title (ASCII letters, digits, `_`; Tock Studio's intent dialog
allows `[a-z_-]`), `language` as Jackson writes a Locale, `status: validated`, no
entities. Tock has no field for what Utterly needs back, so Utterly adds its own under the
key `utterly`, which Tock's mapper ignores on import: on a sentence,
`{"origin": "generated"}` (absent: human) and `{"locale": ...}` when the locale says more
than Tock's `language` can (a script subtag); on the dump, the bot (name, locales) and
every FAQ (its title, the intent name it was given, answer, description, locale, tags), so
FAQs without sentences survive too. Genuine Tock dumps have no `utterly` key: their
intent names (without namespace) become FAQ titles and their sentences count as human.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ..request import normalize_locale
from .bounded_json import loads as bounded_loads
from .model import (
    BotData,
    BotSource,
    Collector,
    Limits,
    SentenceData,
    Tally,
    as_text,
    check_locale,
    check_origin,
    check_string,
    check_tags,
    default_locale,
    invalid,
    slug,
)

EXTENSION = "utterly"
UNKNOWN_INTENT = "tock:unknown"
# Sentences a person has not qualified (inbox) or has thrown away (deleted) do not train.
_NOT_TRAINING = {"inbox", "deleted"}
_STATUSES = {"inbox", "validated", "model", "deleted"}
_JAVA_LOCALE = re.compile(r"^([A-Za-z]{2,8})(?:[_-]([A-Za-z]{2}|[0-9]{3})?)?(?:[_-]#?.*)?$")


# ---- names ------------------------------------------------------------------------------

class IntentNames:
    """A distinct Tock intent name per FAQ title, given as the titles come: a title's name
    depends on the titles before it only."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._used: set[str] = set()

    def add(self, title: str) -> str:
        if title in self.names:
            return self.names[title]
        base = slug(title, "faq")
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        self.names[title] = name
        return name


def intent_names(titles: list[str]) -> dict[str, str]:
    """A distinct Tock intent name per FAQ title."""
    names = IntentNames()
    for title in titles:
        names.add(title)
    return names.names


def java_locale(locale: str) -> str:
    """The locale as Jackson writes a java.util.Locale: language, then _REGION."""
    parts = locale.split("-")
    region = next((p for p in parts[1:] if len(p) in (2, 3)), None)
    return f"{parts[0]}_{region}" if region else parts[0]


def from_java_locale(value, where: str, name: str = "language") -> str:
    """"fr", "en_GB", "en-GB" or Java's "zh_TW_#Hant" as a BCP 47 tag."""
    value = check_string(value, where, name)
    try:
        return normalize_locale(value)
    except ValueError:
        pass
    match = _JAVA_LOCALE.match(value.strip())
    if not match:
        raise invalid(where, f"`{name}` `{value[:40]}` is not a locale",
                      "use a language code such as fr, en or en_GB", name)
    language, region = match.groups()
    return check_locale(f"{language}-{region}" if region else language, where, name)


def _without_namespace(name: str) -> str:
    # As Tock's String.name(): the part after the first ':'.
    return name.split(":")[1] if ":" in name else name


# ---- writing ----------------------------------------------------------------------------

def _nested(value, depth: int) -> str:
    """`value` as json.dumps(indent=2) writes it `depth` levels deep in a document (JSON
    escapes every line break inside a text, so each line of it is one of the layout)."""
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * depth)


def _sentence(s: SentenceData, intent: str) -> dict:
    item = {"text": s.text, "intent": intent, "entities": [],
            "language": java_locale(s.locale), "status": "validated", "forReview": False}
    extra = {}
    if s.origin != "human":
        extra["origin"] = s.origin
    if from_java_locale(item["language"], "") != s.locale:
        extra["locale"] = s.locale
    if extra:
        item[EXTENSION] = extra
    return item


def _json_list(items: Iterator[str], depth: int) -> Iterator[str]:
    """A JSON list of already written items, laid out as json.dumps(indent=2) does."""
    inside, close = "\n" + "  " * (depth + 1), "\n" + "  " * depth + "]"
    yield "["
    empty = True
    for item in items:
        yield ("" if empty else ",") + inside + item
        empty = False
    yield "]" if empty else close


def stream(bot: BotSource) -> Iterator[str]:
    """The dump in pieces, laid out as json.dumps(document, indent=2): the sentences FAQ
    by FAQ, then (a second pass, without sentences) the FAQs that gave them their names."""
    names = IntentNames()

    def sentences() -> Iterator[str]:
        for faq in bot.faqs(True):
            intent = names.add(faq.title)
            if faq.sentences:
                yield (",\n" + "  " * 2).join(_nested(_sentence(s, intent), 2)
                                              for s in faq.sentences)

    def faqs() -> Iterator[str]:
        for faq in bot.faqs(False):
            if faq.title not in names.names:  # created since the first pass
                continue
            entry = {"intent": names.names[faq.title], "title": faq.title}
            for key in ("locale", "answer", "description", "tags"):
                if getattr(faq, key) is not None:
                    entry[key] = getattr(faq, key)
            yield _nested(entry, 3)

    yield '{\n  "applicationName": ' + _nested(slug(bot.name, "utterly"), 1) + \
        ',\n  "sentences": '
    yield from _json_list(sentences(), 1)
    yield (',\n  "%s": {\n    "version": 1,\n    "bot": ' % EXTENSION) + \
        _nested({"name": bot.name, "locales": bot.locales}, 2) + ',\n    "faqs": '
    yield from _json_list(faqs(), 2)
    yield "\n  }\n}\n"


def dump(bot: BotData) -> str:
    return "".join(stream(BotSource.of(bot)))


# ---- reading ----------------------------------------------------------------------------

def _object(value, where: str, name: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(where, f"`{name}` is not a JSON object", f"give `{name}` as an object",
                      name)
    return value


def _list(value, where: str, name: str, *, required: bool = True) -> list:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise invalid(where, f"`{name}` is {'missing' if value is None else 'not a list'}",
                      f"give `{name}` as a JSON list", name)
    return value


def _parse(text: str, limits: Limits):
    """The JSON, its lists of sentences and of FAQs (intents) read item by item and
    counted, so that a dump with too many stops at one past the bound."""
    def counter(limit: int | None, what: str, path: str):
        tally = Tally(limit, what)
        return lambda index: tally.tick(f"{path}.{index}")

    counters = {("sentences",): counter(limits.sentences, "sentences", "sentences"),
                (EXTENSION, "faqs"): counter(limits.faqs, "FAQs", f"{EXTENSION}.faqs"),
                ("intents",): counter(limits.faqs, "FAQs", "intents"),
                ("faqs",): counter(limits.faqs, "FAQs", "faqs")}
    try:
        return bounded_loads(text, counters)
    except json.JSONDecodeError as exc:
        raise invalid(f"line {exc.lineno}", f"not valid JSON at column {exc.colno}: {exc.msg}",
                      "export the dump again from Tock Studio, or fix the JSON") from None
    except RecursionError:
        raise invalid("", "the JSON nests too deeply", "send a Tock sentences dump") from None


def load(data: str | bytes, *, locale: str | None = None,
         limits: Limits | None = None) -> BotData:
    """An Utterly-written or genuine Tock sentences dump, or a Tock application dump.
    `locale` is for sentences that give none (Tock would refuse them)."""
    limits = limits or Limits()
    document = _parse(as_text(data), limits)
    if not isinstance(document, dict):
        raise invalid("", "the file is not a Tock dump (its JSON is not an object)",
                      "send a Tock sentences dump: {\"applicationName\": …, \"sentences\": […]}")
    if isinstance(document.get("application"), dict) and "applicationName" not in document:
        return _load_application_dump(document, locale, limits)
    if "applicationName" in document or "sentences" in document:
        return _load_sentences_dump(document, locale, limits)
    raise invalid("", "the file is not a Tock dump (it has neither `applicationName` and "
                  "`sentences` nor `application`)",
                  "send a Tock sentences dump or application dump")


def _extension(document: dict) -> tuple[dict, list]:
    extra = document.get(EXTENSION)
    if extra is None:
        return {}, []
    extra = _object(extra, EXTENSION, EXTENSION)
    return extra, _list(extra.get("faqs"), EXTENSION, "faqs", required=False)


def _load_sentences_dump(document: dict, locale: str | None, limits: Limits) -> BotData:
    app = check_string(document.get("applicationName"), "", "applicationName")
    dump_language = document.get("language")
    if dump_language is not None:
        dump_language = from_java_locale(dump_language, "", "language")
    extra, faq_entries = _extension(document)
    collector = Collector(limits)
    titles: dict[str, str] = {}  # Tock intent name → FAQ title
    for i, entry in enumerate(faq_entries):
        where = f"{EXTENSION}.faqs.{i}"
        entry = _object(entry, where, "faq")
        title = check_string(entry.get("title"), where, "title")
        intent = check_string(entry.get("intent"), where, "intent")
        titles[intent] = title
        faq = collector.faq(title, where)
        if entry.get("locale") is not None:
            faq.locale = check_locale(entry.get("locale"), where)
        faq.answer = check_string(entry.get("answer"), where, "answer", required=False)
        faq.description = check_string(entry.get("description"), where, "description",
                                       required=False)
        faq.tags = check_tags(entry.get("tags"), where)
    skipped: dict[str, int] = {}
    for i, item in enumerate(_list(document.get("sentences"), "", "sentences")):
        where = f"sentences.{i}"
        item = _object(item, where, "sentence")
        text = check_string(item.get("text"), where, "text")
        intent = check_string(item.get("intent"), where, "intent")
        status = item.get("status", "model")
        if status not in _STATUSES:
            raise invalid(where, f"`status` is `{str(status)[:40]}`",
                          "use one of inbox, validated, model, deleted", "status")
        if intent == UNKNOWN_INTENT or status in _NOT_TRAINING:
            reason = "tock:unknown" if intent == UNKNOWN_INTENT else status
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        mine = item.get(EXTENSION)
        mine = _object(mine, where, EXTENSION) if mine is not None else {}
        if mine.get("locale") is not None:
            sentence_locale = check_locale(mine["locale"], where, f"{EXTENSION}.locale")
        elif item.get("language") is not None:
            sentence_locale = from_java_locale(item["language"], where)
        elif dump_language is not None:
            sentence_locale = dump_language
        else:
            sentence_locale = default_locale(locale, where, "language")
        origin = check_origin(mine.get("origin"), where, f"{EXTENSION}.origin")
        title = titles.get(intent) or titles.get(_without_namespace(intent)) \
            or _without_namespace(intent)
        if not title.strip():
            raise invalid(where, f"`intent` `{intent[:60]}` has no name",
                          "give the intent a name", "intent")
        collector.add(title, SentenceData(text, sentence_locale, origin, where))
    for reason, count in skipped.items():
        what = ("classified as tock:unknown" if reason == "tock:unknown"
                else f"with status {reason}")
        collector.warnings.append(f"left out {count} sentence(s) {what}")
    bot = _object(extra.get("bot", {}), EXTENSION, "bot")
    name = bot.get("name") if isinstance(bot.get("name"), str) else _without_namespace(app)
    locales = bot.get("locales")
    if locales is not None:
        locales = [check_locale(x, f"{EXTENSION}.bot", "locales")
                   for x in _list(locales, f"{EXTENSION}.bot", "locales")]
    return collector.finish(name, locales)


def _load_application_dump(document: dict, locale: str | None, limits: Limits) -> BotData:
    app = _object(document["application"], "", "application")
    name = check_string(app.get("name"), "application", "name")
    intents: dict[str, tuple[str, dict]] = {}
    collector = Collector(limits)
    labels: set[str] = set()
    for i, intent in enumerate(_list(document.get("intents"), "", "intents", required=False)):
        where = f"intents.{i}"
        intent = _object(intent, where, "intent")
        intent_name = check_string(intent.get("name"), where, "name")
        label = intent.get("label")
        # Tock Studio's FAQs show the intent's label; the name is its technical twin.
        title = label if isinstance(label, str) and label.strip() and label not in labels \
            else intent_name
        labels.add(title)
        intents[str(intent.get("_id"))] = (title, intent)
        faq = collector.faq(title, where)
        if isinstance(intent.get("description"), str):
            faq.description = intent["description"]
    for i, entry in enumerate(_list(document.get("faqs"), "", "faqs", required=False)):
        entry = _object(entry, f"faqs.{i}", "faq")
        known = intents.get(str(entry.get("intentId")))
        if known:
            collector.faq(known[0]).tags = check_tags(entry.get("tags"), f"faqs.{i}")
    skipped = 0
    for i, item in enumerate(_list(document.get("sentences"), "", "sentences",
                                   required=False)):
        where = f"sentences.{i}"
        item = _object(item, where, "sentence")
        text = check_string(item.get("text"), where, "text")
        classification = _object(item.get("classification"), where, "classification")
        known = intents.get(str(classification.get("intentId")))
        if known is None or item.get("status") in _NOT_TRAINING:
            skipped += 1
            continue
        sentence_locale = (from_java_locale(item["language"], where)
                           if item.get("language") is not None
                           else default_locale(locale, where, "language"))
        collector.add(known[0], SentenceData(text, sentence_locale, "human", where))
    if skipped:
        collector.warnings.append(f"left out {skipped} sentence(s) of no known intent, in "
                                  "the inbox or deleted")
    locales = [from_java_locale(x, "application", "supportedLocales")
               for x in _list(app.get("supportedLocales"), "application", "supportedLocales",
                              required=False)]
    bot = collector.finish(name)
    bot.locales = list(dict.fromkeys([*locales, *bot.locales]))
    return bot
