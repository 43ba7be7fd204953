"""Latest state of every device: its last good reading while it answers, only identity and why when it doesn't.

The store never serves a value as fresh that was not read in the device's last poll: a failed poll drops the
reading (its value series disappear) and keeps identity, last success time and the down reason (docs/architecture.md, "Metrics").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import DeviceError
from .expected import Expected
from .reading import MinerReading

log = logging.getLogger("farmwatch.store")


@dataclass(slots=True)
class Identity:
    driver: str | None = None
    make: str | None = None
    model: str | None = None
    algorithm: str | None = None
    firmware: str | None = None
    firmware_version: str | None = None
    mac: str | None = None
    serial: str | None = None
    hostname: str | None = None


@dataclass(slots=True)
class DeviceState:
    device: str
    reading: MinerReading | None = None
    identity: Identity = field(default_factory=Identity)
    up: bool = False
    polled: bool = False
    last_success: float | None = None  # wall-clock seconds
    error_reason: str | None = None
    error_message: str | None = None
    failures: int = 0  # consecutive
    next_attempt: float = 0.0  # monotonic; backoff for dead devices
    location: dict[str, str] = field(default_factory=dict)
    # Expected counts from the model table, kept while down so alerts can still compare.
    expected_boards: int | None = None
    expected_fans: int | None = None
    # Set by the scheduler: the address polled, and whether it came from a CIDR or range (a scope), where only
    # a found (or site-mapped) miner is expected and reported (collectors/asic/expected.py).
    host: str = ""
    scope: bool = False
    group: str = ""  # the scheduler group polling it (farmwatch_scope_addresses{group})
    # Monotonic times the answering machine changed (another MAC or serial than the last reading's), last hour.
    identity_changes: list[float] = field(default_factory=list)

    @property
    def identity_conflict(self) -> bool:
        """Two machines answer on this address in turn (an IP conflict, two miners behind one forwarded port):
        the identity changed twice or more in the last hour. A DHCP move changes it once."""
        return len(self.identity_changes) >= 2


IDENTITY_WINDOW_S = 3600.0
# What a reading says of the machine's identity, kept field by field (a field the reading lacks keeps its value).
_IDENTITY_FIELDS = ("make", "model", "algorithm", "firmware", "firmware_version", "mac", "serial", "hostname")


def _other_machine(known: Identity, reading: MinerReading) -> bool:
    """Whether ``reading`` comes from another machine than ``known``: a MAC or serial both report, differing."""
    mac, serial = reading.mac, reading.serial
    return ((mac is not None and known.mac is not None and mac != known.mac)
            or (serial is not None and known.serial is not None and serial != known.serial))


class MinerReadings(Protocol):
    """What the rest of the agent reads of the miners (floor view, probe, pools, curtailment, energy, power
    domains, economics): read only. Only the miner collector writes the store."""

    def get(self, device: str) -> DeviceState | None:
        """The device's latest state, None for a device this agent does not poll."""

    def states(self) -> Collection[DeviceState]:
        """Every device's latest state (a live view: iterate it on the event loop, or copy it)."""

    def is_expected(self, state: DeviceState) -> bool:
        """Whether the device's silence is a down miner (see MinerStore.is_expected)."""


class MinerStore:
    def __init__(self, expected: Expected | None = None) -> None:
        self.devices: dict[str, DeviceState] = {}
        self.expected = expected or Expected()

    def is_expected(self, state: DeviceState) -> bool:
        """A miner whose silence is a down miner: configured by address, or found in (or mapped into) a scope."""
        return not state.scope or self.expected.is_expected(state.host)

    def get(self, device: str) -> DeviceState | None:
        return self.devices.get(device)

    def states(self) -> Collection[DeviceState]:
        return self.devices.values()

    def ensure(self, device: str) -> DeviceState:
        state = self.devices.get(device)
        if state is None:
            state = self.devices[device] = DeviceState(device=device)
        return state

    def rekey(self, old: str, new: str) -> DeviceState:
        """The device ``old`` is now polled as ``new`` (a miner identified as HTTP-only moves to its web port):
        its state moves with it, so no series stays behind under the old key. Where ``new`` already has a state,
        that one is kept and ``old``'s is dropped."""
        state = self.devices.pop(old, None)
        if new in self.devices or state is None:
            return self.ensure(new)
        state.device = new
        self.devices[new] = state
        return state

    def remove_missing(self, keep: set[str]) -> None:
        for device in [d for d in self.devices if d not in keep]:
            del self.devices[device]

    def record_success(self, device: str, reading: MinerReading, now: float | None = None) -> DeviceState:
        state = self.ensure(device)
        state.reading = reading
        state.up = True
        state.polled = True
        state.last_success = time.time() if now is None else now
        state.error_reason = state.error_message = None
        state.failures = 0
        state.next_attempt = 0.0
        ident = state.identity
        if _other_machine(ident, reading):
            # Another machine answered: its identity replaces the last one whole, never field by field (one
            # machine's serial beside another's MAC is neither machine).
            state.identity = ident = Identity()
            mono = time.monotonic()
            state.identity_changes = [t for t in state.identity_changes if mono - t < IDENTITY_WINDOW_S] + [mono]
            if len(state.identity_changes) == 2:
                log.warning("%s: two machines answer on this address in turn (MAC/serial keep changing); "
                            "farmwatch_miner_identity_conflict is 1", device)
        elif state.identity_changes and time.monotonic() - state.identity_changes[-1] >= IDENTITY_WINDOW_S:
            state.identity_changes.clear()
        ident.driver = reading.driver
        for name in _IDENTITY_FIELDS:
            value = getattr(reading, name)
            if value is not None:
                setattr(ident, name, value)
        return state

    def record_failure(self, device: str, error: DeviceError, *, backoff_until: float = 0.0) -> DeviceState:
        state = self.ensure(device)
        state.reading = None
        state.up = False
        state.polled = True
        state.error_reason = error.reason
        state.error_message = error.message
        state.failures += 1
        state.next_attempt = backoff_until
        return state

    def counts(self) -> tuple[int, int]:
        """Expected miners up, and expected miners (an empty scope address is neither)."""
        expected = [s for s in self.devices.values() if self.is_expected(s)]
        return sum(1 for s in expected if s.up), len(expected)
