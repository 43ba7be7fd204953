"""Ground truth in the farmwatch ``poll --json`` shape (docs/architecture.md), derived from what the firmware prints.

Rules: values are exactly those in the replies (after unit conversion to TH/s); a value the reply leaves empty or
reports as a placeholder (a missing board's ``""`` rate or ``0-0-0-0`` temperatures) is ``None``; a missing board
is present with ``chips: 0``; a dead fan stays ``0``; ``power_w`` is ``None`` where the RPC reports no power.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .miner import BoardState, SimMiner, Snapshot


class Firmware(Protocol):
    """What the generic truth reads of a personality (a :class:`simsite.cgminer.Firmware`, which imports this
    module: naming the class here would make the two import each other)."""

    @property
    def name(self) -> str: ...

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]: ...


def board(b: BoardState, temp: bool = True, chip_temp: bool = True) -> dict[str, Any]:
    if not b.present:
        return {"index": b.slot, "chips": 0, "hashrate_ths": None, "temp_c": None, "chip_temp_c": None}
    return {
        "index": b.slot,
        "chips": b.chips,
        "hashrate_ths": round(b.ghs / 1000.0, 8),
        "temp_c": max(b.pcb) if temp else None,
        "chip_temp_c": max(b.chip) if chip_temp else None,
    }


def pools(snap: Snapshot, stale: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "url": p.url,
            "user": p.user,
            "status": "alive" if p.alive else "dead",
            "accepted": p.accepted,
            "rejected": p.rejected,
            "stale": p.stale if stale else None,
        }
        for p in snap.pools
    ]


def state(snap: Snapshot, hashrate: float | None, expected: float | None) -> str:
    if snap.sleeping:
        return "sleeping"
    if not hashrate:
        return "not_hashing"
    if any(not b.present for b in snap.boards) or (expected and hashrate < 0.9 * expected):
        return "degraded"
    return "hashing"


def generic_truth(fw: Firmware, m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    hashrate = round(snap.ghs / 1000.0, 8)
    expected: float | None = round(snap.expected_ghs / 1000.0, 8)
    hooks = fw.truth_hooks(m, snap)
    expected = hooks.get("expected_hashrate_ths", expected)
    source = hooks.get("power_source")
    power = hooks.get("power_w", float(snap.power_w)) if source else None
    out: dict[str, Any] = {
        "device": f"{m.ip}:{m.port:d}",
        "driver": fw.name,
        "make": m.make,
        "model": m.model,
        "mac": None,
        "serial": None,
        "hostname": None,
        "state": state(snap, hashrate, expected),
        "hashrate_ths": hashrate,
        "expected_hashrate_ths": expected,
        "power_w": power,
        "power_source": source,
        "efficiency_jth": round(power / hashrate, 4) if power and hashrate else None,
        "fans_rpm": list(snap.fans),
        "boards": [board(b) for b in snap.boards],
        "pools": pools(snap),
        "uptime_s": snap.elapsed,
    }
    out.update({k: v for k, v in hooks.items() if k in out})
    return out
