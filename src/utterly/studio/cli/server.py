"""`utterly serve`, `utterly demo`, `utterly worker`: run the Studio; `utterly users …`,
`utterly secrets …`: administer it."""

from __future__ import annotations

import sys

import click

from ...errors import UtterlyError
from .common import config_from, fail, open_sessions, storage_options


def _serve(config, host: str, port: int, banner: str = "") -> None:
    import uvicorn

    from ..app import create_app

    options = proxy_options(config)
    try:
        app = create_app(config)
    except UtterlyError as exc:
        fail(exc.message, exc.hint)
    click.echo(f"Utterly Studio on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    if banner:
        click.echo(banner)
    uvicorn.run(app, host=host, port=port, log_level="warning", **options)


def proxy_options(config) -> dict:
    """uvicorn's X-Forwarded-For handling: only from the configured proxies. uvicorn's own
    default believes any client on 127.0.0.1, so anyone on the server's host could name a
    new address at each login and never meet the throttle."""
    import ipaddress

    if not config.trusted_proxies:
        return {"proxy_headers": False}
    for entry in (e.strip() for e in config.trusted_proxies.split(",")):
        try:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            fail(f"UTTERLY_TRUSTED_PROXIES: `{entry}` is not an address or a CIDR",
                 "name the reverse proxies' addresses, e.g. 127.0.0.1 or 10.0.0.0/24")
    return {"proxy_headers": True, "forwarded_allow_ips": config.trusted_proxies}


@click.command()
@storage_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-jobs", is_flag=True,
              help="Do not run bulk generation jobs in this process (also UTTERLY_RUN_JOBS=0).")
def serve(data_dir, database_url, host, port, no_jobs):
    """Start the Studio (web pages and REST API). Migrations are applied on start."""
    from dataclasses import replace

    config = config_from(data_dir, database_url)
    _serve(replace(config, run_jobs=False) if no_jobs else config, host, port)


def _prepare_default_model() -> None:
    """Join and verify the default local model now rather than on the first generation."""
    from ...catalogue import resolve_model_path

    click.echo("Preparing the local model (the first time takes a minute)…")
    try:
        resolve_model_path(None)
    except UtterlyError as exc:
        click.secho(f"warning: {exc.message} ({exc.hint})", fg="yellow", err=True)


@click.command()
@storage_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def demo(data_dir, database_url, host, port):
    """Start the Studio with a demo admin and a French demo bot (local model)."""
    from ..demo import seed_demo

    config = config_from(data_dir, database_url)
    _, sessions = open_sessions(config)
    info = seed_demo(sessions)
    _prepare_default_model()
    _serve(config, host, port,
           banner=f"Demo login: {info['username']} / {info['password']}  "
                  f"(bot “{info['bot']}”, id {info['bot_id']})")


@click.group()
def users():
    """Manage Studio users."""


@users.command("create")
@click.argument("username")
@storage_options
@click.option("--admin", is_flag=True, help="Make the user admin of the namespace.")
@click.option("--role", type=click.Choice(["admin", "bot_user", "viewer"]), default=None,
              help="Role in the namespace (default viewer, or admin with --admin).")
@click.option("--namespace", default="default", show_default=True,
              help="Namespace to join (created if missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--site-admin", is_flag=True,
              help="Let the user create namespaces and accounts.")
def users_create(username, data_dir, database_url, admin, role, namespace, password_stdin,
                 site_admin):
    """Create a user, e.g. the first admin: `utterly users create alice --admin --site-admin`."""
    from ..services import accounts

    if admin and role not in (None, "admin"):
        fail("--admin and --role disagree", "give one of them")
    role = "admin" if admin else role or "viewer"
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _, sessions = open_sessions(config_from(data_dir, database_url))
    try:
        with sessions() as session, session.begin():
            user = accounts.create_user(session, username, password, site_admin=site_admin)
            ns = accounts.ensure_namespace(session, namespace.strip().lower())
            accounts.set_role(session, user, ns, role)
    except UtterlyError as exc:
        fail(exc.message, exc.hint)
    except Exception as exc:  # StudioError: a clear sentence, never a traceback
        from ..errors import StudioError

        if not isinstance(exc, StudioError):
            raise
        fail(exc.detail, exc.hint)
    click.echo(f"created {username.lower()} ({role} of namespace {namespace}"
               + (", site administrator)" if site_admin else ")"))


