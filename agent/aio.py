"""Task helpers shared by the daemon and the scheduler."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("farmwatch.agent")


async def cancel_all(tasks: list[asyncio.Task[None]], attempts: int = 5) -> None:
    """Cancel and wait, again if a task swallowed the cancel (a library catching CancelledError), a bounded
    number of times: shutdown must finish even when one task misbehaves."""
    pending = [t for t in tasks if not t.done()]
    for _ in range(attempts):
        if not pending:
            return
        for t in pending:
            t.cancel()
        done, still = await asyncio.wait(pending, timeout=2.0)
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                log.error("task %s ended with %r during shutdown", t.get_name(), t.exception())
        pending = list(still)
    for t in pending:
        log.error("task %s did not stop after %d cancels; leaving it", t.get_name(), attempts)
