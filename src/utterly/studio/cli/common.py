"""What the Studio's commands share: storage options, opening the database, acting as a
user, and turning a service's errors into a message and an exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ...errors import UtterlyError


def config_from(data_dir, database_url):
    from ..config import StudioConfig

    return StudioConfig.from_env(data_dir=Path(data_dir) if data_dir else None,
                                 database_url=database_url)


# Ids are INTEGER columns: anything outside 1..2³¹−1 names no row.
ID = click.IntRange(1, 2**31 - 1)


def storage_options(func):
    func = click.option("--database-url", default=None, envvar="UTTERLY_DATABASE_URL",
                        help="SQLAlchemy URL; default a SQLite file in the data directory.")(func)
    func = click.option("--data-dir", default=None, envvar="UTTERLY_DATA_DIR",
                        type=click.Path(file_okay=False),
                        help="Where the SQLite database and the key file live "
                             "[default: ./utterly-data].")(func)
    return func


def open_sessions(config):
    from ..db import make_engine, migrate, session_factory
    from ..services import bot_limits

    engine = make_engine(config.url, **config.pool)
    migrate(engine)
    bot_limits.configure(config)
    return engine, session_factory(engine)


def fail(message: str, hint: str = "") -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.secho(f"hint: {hint}", fg="yellow", err=True)
    sys.exit(1)


def acting_user(sessions, username: str):
    """The Actor behind `--as USERNAME`, whose roles then apply; exit 1 if there is none."""
    from ..access import Actor, user_by_name

    with sessions() as session:
        user = user_by_name(session, username)
        if user is None:
            fail(f"no Studio user is named `{username}`",
                  "create one with `utterly users create NAME --role bot_user`")
        return Actor(user.id, user.username)


def run_service(action):
    """Run a Studio service call. What people can fix becomes a message and exit code 2 for
    invalid input (400, 422), 1 for the rest (not found, forbidden, conflicts...)."""
    from ..errors import StudioError

    try:
        return action()
    except UtterlyError as exc:
        fail(exc.message, exc.hint)
    except StudioError as exc:
        for conflict in exc.extra.get("conflicts", []):
            click.echo(f"conflict: `{conflict['text']}` ({conflict['locale']}) trains "
                       f"`{conflict['faq']}`, the file puts it in "
                       f"`{conflict['requested_faq']}`", err=True)
        click.secho(f"error [{exc.code}]: {exc.detail}", fg="red", err=True)
        if exc.hint:
            click.secho(f"hint: {exc.hint}", fg="yellow", err=True)
        sys.exit(2 if exc.status in (400, 422) else 1)
