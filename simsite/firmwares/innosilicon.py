"""Innosilicon A9 ZMaster on "innominer a9-1.1.0": cgminer replies whose ``MHS`` figures are Sol/s (Equihash),
chains ``HLTn`` with ``Num chips``, ``Temp``, ``Temp max`` and a per-chain ``MHS av`` in yet another unit; fans
only as ``Fan duty`` (%). The simulated rate is kept in Sol/s: the model's nameplate is written as 51.45 "TH/s"
so that the fleet's per-board GH/s figures are Sol/s here (51,450 Sol/s for the whole machine)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..cgminer import Firmware, Handler
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import pool_truth, pools, section
from ._web import add_models

add_models(ModelSpec("Innosilicon A9", "Innosilicon", 3, 12, 2, 51.45, 620.0))
SOL_TO_THS = 1e-12


def summary(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 11, "Summary", "SUMMARY", [{
        "Elapsed": snap.elapsed, "MHS av": snap.ghs_avg, "MHS 5s": snap.ghs_5s, "MHS 1m": snap.ghs,
        "Accepted": snap.accepted, "Rejected": snap.rejected, "Device Hardware%": 1584.0,
        "Pool Rejected%": 1584.0, "Difficulty Accepted": 15.84}])


def stats(m: SimMiner, snap: Snapshot) -> str:
    entries: list[dict[str, Any]] = []
    for b in snap.boards:
        live = b.present and not snap.sleeping
        entries.append({
            "STATS": b.slot, "ID": f"HLT{b.slot}", "Elapsed": snap.elapsed, "Chain ID": b.slot,
            "Num chips": b.chips, "Num cores": b.chips * 32, "Num active chips": b.chips,
            "Temp max": max(b.chip) if live else 0.0, "Temp min": min(b.pcb) if live else 0.0,
            "Temp": max(b.pcb) if live else 0.0, "Fan duty": 35, "MHS av": b.nominal_ghs * 57.8,
            "Enabled chips": "fff" if b.present else "0"})
    entries.append({"STATS": len(entries), "ID": "POOL0", "Elapsed": snap.elapsed})
    return section(m, snap, 70, "CGMiner stats", "STATS", entries)


@register
class Innosilicon(Firmware):
    name = "innosilicon"
    models: ClassVar[dict[str, float]] = {"Innosilicon A9": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "stats": stats, "pools": pools}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "innominer a9-1.1.0"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused, "hashrate_ths": round(snap.ghs * SOL_TO_THS, 20), "expected_hashrate_ths": 50e3 * SOL_TO_THS,
            "fans_rpm": [], "pools": pool_truth(snap),
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": None,
                        "temp_c": max(b.pcb) if b.present and not snap.sleeping else None,
                        "chip_temp_c": max(b.chip) if b.present and not snap.sleeping else None}
                       for b in snap.boards],
        }
