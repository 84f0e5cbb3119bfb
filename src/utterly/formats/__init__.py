"""A bot's FAQs and sentences in and out of the files other NLU tools read and write.

    from utterly.formats import FORMATS, detect
    bot = FORMATS[detect("nlu.yml", text)].load(text, locale="fr")
    FORMATS["tock"].dump(bot)   # a Tock Studio sentences dump
    FORMATS["csv"].stream(BotSource.of(bot))   # the same file, in pieces

Writers stream: a `BotSource` hands them a bot FAQ by FAQ (from a database, in batches) and
they give the file piece by piece, so that neither the bot nor its file is ever whole in
memory. Readers take `limits=Limits(sentences=…, faqs=…)` and stop at one past them.

Every format reads into the neutral `BotData` (FAQs, each with its sentences: text,
locale, origin) and writes from it; see docs/formats.md for each file's shape and what
maps to what. Bad input raises `InvalidRequest` naming the line or field and the fix.
No HTTP and no database here: the Studio and the CLI build on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import InvalidRequest
from . import csv as csv_format
from . import jsonl, rasa, tock
from .model import ORIGINS, BotData, BotSource, FaqData, Limits, SentenceData, TooMany, as_text

__all__ = ["BotData", "BotSource", "FaqData", "SentenceData", "ORIGINS", "Format", "FORMATS",
           "Limits", "TooMany", "detect", "format_for_filename"]


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    media_type: str
    suffix: str  # of exported file names
    dump: Callable[[BotData], str]
    # load(text_or_bytes, *, locale=None, limits=None): `locale` for sentences the file
    # gives none; past `limits`, TooMany
    load: Callable[..., BotData]
    # the file dump writes, in pieces, from a bot handed over FAQ by FAQ
    stream: Callable[[BotSource], Iterator[str]]


FORMATS: dict[str, Format] = {
    "tock": Format("tock", "Tock sentences dump", "application/json", "-tock.json",
                   tock.dump, tock.load, tock.stream),
    "rasa": Format("rasa", "Rasa NLU YAML (3.1)", "application/yaml", "-nlu.yml",
                   rasa.dump, rasa.load, rasa.stream),
    "csv": Format("csv", "CSV", "text/csv; charset=utf-8", ".csv",
                  csv_format.dump, csv_format.load, csv_format.stream),
    "jsonl": Format("jsonl", "JSON Lines", "application/jsonl", ".jsonl",
                    jsonl.dump, jsonl.load, jsonl.stream),
}

_TOCK_START = re.compile(r'\{\s*"(?:applicationName|application)"\s*:')
# longer than any line Utterly writes or reads as JSON Lines (an FAQ's answer: 20,000)
_MAX_JSONL_LINE = 1024 * 1024

_EXTENSIONS = {".json": "tock", ".yml": "rasa", ".yaml": "rasa", ".csv": "csv",
               ".jsonl": "jsonl", ".ndjson": "jsonl"}


def format_for_filename(filename: str | None) -> str | None:
    """The format a file name's extension says, if any."""
    if not filename:
        return None
    lower = filename.lower()
    for extension, name in _EXTENSIONS.items():
        if lower.endswith(extension):
            return name
    return None


def detect(filename: str | None, data: str | bytes) -> str:
    """The format of a file: from its name's extension, else from its content."""
    by_name = format_for_filename(filename)
    if by_name:
        return by_name
    text = as_text(data).lstrip()
    if text.startswith("{"):
        # Never the whole file: parsing it here would build all its rows before the reader
        # counts them. Tock writes `applicationName` (or `application`) first; otherwise
        # the first line tells, if it is short enough to be a JSON Lines record.
        if _TOCK_START.match(text):
            return "tock"
        end = text.find("\n")
        first = text[:end] if end >= 0 else text
        if len(first) > _MAX_JSONL_LINE:
            return "tock"
        try:
            record = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            return "tock"
        if isinstance(record, dict) and ("applicationName" in record or "application" in record):
            return "tock"
        return "jsonl"
    lines = [line.strip() for line in text[:64 * 1024].split("\n")[:50]]
    meaningful = [line for line in lines if line and not line.startswith("#")]
    if meaningful and meaningful[0].split(":")[0].strip() in ("version", "nlu"):
        return "rasa"
    if meaningful:
        header = [cell.strip().strip('"').lower()
                  for cell in meaningful[0].replace(";", ",").split(",")]
        if "intent" in header and "text" in header:
            return "csv"
    raise InvalidRequest("cannot tell the file's format from its content",
                         field="format",
                         hint="name the format: tock, rasa, csv or jsonl")
