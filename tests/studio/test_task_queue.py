"""Bulk jobs on the task queue (services/queue.py): real brokers (Redis, RabbitMQ), real
`utterly worker` and `utterly serve` processes on one PostgreSQL, an OpenAI-compatible
vendor over HTTP with a fixed latency (tests/servers/capacity_server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.servers import capacity_server
from tests.servers.run import ASGIServer, free_port, port_answers
from tests.servers.silent_server import SilentServer
from tests.servers.vendor_bots import vendor_bot
from utterly.studio.config import StudioConfig
from utterly.studio.gates import GATES
from utterly.studio.models import (
    Faq,
    GenerationJob,
    GenerationJobItem,
    GenerationRun,
    User,
    utcnow,
)
from utterly.studio.passwords import hash_password
from utterly.studio.services.queue import QUEUE

from .conftest import PASSWORD, require_service, running_studio

UTTERLY = str(Path(sys.executable).with_name("utterly"))
ATTACK_TIMEOUT_S = 20.0  # each call of the attacker's bot hangs this long
AMQP_URL = os.environ.get("UTTERLY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def amqp_broker():
    require_service("RabbitMQ", 5672)
    from utterly.studio.services.queue import make_broker

    broker = make_broker(AMQP_URL)
    broker.declare_queue(QUEUE)
    broker.flush_all()
    broker.close()
    yield AMQP_URL


@pytest.fixture
def vendor():
    app = capacity_server.create_app(latency_s=0.3, capacity=8)
    with ASGIServer(app) as url:
        yield Vendor(url, app)


@dataclass
class Vendor:
    url: str
    app: object

    def reset(self, **config) -> None:
        httpx.post(f"{self.url}/reset", json=config).raise_for_status()

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/stats").json()


@dataclass
class Fleet:
    """Studio processes and workers on one PostgreSQL and one broker."""

    tmp: Path
    database_url: str
    broker_url: str
    studio: object = None
    procs: list = field(default_factory=list)
    # every process's UTTERLY_PROVIDER_SLOTS
    slots: str = "8"

    @property
    def sessions(self):
        return self.studio.sessions

    def _env(self) -> dict:
        return {**os.environ, "UTTERLY_BROKER_URL": self.broker_url,
                "UTTERLY_DATA_DIR": str(self.tmp / "data"), "UTTERLY_PROVIDER_SLOTS": self.slots}

    def worker(self, threads: int = 2) -> subprocess.Popen:
        log = (self.tmp / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen([UTTERLY, "worker", "--database-url", self.database_url,
                                 "--threads", str(threads)],
                                stdout=log, stderr=subprocess.STDOUT, env=self._env())
        proc.log = log.name
        self.procs.append(proc)
        return proc

    def serve(self) -> str:
        """A second Studio process: `utterly serve` with the same broker."""
        port = free_port()
        log = (self.tmp / f"serve-{port}.log").open("wb")
        proc = subprocess.Popen([UTTERLY, "serve", "--database-url", self.database_url,
                                 "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=self._env())
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, "utterly serve did not answer"
            if port_answers(port):
                try:
                    if httpx.get(f"{url}/api/health", timeout=5).is_success:
                        return url
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(Path(p.log).read_text() for p in self.procs if hasattr(p, "log"))


@contextmanager
def fleet_on(tmp_path, postgres_url, broker_url, slots: str = "8"):
    config = StudioConfig(data_dir=tmp_path / "data", database_url=postgres_url,
                          broker_url=broker_url, provider_slots=slots)
    with running_studio(config) as studio:
        fleet = Fleet(tmp_path, postgres_url, broker_url, studio, slots=slots)
        try:
            yield fleet
        finally:
            fleet.close()
            GATES.configure(None)  # this process counts its own calls again


def make_bot(fleet: Fleet, namespace: str, vendor_url: str, faqs: int, **settings) -> dict:
    return vendor_bot(fleet.sessions, fleet.studio.box, namespace, vendor_url, faqs,
                      password_hash=hash_password(PASSWORD), **settings)


def start_job(studio_url: str, bot: dict) -> int:
    token = httpx.post(f"{studio_url}/api/auth/token",
                       json={"username": bot["user"], "password": PASSWORD}).json()
    response = httpx.post(f"{studio_url}/api/bots/{bot['bot']}/generation-jobs",
                          headers={"Authorization": f"Bearer {token['access_token']}"},
                          json={}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def job_state(fleet: Fleet, job_id: int) -> tuple[str, dict, int]:
    with fleet.sessions() as session:
        job = session.get(GenerationJob, job_id)
        counts = dict(session.execute(select(GenerationJobItem.status, func.count()).where(
            GenerationJobItem.job_id == job_id).group_by(GenerationJobItem.status)).all())
        return job.status, counts, job.turn


def wait_for(condition, timeout_s: float, what: str, fleet: Fleet):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s:g} s; worker logs:\n{fleet.logs()}"
                                 f"\njobs: {jobs_now(fleet)}")
        time.sleep(0.2)


def job_updated_at(fleet: Fleet, job_id: int):
    with fleet.sessions() as session:
        return session.get(GenerationJob, job_id).updated_at


def jobs_now(fleet: Fleet) -> list:
    with fleet.sessions() as session:
        return [(j.id, j.status, j.turn, j.updated_at.isoformat(), dict(session.execute(
            select(GenerationJobItem.status, func.count()).where(
                GenerationJobItem.job_id == j.id).group_by(GenerationJobItem.status)).all()))
                for j in session.scalars(select(GenerationJob))]


def runs_per_faq(fleet: Fleet, bot_id: int) -> dict[int, int]:
    with fleet.sessions() as session:
        return dict(session.execute(select(GenerationRun.faq_id, func.count()).where(
            GenerationRun.bot_id == bot_id).group_by(GenerationRun.faq_id)).all())


def faq_ids(fleet: Fleet, bot_id: int) -> set[int]:
    with fleet.sessions() as session:
        return set(session.scalars(select(Faq.id).where(Faq.bot_id == bot_id)))


def assert_each_faq_generated_once(fleet: Fleet, bot: dict, job_id: int) -> None:
    status, counts, _ = job_state(fleet, job_id)
    assert status == "done" and set(counts) == {"done"}, (status, counts)
    assert runs_per_faq(fleet, bot["bot"]) == {f: 1 for f in faq_ids(fleet, bot["bot"])}
    with fleet.sessions() as session:
        items = session.scalars(select(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id)).all()
        runs = {r.id: r for r in session.scalars(select(GenerationRun).where(
            GenerationRun.bot_id == bot["bot"]))}
        # every item points at its own stored run, which kept its candidates
        assert sorted(i.run_id for i in items) == sorted(runs)
        assert all(runs[i.run_id].faq_id == i.faq_id and runs[i.run_id].candidates
                   for i in items)


def test_two_studios_and_two_workers_share_one_database_and_one_redis(
        tmp_path, postgres_url, redis_url, vendor):
    with fleet_on(tmp_path, postgres_url, redis_url, slots="3") as fleet:
        acme = make_bot(fleet, "acme", vendor.url, 10, max_concurrency=3)
        globex = make_bot(fleet, "globex", vendor.url, 6, max_concurrency=3)
        second_studio = fleet.serve()
        fleet.worker(threads=2)
        fleet.worker(threads=2)
        first = start_job(fleet.studio.url, acme)
        second = start_job(second_studio, globex)
        for job in (first, second):
            wait_for(lambda job=job: job_state(fleet, job)[0] == "done", 120,
                     f"job {job} done", fleet)
        assert_each_faq_generated_once(fleet, acme, first)
        assert_each_faq_generated_once(fleet, globex, second)
        # both bots call the same endpoint with the same key: the endpoint's one limit of 3
        # for the fleet (UTTERLY_PROVIDER_SLOTS), which the bots' own 3 each do not raise
        # (2 workers × 2 threads × 2 FAQs per turn could otherwise send 8 at once)
        stats = vendor.stats()
        assert stats["max_in_flight"] <= 3, stats
        assert stats["rate_limited"] == 0


def test_a_worker_killed_mid_job_loses_nothing_and_doubles_nothing(
        tmp_path, postgres_url, redis_url, vendor):
    vendor.reset(latency_s=1.0)
    with fleet_on(tmp_path, postgres_url, redis_url) as fleet:
        shop = make_bot(fleet, "shop", vendor.url, 16, max_concurrency=2)
        doomed = fleet.worker(threads=1)
        job = start_job(fleet.studio.url, shop)
        wait_for(lambda: job_state(fleet, job)[1].get("done", 0) >= 2, 120,
                 "two FAQs generated", fleet)
        fleet.worker(threads=1)
        # kill the owner while it generates (the job is running and has FAQs running)
        wait_for(lambda: job_state(fleet, job)[0] == "running"
                 and job_state(fleet, job)[1].get("running"), 60, "a running turn", fleet)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        killed_at, killed_when = time.monotonic(), utcnow()
        # the other worker takes the job over at once (it touches the job, which the dead
        # one cannot): PostgreSQL freed the dead owner's lock, the sweeper sent the job's
        # turn again (the lease, 30 s, would be the slow way). The dead worker's two
        # provider slots come back 10 s after it died.
        wait_for(lambda: job_updated_at(fleet, job) > killed_when, 25,
                 "another worker owning the job", fleet)
        taken_over_s = time.monotonic() - killed_at
        wait_for(lambda: job_state(fleet, job)[0] == "done", 180, "the job done", fleet)
        assert_each_faq_generated_once(fleet, shop, job)
        assert taken_over_s < 25


def test_a_dead_provider_in_one_namespace_holds_up_no_other_job(
        tmp_path, postgres_url, redis_url, vendor, faulty_server):
    with fleet_on(tmp_path, postgres_url, redis_url) as fleet:
        # every call of the dead bot hangs until its time limit (5 s)
        dead = make_bot(fleet, "dead", faulty_server.url.rstrip("/") + "/hang", 16,
                        max_concurrency=2, timeout_s=5)
        alive = make_bot(fleet, "alive", vendor.url, 4, max_concurrency=2)
        fleet.worker(threads=1)  # one turn at a time: only taking turns lets both move
        stuck = start_job(fleet.studio.url, dead)
        wait_for(lambda: job_state(fleet, stuck)[0] == "running", 60, "the dead job", fleet)
        healthy = start_job(fleet.studio.url, alive)
        wait_for(lambda: job_state(fleet, healthy)[0] == "done", 120, "the healthy job",
                 fleet)
        status, counts, _ = job_state(fleet, stuck)
        # the dead bot's job is still going (16 FAQs, a few per turn, 5 s time-outs)…
        with fleet.sessions() as session:
            errors = session.scalars(select(GenerationJobItem.error).where(
                GenerationJobItem.job_id == stuck)).all()
        assert counts.get("pending", 0) + counts.get("running", 0) > 0, (status, counts,
                                                                          errors)
        # … and ends with every FAQ failed on its time limit, none generated twice
        wait_for(lambda: job_state(fleet, stuck)[0] == "failed", 120, "the dead job failed",
                 fleet)
        with fleet.sessions() as session:
            errors = session.scalars(select(GenerationJobItem.error).where(
                GenerationJobItem.job_id == stuck)).all()
        assert {e["code"] for e in errors} == {"timeout"}
        assert set(runs_per_faq(fleet, dead["bot"]).values()) == {1}


def test_a_job_runs_on_rabbitmq_too(tmp_path, postgres_url, amqp_broker, vendor):
    with fleet_on(tmp_path, postgres_url, amqp_broker) as fleet:
        bot = make_bot(fleet, "rabbit", vendor.url, 5, max_concurrency=2)
        fleet.worker(threads=2)
        job = start_job(fleet.studio.url, bot)
        wait_for(lambda: job_state(fleet, job)[0] == "done", 120, "the job done", fleet)
        assert_each_faq_generated_once(fleet, bot, job)
        assert vendor.stats()["max_in_flight"] <= 2


def test_a_job_whose_message_was_lost_is_sent_again_by_a_worker(
        tmp_path, postgres_url, redis_url, vendor):
    """A job created while the broker was away has no message: a worker's sweeper finds
    it queued and silent for the lease, and sends its turn."""
    from datetime import timedelta

    from utterly.studio.access import Actor
    from utterly.studio.schemas import JobIn
    from utterly.studio.services import jobs

    with fleet_on(tmp_path, postgres_url, redis_url) as fleet:
        bot = make_bot(fleet, "lost", vendor.url, 3)
        with fleet.sessions() as session, session.begin():
            user = session.scalar(select(User).where(User.username == bot["user"]))
            job = jobs.create_job(session, Actor(user.id, user.username), bot["bot"], JobIn())
            job.updated_at = utcnow() - timedelta(seconds=jobs.LEASE_S + 5)
            job_id = job.id
        fleet.worker(threads=1)
        wait_for(lambda: job_state(fleet, job_id)[0] == "done", 120, "the job done", fleet)
        assert_each_faq_generated_once(fleet, bot, job_id)


def test_an_interactive_generation_never_waits_behind_a_bulk_job(
        tmp_path, postgres_url, redis_url, vendor):
    """A job keeps the bot's 2 calls at once busy (16 FAQs, 1 s a call, on a worker); a
    person generates for one more FAQ of the same bot in the Studio: the call goes before
    the job's waiting ones, and the limit of 2 holds with it."""
    from utterly.generation import load_filters

    # the Studio runs in this process: its first generation would load the filters' models
    # while holding the interpreter, stalling the vendor (also here) and the person's call
    load_filters()
    vendor.reset(latency_s=1.0)
    with fleet_on(tmp_path, postgres_url, redis_url) as fleet:
        shop = make_bot(fleet, "busy", vendor.url, 16, max_concurrency=2)
        fleet.worker(threads=2)
        job = start_job(fleet.studio.url, shop)
        wait_for(lambda: job_state(fleet, job)[1].get("done", 0) >= 2, 120,
                 "the job going", fleet)
        # the person's FAQ, added after the job started: not one of the job's
        token = httpx.post(f"{fleet.studio.url}/api/auth/token",
                           json={"username": shop["user"], "password": PASSWORD}).json()
        person = httpx.Client(base_url=fleet.studio.url, timeout=120,
                              headers={"Authorization": f"Bearer {token['access_token']}"})
        faq = person.post(f"/api/bots/{shop['bot']}/faqs",
                          json={"title": "Person", "locale": "en"}).json()["id"]
        person.post(f"/api/bots/{shop['bot']}/faqs/{faq}/sentences",
                    json={"text": "How do I talk to a person"})
        answer = person.post(f"/api/bots/{shop['bot']}/faqs/{faq}/generate", json={})
        assert answer.status_code == 200, answer.text
        status, counts, _ = job_state(fleet, job)
        assert counts.get("pending", 0) > 0, "the job should still have FAQs waiting"
        wait_for(lambda: job_state(fleet, job)[0] == "done", 180, "the job done", fleet)
        spans = sorted(vendor.stats()["spans"])
        mine = [s for s in spans if s[2].startswith("How do I talk to a person")]
        theirs = [s for s in spans if not s[2].startswith("How do I talk to a person")]
        assert mine and len(theirs) >= 16
        # the person's call went before the job's last calls, not behind the whole job …
        assert mine[0][0] < theirs[-1][0]
        # … and within the bot's limit of 2 calls at once, counted with the job's
        assert vendor.stats()["max_in_flight"] <= 2


