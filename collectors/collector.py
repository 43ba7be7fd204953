"""The contract between the agent and a collector family other than the miners (SNMP, NVML): its own timer, a
cycle, and metric families built from its latest state. The agent runs each on its own loop task, renders the
exposition after each completed cycle, and reports the cycle in ``farmwatch_cycle_*{collector}`` and
``farmwatch_collector_success{collector}``. In ``collectors/`` so that a collector implements it without importing
the agent (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from collections import Counter
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


class Collector(Protocol):
    name: str  # "snmp", "nvml": the ``collector`` label
    interval: float
    timeout: float
    stats: CycleStats

    async def run_cycle(self) -> None:
        """Poll every device once; never raises for a device failure (those are counted in stats)."""

    def families(self, fams: Families) -> None:
        """Add this collector's series, built from its latest state, to ``fams``."""

    async def close(self) -> None:
        """Release sockets, threads and library handles."""
