"""The typed reading of one miner, in base units per key (the ``poll --json`` contract in docs/architecture.md).

Drivers fill what the firmware says; :func:`collectors.asic.normalize.finalize` then applies the model facts
(board slots, expected chips, fan slots), efficiency and ``state``. Unknown is ``None``, never 0:

- ``fans_rpm``: one entry per fan slot in slot order; ``None`` is a slot whose reading was unreadable (NaN,
  garbage, negative) — unknown, neither spinning nor stopped, and exported as no sample — while ``0`` is a fan
  that reads stopped. ``[]`` when no fan is known (none reported, or every slot unreadable).
- ``errors``: ``None`` when the driver does not read errors from this firmware (or could not this time), ``[]``
  when it read them and the firmware reports none.
- ``notes``: among them, what could not be read this time and why ("pools (/cgi-bin/pools.cgi) not read
  (protocol): HTTP 404"): an optional command answering "Invalid command", an endpoint answering 404, a read
  that timed out leaves that part null and the rest of the reading stands (``missing`` keeps the same
  structured for the ``farmwatch_miner_partial_info`` metric). Only the reads that carry the hashrate decide
  whether the miner is up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATES = ("hashing", "degraded", "not_hashing", "sleeping", "unknown")
POWER_SOURCES = ("reported", "estimated", "pdu", "nameplate")
POOL_STATUSES = ("alive", "dead", "disabled", "unknown")


@dataclass(slots=True)
class Board:
    index: int
    hashrate_ths: float | None = None
    chips: int | None = None
    expected_chips: int | None = None
    temp_c: float | None = None
    chip_temp_c: float | None = None


@dataclass(slots=True)
class Pool:
    url: str
    user: str | None = None
    status: str = "unknown"
    accepted: int | None = None
    rejected: int | None = None
    stale: int | None = None
    index: int | None = None
    active: bool | None = None


@dataclass(slots=True)
class MinerErrorEntry:
    code: int | None
    message: str


@dataclass(slots=True)
class Note:
    """One part of the reading that could not be read: ``part`` names it (a command, an endpoint, a field
    group), ``reason`` is from the fixed reason set (collectors.errors.REASONS), ``message`` says what the
    device answered."""

    part: str
    reason: str
    message: str


@dataclass(slots=True)
class MinerReading:
    device: str
    driver: str
    make: str | None = None
    model: str | None = None
    algorithm: str = "sha256"
    firmware: str | None = None
    firmware_version: str | None = None
    mac: str | None = None
    serial: str | None = None
    hostname: str | None = None
    state: str = "unknown"
    hashrate_ths: float | None = None
    expected_hashrate_ths: float | None = None
    power_w: float | None = None
    power_source: str | None = None
    efficiency_jth: float | None = None
    fans_rpm: list[int | None] = field(default_factory=list)
    boards: list[Board] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)
    uptime_s: int | None = None
    errors: list[MinerErrorEntry] | None = None
    # What could not be read and why, or how the reading was made when that matters to the reader ("generic
    # cgminer reader: ..."); shown by ``poll`` and kept in ``poll --json``.
    notes: list[str] = field(default_factory=list)
    # The parts behind the "... not read" notes, structured for farmwatch_miner_partial_info; not in the JSON.
    missing: list[Note] = field(default_factory=list)
    # Raw facts a driver reports for finalize(); not part of the JSON contract.
    sleeping: bool = False
    power_limit_w: float | None = None
    # Parts cut to the per-device bounds (collectors.asic.bounds), for farmwatch_miner_truncated_info; the
    # notes say the same in words. error_count: errors reported when more than were kept. Not in the JSON.
    truncated: list[str] = field(default_factory=list)
    error_count: int | None = None
    # The firmware's own developer-fee pools (VNish "DevFee", hidden "*" entries, devFee... users), kept apart from
    # ``pools`` (they are not the site's pools) so the pool view can show them as such. Not in the JSON.
    fee_pools: list[Pool] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("sleeping")
        out.pop("missing")
        out.pop("truncated")
        out.pop("error_count")
        out.pop("fee_pools")
        if out["power_limit_w"] is None:
            out.pop("power_limit_w")
        return out
