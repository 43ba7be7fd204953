"""The agent's one timer loop: starts every timer of every collector (each miner group, the SNMP collector, the
GPU collector, rediscovery) on its own interval, and keeps the books of each cycle.

A cycle starts every ``interval`` (a timer with ``jitter`` puts its first start off at random by up to that share
of the interval, so groups and agents do not fire in step). A cycle runs at most ``interval + timeout`` unless the
timer bounds its cycles itself (collectors/collector.py, ``cycle_limit``); one that raises or is cut off counts as
a failed cycle (``farmwatch_collector_success``). A cycle still running after half an interval hands what has
finished to ``on_progress`` meanwhile where the timer asks for it (``progress``: the miner groups), at most a
fifth of the time (``PROGRESS_COST_FACTOR``); every cycle ends in ``on_cycle``, whose failure is logged and does not
end the timer. A cycle that overran its interval starts the next one at once, without trying to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from collectors.collector import Timed, cycle_limit, jitter, publishes_progress

from .aio import cancel_all
from .gcdefer import deferred_gc

log = logging.getLogger("farmwatch.scheduler")

__all__ = ["Scheduler"]

Hook = Callable[[Any], Awaitable[None] | None]

PROGRESS_COST_FACTOR = 4.0


class Scheduler:
    def __init__(self, timers: Iterable[Timed] = (), on_cycle: Hook | None = None, *, seed: int | None = None,
                 on_progress: Hook | None = None) -> None:
        self.timers: list[Timed] = list(timers)
        self.on_cycle = on_cycle
        self.on_progress = on_progress
        self._rng = random.Random(seed)
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by id(timer)
        self._stopping = asyncio.Event()

    async def run_cycle(self, t: Timed) -> None:
        """One cycle of ``t`` now, with its books, progress and ``on_cycle``."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        st = t.stats
        limit = cycle_limit(t)
        progress = _Progress()
        # The cycle runs in this task (a cancel reaches it exactly as it reaches the loop); what it has read so far
        # is published beside it: while slow devices keep a cycle going, what the others read goes out every half
        # interval instead of waiting for the slowest (issue 11).
        if self.on_progress is not None and publishes_progress(t):
            progress.task = asyncio.create_task(self._progress(t, progress))
        ok, failure = True, ""
        try:
            with deferred_gc():  # the cyclic collector runs once at the end, not over the polls in flight
                if limit is None:
                    await t.run_cycle()
                else:
                    async with asyncio.timeout(limit):
                        await t.run_cycle()
        except TimeoutError:
            log.warning("%s: cycle cancelled after %.0fs", t.name, limit)
            ok, failure = False, f"cycle cancelled after {limit:.0f}s"
        except Exception as e:
            log.exception("%s: cycle failed", t.name)
            ok, failure = False, f"cycle failed: {type(e).__name__}"
        except asyncio.CancelledError:
            if progress.task is not None:
                progress.task.cancel()
            raise
        finally:
            progress.done.set()
            if progress.task is not None and progress.publishing:
                # A publication under way finishes first, so on_cycle never overlaps it. Otherwise nothing is
                # awaited here: a cancel landing as the cycle returns must still find the cycle's books kept.
                await asyncio.gather(progress.task, return_exceptions=True)
        st.cycle_done(ok, failure)
        duration = loop.time() - started
        st.cycles += 1
        st.last_duration = duration
        st.last_completed = time.time()
        if duration > t.interval:
            st.overruns += 1
            log.warning("%s: cycle took %.1fs, longer than its %.0fs interval", t.name, duration, t.interval)
        if self.on_cycle is not None:
            await _call(self.on_cycle, t, "after-cycle step")

    async def _progress(self, t: Timed, p: _Progress) -> None:
        every = max(1.0, t.interval / 2)
        wait = every
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await p.done.wait()
            if p.done.is_set() or self.on_progress is None:
                return
            p.publishing = True
            began = loop.time()
            try:
                await _call(self.on_progress, t, "publishing a long cycle's progress")
            finally:
                p.publishing = False
            # A publication is a full render (seconds at 20,000 miners, on the cores the polls need): the next
            # waits at least PROGRESS_COST_FACTOR times as long as this one took, so progress takes at most a fifth
            # of the loop however short the interval.
            wait = max(every, PROGRESS_COST_FACTOR * (loop.time() - began))

    async def _loop(self, t: Timed) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time() + self._rng.uniform(0, jitter(t) * t.interval)
        # The stop flag, not only cancellation, ends this loop: on Python 3.11 asyncio.wait_for can swallow a
        # cancel that lands as the inner call finishes, and a swallowed cancel left shutdown waiting forever.
        while not self._stopping.is_set():
            delay = next_start - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
                if self._stopping.is_set():
                    return
            await self.run_cycle(t)
            next_start += t.interval
            if next_start < loop.time():  # overran: start the next cycle now, do not try to catch up
                next_start = loop.time()

    def start(self) -> None:
        self._stopping.clear()
        for t in self.timers:
            self._start(t)

    def _start(self, t: Timed) -> None:
        self._tasks[id(t)] = asyncio.create_task(self._loop(t), name=f"timer:{t.name}")

    async def set_timers(self, timers: Iterable[Timed]) -> list[Timed]:
        """Config reload: keep the tasks of timers that are still here (same objects), stop the others' (a cycle
        in progress is cancelled), start the new ones. Returns the new ones."""
        timers = list(timers)
        keep = {id(t) for t in timers}
        stopping = [task for tid, task in self._tasks.items() if tid not in keep]
        for tid in [tid for tid in self._tasks if tid not in keep]:
            del self._tasks[tid]
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        self.timers = timers
        new = [t for t in timers if id(t) not in self._tasks]
        if not self._stopping.is_set():
            for t in new:
                self._start(t)
        return new

    async def stop(self) -> None:
        self._stopping.set()
        tasks = list(self._tasks.values())
        await cancel_all(tasks)
        self._tasks.clear()


class _Progress:
    """The publications beside one cycle."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.publishing = False


async def _call(hook: Hook, t: Timed, what: str) -> None:
    """Run a hook of ``t``'s cycle. Its failure (a render, the floor view, saving finds) is logged now and does not
    end the timer's loop: the devices are still polled, and /healthz shows the staleness if it persists."""
    try:
        result = hook(t)
        if result is not None:
            await result
    except Exception:
        log.exception("%s: %s failed", t.name, what)
