"""The agent's one timer loop (agent/scheduler.py): what a user sees when the step after a cycle fails, and how
often a long cycle's progress is published."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent.scheduler import Scheduler
from collectors.collector import CycleStats


class _Timer:
    """The smallest timer: a cycle that sleeps ``cycle_s``."""

    name = "t"
    timeout = 1.0
    progress = True
    bounds_itself = True  # like a miner group: a long cycle is an overrun, not cut off at interval + timeout

    def __init__(self, interval: float, cycle_s: float = 0.0) -> None:
        self.interval = interval
        self.cycle_s = cycle_s
        self.stats = CycleStats()
        self.cycles = 0

    async def run_cycle(self) -> None:
        self.cycles += 1
        await asyncio.sleep(self.cycle_s)


async def test_a_failing_after_cycle_step_does_not_stop_polling(caplog: pytest.LogCaptureFixture) -> None:
    """The step after a cycle renders /metrics, updates the floor view and saves found miners. When it raised, the
    timer's loop ended for good: the group was never polled again and nothing was logged until shutdown."""
    t = _Timer(interval=0.05)
    calls = 0

    def on_cycle(_: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("render failed")

    s = Scheduler([t], on_cycle=on_cycle)
    with caplog.at_level(logging.ERROR, logger="farmwatch.scheduler"):
        s.start()
        try:
            for _ in range(200):  # bounded: 10 s at most
                if calls >= 3:
                    break
                await asyncio.sleep(0.05)
        finally:
            await s.stop()
    assert t.cycles >= 3
    assert calls >= 3
    assert any("render failed" in r.getMessage() or (r.exc_info and "render failed" in str(r.exc_info[1]))
               for r in caplog.records)


async def test_progress_publications_are_bounded_by_their_own_cost() -> None:
    """A long cycle publishes what it has read every half interval; a publication that itself takes long (a full
    render of a big site) is not repeated back to back: the next one waits at least four times as long as the last
    took, so progress renders take at most a fifth of the loop (before: every half interval whatever they cost,
    seven full renders in a 53 s first cycle at 20,000 miners)."""
    t = _Timer(interval=2.0, cycle_s=6.5)  # half interval 1 s; a 6.5 s cycle
    published = 0

    async def on_progress(_: object) -> None:
        nonlocal published
        published += 1
        await asyncio.sleep(0.6)  # a publication costing 0.6 s: the next waits >= 2.4 s

    s = Scheduler([], on_progress=on_progress)
    await s.run_cycle(t)
    # Old: at 1.0, 2.6, 4.2, 5.8 s (four). Bounded: at 1.0, then >= 4.0 (two at most). A loaded machine only
    # makes publications slower, so fewer.
    assert 1 <= published <= 2, published
