"""`utterly export`, `utterly import` (on the Studio's database, as a named user) and
`utterly convert` (files only, no database). Formats: docs/formats.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import (
    ID,
    acting_user,
    config_from,
    fail,
    open_sessions,
    run_service,
    storage_options,
)

FORMAT_NAMES = ["tock", "rasa", "csv", "jsonl"]


def _as_option(func):
    return click.option("--as", "username", required=True, metavar="USERNAME",
                        help="The Studio user to act as; their role in the bot's namespace "
                             "applies (viewer may export, bot_user may import).")(func)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


def _format_for_output(fmt: str | None, path: str) -> str:
    from ...formats import format_for_filename

    chosen = fmt or format_for_filename(None if path == "-" else path)
    if chosen is None:
        fail(f"cannot tell the format to write from `{path}`",
              "give --format (tock, rasa, csv or jsonl), or a file name ending in .json, "
              ".yml, .csv or .jsonl")
    return chosen


def _load(data: bytes, path: str, fmt: str | None, locale: str | None, limits=None):
    from ...formats import FORMATS, detect

    name = fmt or detect(None if path == "-" else path, data)
    return name, FORMATS[name].load(data, locale=locale, limits=limits)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


@click.command("export")
@click.option("--bot", "bot_id", type=ID, required=True, help="The bot's id.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="The file's format [default: from the output file's extension].")
@click.option("-o", "--output", default="-", show_default=True,
              help="The file to write; - for standard output.")
@_as_option
@storage_options
def export_command(bot_id, fmt, output, username, data_dir, database_url):
    """Export a bot's FAQs and sentences (Tock dump, Rasa nlu.yml, CSV or JSONL).

    Written as it is read, a batch of FAQs at a time, whatever the bot's size (the API's
    export refuses bots over UTTERLY_MAX_BOT_SENTENCES; this command does not)."""
    from ...formats import FORMATS
    from ..services import transfer

    name = _format_for_output(fmt, output)
    _, sessions = open_sessions(config_from(data_dir, database_url))
    who = acting_user(sessions, username)

    def export():
        with sessions() as session:
            return transfer.export_bot(session, who, bot_id, sessions)

    done = run_service(export)
    run_service(lambda: _write_pieces(output, FORMATS[name].stream(done.source)))
    click.echo(f"exported {done.faqs} FAQ(s), {done.sentences} sentence(s) as {name}"
               + ("" if output == "-" else f" to {output}"), err=True)


def _write_pieces(path: str, pieces) -> None:
    """The file, piece by piece; a file is written beside its name and renamed when
    complete, so that a failure leaves no half file behind."""
    if path == "-":
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            for piece in pieces:
                out.write(piece)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@click.command("import")
@click.argument("file")
@click.option("--bot", "bot_id", type=ID, required=True, help="The bot's id.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="The file's format [default: from its extension, else its content].")
@click.option("--locale", default=None,
              help="Locale of sentences the file gives none [default: the bot's first].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_as_option
@storage_options
def import_command(file, bot_id, fmt, locale, as_json, username, data_dir, database_url):
    """Merge a file's FAQs and sentences into a bot, all or nothing (FILE - for stdin)."""
    from ...formats import TooMany
    from ..access import bot_for
    from ..services import bot_limits, transfer

    raw = _read(file)
    _, sessions = open_sessions(config_from(data_dir, database_url))
    who = acting_user(sessions, username)

    def merge():
        with sessions() as session, session.begin():
            bot = bot_for(session, who, bot_id, "bot_user")
            try:
                name, data = _load(raw, file, fmt, locale or bot.locales[0],
                                   bot_limits.current().reading())
            except TooMany as exc:
                raise bot_limits.import_too_large(exc.what, exc.limit) from None
            return name, transfer.import_bot(session, who, bot_id, data)

    name, report = run_service(merge)
    if as_json:
        click.echo(json.dumps({"format": name, **report}, ensure_ascii=False, indent=2))
        return
    _warn(report["warnings"])
    click.echo(f"imported {name}: {report['faqs_created']} FAQ(s) created, "
               f"{report['faqs_updated']} updated, {report['sentences_added']} sentence(s) "
               f"added, {report['already_present']} already present")
    if report["skipped_locales"]:
        click.echo(f"skipped {report['skipped_sentences']} sentence(s) in locales the bot "
                   f"lacks: {', '.join(report['skipped_locales'])}")


@click.command("convert")
@click.argument("source")
@click.argument("target")
@click.option("--from", "from_fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="SOURCE's format [default: from its extension, else its content].")
@click.option("--to", "to_fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="TARGET's format [default: from its extension].")
@click.option("--locale", default=None,
              help="Locale of sentences SOURCE gives none (a plain Rasa or CSV file).")
def convert_command(source, target, from_fmt, to_fmt, locale):
    """Convert FAQs and sentences between formats, without a database (- for stdin/out)."""
    from ...formats import FORMATS

    out_name = _format_for_output(to_fmt, target)
    raw = _read(source)
    in_name, data = run_service(lambda: _load(raw, source, from_fmt, locale))
    _warn(data.warnings)
    _write(target, FORMATS[out_name].dump(data))
    click.echo(f"converted {len(data.faqs)} FAQ(s), {data.sentence_count()} sentence(s) "
               f"from {in_name} to {out_name}", err=True)


COMMANDS = [export_command, import_command, convert_command]
