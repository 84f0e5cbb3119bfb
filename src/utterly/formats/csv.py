"""CSV: one row per sentence, header `intent,text,locale,origin`.

Written as RFC 4180 (CRLF line ends; fields holding a comma, a quote or a line break are
quoted, quotes doubled), UTF-8 without a byte order mark. Read: UTF-8 with or without a
byte order mark, `,` or `;` as separator (spreadsheets in French locales write `;`),
columns in any order, other columns ignored; `intent` and `text` are required, `locale`
may be left to a default locale, and an empty `origin` means human. FAQ answers,
descriptions and tags have no place here: use JSONL or the Tock dump to keep them.

Cells that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a
tab or a carriage return, OWASP's list) are written behind a `'`, which spreadsheets show
as text; reading removes that one `'` again, so a file goes out and comes back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
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
    default_locale,
    invalid,
    lines,
)

HEADER = ["intent", "text", "locale", "origin"]
# A formula trigger, behind any number of quotes: "=1+1" and "'=1+1" both get one more
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")


def neutralise(cell: str) -> str:
    return "'" + cell if _FORMULA.match(cell) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell) else cell


def stream(bot: BotSource) -> Iterator[str]:
    """The file in pieces: the header, then one piece per FAQ."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield out.getvalue()
    for faq in bot.faqs(True):
        out.seek(0)
        out.truncate()
        for s in faq.sentences:
            writer.writerow([neutralise(c) for c in (faq.title, s.text, s.locale, s.origin)])
        if out.tell():
            yield out.getvalue()


def dump(bot: BotData) -> str:
    return "".join(stream(BotSource.of(bot)))


def _delimiter(text: str) -> str:
    first = text[:text.find("\n")] if "\n" in text else text  # no copy of the rest
    return ";" if ";" in first and "," not in first else ","


def load(data: str | bytes, *, locale: str | None = None,
         limits: Limits | None = None) -> BotData:
    """CSV rows. `locale` is for files without a locale column, or rows with it empty."""
    text = as_text(data)
    reader = csv.reader(lines(text), delimiter=_delimiter(text), strict=True)
    collector = Collector(limits)
    columns: dict[str, int] | None = None
    end = 0  # the line the previous record ended on
    try:
        for row in reader:
            where = f"line {end + 1}"
            end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _columns(row, where)
                continue
            if len(row) < columns["_width"]:
                raise invalid(where, f"the row has {len(row)} column(s), the header "
                              f"{columns['_width']}",
                              "quote a text that holds the separator or a line break")
            collector.add(*_row([restore(c) for c in row], columns, where, locale))
    except csv.Error as exc:
        raise invalid(f"line {reader.line_num}", f"not valid CSV: {exc}",
                      "quote fields that hold quotes, separators or line breaks, and "
                      "double the quotes inside them") from None
    if columns is None:
        raise invalid("line 1", "the file is empty: there is no header",
                      "start with the header line `intent,text,locale,origin`")
    return collector.finish()


def _columns(header: list[str], where: str) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in ("intent", "text") if name not in names]
    if missing:
        raise invalid(where, f"the header has no {' and no '.join(missing)} column",
                      "start with the header line `intent,text,locale,origin`")
    columns = {name: names.index(name) for name in HEADER if name in names}
    columns["_width"] = max(columns.values()) + 1
    return columns


def _row(row: list[str], columns: dict[str, int], where: str, locale: str | None):
    intent = row[columns["intent"]]
    if not intent.strip():
        raise invalid(where, "`intent` is empty", "name the FAQ the sentence trains",
                      "intent")
    text = row[columns["text"]]
    if not text.strip():
        raise invalid(where, "`text` is empty", "write the sentence, or remove the row",
                      "text")
    given = row[columns["locale"]].strip() if "locale" in columns else ""
    sentence_locale = (check_locale(given, where) if given
                       else default_locale(locale, where))
    origin = check_origin(row[columns["origin"]].strip() if "origin" in columns else "",
                          where)
    return intent, SentenceData(text, sentence_locale, origin, where)
