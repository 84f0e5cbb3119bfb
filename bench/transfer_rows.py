"""Time and peak memory of a bot's export and import, before and after they were bounded
in rows and streamed (Utterly issue 24).

    .venv/bin/python bench/transfer_rows.py [--sizes 20000,100000] [--formats tock,rasa,csv,jsonl]

The bot: --sizes sentences over 200 FAQs in a SQLite database (a temporary directory),
French-looking questions of about 60 characters, as a big import leaves them. Each measure
runs in a fresh process (peak RSS is per process), as the Studio's services run it, without
HTTP:

  export  old   the code before (commit OLD): the whole bot as a BotData, then the file as
                one string
          new   transfer.export_bot's BotSource, written piece by piece (what the API sends
                as it goes), 2,000 sentences read at a time
  import  old   the old readers (a Rasa file composed whole on PyYAML's Python parser, a
                Tock dump through json.loads) and the old import (an ORM object per
                sentence), into an empty bot of a copy of the database
          new   the readers bounded at the default UTTERLY_MAX_IMPORT_SENTENCES (50,000):
                a bigger file is refused at its 50,001st sentence
          new, uncapped   the new readers and import without the bound, for the same work

`added MB` is the peak RSS during the measure above the RSS just before it (VmHWM, reset
through /proc/self/clear_refs). Prints one
table; never asserts. Results: docs/formats.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the last commit with whole-document exports, whole-file readers and ORM imports
OLD = "0b90cae9a2b36067ea1d3699908912db83e53ff4"
FAQS = 200
WORDS = ["commande", "colis", "facture", "abonnement", "mot de passe", "livraison", "compte",
         "carte", "rendez-vous", "adresse", "contrat", "paiement", "remboursement", "retour"]


def sentences(n: int) -> list[str]:
    out = []
    for i in range(n):
        a, b = WORDS[i % len(WORDS)], WORDS[(i // len(WORDS)) % len(WORDS)]
        out.append(f"Comment puis-je modifier ma {a} et ma {b} depuis l'application, "
                   f"demande {i} ?")
    return out


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """The peak RSS from here on (ru_maxrss would also count the parent's RSS at fork:
    Linux carries it across exec)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _old_module(name: str, path: str, package: str):
    """A module of commit OLD, imported under `name` in `package` (so its relative imports
    reach today's modules where the old ones are not loaded)."""
    source = subprocess.run(["git", "show", f"{OLD}:{path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(name)
    module.__package__ = package
    module.__file__ = f"{OLD[:7]}:{path}"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    sys.modules[name] = module
    return module


def _old_formats():
    readers = {}
    for fmt in ("tock", "rasa", "csv", "jsonl"):
        readers[fmt] = _old_module(f"utterly.formats._old_{fmt}",
                                   f"src/utterly/formats/{fmt}.py", "utterly.formats")
    return readers


def setup(database: Path, size: int) -> None:
    from sqlalchemy import insert

    from utterly.normalize import normalize
    from utterly.studio.config import StudioConfig
    from utterly.studio.db import make_engine, migrate, session_factory
    from utterly.studio.models import (
        Bot,
        Faq,
        Membership,
        Namespace,
        TrainingSentence,
        User,
    )

    engine = make_engine(StudioConfig(database_url=f"sqlite:///{database}").url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        ns = Namespace(name="bench")
        session.add(ns)
        session.flush()
        user = User(username="bench", password_hash="-")
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, namespace_id=ns.id, role="admin"))
        for name in ("full", "empty"):
            session.add(Bot(namespace_id=ns.id, name=name, locales=["fr"]))
        session.flush()
        faqs = []
        for i in range(FAQS):
            faq = Faq(bot_id=1, title=f"FAQ {i:03d}", locale="fr", answer=f"Réponse {i}")
            session.add(faq)
            faqs.append(faq)
        session.flush()
        rows = [{"bot_id": 1, "faq_id": faqs[i % FAQS].id, "text": t, "normalized": normalize(t),
                 "locale": "fr", "origin": "human"} for i, t in enumerate(sentences(size))]
        for start in range(0, len(rows), 5000):
            session.execute(insert(TrainingSentence), rows[start:start + 5000])
    engine.dispose()


def write_files(database: Path, files: dict[str, Path]) -> None:
    """The bot's export in each format: the files the imports read."""
    from utterly.formats import FORMATS
    from utterly.studio.access import Actor
    from utterly.studio.config import StudioConfig
    from utterly.studio.db import make_engine, session_factory
    from utterly.studio.services import transfer

    engine = make_engine(StudioConfig(database_url=f"sqlite:///{database}").url)
    sessions = session_factory(engine)
    for fmt, path in files.items():
        with sessions() as session:
            export = transfer.export_bot(session, Actor(1, "bench", True), 1, sessions)
        with path.open("w", encoding="utf-8", newline="") as out:
            for piece in FORMATS[fmt].stream(export.source):
                out.write(piece)
    engine.dispose()


def measure(action: str, way: str, fmt: str, database: str, file: str) -> dict:
    """In this process: one export or import, timed, with its peak RSS."""
    from utterly.formats import FORMATS, TooMany
    from utterly.studio.access import Actor
    from utterly.studio.config import StudioConfig
    from utterly.studio.db import make_engine, session_factory
    from utterly.studio.services import transfer
    from utterly.studio.services.bot_limits import BotLimits

    old_transfer = _old_module("utterly.studio.services._old_transfer",
                               "src/utterly/studio/services/transfer.py",
                               "utterly.studio.services") if way == "old" else None
    old_formats = _old_formats() if way == "old" else None
    sessions = session_factory(make_engine(StudioConfig(database_url=f"sqlite:///{database}").url))
    who = Actor(1, "bench", True)
    raw = Path(file).read_bytes() if action == "import" else b""
    _reset_peak()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    outcome = ""
    if action == "export" and way == "old":
        with sessions() as session:
            data = old_transfer.export_bot(session, who, 1)
        size = len(old_formats[fmt].dump(data).encode("utf-8"))
        outcome = f"{size / 2**20:.1f} MiB"
    elif action == "export":
        with sessions() as session:
            export = transfer.export_bot(session, who, 1, sessions)
        size = sum(len(piece.encode("utf-8")) for piece in FORMATS[fmt].stream(export.source))
        outcome = f"{size / 2**20:.1f} MiB"
    else:
        limits = BotLimits().reading() if way == "new" else None
        try:
            with sessions() as session, session.begin():
                if way == "old":
                    data = old_formats[fmt].load(raw, locale="fr")
                    report = old_transfer.import_bot(session, who, 2, data)
                else:
                    data = FORMATS[fmt].load(raw, locale="fr", limits=limits)
                    report = transfer.import_bot(session, who, 2, data)
            outcome = f"{report['sentences_added']:,} added"
        except TooMany as exc:
            outcome = f"refused (> {exc.limit:,})"
    elapsed = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    return {"s": elapsed, "peak_mb": peak, "added_mb": peak - before, "outcome": outcome}


def child(action: str, way: str, fmt: str, database: Path, file: Path) -> dict:
    code = ("import json, sys; sys.path.insert(0, 'bench'); import transfer_rows as t; "
            f"print(json.dumps(t.measure({action!r}, {way!r}, {fmt!r}, {str(database)!r}, "
            f"{str(file)!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:100]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--formats", default="tock,rasa,csv,jsonl")
    parser.add_argument("--actions", default="export,import")
    args = parser.parse_args(argv)
    formats = args.formats.split(",")
    print("| sentences | action | format | way | time (s) | peak RSS (MB) | added MB | outcome |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            database = Path(tmp) / f"bot-{size}.db"
            setup(database, size)
            files = {fmt: Path(tmp) / f"bot-{size}.{fmt}" for fmt in formats}
            write_files(database, files)
            for action in args.actions.split(","):
                ways = ["old", "new"] + (["new, uncapped"] if action == "import" else [])
                for fmt in formats:
                    for way in ways:
                        target = database
                        if action == "import":
                            target = Path(tmp) / "copy.db"
                            shutil.copy(database, target)
                        r = child(action, "uncapped" if way == "new, uncapped" else way,
                                  fmt, target, files[fmt])
                        if "error" in r:
                            print(f"| {size:,} | {action} | {fmt} | {way} | failed: "
                                  f"{r['error']} | | | |", flush=True)
                            continue
                        print(f"| {size:,} | {action} | {fmt} | {way} | {r['s']:.1f} | "
                              f"{r['peak_mb']:.0f} | {r['added_mb']:.0f} | {r['outcome']} |",
                              flush=True)


if __name__ == "__main__":
    main()
