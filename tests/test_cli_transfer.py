"""`utterly convert`, `utterly export` and `utterly import` as a person runs them: real
subprocesses of the installed command, on files and on a Studio SQLite database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from utterly.normalize import normalize
from utterly.studio.db import make_engine, migrate, session_factory
from utterly.studio.models import Bot, Faq, Membership, Namespace, TrainingSentence, User

UTTERLY = str(Path(sys.executable).with_name("utterly"))
DATA = Path(__file__).parent / "data"


def utterly(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([UTTERLY, *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(autouse=True)
def _no_studio_env(monkeypatch):
    for name in ("UTTERLY_SECRET_KEY", "UTTERLY_DATA_DIR", "UTTERLY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


# ---- convert ----------------------------------------------------------------------------

def test_convert_goes_through_every_format_and_keeps_the_sentences(tmp_path):
    csv, jsonl = tmp_path / "nlu.csv", tmp_path / "nlu.jsonl"
    done = utterly("convert", str(DATA / "rasa-nlu.yml"), str(csv), "--locale", "en")
    assert done.returncode == 0, done.stderr
    assert "converted 3 FAQ(s), 7 sentence(s) from rasa to csv" in done.stderr
    assert "warning: left out 1 `synonym` item(s)" in done.stderr
    assert csv.read_bytes().startswith(b"intent,text,locale,origin\r\ngreet,hey,en,human\r\n")
    assert utterly("convert", str(csv), str(jsonl)).returncode == 0
    tock = utterly("convert", str(jsonl), "-", "--to", "tock")
    assert tock.returncode == 0, tock.stderr
    dump = json.loads(tock.stdout)
    assert [(s["intent"], s["text"], s["language"]) for s in dump["sentences"]][:4] == [
        ("greet", "hey", "en"), ("greet", "hello there", "en"), ("greet", "yes", "en"),
        ("book_flight", "I want to fly to Paris tomorrow", "en")]
    rasa = utterly("convert", "-", "-", "--from", "tock", "--to", "rasa", stdin=tock.stdout)
    assert rasa.returncode == 0 and '\nversion: "3.1"\n' in rasa.stdout


def test_convert_refuses_bad_input_naming_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("intent,text,locale,origin\nA,hello,en,human\nB,hi,en,robot\n")
    done = utterly("convert", str(bad), str(tmp_path / "out.jsonl"))
    assert done.returncode == 1
    assert "error: line 3: `origin` is `robot`" in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_convert_asks_for_the_target_format_it_cannot_guess(tmp_path):
    done = utterly("convert", str(DATA / "tock-sentences-dump.json"), "-")
    assert done.returncode == 1 and "--format" in done.stderr


# ---- export and import on the Studio's database -------------------------------------------

@pytest.fixture
def studio_db(tmp_path) -> list[str]:
    """A Studio database: bob (bot_user) and vic (viewer) of acme, whose bot 1 has an FAQ
    with a human and a generated sentence and whose bot 2 is empty; gus of globex."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = make_engine(f"sqlite:///{data_dir / 'utterly.db'}")
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        acme, globex = Namespace(name="acme"), Namespace(name="globex")
        session.add_all([acme, globex])
        session.flush()
        for name, namespace, role in (("bob", acme, "bot_user"), ("vic", acme, "viewer"),
                                      ("gus", globex, "admin")):
            user = User(username=name, password_hash="unused")
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, namespace_id=namespace.id, role=role))
        source = Bot(namespace_id=acme.id, name="Acme bot", locales=["fr"])
        empty = Bot(namespace_id=acme.id, name="Copie", locales=["fr"])
        session.add_all([source, empty])
        session.flush()
        faq = Faq(bot_id=source.id, title="Colis", locale="fr", answer="En ligne.")
        session.add(faq)
        session.flush()
        for text, origin in (("Où est mon colis ?", "human"),
                             ("Mon colis, il est où", "generated")):
            session.add(TrainingSentence(bot_id=source.id, faq_id=faq.id, text=text,
                                         normalized=normalize(text), locale="fr",
                                         origin=origin))
    engine.dispose()
    return ["--data-dir", str(data_dir)]


