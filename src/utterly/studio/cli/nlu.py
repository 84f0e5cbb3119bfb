"""`utterly nlu train|parse|eval` and `utterly generate-all`, on the Studio's database,
acting as a named user whose roles apply (`--as`)."""

from __future__ import annotations

import json
import sys

import click

from ...sentence_count import MAX_SENTENCES
from .common import (
    ID,
    acting_user,
    config_from,
    open_sessions,
    run_service,
    storage_options,
)

# JobIn's bound (schemas.py), repeated here so that the CLI starts without pydantic;
# tests/test_cli_nlu.py checks that they agree.
MAX_BELOW = 100_000


def _common(func):
    func = click.option("--as", "username", required=True,
                        help="Act as this Studio user (their roles apply).")(func)
    func = click.option("--bot", "bot_id", type=ID, required=True, help="Bot id.")(func)
    return storage_options(func)


@click.group()
def nlu():
    """Train, query and evaluate a bot's intent classifier."""


@nlu.command("train")
@_common
@click.option("--locale", default=None, help="Locale to train (default: the bot's first).")
@click.option("--features", type=click.Choice(["tfidf", "embeddings"]), default="tfidf",
              show_default=True)
def nlu_train(bot_id, username, data_dir, database_url, locale, features):
    """Train on the bot's sentences and store the model with the bot."""
    from ..services import nlu as service

    _, sessions = open_sessions(config_from(data_dir, database_url))
    actor = acting_user(sessions, username)

    def work():
        with sessions() as session, session.begin():
            return service.train(session, actor, bot_id, locale, features)

    info = run_service(work)
    click.echo(f"trained {info['locale']} on {info['trained_on']} sentences "
               f"({info['generated_used']} generated), {info['intents']} FAQs")


@nlu.command("parse")
@_common
@click.argument("text")
@click.option("--locale", default=None)
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="below this confidence the answer is `unknown` (default 0.6)")
@click.option("--json", "as_json", is_flag=True)
def nlu_parse(bot_id, username, data_dir, database_url, text, locale, threshold, as_json):
    """Which FAQ TEXT asks: intent, confidence, the runners-up; `unknown` below the
    threshold."""
    from ..services import nlu as service

    _, sessions = open_sessions(config_from(data_dir, database_url))
    actor = acting_user(sessions, username)

    def work():
        with sessions() as session:
            return service.parse(session, actor, bot_id, text, locale, threshold=threshold)

    result = run_service(work)
    if as_json:
        click.echo(json.dumps(result, default=str, ensure_ascii=False))
        return
    click.echo(f"{result['intent']['title']}  {result['confidence']:.2f}")
    for other in result["ranking"]:
        click.echo(f"  {other['title']}  {other['confidence']:.2f}")
    if result["unknown"]:  # last: the first line stays the best FAQ, for scripts
        click.echo(f"unknown: below the threshold {result['threshold']:.2f}, out of scope")


@nlu.command("eval")
@_common
@click.option("--locale", default=None)
@click.option("-k", "--folds", "k", type=click.IntRange(2, 10), default=5, show_default=True)
@click.option("--features", type=click.Choice(["tfidf", "embeddings"]), default="tfidf",
              show_default=True, help="What both compared models learn from.")
@click.option("--json", "as_json", is_flag=True)
def nlu_eval(bot_id, username, data_dir, database_url, locale, k, features, as_json):
    """Human sentences only vs human + generated, side by side (k-fold on human ones)."""
    from ..services import nlu as service

    _, sessions = open_sessions(config_from(data_dir, database_url))
    actor = acting_user(sessions, username)

    def work():
        with sessions() as session:
            return service.evaluate(session, actor, bot_id, locale, k, features)

    result = run_service(work)
    if as_json:
        click.echo(json.dumps(result, default=str, ensure_ascii=False))
        return
    a, b = result["human_only"], result["human_plus_generated"]
    click.echo(f"{result['method']}, {result['tested_on']} human sentences tested, "
               f"{result['generated_used']} generated available")
    click.echo(f"{'':24}{'accuracy':>10}{'macro-F1':>10}")
    click.echo(f"{'human only':24}{a['accuracy']:>10.3f}{a['macro_f1']:>10.3f}")
    click.echo(f"{'human + generated':24}{b['accuracy']:>10.3f}{b['macro_f1']:>10.3f}")
    click.echo(f"{'gain':24}{result['gain']['accuracy']:>+10.3f}"
               f"{result['gain']['macro_f1']:>+10.3f}")
    for pair in b["confused"][:5]:
        click.echo(f"  confused: {pair['title']} → {pair['predicted_title']} ({pair['count']})")


