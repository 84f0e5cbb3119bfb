"""A bot's export is streamed (issue 24: a viewer's Rasa export of a big bot took 220 s and
4.9 GB): the file goes out while the bot is still being read, a batch of FAQs at a time,
so the first bytes arrive before the whole is built and the memory it takes is a batch's,
whatever the bot's size."""

from __future__ import annotations

import threading
import tracemalloc

import pytest
from sqlalchemy import insert

from utterly.formats import FORMATS
from utterly.normalize import normalize
from utterly.studio.access import Actor
from utterly.studio.api import transfer as transfer_api
from utterly.studio.models import Faq, TrainingSentence
from utterly.studio.services import transfer


def grow(world, faqs: int, per_faq: int, start: int = 0) -> None:
    """`faqs` more FAQs of `per_faq` sentences each in the world's bot, written directly."""
    with world.studio.sessions() as session, session.begin():
        rows = [Faq(bot_id=world.bot, title=f"FAQ {i:04d}", locale="fr", answer=f"Réponse {i}")
                for i in range(start, start + faqs)]
        session.add_all(rows)
        session.flush()
        sentences = [{"bot_id": world.bot, "faq_id": faq.id, "text": text,
                      "normalized": normalize(text), "locale": "fr", "origin": "human"}
                     for i, faq in enumerate(rows, start) for text in (
                         f"Comment puis-je suivre la demande {i}-{j} depuis l'application ?"
                         for j in range(per_faq))]
        for start in range(0, len(sentences), 5000):
            session.execute(insert(TrainingSentence), sentences[start:start + 5000])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_first_bytes_go_out_before_the_bot_is_read(world, fmt, monkeypatch):
    """The second batch of the bot is held back until the client has the first bytes: an
    export built whole before it is sent would never send them (and the test would fail
    on its read timeout)."""
    grow(world, faqs=30, per_faq=40)
    monkeypatch.setattr(transfer, "EXPORT_BATCH_SENTENCES", 200)
    monkeypatch.setattr(transfer_api, "STREAM_CHUNK", 1024)
    release, batches = threading.Event(), []
    read_batch = transfer._read_batch

    def held_back(session, ids, sentences):
        batches.append(len(ids))
        if len(batches) == 2:
            release.wait(60)  # the client's read timeout is shorter: a failure, not a hang
        return read_batch(session, ids, sentences)

    monkeypatch.setattr(transfer, "_read_batch", held_back)
    api = world.studio.api("vic")
    with api.stream("GET", f"/api/bots/{world.bot}/export", params={"format": fmt},
                    timeout=20) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = response.iter_bytes()
        first = next(chunks)
        assert first and not release.is_set() and len(batches) <= 2  # the rest not read yet
        release.set()
        body = first + b"".join(chunks)
    bot = FORMATS[fmt].load(body)
    assert bot.sentence_count() == 30 * 40 + 2
    assert len(batches) > 5  # read in batches of 200 sentences
    assert [f.title for f in bot.faqs][:3] == ["Colis", "FAQ 0000", "FAQ 0001"]


def export_peak(world, fmt: str) -> tuple[int, int, int]:
    """(the most memory allocated while the file is written, its size, its largest piece)."""
    with world.studio.sessions() as session:
        export = transfer.export_bot(session, Actor(world.users["vic"], "vic"), world.bot,
                                     world.studio.sessions)
    size = largest = 0
    tracemalloc.start()
    try:
        for piece in FORMATS[fmt].stream(export.source):
            size += len(piece)
            largest = max(largest, len(piece))
        return tracemalloc.get_traced_memory()[1], size, largest
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_export_holds_a_batch_not_the_bot(world, fmt):
    """A bot of 20,000 sentences, then of 60,000: the file triples, the memory writing it
    takes does not (a batch of 2,000 sentences and a piece of the file). Written whole, as
    before, it took the bot and then the file as one string: over twice the file's size."""
    grow(world, faqs=100, per_faq=200)
    peak, size, _ = export_peak(world, fmt)
    grow(world, faqs=200, per_faq=200, start=100)
    tripled, tripled_size, largest = export_peak(world, fmt)
    assert tripled_size > 2.5 * size
    assert tripled < 1.3 * peak + 200_000, (peak, tripled)
    assert tripled < tripled_size / 2 and largest < tripled_size / 100