def test_export_then_import_into_another_bot_copies_faqs_and_sentences(studio_db, tmp_path):
    dump = tmp_path / "acme.json"
    done = utterly("export", "--bot", "1", "-o", str(dump), "--as", "vic", *studio_db)
    assert done.returncode == 0, done.stderr
    assert "exported 1 FAQ(s), 2 sentence(s) as tock" in done.stderr
    sentences = json.loads(dump.read_text())["sentences"]
    assert [s.get("utterly") for s in sentences] == [None, {"origin": "generated"}]

    done = utterly("import", str(dump), "--bot", "2", "--as", "bob", "--json", *studio_db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["format"], report["faqs_created"], report["sentences_added"]) == \
        ("tock", 1, 2)

    first = utterly("export", "--bot", "1", "--format", "csv", "--as", "bob", *studio_db)
    second = utterly("export", "--bot", "2", "--format", "csv", "--as", "bob", *studio_db)
    assert first.returncode == second.returncode == 0
    assert second.stdout == first.stdout
    assert "Colis,\"Mon colis, il est où\",fr,generated" in second.stdout

    again = utterly("import", str(dump), "--bot", "2", "--as", "bob", *studio_db)
    assert again.returncode == 0
    assert "0 FAQ(s) created, 0 updated, 0 sentence(s) added, 2 already present" in again.stdout


def test_import_refuses_conflicts_roles_foreign_bots_and_unknown_users(studio_db, tmp_path):
    conflicting = tmp_path / "conflict.csv"
    conflicting.write_text("intent,text,locale\nLivraison,où est mon colis,fr\n"
                           "Livraison,Quand arrive mon colis ?,fr\n")
    done = utterly("import", str(conflicting), "--bot", "1", "--as", "bob", *studio_db)
    assert done.returncode == 1
    assert "conflict: `où est mon colis` (fr) trains `Colis`" in done.stderr
    assert "nothing was imported" in done.stderr
    listing = utterly("export", "--bot", "1", "--format", "csv", "--as", "bob", *studio_db)
    assert "Livraison" not in listing.stdout

    viewer = utterly("import", str(conflicting), "--bot", "2", "--as", "vic", *studio_db)
    assert viewer.returncode == 1 and "your role `viewer`" in viewer.stderr
    foreign = utterly("export", "--bot", "1", "--format", "csv", "--as", "gus", *studio_db)
    assert foreign.returncode == 1 and "bot not found" in foreign.stderr
    nobody = utterly("export", "--bot", "1", "--format", "csv", "--as", "eve", *studio_db)
    assert nobody.returncode == 1 and "no Studio user is named `eve`" in nobody.stderr


@pytest.mark.parametrize("bot", ["0", "-1", str(2**31), "99999999999999999999"])
def test_a_bot_id_outside_the_id_range_is_a_usage_error(studio_db, bot):
    done = utterly("export", "--bot", bot, "--format", "csv", "--as", "bob", *studio_db)
    assert done.returncode == 2
    assert "Invalid value for '--bot'" in done.stderr and "Traceback" not in done.stderr


def test_an_import_over_the_row_bound_is_refused_and_an_export_is_not_bounded(
        studio_db, tmp_path, monkeypatch):
    """The command line takes the server's bounds from the environment: a file over
    UTTERLY_MAX_IMPORT_SENTENCES is refused before anything is stored. Its export, the
    operator's, is written whatever the bot's size, piece by piece."""
    monkeypatch.setenv("UTTERLY_MAX_IMPORT_SENTENCES", "2")
    monkeypatch.setenv("UTTERLY_MAX_BOT_SENTENCES", "1")
    three = tmp_path / "three.csv"
    three.write_text("intent,text,locale\nLivraison,Quand arrive mon colis ?,fr\n"
                     "Livraison,Mon colis est en retard,fr\nLivraison,Suivi de colis,fr\n")
    done = utterly("import", str(three), "--bot", "2", "--as", "bob", *studio_db)
    assert done.returncode == 1, done.stderr
    assert "error [import_too_many_sentences]: the file holds more than 2 sentences" \
        in done.stderr
    assert "UTTERLY_MAX_IMPORT_SENTENCES" in done.stderr and "Traceback" not in done.stderr

    out = tmp_path / "copy.csv"
    listing = utterly("export", "--bot", "2", "-o", str(out), "--as", "bob", *studio_db)
    assert listing.returncode == 0 and out.read_bytes() == b"intent,text,locale,origin\r\n"
    assert not (tmp_path / "copy.csv.part").exists()
    big = utterly("export", "--bot", "1", "--format", "csv", "--as", "bob", *studio_db)
    assert big.returncode == 0 and "exported 1 FAQ(s), 2 sentence(s)" in big.stderr
