"""Background jobs a process repeats while it serves (purges, cache refreshes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

log = logging.getLogger("yibao.tasks")


async def _repeat(interval: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception:
            # The next turn tries again: a database restarting must not end the job for good.
            log.exception("%s failed; trying again in %g s", name, interval)


@asynccontextmanager
async def repeating(
    interval: float, job: Callable[[], Awaitable[object]], *, name: str
) -> AsyncIterator[None]:
    """Runs ``job`` every ``interval`` seconds while the block runs (a lifespan's ``yield``);
    cancels it and waits for it on the way out."""
    task = asyncio.create_task(_repeat(interval, job, name), name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