@users.command("site-admin")
@click.argument("username")
@storage_options
@click.option("--revoke", is_flag=True, help="Take the right away instead.")
def users_site_admin(username, data_dir, database_url, revoke):
    """Let a user create namespaces and accounts (or, with --revoke, no longer)."""
    from ..access import user_by_name

    _, sessions = open_sessions(config_from(data_dir, database_url))
    with sessions() as session, session.begin():
        user = user_by_name(session, username)
        if user is None:
            fail(f"no user {username!r}", "create it with `utterly users create`")
        user.is_site_admin = not revoke
    click.echo(f"{username.lower()} is {'no longer ' if revoke else ''}a site administrator")


@click.group()
def secrets():
    """Manage the key that encrypts stored secrets."""


@secrets.command("new-key")
def secrets_new_key():
    """Print a new Fernet key (for UTTERLY_SECRET_KEY)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@secrets.command("rotate")
@storage_options
@click.option("--new-key", envvar="UTTERLY_NEW_SECRET_KEY", default=None,
              help="The key to move to (default: a new one). Needed when the current key "
                   "comes from UTTERLY_SECRET_KEY.")
def secrets_rotate(data_dir, database_url, new_key):
    """Re-encrypt every stored secret with a new key, in one transaction."""
    from ..rotation import rotate

    config = config_from(data_dir, database_url)
    _, sessions = open_sessions(config)
    try:
        count, where = rotate(config, sessions, new_key)
    except UtterlyError as exc:
        fail(exc.message, exc.hint)
    click.echo(f"re-encrypted {count} secret(s); {where}")


@click.command()
@storage_options
@click.option("--broker-url", envvar="UTTERLY_BROKER_URL", required=True,
              help="The task queue's broker: redis://host:6379/0 or amqp://user:pw@host:5672/.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Job turns this worker runs at once (each generates a few FAQs side by "
                   "side, within the provider's limit).")
def worker(data_dir, database_url, broker_url, threads):
    """Run bulk generation jobs from the task queue, beside any number of Studio processes
    and workers on one database and one broker (docs/deploy.md). Ctrl-C or SIGTERM stops
    cleanly: the FAQs being generated finish and their jobs go back to the queue."""
    import logging
    import signal
    import threading
    from dataclasses import replace

    from ...generation import load_filters
    from ..gates import GATES
    from ..secrets import SecretBox
    from ..services.queue import TaskQueue

    config = replace(config_from(data_dir, database_url), broker_url=broker_url)
    _, sessions = open_sessions(config)
    box = SecretBox.load(config.secret_key, config.key_file)
    # what a worker did (a job taken over, a turn sent again, a failure) goes to stderr
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    for noisy in ("dramatiq", "pika", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    load_filters()  # before taking work: the first job's FAQs need not wait for it
    try:
        GATES.configure(config.limits_url, config.provider_slots)
    except UtterlyError as exc:
        fail(exc.message, exc.hint)
    queue = TaskQueue(broker_url)
    running = queue.serve(sessions, box, threads=threads)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    running.start()
    click.echo(f"Utterly worker ready: {threads} thread(s) on {config.url.split('://')[0]} "
               f"database, broker {broker_url.split('://')[0]}; Ctrl-C stops")
    stop.wait()
    click.echo("stopping: the FAQs being generated finish first…")
    running.stop()
    queue.close()


COMMANDS = [serve, demo, users, secrets, worker]
