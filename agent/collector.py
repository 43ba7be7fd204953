"""What the agent needs from a collector family other than the miners (SNMP, NVML): its own timer, a cycle,
and metric families built from its latest state. The agent runs each on its own loop task, renders the
exposition after each completed cycle, and reports the cycle in ``farmwatch_cycle_*{collector}``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from .exposition import Families


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
