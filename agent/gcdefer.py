"""The cyclic garbage collector held off while poll cycles run, and run once when they end.

A miner cycle allocates a container per JSON object of every reply and frees almost all of them by reference
counting as soon as the reading is built; what the cyclic collector finds in flight is the replies of the polls
still running (2,000 at a time), and it walks them again every few thousand allocations: ~0.1 s of CPU per
steady cycle at 5,000 miners, 4-8 % of it (bench/cycle.py, README "Performance"). During a cycle the gen-0
threshold is raised to DEFERRED_THRESHOLD (a safety valve, not off: a pathological producer of cyclic garbage is
still collected every million allocations); when the last running cycle ends, the thresholds are put back and
the young generations collected once, so garbage cycles made during a cycle live one cycle at most.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

DEFERRED_THRESHOLD = 1_000_000

_running = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def deferred_gc() -> Iterator[None]:
    """Hold off the cyclic collector for the body (cycles may overlap: the last one out restores and collects).
    Leaves it alone where automatic collection is off (``gc.disable()`` or a threshold of 0)."""
    global _running, _saved
    if _running == 0:
        current = gc.get_threshold()
        if gc.isenabled() and current[0] > 0:
            _saved = current
            gc.set_threshold(max(DEFERRED_THRESHOLD, current[0]), current[1], current[2])
    _running += 1
    try:
        yield
    finally:
        _running -= 1
        if _running == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
            gc.collect(1)
