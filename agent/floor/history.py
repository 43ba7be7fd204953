"""Each miner's last cycles, kept in memory and bounded: a fixed-size ring of packed records per device.

A record is 26 bytes (time, state, down reason, hashrate, power, hottest temperature; NaN for unknown), so 32
cycles of 20,000 miners hold about 17 MB; a tuple per cycle would take several times that. History is lost on
restart: Prometheus keeps the long view, this is the technician's "what did it do in the last minutes".
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

from collectors.errors import REASONS

from .model import FLOOR_STATES

DEPTH = 32  # cycles kept per miner
_REC = struct.Struct("<dBBfff")  # wall time, state index, reason index (0 = none), TH/s, W, °C
_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Point:
    time: float
    state: str
    reason: str | None
    hashrate_ths: float | None
    power_w: float | None
    hottest_c: float | None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "state": self.state, "reason": self.reason, "hashrate_ths": self.hashrate_ths,
                "power_w": self.power_w, "hottest_c": self.hottest_c}


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


class Ring:
    __slots__ = ("buf", "count")

    def __init__(self) -> None:
        self.buf = bytearray(_REC.size * DEPTH)
        self.count = 0  # records ever written; the newest is at (count - 1) % DEPTH

    def add(self, t: float, state: str, reason: str | None, ths: float | None, w: float | None,
            c: float | None) -> None:
        st = FLOOR_STATES.index(state) if state in FLOOR_STATES else FLOOR_STATES.index("unknown")
        rs = REASONS.index(reason) + 1 if reason in REASONS else 0
        _REC.pack_into(self.buf, (self.count % DEPTH) * _REC.size, t, st, rs,
                       _NAN if ths is None else ths, _NAN if w is None else w, _NAN if c is None else c)
        self.count += 1

    def points(self) -> list[Point]:
        """Oldest first."""
        n = min(self.count, DEPTH)
        out = []
        for k in range(self.count - n, self.count):
            t, st, rs, ths, w, c = _REC.unpack_from(self.buf, (k % DEPTH) * _REC.size)
            out.append(Point(t, FLOOR_STATES[st], REASONS[rs - 1] if rs else None, _opt(ths), _opt(w), _opt(c)))
        return out


class History:
    def __init__(self) -> None:
        self.rings: dict[str, Ring] = {}

    def add(self, device: str, t: float, state: str, reason: str | None, ths: float | None, w: float | None,
            c: float | None) -> None:
        ring = self.rings.get(device)
        if ring is None:
            ring = self.rings[device] = Ring()
        ring.add(t, state, reason, ths, w, c)

    def points(self, device: str) -> list[Point]:
        ring = self.rings.get(device)
        return ring.points() if ring is not None else []

    def keep(self, devices: set[str]) -> None:
        """Forget miners no longer configured."""
        for d in [d for d in self.rings if d not in devices]:
            del self.rings[d]
