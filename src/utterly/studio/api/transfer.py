"""Export a bot's FAQs and sentences as a file, and import one (docs/formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ...errors import InvalidRequest
from ...formats import FORMATS, TooMany, detect
from ...formats.model import check_locale, slug
from ..access import Actor, bot_for
from ..errors import Invalid
from ..services import bot_limits, transfer
from .body_limit import MAX_IMPORT_BYTES
from .deps import ActorDep, SessionDep, state, transaction

router = APIRouter(prefix="/api/bots", tags=["import and export"])

FormatName = Literal["tock", "rasa", "csv", "jsonl"]
_FILE_BODY = {"schema": {"type": "string", "maxLength": MAX_IMPORT_BYTES}}


class Conflicting(BaseModel):
    text: str
    locale: str
    faq: str
    requested_faq: str


class ImportReport(BaseModel):
    format: FormatName
    faqs_created: int
    faqs_updated: int
    sentences_added: int
    already_present: int
    conflicts: list[Conflicting]
    skipped_locales: list[str]
    skipped_sentences: int
    warnings: list[str]


# The pieces a writer gives (one per FAQ, often a few hundred bytes) go out this big.
STREAM_CHUNK = 64 * 1024


def _chunks(pieces: Iterator[str]) -> Iterator[bytes]:
    buffer, size = [], 0
    for piece in pieces:
        data = piece.encode("utf-8")
        buffer.append(data)
        size += len(data)
        if size >= STREAM_CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


@router.get("/{bot_id}/export", response_class=StreamingResponse, responses={200: {
    "description": "The file, as an attachment",
    "content": {f.media_type.split(";")[0]: {"schema": {"type": "string"}}
                for f in FORMATS.values()}}})
def export_bot(bot_id: int, request: Request, who: ActorDep, session: SessionDep,
               format: FormatName = Query(default="tock", description="the file's format")):
    """Download every FAQ of the bot and its sentences. Viewers may export.

    The file is streamed as it is written, read from the database a batch of FAQs at a
    time; a bot of more sentences than a bot may hold (UTTERLY_MAX_BOT_SENTENCES) is
    refused (422 export_too_large)."""
    studio = state(request)
    export = transfer.export_bot(session, who, bot_id, studio.sessions,
                                 limit=studio.config.max_bot_sentences)
    chosen = FORMATS[format]
    filename = f"{slug(export.source.name, 'bot')}{chosen.suffix}"
    return StreamingResponse(_chunks(chosen.stream(export.source)),
                             media_type=chosen.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def importer(bot_id: int, request: Request, who: ActorDep) -> Actor:
    """The caller, once known to be a bot_user of the bot: checked before the body is read
    (the body limit, body_limit.py, allows files up to MAX_IMPORT_BYTES here), in a
    transaction of its own that ends before the upload starts."""
    with transaction(request) as session:
        bot_for(session, who, bot_id, "bot_user")
    return who


ImporterDep = Annotated[Actor, Depends(importer)]


async def file_body(request: Request, who: ImporterDep) -> bytes:
    return await request.body()


@router.post("/{bot_id}/import", response_model=ImportReport, openapi_extra={
    "requestBody": {"required": True, "description": "The file itself, as the raw body",
                    "content": {"application/json": _FILE_BODY, "application/yaml": _FILE_BODY,
                                "text/csv": _FILE_BODY, "application/jsonl": _FILE_BODY,
                                "application/octet-stream": _FILE_BODY}}})
def import_bot(bot_id: int, who: ImporterDep,
               body: Annotated[bytes, Depends(file_body)], session: SessionDep,
               format: FormatName | None = Query(
                   default=None, description="the file's format; default: told from the "
                   "content"),
               locale: str | None = Query(
                   default=None, max_length=35, description="the locale of sentences the "
                   "file gives none; default: the bot's first locale")):
    """Merge a file's FAQs and sentences into the bot, all or nothing (bot_user).

    FAQs match by title; sentences the bot has are counted as already present; a sentence
    that trains another FAQ is a conflict (409, `conflicts` lists them) and then nothing is
    imported. Sentences in a locale the bot lacks are skipped and reported.

    Bounded in rows as well as bytes: a file of more sentences than an import takes
    (UTTERLY_MAX_IMPORT_SENTENCES) or more FAQs than a bot holds is refused (413) as soon
    as the reader counts one too many; a bot that would then hold more sentences or FAQs
    than a bot may is refused (422). The import runs in the request, bounded so: nothing is
    stored on a refusal."""
    bot = bot_for(session, who, bot_id, "bot_user")
    if not body.strip():
        raise Invalid("the request body is empty", field="body",
                      hint="send the file itself as the request body")
    if locale is not None:
        try:
            locale = check_locale(locale, "", "locale")
        except InvalidRequest as exc:
            raise Invalid(exc.message, field="locale", hint=exc.hint) from None
        if locale not in bot.locales:
            raise Invalid(f"locale `{locale}` is not one of this bot's locales "
                          f"{bot.locales}", field="locale",
                          hint="use one of the bot's locales or add it to the bot")
    name = format or detect(None, body)
    limits = bot_limits.current()
    try:
        data = FORMATS[name].load(body, locale=locale or bot.locales[0],
                                  limits=limits.reading())
    except TooMany as exc:
        raise bot_limits.import_too_large(exc.what, exc.limit) from None
    report = transfer.import_bot(session, who, bot_id, data)
    return ImportReport(format=name, **report)
