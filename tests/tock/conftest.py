"""The bridge served over real HTTP on 127.0.0.1, as Tock Studio's client reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.servers.run import ASGIServer
from utterly.tock_bridge.app import create_app
from utterly.tock_bridge.config import BridgeConfig


@contextmanager
def running_bridge(config: BridgeConfig) -> Iterator[httpx.Client]:
    """The bridge on a free port; a client with Tock's 55 s timeout and no auth header."""
    app = create_app(config)
    with ASGIServer(app, startup_timeout_s=120) as url, \
            httpx.Client(base_url=url, timeout=55) as client:
        client.app = app
        yield client
