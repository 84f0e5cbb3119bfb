"""A PostgreSQL database of its own for a test run or a benchmark, dropped afterwards.

The tests (tests/studio/conftest.py) and the benchmarks (bench/_studio.py) both use it: it
lives with the tests, which the benchmarks already reuse (tests/servers), rather than in the
product, which never creates databases.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def throwaway_database(admin_url: str, prefix: str, connect_timeout: int = 5) -> Iterator[str]:
    """Creates a database on the server of `admin_url` (a URL to a database such as
    `postgres`, as a role that may create databases) and yields its URL; drops it on exit,
    even after a failure and with its connections still open. Raises psycopg's
    OperationalError when the server does not answer."""
    import psycopg

    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=connect_timeout)
    try:
        # the process id tells whose a database left behind by a killed run is
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
