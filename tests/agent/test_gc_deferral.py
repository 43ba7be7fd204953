"""The cyclic collector is held off while cycles run and run once when the last one ends (agent/gcdefer.py):
during a cycle the gen-0 threshold is raised, afterwards it is what it was; garbage cycles made during a cycle are
gone when it ends (they live one cycle at most), also when the cycle fails or two cycles overlap."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from agent import gcdefer
from agent.scheduler import Scheduler
from collectors.collector import CycleStats


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


class _Timer:
    name = "t"
    interval = 60.0
    timeout = 1.0
    bounds_itself = True

    def __init__(self, cycle_s: float = 0.0, fail: bool = False) -> None:
        self.cycle_s = cycle_s
        self.fail = fail
        self.stats = CycleStats()
        self.threshold_seen: tuple[int, int, int] | None = None
        self.garbage: weakref.ref[_Node] | None = None

    async def run_cycle(self) -> None:
        self.threshold_seen = gc.get_threshold()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a reference cycle: only the cyclic collector frees it
        self.garbage = weakref.ref(a)
        del a, b
        await asyncio.sleep(self.cycle_s)
        if self.fail:
            raise RuntimeError("cycle failed")


@pytest.fixture(autouse=True)
def thresholds() -> object:
    before = gc.get_threshold()
    gc.set_threshold(10_000, 20, 20)  # what agent.runtime sets
    yield
    gc.set_threshold(*before)


async def test_a_cycle_runs_with_the_collector_held_off_and_leaves_no_garbage_cycle_behind() -> None:
    t = _Timer()
    await Scheduler([t]).run_cycle(t)
    assert t.threshold_seen is not None and t.threshold_seen[0] >= gcdefer.DEFERRED_THRESHOLD
    assert gc.get_threshold() == (10_000, 20, 20)
    assert t.garbage is not None and t.garbage() is None  # collected when the cycle ended


async def test_a_failing_cycle_still_puts_the_thresholds_back() -> None:
    t = _Timer(fail=True)
    await Scheduler([t]).run_cycle(t)
    assert t.stats.cycles == 1
    assert gc.get_threshold() == (10_000, 20, 20)
    assert t.garbage is not None and t.garbage() is None


async def test_overlapping_cycles_restore_when_the_last_one_ends() -> None:
    slow, quick = _Timer(cycle_s=0.3), _Timer(cycle_s=0.0)
    s = Scheduler([slow, quick])
    first = asyncio.create_task(s.run_cycle(slow))
    await asyncio.sleep(0.05)
    await s.run_cycle(quick)
    assert gc.get_threshold()[0] >= gcdefer.DEFERRED_THRESHOLD  # the slow one still runs
    await first
    assert gc.get_threshold() == (10_000, 20, 20)
    assert slow.garbage is not None and slow.garbage() is None


async def test_automatic_collection_turned_off_is_left_off() -> None:
    gc.disable()
    try:
        t = _Timer()
        await Scheduler([t]).run_cycle(t)
        assert t.threshold_seen == (10_000, 20, 20)
        assert not gc.isenabled()
    finally:
        gc.enable()
