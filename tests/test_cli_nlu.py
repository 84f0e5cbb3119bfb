"""`utterly nlu train|parse|eval` and `utterly generate-all` as a person runs them: real
subprocesses of the installed `utterly` command on a SQLite Studio database in a temporary
data directory. Users come from `utterly users create`; the bot, its FAQs and sentences are
set up through the Studio's services, as the API would.

The bulk job test kills `generate-all` with SIGKILL after its first FAQ and resumes the job:
the FAQ finished before the kill is not generated again, and the FAQ the killed process was
generating is generated once its lease has run out. Other bulk tests generate with the
fake vendor (tests/servers/faulty_server.py).

`utterly serve --no-jobs` and UTTERLY_RUN_JOBS=0 run real servers on a free port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.servers.run import free_port, port_answers
from utterly.studio.access import Actor, user_by_name
from utterly.studio.config import StudioConfig
from utterly.studio.db import make_engine, migrate, session_factory
from utterly.studio.models import (
    GenerationJob,
    GenerationJobItem,
    GenerationRun,
    SentenceGenerationSettings,
    User,
)
from utterly.studio.schemas import BotIn, FaqIn, JobIn, SentenceIn
from utterly.studio.services import bots, jobs

UTTERLY = str(Path(sys.executable).with_name("utterly"))
PASSWORD = "correct-horse-1"
TEST_MODEL = "smollm2-135m"

FAQS = {
    "Mot de passe": ["Comment réinitialiser mon mot de passe ?", "J'ai oublié mon mot de passe",
                     "Changer mon mot de passe", "Mon mot de passe ne fonctionne plus"],
    "Colis": ["Où est mon colis ?", "Mon colis n'est pas arrivé",
              "Suivre la livraison de mon colis", "Quand vais-je recevoir mon colis ?"],
    "Remboursement": ["Je veux être remboursé", "Comment obtenir un remboursement ?",
                      "Rembourser ma commande", "Quand serai-je remboursé ?"],
}


@pytest.fixture(autouse=True)
def _no_studio_env(monkeypatch):
    for name in ("UTTERLY_SECRET_KEY", "UTTERLY_DATA_DIR", "UTTERLY_DATABASE_URL",
                 "UTTERLY_RUN_JOBS"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Place:
    data_dir: Path
    sessions: object
    bot: int
    faqs: dict[str, int]

    @property
    def storage(self) -> list[str]:
        return ["--data-dir", str(self.data_dir)]

    def run(self, *args: str, user: str = "alice") -> subprocess.CompletedProcess:
        return subprocess.run([UTTERLY, *args, "--bot", str(self.bot), "--as", user,
                               *self.storage], capture_output=True, text=True, timeout=600)


def utterly(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([UTTERLY, *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def make_place(tmp_path: Path, faqs: dict[str, list[str]]) -> Place:
    data_dir = tmp_path / "data"
    for name, role in (("alice", "admin"), ("victor", "viewer")):
        created = utterly("users", "create", name, "--role", role, "--password-stdin",
                          "--data-dir", str(data_dir), stdin=PASSWORD + "\n")
        assert created.returncode == 0, created.stderr
    engine = make_engine(StudioConfig(data_dir=data_dir).url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        alice = user_by_name(session, "alice")
        actor = Actor(alice.id, alice.username)
        bot = bots.create_bot(session, actor, BotIn(name="Boutique", locales=["fr", "en"]))
        ids = {}
        for title, sentences in faqs.items():
            faq = bots.create_faq(session, actor, bot.id, FaqIn(title=title, locale="fr"))
            bots.add_sentences(session, actor, bot.id, faq.id,
                               [SentenceIn(text=t) for t in sentences])
            ids[title] = faq.id
        bot_id = bot.id
    return Place(data_dir, sessions, bot_id, ids)


@pytest.fixture
def place(tmp_path) -> Place:
    return make_place(tmp_path, FAQS)


# ---- nlu train, parse, eval -----------------------------------------------------------

def test_parse_before_training_says_to_train_first(place):
    result = place.run("nlu", "parse", "où est mon colis")
    assert result.returncode == 1
    assert "model_not_trained" in result.stderr
    assert "utterly nlu train" in result.stderr  # the hint
    assert "Traceback" not in result.stderr


def test_train_then_parse_names_the_faq(place):
    trained = place.run("nlu", "train")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.strip() == "trained fr on 12 sentences (0 generated), 3 FAQs"

    parsed = place.run("nlu", "parse", "mon colis n'est toujours pas là")
    assert parsed.returncode == 0, parsed.stderr
    first, *others = parsed.stdout.strip().splitlines()
    title, confidence = first.rsplit(None, 1)
    assert title == "Colis" and 1 / 3 < float(confidence) <= 1
    assert sorted(line.strip().rsplit(None, 1)[0] for line in others) == \
        ["Mot de passe", "Remboursement"]

    as_json = place.run("nlu", "parse", "j'ai oublié mon mot de pase", "--json")
    assert as_json.returncode == 0, as_json.stderr
    out = json.loads(as_json.stdout)
    assert out["intent"] == {"faq_id": place.faqs["Mot de passe"], "title": "Mot de passe",
                             "confidence": out["confidence"]}
    assert len(out["ranking"]) == 2 and out["model"]["trained_on"] == 12


def test_parse_says_unknown_below_the_threshold(place):
    assert place.run("nlu", "train").returncode == 0
    parsed = place.run("nlu", "parse", "mon colis n'est toujours pas là", "--threshold", "1")
    assert parsed.returncode == 0, parsed.stderr
    lines = parsed.stdout.strip().splitlines()
    assert lines[0].startswith("Colis ")  # the best guess stays first
    assert lines[-1] == "unknown: below the threshold 1.00, out of scope"
    low = place.run("nlu", "parse", "mon colis n'est toujours pas là", "--threshold", "0")
    assert "unknown" not in low.stdout
    wrong = place.run("nlu", "parse", "colis", "--threshold", "2")
    assert wrong.returncode == 2 and "--threshold" in wrong.stderr


def test_eval_prints_both_models_side_by_side(place):
    result = place.run("nlu", "eval", "-k", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "k-fold (k=2), 12 human sentences tested, 0 generated available"
    rows = {line[:24].strip(): line[24:].split() for line in lines[2:5]}
    assert set(rows) == {"human only", "human + generated", "gain"}
    assert rows["human only"] == rows["human + generated"]  # nothing generated yet
    assert rows["gain"] == ["+0.000", "+0.000"]

    as_json = place.run("nlu", "eval", "--json", user="victor")  # a viewer may evaluate
    assert as_json.returncode == 0, as_json.stderr
    out = json.loads(as_json.stdout)
    assert (out["method"], out["tested_on"], out["locale"]) == ("k-fold (k=5)", 12, "fr")
    titles = {p["title"] for p in out["human_only"]["per_intent"]}
    assert titles == set(FAQS)
    assert out["gain"] == {"accuracy": 0.0, "macro_f1": 0.0}


def test_roles_and_bad_input_fail_with_a_message(place):
    refused = place.run("nlu", "train", user="victor")
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    nobody = place.run("nlu", "train", user="nobody")
    assert nobody.returncode == 1 and "no Studio user is named `nobody`" in nobody.stderr
    english = place.run("nlu", "train", "--locale", "en")  # no English sentence
    assert english.returncode == 2
    assert "at least 2 intents" in english.stderr and "hint:" in english.stderr
    for result in (refused, nobody, english):
        assert "Traceback" not in result.stderr


# ---- generate-all: killed, then resumed -----------------------------------------------

ONE_EACH = {"Mot de passe": ["Comment réinitialiser mon mot de passe ?"],
            "Colis": ["Où est mon colis ?"],
            "Remboursement": ["Je veux être remboursé"]}


def items_by_status(place: Place, job_id: int) -> dict[int, str]:
    with place.sessions() as session:
        return dict(session.execute(select(GenerationJobItem.faq_id, GenerationJobItem.status)
                                    .where(GenerationJobItem.job_id == job_id)).all())


def test_a_killed_bulk_job_resumes_without_generating_twice(tmp_path):
    place = make_place(tmp_path, ONE_EACH)
    with place.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, place.bot)
        row.enabled, row.provider, row.model, row.nb_sentences = True, "local", TEST_MODEL, 3

    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen([UTTERLY, "generate-all", "--bot", str(place.bot), "--as", "alice",
                             "-n", "1", *place.storage], stdout=log, stderr=subprocess.STDOUT)
    try:
        # wait until the first FAQ is done (the deadline only stops a hung test)
        deadline = time.monotonic() + 1800
        job_id, done = None, []
        while not done:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.2)
            with place.sessions() as session:
                job_id = job_id or session.scalar(select(GenerationJob.id))
            if job_id:
                done = [f for f, s in items_by_status(place, job_id).items() if s == "done"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == -signal.SIGKILL

    # the job is left as the crash left it
    statuses = items_by_status(place, job_id)
    with place.sessions() as session:
        assert session.get(GenerationJob, job_id).status == "running"
        runs_before = dict(session.execute(select(GenerationRun.faq_id, func.count())
                                           .group_by(GenerationRun.faq_id)).all())
    finished = {f for f, s in statuses.items() if s == "done"}
    unfinished = set(statuses) - finished
    assert finished and unfinished, statuses
    assert set(statuses) == set(place.faqs.values())

    resumed = place.run("generate-all", "--resume", str(job_id))
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert f"job {job_id}: 3 FAQs ({len(unfinished)} to do)" in resumed.stderr
    # the killed process's lease had not run out: the resume waited for it, then took over
    assert f"job {job_id} is being run by another process" in resumed.stderr
    assert f"job {job_id} done: 3 done, 0 failed, 0 sentences imported" in resumed.stdout

    with place.sessions() as session:
        assert session.get(GenerationJob, job_id).status == "done"
        items = session.scalars(select(GenerationJobItem).where(
            GenerationJobItem.job_id == job_id)).all()
        runs = session.scalars(select(GenerationRun)).all()
    assert {i.status for i in items} == {"done"}
    per_faq: dict[int, list] = {}
    for run in runs:
        per_faq.setdefault(run.faq_id, []).append(run)
    # FAQs done before the kill: the run they had, and no other
    for faq_id in finished:
        assert len(per_faq[faq_id]) == runs_before[faq_id] == 1
    # the others: exactly one successful run each, the one their item points to
    for item in items:
        succeeded = [r.id for r in per_faq[item.faq_id] if r.status == "succeeded"]
        assert succeeded == [item.run_id]
    for faq_id in unfinished:
        assert len(per_faq[faq_id]) == 1 + runs_before.get(faq_id, 0)

    # resuming a finished job does nothing more
    again = place.run("generate-all", "--resume", str(job_id))
    assert again.returncode == 0, again.stderr
    assert "(0 to do)" in again.stderr
    with place.sessions() as session:
        assert session.scalar(select(func.count()).select_from(GenerationRun)) == len(runs)


# ---- generate-all: who may resume, bad numbers, how a failed job ends ------------------

def use_fake_vendor(place: Place, url: str, behaviour: str = "ok") -> None:
    with place.sessions() as session, session.begin():
        row = session.get(SentenceGenerationSettings, place.bot)
        row.enabled, row.provider, row.model, row.nb_sentences = \
            True, "openai-compatible", "gpt-4o-mini", 2
        row.base_url = f"{url}/{behaviour}/v1"


def queued_job(place: Place, creator: str = "alice") -> int:
    with place.sessions() as session, session.begin():
        user = user_by_name(session, creator)
        job = jobs.create_job(session, Actor(user.id, user.username), place.bot, JobIn())
        return job.id


def test_resuming_a_job_needs_the_bot_user_role(place, faulty_server):
    use_fake_vendor(place, faulty_server.url)
    created = utterly("users", "create", "bob", "--role", "bot_user", "--password-stdin",
                      *place.storage, stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    job_id = queued_job(place)

    refused = place.run("generate-all", "--resume", str(job_id), user="victor")  # a viewer
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "error [forbidden]" in refused.stderr and "Traceback" not in refused.stderr
    assert set(items_by_status(place, job_id).values()) == {"pending"}
    with place.sessions() as session:
        assert session.get(GenerationJob, job_id).status == "queued"
        assert session.scalar(select(func.count()).select_from(GenerationRun)) == 0

    # a bot_user may resume a job someone else started; it still runs as its creator
    resumed = place.run("generate-all", "--resume", str(job_id), user="bob")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"job {job_id} done: 3 done, 0 failed" in resumed.stdout
    with place.sessions() as session:
        creators = session.scalars(select(User.username).join(
            GenerationRun, GenerationRun.user_id == User.id)).all()
    assert creators == ["alice"] * 3


@pytest.mark.parametrize("args, option", [
    (["--below", "100001"], "--below"), (["--below", "0"], "--below"),
    (["-n", "51"], "-n"), (["-n", "0"], "-n"),
    (["--min-score", "1.5"], "--min-score"), (["--min-score", "-0.1"], "--min-score"),
    (["--resume", "0"], "--resume"), (["--resume", str(2**31)], "--resume"),
])
def test_generate_all_refuses_out_of_range_numbers_naming_the_option(place, args, option):
    result = place.run("generate-all", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Invalid value" in result.stderr and option in result.stderr
    with place.sessions() as session:
        assert session.scalar(select(func.count()).select_from(GenerationJob)) == 0


@pytest.mark.parametrize("bot", ["0", str(2**31), "-3"])
def test_a_bot_id_out_of_range_is_refused_by_every_command(place, bot):
    for command in (["nlu", "train"], ["nlu", "eval"], ["nlu", "parse", "colis"],
                    ["generate-all"]):
        result = subprocess.run([UTTERLY, *command, "--bot", bot, "--as", "alice",
                                 *place.storage], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, (command, result.stderr)
        assert "Invalid value for '--bot'" in result.stderr, (command, result.stderr)


def test_generate_all_ranges_match_the_api_schema():
    """The CLI repeats JobIn's bounds (so that it starts without pydantic): they agree."""
    from utterly.studio.cli.nlu import generate_all

    options = {p.name: p.type for p in generate_all.params}
    for field, name in (("below", "below"), ("n", "n"), ("min_score", "min_score")):
        bounds = {type(m).__name__: m for m in JobIn.model_fields[field].metadata}
        assert (options[name].min, options[name].max) == (bounds["Ge"].ge, bounds["Le"].le), \
            field
    assert options["min_score"].min_open is options["min_score"].max_open is False


