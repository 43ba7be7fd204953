"""A cgminer 4.10 miner of a vendor farmwatch has no driver for (shaped like a MinerVa, with chains named "AX"
rather than MinerVa's "C12": one STATS entry per hash chain with ``Chip Count``, ``MHS 1m``, ``Temp Avg`` and the two fans repeated on every chain; no model anywhere),
read by the generic cgminer reader. Sleep is not a state this firmware reports: a paused unit prints zeros."""

from __future__ import annotations

from typing import Any, ClassVar

from ..cgminer import Firmware, Handler
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import pool_truth, pools, section
from ._web import add_models

add_models(ModelSpec("AX1", "Acme", 4, 102, 2, 90.0, 3300.0))


def summary(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 11, "Summary", "SUMMARY", [{
        "Elapsed": snap.elapsed, "MHS av": snap.ghs_avg * 1000.0, "MHS 5s": snap.ghs_5s * 1000.0,
        "MHS 1m": snap.ghs * 1000.0, "Accepted": snap.accepted, "Rejected": snap.rejected,
        "Hardware Errors": snap.hw, "Device Rejected%": 26.89, "Netid": m.mac.replace(":", "")}])


def stats(m: SimMiner, snap: Snapshot) -> str:
    entries: list[dict[str, Any]] = []
    for b in snap.boards:
        entries.append({
            "STATS": b.slot, "ID": f"{m.extra['chain']}{b.slot}", "Elapsed": snap.elapsed, "Chain ID": str(b.slot + 1),
            "Name": m.extra["chain"], "Enabled": "Y", "Status": "Alive" if b.present else "Dead",
            "MHS av": b.nominal_ghs * 1000.0 if b.present else 0.0, "MHS 5s": b.ghs_5s * 1000.0,
            "MHS 1m": b.ghs * 1000.0, "Chip Count": b.chips, "Temp Avg": max(b.pcb) if b.present else 0.0,
            "Fan Duty": 32.19, **{f"Fan{k} Speed": rpm for k, rpm in enumerate(snap.fans)}})
    entries.append({"STATS": len(entries), "ID": "POOL0", "Elapsed": snap.elapsed, "Pool Calls": 0})
    return section(m, snap, 70, "CGMiner stats", "STATS", entries)


def version(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 22, "CGMiner versions", "VERSION", [{"CGMiner": "4.10.0", "API": "3.7"}])


@register
class GenericCgminer(Firmware):
    name = "cgminer"
    models: ClassVar[dict[str, float]] = {"AX1": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "stats": stats, "pools": pools, "version": version}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "cgminer 4.10.0"
        miner.extra["chain"] = "AX"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused, "make": None, "model": None, "expected_hashrate_ths": None,
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(b.ghs / 1000.0, 8),
                        "temp_c": max(b.pcb) if b.present else None, "chip_temp_c": None} for b in snap.boards],
            "pools": pool_truth(snap),
        }


add_models(ModelSpec("MinerVa MV8", "MinerVa", 4, 102, 2, 90.0, 3300.0))


@register
class MinerVa(GenericCgminer):
    """MinerVa MV8: the same cgminer 4.10 replies, its chains named "C12" (which is how it is identified) and its
    MAC in the summary's ``Netid``."""

    name = "minerva"
    models: ClassVar[dict[str, float]] = {"MinerVa MV8": 1.0}

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        miner.extra["chain"] = "C12"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        out = super().truth_hooks(miner, snap)
        del out["make"], out["model"]
        out["mac"] = miner.mac
        return out
