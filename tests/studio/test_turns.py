"""Whose turn it is (services/turns.py), as the task queue's sweeper gives turns out: once
per namespace, never twice while on their way, again only once taken for lost or refused
by the broker. `send` records the messages the broker would get (the broker itself is
tested in test_task_queue.py); the Studio's own worker is off, so that only the sweeps
here give turns out. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from utterly.studio.access import Actor
from utterly.studio.config import StudioConfig
from utterly.studio.models import GenerationJob, SentenceGenerationSettings, utcnow
from utterly.studio.schemas import JobIn
from utterly.studio.services import jobs, queue

from .conftest import running_studio


@pytest.fixture
def studio(database_url, tmp_path):
    with running_studio(StudioConfig(data_dir=tmp_path / "data", database_url=database_url,
                                     run_jobs=False)) as st:
        yield st


@pytest.fixture
def three_jobs(world) -> tuple[int, int, int]:
    """Two jobs of acme (bob's), then one of globex (gus's): (a1, a2, g1)."""
    with world.studio.sessions() as session, session.begin():
        for bot in (world.bot, world.other_bot):
            session.get(SentenceGenerationSettings, bot).enabled = True
        bob, gus = Actor(world.users["bob"], "bob"), Actor(world.users["gus"], "gus")
        made = [jobs.create_job(session, bob, world.bot, JobIn()),
                jobs.create_job(session, bob, world.bot, JobIn()),
                jobs.create_job(session, gus, world.other_bot, JobIn())]
        session.flush()
        return tuple(job.id for job in made)


class Broker:
    """What the sweeper sends, in order; refuses the next `refuse` messages."""

    def __init__(self):
        self.sent: list[tuple[int, int]] = []
        self.refuse = 0

    def send(self, job_id: int, turn: int) -> None:
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("the broker is away")
        self.sent.append((job_id, turn))


def test_a_turn_on_its_way_is_sent_once_however_many_sweeps(world, three_jobs):
    a1, a2, g1 = three_jobs
    broker = Broker()
    for _ in range(5):
        queue.sweep(world.studio.sessions, broker.send)
    # one turn per namespace: acme's second job waits for acme's first
    assert broker.sent == [(a1, 0), (g1, 0)]


def test_a_lost_turn_is_given_out_again_and_its_message_runs_nothing(world, three_jobs):
    a1, a2, g1 = three_jobs
    broker = Broker()
    queue.sweep(world.studio.sessions, broker.send)
    with world.studio.sessions() as session, session.begin():  # sent 11 minutes ago
        session.execute(update(GenerationJob).where(GenerationJob.id == a1).values(
            sent_at=utcnow() - timedelta(minutes=11)))
    for _ in range(3):
        queue.sweep(world.studio.sessions, broker.send)
    # acme's turn went out again, to the job of acme served least recently: a2
    assert broker.sent == [(a1, 0), (g1, 0), (a2, 0)]
    # a1's first message, arriving late, runs nothing: its turn was taken back
    view = jobs.run_turn(world.studio.sessions, world.studio.box, a1, 0)
    assert (view["status"], view["pending"], view["done"], view["failed"]) == \
        ("queued", view["total"], 0, 0)
    with world.studio.sessions() as session:
        job = session.get(GenerationJob, a1)
        assert (job.status, job.turn, job.sent_turn) == ("queued", 0, None)


def test_a_turn_the_broker_refused_is_sent_at_the_next_sweep(world, three_jobs):
    a1, a2, g1 = three_jobs
    broker = Broker()
    broker.refuse = 1
    with pytest.raises(ConnectionError):
        queue.sweep(world.studio.sessions, broker.send)
    with world.studio.sessions() as session:  # both given back: neither left
        assert [session.get(GenerationJob, j).sent_turn for j in (a1, g1)] == [None, None]
    queue.sweep(world.studio.sessions, broker.send)
    queue.sweep(world.studio.sessions, broker.send)
    assert sorted(broker.sent) == [(a1, 0), (g1, 0)]
