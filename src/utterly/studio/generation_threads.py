"""Where the Studio's generations run: threads of their own, not the web server's.

A generation can wait on a provider for as long as the bot's time limit; run in the web
server's thread pool, 40 of them waiting on a provider that never answered stalled every
page and /api/health. Here they wait in a pool of their own while the web threads serve
reads; generations beyond the pool wait for a free thread without holding a web thread.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor


class GenerationThreads:
    def __init__(self, threads: int):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="generation")

    async def run(self, fn, *args):
        """`fn(*args)` in a generation thread; its result, or what it raised."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(fn, *args))

    def close(self) -> None:
        # Running generations end at their deadline; queued ones are dropped.
        self._pool.shutdown(wait=False, cancel_futures=True)
