"""Poll deadlines that cost no event-loop timer each: :func:`expires_at` is ``asyncio.timeout_at`` for the polls.

Every socket exchange of every poll runs under its poll's deadline (two to eight a miner a cycle). Under uvloop
each ``loop.call_at`` is a libuv timer handle, opened and closed through the loop: ~12 us of CPU per exchange on
the 2-core VM (``bench/cycle.py``), a twentieth of a miner's steady cycle. Here the deadlines of one thread's
loop wait in one heap behind a single loop timer, set for the earliest deadline still armed: arming is a heap
push, disarming a flag. The timer fires only where a deadline is actually reached, or where the earliest entries
were disarmed meanwhile (then it drops them and waits for the next armed one).

Same semantics as ``asyncio.timeout_at``: when the deadline passes, the task is cancelled at the ``await`` it is
in, and the context manager turns that cancellation into ``TimeoutError``; a cancellation that is not its own
(shutdown, an outer deadline) goes through as it came. Deadlines nest.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import threading
from types import TracebackType

# uvloop's timers have millisecond resolution: an entry within this of its deadline when the timer fires is due
# (else a timer firing a hair early would be set again for the same instant, and again).
RESOLUTION_S = 0.001
# Disarmed entries wait in the heap until the timer passes them; past this many per armed one (and a floor),
# the heap is rebuilt from the armed ones, so what it holds stays proportional to the polls in flight.
COMPACT_FACTOR = 4
COMPACT_FLOOR = 4096


class _Wheel:
    """The armed deadlines of one event loop, behind one loop timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.heap: list[tuple[float, int, expires_at]] = []
        self.armed = 0
        self.seq = 0  # ties on ``when`` are broken by arming order, never by comparing entries
        self.handle: asyncio.TimerHandle | None = None
        self.at = math.inf  # when the loop timer is set for

    def arm(self, entry: expires_at) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (entry.when, self.seq, entry))
        self.armed += 1
        if entry.when < self.at:
            self._set(entry.when)
        elif len(self.heap) > COMPACT_FACTOR * self.armed + COMPACT_FLOOR:
            self.heap = [item for item in self.heap if item[2].task is not None]
            heapq.heapify(self.heap)

    def disarm(self, entry: expires_at) -> None:
        if entry.task is not None:
            entry.task = None
            self.armed -= 1

    def _set(self, when: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.at = when
        self.handle = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self.handle, self.at = None, math.inf
        due = self.loop.time() + RESOLUTION_S
        heap = self.heap
        while heap:
            when, _seq, entry = heap[0]
            task = entry.task
            if task is not None and when > due:
                self._set(when)
                return
            heapq.heappop(heap)
            if task is not None:
                entry.task = None
                entry.fired = True
                self.armed -= 1
                task.cancel()


_local = threading.local()


def _wheel(loop: asyncio.AbstractEventLoop) -> _Wheel:
    wheel: _Wheel | None = getattr(_local, "wheel", None)
    if wheel is None or wheel.loop is not loop:  # one loop per thread at a time: a new loop gets a new wheel
        wheel = _local.wheel = _Wheel(loop)
    return wheel


class expires_at:  # noqa: N801  (lower case like the asyncio.timeout_at it replaces)
    """``async with expires_at(when):`` -- the body is cancelled at ``when`` (event-loop time) and ``TimeoutError``
    raised in its place."""

    __slots__ = ("cancelling", "fired", "owner", "task", "wheel", "when")

    def __init__(self, when: float) -> None:
        self.when = when
        self.fired = False
        self.task: asyncio.Task[object] | None = None  # while armed
        self.owner: asyncio.Task[object] | None = None
        self.wheel: _Wheel | None = None
        self.cancelling = 0

    async def __aenter__(self) -> expires_at:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("expires_at() must be used inside a task")
        self.owner = self.task = task
        self.cancelling = task.cancelling()
        self.wheel = _wheel(loop)
        self.wheel.arm(self)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self.wheel is not None and self.owner is not None
        self.wheel.disarm(self)
        # As asyncio.timeout_at: an expired deadline takes its cancel request back whatever ended the body.
        if self.fired and self.owner.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
