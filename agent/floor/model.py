"""The floor model: one row per miner (where it is, what state, what is wrong), the site summary and the racks.

Built from the agent's store in one pass (agent/floor/view.py), then only read: the HTML pages and the JSON API
are both rendered from the same :class:`Floor`, so what the page shows and what ``/api/v1`` returns agree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..sitemap import LOCATION_COLUMNS
from .problems import Problem

# The floor's states: the reading's five states (docs/architecture.md, "`poll --json`") plus ``down`` (polled, did not answer).
FLOOR_STATES = ("hashing", "degraded", "not_hashing", "sleeping", "down", "unknown")
FILTER_KEYS = ("container", "rack", "state", "model")
_DIGITS = re.compile(r"(\d+)")


@dataclass(slots=True)
class MinerRow:
    """One miner on the floor; its place is the site map's columns (``LOCATION_COLUMNS``), by the same names."""

    device: str
    state: str  # one of FLOOR_STATES
    model: str | None = None
    make: str | None = None
    firmware: str | None = None
    container: str | None = None
    rack: str | None = None
    shelf: str | None = None
    slot: str | None = None
    pdu: str | None = None
    outlet: str | None = None
    hashrate_ths: float | None = None
    expected_hashrate_ths: float | None = None
    power_w: float | None = None
    power_source: str | None = None
    outlet_w: float | None = None  # what its PDU outlet measures (also while the miner is down)
    outlet_elsewhere: bool = False  # its PDU is polled by another shard: outlet_w is not known to this agent
    hottest_c: float | None = None
    problems: list[Problem] = field(default_factory=list)
    since: float | None = None  # wall clock: when its current problems began (as far as the agent knows)
    last_success: float | None = None
    error_message: str | None = None

    @property
    def severity(self) -> str | None:
        """fault (red), warn (orange) or None (nothing to do)."""
        if not self.problems:
            return None
        return "fault" if any(p.severity == "fault" for p in self.problems) else "warn"

    @property
    def reason(self) -> str:
        return ", ".join(p.text for p in self.problems)

    @property
    def located(self) -> bool:
        return bool(self.rack or self.container)

    def location_text(self) -> str:
        parts = []
        if self.container:
            parts.append(f"container {self.container}")
        if self.rack:
            parts.append(f"rack {self.rack}")
        if self.shelf:
            parts.append(f"shelf {self.shelf}")
        if self.slot:
            parts.append(f"slot {self.slot}")
        return ", ".join(parts) or "no site-map location"

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device, "state": self.state, "model": self.model, "make": self.make,
            "firmware": self.firmware,
            "location": {k: getattr(self, k) for k in LOCATION_COLUMNS},
            "hashrate_ths": self.hashrate_ths, "expected_hashrate_ths": self.expected_hashrate_ths,
            "power_w": self.power_w, "power_source": self.power_source, "outlet_power_w": self.outlet_w,
            "outlet_on_other_shard": self.outlet_elsewhere,
            "hottest_c": self.hottest_c, "severity": self.severity,
            "problems": [p.to_json() for p in self.problems], "since": self.since,
            "last_success": self.last_success, "error_message": self.error_message,
        }


@dataclass(slots=True)
class Summary:
    site: str
    version: str
    generated_at: float
    miners: int = 0
    up: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    hashrate_ths: float = 0.0
    expected_ths: float = 0.0
    miner_power_w: dict[str, float] = field(default_factory=dict)  # by source: pdu, reported, estimated, nameplate
    gpu_power_w: float | None = None
    pdu_power_w: float | None = None
    ups_power_w: float | None = None
    devices: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (up, known): pdu, ups, gpu ...
    last_cycle: float | None = None  # wall clock of the latest completed miner cycle
    interval: float | None = None  # shortest miner poll interval: the page refreshes at this pace
    todo: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)
    shard: tuple[int, int] | None = None
    scope: dict[str, int] = field(default_factory=dict)  # scope addresses by state: miner, unidentified, empty
    outlets_elsewhere: int = 0  # miners whose PDU another shard polls (their outlet power is not in miner_power_w)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site, "version": self.version, "generated_at": self.generated_at,
            "miners": self.miners, "miners_up": self.up, "miners_by_state": self.by_state,
            "hashrate_ths": self.hashrate_ths, "expected_hashrate_ths": self.expected_ths,
            "miner_power_w_by_source": self.miner_power_w, "gpu_power_w": self.gpu_power_w,
            "pdu_power_w": self.pdu_power_w, "ups_power_w": self.ups_power_w,
            "devices_up": {k: {"up": u, "known": n} for k, (u, n) in self.devices.items()},
            "last_cycle_completed": self.last_cycle,
            "last_cycle_age_s": None if self.last_cycle is None else max(0.0, self.generated_at - self.last_cycle),
            "todo": self.todo, "groups": self.groups,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None, "scope_addresses": self.scope,
            "outlets_on_other_shards": self.outlets_elsewhere,
        }


