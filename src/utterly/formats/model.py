"""The neutral model every file format reads into and writes from, and the checks they share.

`None` in an FAQ field means "this file does not say" (a CSV has no answers): an import then
leaves the stored value alone, where an empty string would clear it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import InvalidRequest
from ..request import normalize_locale

ORIGINS = ("human", "generated")


@dataclass
class SentenceData:
    text: str
    locale: str
    origin: str = "human"
    # Where the sentence was read ("line 12"), for error messages; not part of its value.
    where: str = field(default="", compare=False, repr=False)


@dataclass
class FaqData:
    title: str  # the intent name in NLU tools
    sentences: list[SentenceData] = field(default_factory=list)
    answer: str | None = None
    description: str | None = None
    locale: str | None = None
    tags: list[str] | None = None
    where: str = field(default="", compare=False, repr=False)


@dataclass
class BotData:
    name: str = ""
    locales: list[str] = field(default_factory=list)
    faqs: list[FaqData] = field(default_factory=list)
    # What a reader left out on purpose (Tock's unknown intent, Rasa synonyms…).
    warnings: list[str] = field(default_factory=list, compare=False)

    def sentence_count(self) -> int:
        return sum(len(f.sentences) for f in self.faqs)


@dataclass
class BotSource:
    """A bot to write, handed over FAQ by FAQ so that a writer holds one at a time.
    `faqs(sentences)` starts a new pass over the FAQs, in the file's order; each comes with
    its sentences when `sentences` is true (a writer that needs a second pass, for the FAQ
    fields alone, asks for none)."""

    name: str
    locales: list[str]
    faqs: Callable[[bool], Iterable[FaqData]]

    @classmethod
    def of(cls, bot: BotData) -> "BotSource":
        return cls(bot.name, list(bot.locales), lambda sentences=True: bot.faqs)


# ---- how much a file may hold ------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """The most sentences and FAQs a reader takes from one file (None: no bound). Readers
    count while they parse and stop at one past a bound, so that a file over it costs the
    bound, not the file's size in rows."""

    sentences: int | None = None
    faqs: int | None = None


class TooMany(InvalidRequest):
    """A file holds more sentences (or FAQs) than its reader's `Limits` allow."""

    def __init__(self, what: str, limit: int, where: str = ""):
        super().__init__(f"{where_prefix(where)}the file holds more than {limit:,} {what}: "
                         "nothing was read past that", field=what.lower(),
                         hint=f"split the file into parts of at most {limit:,} {what} and "
                              "send them one after the other")
        self.what = what
        self.limit = limit


class Tally:
    """Counts rows as a reader meets them; past `limit`, TooMany."""

    def __init__(self, limit: int | None, what: str):
        self.limit = limit
        self.what = what
        self.count = 0

    def tick(self, where: str = "") -> None:
        self.count += 1
        if self.limit is not None and self.count > self.limit:
            raise TooMany(self.what, self.limit, where)


# ---- shared checks ----------------------------------------------------------------------

def where_prefix(where: str) -> str:
    return f"{where}: " if where else ""


def invalid(where: str, message: str, hint: str, name: str | None = None) -> InvalidRequest:
    """An error naming the place in the file (`where`) and, optionally, the field."""
    pointer = ".".join(p for p in (where, name) if p) or None
    return InvalidRequest(f"{where_prefix(where)}{message}", hint=hint, field=pointer)


def as_text(data: str | bytes) -> str:
    """The file as text: UTF-8, with or without a byte order mark."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise invalid(f"line {line}", f"the file is not UTF-8 text (byte {exc.start})",
                          "save the file as UTF-8") from None
    return data.removeprefix("\ufeff")


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NEWLINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def lines(text: str, *, only_lf: bool = False) -> Iterator[str]:
    """The lines of `text`, ends kept, one at a time (never the list of them all, nor
    io.StringIO's copy of the text at 4 bytes a character): as io.StringIO(text,
    newline="") iterates them, or split at \\n alone when `only_lf`."""
    for match in (_NEWLINE if only_lf else _LINE).finditer(text):
        yield match.group()


def check_string(value, where: str, name: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        what = "missing" if value is None else f"a {type(value).__name__}, not a text"
        raise invalid(where, f"`{name}` is {what}", f"give `{name}` as a text", name)
    if required and not value.strip():
        raise invalid(where, f"`{name}` is empty", f"write the {name}", name)
    return value


def check_locale(value, where: str, name: str = "locale") -> str:
    value = check_string(value, where, name)
    try:
        return normalize_locale(value)
    except ValueError:
        raise invalid(where, f"`{name}` `{value[:40]}` is not a locale",
                      "use a BCP 47 tag such as fr, en or en-GB", name) from None


def check_origin(value, where: str, name: str = "origin") -> str:
    if value is None or value == "":
        return "human"
    if value not in ORIGINS:
        raise invalid(where, f"`{name}` is `{str(value)[:40]}`",
                      "use human or generated (or leave it empty for human)", name)
    return value


def check_tags(value, where: str, name: str = "tags") -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid(where, f"`{name}` is not a list of texts", f"give `{name}` as a list "
                      "of texts, e.g. [\"billing\"]", name)
    return value


def default_locale(locale: str | None, where: str, name: str = "locale") -> str:
    """The locale a sentence takes when the file gives none: the caller's, or an error."""
    if locale is None:
        raise invalid(where, f"`{name}` is missing",
                      f"give each sentence a {name}, or pass a default locale "
                      "(--locale on the command line, ?locale= on the API)", name)
    return check_locale(locale, "", "locale")


def slug(text: str, fallback: str) -> str:
    """ASCII letters, digits and underscores: a name any tool accepts."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    result = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return result or fallback


class Collector:
    """Builds a BotData from sentences and FAQ fields met in any order, grouping sentences
    by intent in the order intents first appear; refuses more than `limits` allow."""

    def __init__(self, limits: Limits | None = None) -> None:
        limits = limits or Limits()
        self.faqs: dict[str, FaqData] = {}
        self.warnings: list[str] = []
        self.sentences_read = Tally(limits.sentences, "sentences")
        self.faqs_read = Tally(limits.faqs, "FAQs")

    def faq(self, title: str, where: str = "") -> FaqData:
        faq = self.faqs.get(title)
        if faq is None:
            self.faqs_read.tick(where)
            faq = self.faqs[title] = FaqData(title=title, where=where)
        return faq

    def add(self, title: str, sentence: SentenceData, where: str = "", *,
            counted: bool = False) -> None:
        """`counted`: the reader ticked `sentences_read` when it met the sentence."""
        if not counted:
            self.sentences_read.tick(sentence.where or where)
        self.faq(title, where or sentence.where).sentences.append(sentence)

    def finish(self, name: str = "", locales: list[str] | None = None) -> BotData:
        faqs = list(self.faqs.values())
        if locales is None:
            seen: dict[str, None] = {}
            for faq in faqs:
                if faq.locale:
                    seen.setdefault(faq.locale)
                for s in faq.sentences:
                    seen.setdefault(s.locale)
            locales = list(seen)
        return BotData(name=name, locales=locales, faqs=faqs, warnings=self.warnings)