def turn_messages(redis_url: str) -> Counter:
    """The turns' messages the Redis broker holds, waiting or being run (not yet
    acknowledged), or waiting for a retry: how many per job."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        held = Counter()
        for key in (f"utterly:{QUEUE}.msgs", f"utterly:{QUEUE}.DQ.msgs"):
            for raw in client.hvals(key):
                held[json.loads(raw)["args"][0]] += 1
        return held
    finally:
        client.close()


def test_a_namespace_stuck_on_a_silent_provider_holds_up_no_other_and_sends_no_turn_twice(
        tmp_path, postgres_url, redis_url, vendor):
    """Issue 24 on the task queue: the attacker's namespace may start three jobs, not a
    fourth; they hang on a real server that never answers. The victim's one-FAQ job takes
    about as long as alone, and no turn message is sent twice: the broker holds one
    message of the attacker (its running turn), however long its jobs wait, where it held
    one per job plus a copy every 30 s."""
    with SilentServer() as silent, fleet_on(tmp_path, postgres_url, redis_url) as fleet:
        victim = make_bot(fleet, "victim", vendor.url, 1)
        attacker = make_bot(fleet, "attacker", silent.url, 8, max_concurrency=2,
                            timeout_s=ATTACK_TIMEOUT_S)
        fleet.worker(threads=2)

        def victim_job_s() -> float:
            began = time.monotonic()
            job = start_job(fleet.studio.url, victim)
            wait_for(lambda: job_state(fleet, job)[0] == "done", 120, "the victim's job",
                     fleet)
            return time.monotonic() - began

        victim_job_s()  # the worker's first generation
        alone_s = victim_job_s()
        try:
            stuck = [start_job(fleet.studio.url, attacker) for _ in range(3)]
            token = httpx.post(f"{fleet.studio.url}/api/auth/token",
                               json={"username": attacker["user"],
                                     "password": PASSWORD}).json()["access_token"]
            attacker_api = httpx.Client(base_url=fleet.studio.url, timeout=30,
                                        headers={"Authorization": f"Bearer {token}"})
            refused = attacker_api.post(f"/api/bots/{attacker['bot']}/generation-jobs",
                                        json={})
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "too_many_jobs"
            wait_for(lambda: silent.open_now >= 2, 60, "the attacker's calls hanging", fleet)
            attacked_s = victim_job_s()
            # past the 30 s after which queued jobs' turns used to be sent again
            samples = []
            until = time.monotonic() + 35
            while time.monotonic() < until:
                samples.append(turn_messages(redis_url))
                time.sleep(0.5)
            assert silent.open_now >= 1, "the attacker's turn should still hang"
        finally:
            silent.close()  # the calls still hanging fail at once
        for job in stuck:
            attacker_api.post(f"/api/bots/{attacker['bot']}/generation-jobs/{job}/cancel")
        print(f"victim's one-FAQ job: {alone_s:.2f} s alone, {attacked_s:.2f} s under "
              f"attack; turn messages held: {samples[0]} … {samples[-1]}")
        assert attacked_s < ATTACK_TIMEOUT_S
        assert attacked_s < 2 * alone_s + 3  # the target, slack for 2 busy cores
        # one message per job at most, and one for the whole attacking namespace
        assert samples and all(max(held.values(), default=0) <= 1 for held in samples)
        assert all(sum(held[job] for job in stuck) == 1 for held in samples), samples