@dataclass(slots=True)
class Rack:
    container: str
    rack: str
    miners: list[MinerRow]
    shelves: list[str]  # row labels, top to bottom in site-map order
    slots: list[str]  # column labels
    unplaced: list[MinerRow]  # in the rack but without shelf and slot

    def to_json(self) -> dict[str, Any]:
        grid = {(m.shelf, m.slot): m.device for m in self.miners if m.shelf and m.slot}
        return {
            "container": self.container, "rack": self.rack, "shelves": self.shelves, "slots": self.slots,
            "grid": [[grid.get((sh, sl)) for sl in self.slots] for sh in self.shelves],
            "miners": len(self.miners), "by_state": dict(Counter(m.state for m in self.miners)),
            "todo": sum(1 for m in self.miners if m.problems),
            "unplaced": [m.device for m in self.unplaced],
        }


def natural(text: str | None) -> tuple[Any, ...]:
    """Sort key that puts shelf 2 before shelf 10 and R9 before R10 (numbers and words never compared)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(text or "") if p)


@dataclass(slots=True)
class Floor:
    summary: Summary
    rows: list[MinerRow]
    by_device: dict[str, MinerRow]

    _ordered: list[MinerRow] | None = field(default=None, repr=False, compare=False)

    def ordered(self) -> list[MinerRow]:
        """The rows in the API's fixed order (by device, numbers compared as numbers), sorted once per model."""
        if self._ordered is None:
            self._ordered = sorted(self.rows, key=lambda r: device_key([r.device]))
        return self._ordered

    def select(self, filters: dict[str, str], rows: Iterable[MinerRow] | None = None) -> list[MinerRow]:
        """The rows (``rows``, default all in build order) that match every filter, in their order."""
        rows = self.rows if rows is None else rows
        for key in FILTER_KEYS:
            want = filters.get(key)
            if want:
                rows = [r for r in rows if (getattr(r, key) or "") == want]
        return list(rows)

    def choices(self) -> dict[str, list[str]]:
        """The values each filter can take on this site."""
        out: dict[str, set[str]] = {k: set() for k in FILTER_KEYS}
        for r in self.rows:
            for k in FILTER_KEYS:
                v = getattr(r, k)
                if v:
                    out[k].add(v)
        return {k: sorted(v, key=natural) for k, v in out.items()}


def device_key(raw: list[Any]) -> tuple[Any, ...]:
    """The miners list's order from its cursor fields ``[device]``: 127.0.0.2 before 127.0.0.10; the device
    itself breaks ties, so keys are unique."""
    return (natural(raw[0]), raw[0])


def todo_raw(r: MinerRow) -> list[Any]:
    """What orders a to-do entry (and its API cursor carries): fault first, then place, then device."""
    return [0 if r.severity == "fault" else 1, r.container, r.rack, r.shelf, r.slot, r.device]


def todo_key(raw: list[Any]) -> tuple[Any, ...]:
    return (raw[0], natural(raw[1]), natural(raw[2]), natural(raw[3]), natural(raw[4]), raw[5])


def todo(rows: Iterable[MinerRow]) -> list[MinerRow]:
    """Down and sick miners: faults first, then by location."""
    sick = [r for r in rows if r.problems]
    sick.sort(key=lambda r: todo_key(todo_raw(r)))
    return sick


def racks(rows: Iterable[MinerRow]) -> tuple[list[Rack], list[MinerRow]]:
    """One rack per (container, rack) of the site map, and the miners the site map does not place."""
    by_rack: dict[tuple[str, str], list[MinerRow]] = {}
    loose: list[MinerRow] = []
    for r in rows:
        if r.rack or r.container:
            by_rack.setdefault((r.container or "", r.rack or ""), []).append(r)
        else:
            loose.append(r)
    out = []
    for (container, rack), miners in sorted(by_rack.items(), key=lambda kv: (natural(kv[0][0]), natural(kv[0][1]))):
        placed = [m for m in miners if m.shelf and m.slot]
        shelves = sorted({m.shelf for m in placed if m.shelf}, key=natural)
        slots = sorted({m.slot for m in placed if m.slot}, key=natural)
        unplaced = sorted((m for m in miners if not (m.shelf and m.slot)), key=lambda m: natural(m.device))
        out.append(Rack(container, rack, sorted(miners, key=lambda m: (natural(m.shelf), natural(m.slot))),
                        shelves, slots, unplaced))
    loose.sort(key=lambda m: natural(m.device))
    return out, loose