def test_a_job_whose_every_faq_fails_ends_failed_and_says_why(place, faulty_server):
    use_fake_vendor(place, faulty_server.url, "unauthorized")
    result = place.run("generate-all")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "done, 3 failed" in result.stdout and " failed: 0 done, 3 failed" in result.stdout
    assert "error [all_items_failed]: all 3 FAQ(s) failed" in result.stderr
    assert "[authentication]" in result.stderr and "hint:" in result.stderr
    with place.sessions() as session:
        job = session.scalar(select(GenerationJob))
        assert job.status == "failed" and job.error["code"] == "all_items_failed"


def test_auto_import_help_says_an_unscored_candidate_is_never_imported():
    result = utterly("generate-all", "--help")
    assert result.returncode == 0
    assert "without a score" in result.stdout and "never imported" in result.stdout


# ---- nlu eval --features ---------------------------------------------------------------

# Paraphrases that share few words: character n-grams and sentence embeddings score them
# differently, so the two runs below tell which features were used.
PARAPHRASES = {
    "Password": ["I forgot my password", "cannot log in to my account", "reset my credentials",
                 "my login does not work", "locked out of my profile", "sign-in problem"],
    "Parcel": ["where is my package", "my delivery has not arrived", "track my shipment",
               "when will the courier come", "the box never showed up", "has my order shipped"],
    "Refund": ["I want my money back", "give me a reimbursement", "cancel and pay me back",
               "return the payment", "how do I get refunded", "charge me back please"],
}


