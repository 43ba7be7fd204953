"""The contract between the agent and every collector family (miners, SNMP, NVML): timers, a cycle before a
deadline, and metric families built from its latest state. The agent's one scheduler runs each timer, renders the
exposition after each completed cycle, and reports the cycle in ``farmwatch_cycle_*{collector,group}`` and
``farmwatch_collector_success{collector}``. In ``collectors/`` so that a collector implements it without importing
the agent (docs/architecture.md, "Layers").

A collector is one timer (its own ``interval``, ``timeout``, ``stats``, ``run_cycle``) unless it has ``timers``:
then each of those runs on its own (the miners: one per group, ``collectors/asic/collector.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .families import Families

MAX_BACKOFF_S = 300.0


def backoff_seconds(failures: int, interval: float) -> float:
    """How long a device that failed ``failures`` times in a row waits: the first failure is retried next
    cycle, then 2, 4, 8 ... intervals, at most MAX_BACKOFF_S (a dead device must not hold a slot every cycle,
    and a revived one is seen again within five minutes)."""
    return 0.0 if failures < 2 else min(interval * 2 ** (failures - 2), MAX_BACKOFF_S)


@dataclass
class CycleStats:
    """One poll loop's statistics (a miner group or a collector), exported as ``farmwatch_cycle_*``."""

    cycles: int = 0
    overruns: int = 0
    last_duration: float = 0.0
    last_completed: float = 0.0  # wall clock
    errors: Counter[str] = field(default_factory=Counter)  # failed device polls by reason
    devices: int = 0
    devices_up: int = 0
    devices_backoff: int = 0  # dead devices passed by this cycle while backing off
    polled_last_cycle: int = 0
    # A collector's own failures (not a device's): its cycle raised or ran past its deadline, or building its
    # metric families raised. None before its first cycle (unknown, not failed).
    last_cycle_ok: bool | None = None
    cycles_failed_in_a_row: int = 0
    family_errors: int = 0  # renders whose family building raised, since start
    families_failed_in_a_row: int = 0
    last_failure: str = ""  # what the last failure was (for /healthz and the log), never a secret

    def cycle_done(self, ok: bool, failure: str = "") -> None:
        self.last_cycle_ok = ok
        self.cycles_failed_in_a_row = 0 if ok else self.cycles_failed_in_a_row + 1
        if not ok:
            self.last_failure = failure

    def families_done(self, ok: bool, failure: str = "") -> None:
        self.families_failed_in_a_row = 0 if ok else self.families_failed_in_a_row + 1
        if not ok:
            self.family_errors += 1
            self.last_failure = failure

    @property
    def success(self) -> bool | None:
        """``farmwatch_collector_success``: the last cycle ran and the last families were built."""
        if self.last_cycle_ok is None:
            return None
        return self.last_cycle_ok and self.families_failed_in_a_row == 0

    def failing(self) -> bool:
        """Failure *persists* (``/healthz`` turns red) after FAILED_IN_A_ROW failed cycles or family builds in a
        row: one failure is a blip Prometheus already shows; three is as long as a group may fall behind before
        /healthz turns red for staleness (docs/architecture.md, "Health")."""
        return max(self.cycles_failed_in_a_row, self.families_failed_in_a_row) >= FAILED_IN_A_ROW


FAILED_IN_A_ROW = 3


class Timed(Protocol):
    """One timer: what the agent's scheduler starts every ``interval``."""

    @property
    def name(self) -> str:
        """The ``group`` label (a collector that is its own timer: its name)."""

    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def stats(self) -> CycleStats: ...

    async def run_cycle(self) -> None:
        """Poll every device once; never raises for a device failure (those are counted in stats)."""


class Collector(Timed, Protocol):
    """``name`` is the ``collector`` label: "asic", "snmp", "nvml"."""

    def families(self, fams: Families) -> None:
        """Add this collector's series, built from its latest state, to ``fams``."""

    async def close(self) -> None:
        """Release sockets, threads and library handles."""


def timers(c: Collector) -> Sequence[Timed]:
    """The timers of a collector: its ``timers`` where it has them (the miners' groups), else itself."""
    own: Sequence[Timed] | None = getattr(c, "timers", None)
    return [c] if own is None else own


def cycle_limit(t: Timed) -> float | None:
    """How long one cycle may run before the agent cancels it (and counts a failed cycle): interval + timeout,
    unless the timer bounds its cycles itself (``bounds_itself``: a miner group, where every device has its own
    deadline and a cycle longer than the interval is an overrun, not a failure)."""
    return None if getattr(t, "bounds_itself", False) else t.interval + t.timeout


def publishes_progress(t: Timed) -> bool:
    """Whether what a long cycle has read so far is published every half interval (``progress``, default no: a
    miner group's slow devices must not hold back what the others read; issue 11)."""
    value: bool = getattr(t, "progress", False)
    return value


def jitter(t: Timed) -> float:
    """The share of the interval a timer's first start is put off at random (``jitter``, default none), so
    groups and agents do not fire in step."""
    value: float = getattr(t, "jitter", 0.0)
    return value


def success(c: Collector) -> bool | None:
    """``farmwatch_collector_success``: every timer's last cycle ran and the last families were built; None
    (unknown, no sample) before any of its cycles ran."""
    ran = [t.stats.last_cycle_ok for t in timers(c) if t.stats.last_cycle_ok is not None]
    if not ran:
        return None
    return all(ran) and c.stats.families_failed_in_a_row == 0


def failure(c: Collector) -> str | None:
    """What persists in failing (FAILED_IN_A_ROW), for /healthz; None when nothing does."""
    for st in [c.stats, *(t.stats for t in timers(c) if t is not c)]:
        if st.failing():
            return st.last_failure
    return None