@click.command("generate-all")
@_common
@click.option("--below", type=click.IntRange(1, MAX_BELOW), default=None,
              help="Only FAQs with fewer sentences than this.")
@click.option("-n", "--number", "n", type=click.IntRange(1, MAX_SENTENCES), default=None,
              help="Sentences per FAQ (default: the bot's setting).")
@click.option("--spelling-mistakes", is_flag=True)
@click.option("--sms-language", is_flag=True)
@click.option("--abbreviated-language", is_flag=True)
@click.option("--auto-import", is_flag=True,
              help="Import new, conflict-free candidates at once (default: keep for review).")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="With --auto-import: least meaning similarity to import. A candidate "
                   "without a score (embedding filter skipped) is never imported.")
@click.option("--resume", "resume_id", type=ID, default=None,
              help="Continue an interrupted job instead of starting one (needs the "
                   "bot_user role; the job keeps its own options).")
def generate_all(bot_id, username, data_dir, database_url, below, n, spelling_mistakes,
                 sms_language, abbreviated_language, auto_import, min_score, resume_id):
    """Generate for every FAQ of a bot (or those with fewer than --below sentences).
    Interrupted? Run again with --resume JOB."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..gates import GATES
    from ..schemas import JobIn
    from ..secrets import SecretBox
    from ..services import jobs

    config = config_from(data_dir, database_url)
    # counted with the Studio's and the workers' calls (Redis), within the same slots
    run_service(lambda: GATES.configure(config.limits_url, config.provider_slots))
    _, sessions = open_sessions(config)
    actor = acting_user(sessions, username)
    box = SecretBox.load(config.secret_key, config.key_file)

    def create():
        with sessions() as session, session.begin():
            if resume_id is not None:
                return jobs.resume_job(session, actor, bot_id, resume_id)
            job = jobs.create_job(session, actor, bot_id, JobIn(
                below=below, n=n, auto_import=auto_import, min_score=min_score,
                options={"spelling_mistakes": spelling_mistakes, "sms_language": sms_language,
                         "abbreviated_language": abbreviated_language}),
                max_jobs=config.max_jobs_per_namespace)
            return jobs.job_view(session, job)

    job = run_service(create)
    click.echo(f"job {job['id']}: {job['total']} FAQs ({job['pending']} to do)", err=True)
    told = []

    def progressed(event):
        if not event.get("waiting"):
            progress.advance(task)
            return
        if not told:
            told.append(True)
            progress.console.print(
                f"job {job['id']} is being run by another process (last heard of "
                f"{event['silent_s']:.0f} s ago): following it; taken over if that process "
                f"stays silent for {jobs.LEASE_S:.0f} s", style="yellow", highlight=False)
        progress.update(task, completed=event["finished"])

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      transient=False, console=Console(stderr=True)) as progress:
            task = progress.add_task("generating", total=job["total"],
                                     completed=job["total"] - job["pending"])
            final = run_service(lambda: jobs.run_job(sessions, job["id"], box,
                                              on_progress=progressed, wait=True))
    except KeyboardInterrupt:
        click.secho(f"interrupted: continue job {job['id']} with --resume {job['id']}",
                    fg="yellow", err=True)
        sys.exit(130)
    click.echo(f"job {final['id']} {final['status']}: {final['done']} done, "
               f"{final['failed']} failed, {final['imported']} sentences imported")
    if final["error"]:
        click.secho(f"error [{final['error'].get('code')}]: {final['error'].get('detail')}",
                    fg="red", err=True)
        if final["error"].get("hint"):
            click.secho(f"hint: {final['error']['hint']}", fg="yellow", err=True)
    if final["failed"] or final["status"] != "done":
        sys.exit(1)


COMMANDS = [nlu, generate_all]