def test_eval_compares_on_the_features_asked_for(tmp_path):
    from utterly.studio.services import nlu as service

    place = make_place(tmp_path, PARAPHRASES)
    outputs = {}
    for features in ("tfidf", "embeddings"):
        result = place.run("nlu", "eval", "-k", "2", "--features", features, "--json")
        assert result.returncode == 0, result.stderr
        outputs[features] = json.loads(result.stdout)
        with place.sessions() as session:
            alice = user_by_name(session, "alice")
            expected = service.evaluate(session, Actor(alice.id, alice.username), place.bot,
                                        None, 2, features)
        assert outputs[features] == json.loads(json.dumps(expected, default=str))
    # the two runs learnt from different features: their scores differ
    assert outputs["tfidf"]["human_only"] != outputs["embeddings"]["human_only"]
    bad = place.run("nlu", "eval", "--features", "words")
    assert bad.returncode == 2 and "Invalid value for '--features'" in bad.stderr


# ---- serve: without the job worker -----------------------------------------------------

def job_status(place: Place, job_id: int) -> str:
    with place.sessions() as session:
        return session.get(GenerationJob, job_id).status


def serving(place: Place, tmp_path: Path, *args: str, env: dict | None = None):
    """`utterly serve` on a free port, once /api/health answers; stop it with .terminate()."""
    port = free_port()
    log = (tmp_path / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([UTTERLY, "serve", *place.storage, "--port", str(port), *args],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
        assert time.monotonic() < deadline, "serve did not answer"
        if port_answers(port):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).is_success:
                    return proc
            except httpx.HTTPError:
                pass
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def test_serve_runs_jobs_unless_told_not_to(place, tmp_path):
    # generation is switched off after the job was queued: a worker fails its every FAQ
    with place.sessions() as session, session.begin():
        session.get(SentenceGenerationSettings, place.bot).enabled = True
    job_id = queued_job(place)
    with place.sessions() as session, session.begin():
        session.get(SentenceGenerationSettings, place.bot).enabled = False

    for args, env in ((["--no-jobs"], {}), ([], {"UTTERLY_RUN_JOBS": "0"})):
        proc = serving(place, tmp_path, *args, env=env)
        try:
            time.sleep(3)  # a worker would have taken the job within a second
            assert job_status(place, job_id) == "queued", (args, env)
        finally:
            stop(proc)

    proc = serving(place, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while job_status(place, job_id) == "queued" or job_status(place, job_id) == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        stop(proc)
    with place.sessions() as session:
        job = session.get(GenerationJob, job_id)
        assert job.status == "failed" and job.error["code"] == "all_items_failed"
        assert "generation_disabled" in job.error["detail"]
