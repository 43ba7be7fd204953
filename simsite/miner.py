"""One simulated miner: identity fixed at build time, and a per-poll :class:`Snapshot` of the values that drift.

Values are a pure function of (seed, miner index, poll number): a "poll" is a burst of requests; the miner moves
to its next poll when a request arrives after ``poll_gap_s`` of quiet (so the several connections of one agent
poll see one consistent state) or when the site calls :meth:`SimMiner.advance`. Time inside replies (``When``,
``Elapsed``) is virtual too: ``poll_interval_s`` per poll.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import noise as n
from .models import ModelSpec


class Personality(Protocol):
    """What a miner asks of its firmware personality (a :class:`simsite.cgminer.Firmware`)."""

    def truth(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]: ...


def _not_loaded(name: str) -> Personality:
    raise LookupError(f"no firmware personality {name!r}: simsite.firmwares is not loaded")


# The firmware registry installs its lookup here when it loads (simsite.firmwares imports this module, so this
# module cannot import it back: tests/project/test_imports.py). Looked up by name on every call: a fault may re-flash a
# miner to another firmware.
personality_of: Callable[[str], Personality] = _not_loaded


@dataclass(slots=True)
class BoardSpec:
    chips: int
    nominal_ghs: float
    pcb_c: float  # hottest PCB sensor at this miner's normal load
    chip_delta_c: float  # chip minus PCB
    hw0: int = 0  # hardware errors at the first poll


@dataclass(slots=True)
class PoolSpec:
    url: str
    user: str
    alive: bool
    active: bool
    accepted0: int
    rate: int  # accepted shares per poll


@dataclass(slots=True)
class BoardState:
    slot: int  # 0-based physical slot
    present: bool
    chips: int
    ghs: float  # current (about 1-minute) GH/s, 0.01 resolution
    ghs_5s: float
    nominal_ghs: float
    pcb: list[float]  # 4 sensors: outlet, inlet, outlet, inlet side
    chip: list[float]
    hw: int
    freq: int


@dataclass(slots=True)
class PoolState:
    index: int
    url: str
    user: str
    alive: bool
    active: bool
    accepted: int
    rejected: int
    stale: int


@dataclass(slots=True)
class Snapshot:
    epoch: int
    elapsed: int
    when: int
    sleeping: bool
    boards: list[BoardState]
    fans: list[int]
    power_w: int
    pools: list[PoolState]
    ghs: float  # sum of boards, the firmware's "current" figure
    ghs_5s: float
    ghs_avg: float  # since-boot average (never the current hashrate)
    expected_ghs: float
    env_c: float
    hw: int

    @property
    def accepted(self) -> int:
        return sum(p.accepted for p in self.pools)

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.pools)

    @property
    def stale(self) -> int:
        return sum(p.stale for p in self.pools)


def _q(x: float, step: float) -> float:
    return round(round(x / step) * step, 4)


@dataclass(eq=False, slots=True)
class SimMiner:
    index: int
    ip: str
    port: int
    firmware: str
    spec: ModelSpec
    seed: int
    mac: str  # canonical "AA:BB:CC:DD:EE:FF"; each firmware prints its own format
    serial: str
    hostname: str
    fault: str | None
    latency_ms: float
    jitter_ms: float
    board_specs: list[BoardSpec]
    fan_rpm: list[int]
    pool_specs: list[PoolSpec]
    uptime0_s: int
    boot_when: int
    poll_interval_s: int = 60
    env0_c: float = 25.0  # inlet air
    avg_ratio: float = 1.0  # since-boot average / nominal
    temp_step: float = 1.0
    fan_step: int = 60
    missing_slot: int = 1
    dead_fan: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0
    served: int = 0  # requests answered or swallowed, drives per-request jitter
    last_activity: float | None = None
    _snap: Snapshot | None = None
    replies: dict[bytes, bytes] = field(default_factory=dict)  # rendered replies of the current poll
    replies_epoch: int = -1

    @property
    def model(self) -> str:
        return self.spec.key

    @property
    def make(self) -> str:
        return self.spec.make

    def advance(self, polls: int = 1) -> None:
        self.epoch += polls

    def invalidate(self) -> None:
        """Forget rendered state (after a fault change)."""
        self._snap = None
        self.replies.clear()

    def snapshot(self) -> Snapshot:
        snap = self._snap
        if snap is None or snap.epoch != self.epoch:
            snap = self._snap = self._build_snapshot()
        return snap

    def _build_snapshot(self) -> Snapshot:
        e, s, i = self.epoch, self.seed, self.index
        # One seeded generator per (seed, miner, poll): C-speed draws, still a pure function of those three.
        rnd = random.Random(n.mix(s, i, e, n.CH_BOARD)).random
        sleeping = self.fault == "sleeping"
        missing = self.missing_slot if self.fault == "missing_board" else -1
        elapsed = self.uptime0_s + e * self.poll_interval_s
        env = _q(self.env0_c + rnd() - 0.5, 0.5)
        boards: list[BoardState] = []
        for slot, bs in enumerate(self.board_specs):
            present = slot != missing
            drift = 1.0 + 0.024 * (rnd() - 0.5)
            ghs = round(bs.nominal_ghs * drift, 2) if present and not sleeping else 0.0
            ghs5 = round(ghs * (1.0 + 0.04 * (rnd() - 0.5)), 2)
            t = bs.pcb_c + 3.0 * (rnd() - 0.5) if not sleeping else env + 3.0
            step = self.temp_step
            # Whole-degree offsets keep every sensor on the firmware's resolution grid.
            tq = _q(t, step)
            pcb = [tq, tq - 27.0, tq - 9.0, tq - 8.0]
            dq = _q(bs.chip_delta_c, step)
            chip = [x + dq for x in pcb]
            hw = (bs.hw0 + e * 3) if present and not sleeping else 0
            freq = 525 if present else 0
            boards.append(
                BoardState(
                    slot, present, bs.chips if present else 0, ghs, ghs5, bs.nominal_ghs, pcb, chip, hw, freq
                )
            )
        fans: list[int] = []
        for slot, base in enumerate(self.fan_rpm):
            rpm = base * (0.35 if sleeping else 1.0) * (1.0 + 0.04 * (rnd() - 0.5))
            fans.append(
                0 if self.fault == "dead_fan" and slot == self.dead_fan else int(_q(rpm, self.fan_step))
            )
        total = round(sum(b.ghs for b in boards), 2)
        nominal = round(sum(b.nominal_ghs for b in boards), 2)
        if sleeping:
            power = int(18 + 10 * rnd())
        else:
            power = int(
                round(self.spec.watts * (total / (self.spec.ths * 1000.0)) * (1.0 + 0.02 * (rnd() - 0.5)))
            )
        pools = []
        for k, ps in enumerate(self.pool_specs):
            acc = ps.accepted0 + (e * ps.rate if ps.active and not sleeping else 0)
            rej = (ps.accepted0 // 400 + e // 9) if ps.active else 0
            stale = (ps.accepted0 // 3000) if ps.active else 0
            pools.append(PoolState(k, ps.url, ps.user, ps.alive, ps.active, acc, rej, stale))
        avg = round(nominal * self.avg_ratio, 2)
        return Snapshot(
            epoch=e,
            elapsed=elapsed,
            when=self.boot_when + elapsed,
            sleeping=sleeping,
            boards=boards,
            fans=fans,
            power_w=power,
            pools=pools,
            ghs=total,
            ghs_5s=round(sum(b.ghs_5s for b in boards), 2),
            ghs_avg=avg,
            expected_ghs=nominal,
            env_c=env,
            hw=sum(b.hw for b in boards),
        )

    def truth(self) -> dict[str, Any]:
        """What a correct parser must extract from this miner now, in the ``poll --json`` shape."""
        return personality_of(self.firmware).truth(self, self.snapshot())

    # Convenience views of the current poll's state.
    @property
    def boards(self) -> list[BoardState]:
        return self.snapshot().boards

    @property
    def fans(self) -> list[int]:
        return self.snapshot().fans

    @property
    def temps(self) -> list[tuple[float, float]]:
        return [(max(b.pcb), max(b.chip)) for b in self.snapshot().boards]

    @property
    def pools(self) -> list[PoolState]:
        return self.snapshot().pools

    @property
    def uptime_s(self) -> int:
        return self.snapshot().elapsed

    @property
    def power_w(self) -> int:
        return self.snapshot().power_w

    @property
    def hashrate_ths(self) -> float:
        return self.snapshot().ghs / 1000.0

    @property
    def efficiency_jth(self) -> float | None:
        snap = self.snapshot()
        return round(snap.power_w / (snap.ghs / 1000.0), 2) if snap.ghs else None
