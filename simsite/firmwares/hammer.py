"""Hammer D10 (Scrypt) on "ccminer 2.3.3": bmminer-style stats whose ``temp1``..``temp4`` keys are each printed
four times in one object (board, chip, board, chip sensors), rates in MH/s as strings. The simulated rate is
kept in MH/s: the model's nameplate is written as 5.0 "TH/s" so that the fleet's GH/s figures are MH/s here
(5,000 MH/s = 5 GH/s of Scrypt for the whole machine)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ..cgminer import Firmware, Handler, reply
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import pool_truth, pools, section
from ._web import add_models

add_models(ModelSpec("Hammer D10", "Hammer", 3, 108, 4, 5.0, 3400.0))
MH_TO_THS = 1e-6
_HEAD = {"CGMiner": "2.3.3", "Miner": "2.0.2.2", "CompileTime": "2023-05-28 17-20-35 CST", "Type": "Hammer D10"}


def summary(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 11, "Summary", "SUMMARY", [{
        "Elapsed": snap.elapsed, "MHS 5s": f"{snap.ghs_5s:.4f}", "MHS av": f"{snap.ghs_avg:.4f}",
        "Accepted": f"{snap.accepted:.4f}", "Rejected": f"{snap.accepted:.4f}"}])


def stats(m: SimMiner, snap: Snapshot) -> str:
    pairs: list[tuple[str, Any]] = [("STATS", 0), ("ID", "A30"), ("Elapsed", snap.elapsed),
                                    ("MHS 5s", f"{snap.ghs_5s:.4f}"), ("MHS av", f"{snap.ghs_avg:.4f}"),
                                    ("fan_num", len(snap.fans))]
    pairs += [(f"fan{k + 1}", rpm) for k, rpm in enumerate(snap.fans)]
    pairs.append(("temp_num", 12))
    for slot in range(4):
        b = snap.boards[slot] if slot < len(snap.boards) else None
        live = b is not None and b.present and not snap.sleeping
        values = [b.pcb[0], b.chip[0], b.pcb[2], b.chip[2]] if live and b is not None else [0, 0, 0, 0]
        pairs += [(f"temp{slot + 1}", int(v)) for v in values]  # the same key four times, as the firmware does
    for slot in range(4):
        b = snap.boards[slot] if slot < len(snap.boards) else None
        pairs.append((f"chain_acn{slot + 1}", b.chips if b is not None else 0))
        rate = f"{b.ghs_5s:.4f}" if b is not None and b.present and not snap.sleeping else ""
        pairs.append((f"chain_rate{slot + 1}", rate))
    body = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"
    return reply(m.extra["desc"], snap.when, 70, "CGMiner stats", "STATS", f"[{json.dumps(_HEAD)},{body}]")


def version(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 22, "CGMiner versions", "VERSION", [{**_HEAD, "API": "3.1"}])


@register
class Hammer(Firmware):
    name = "hammer"
    models: ClassVar[dict[str, float]] = {"Hammer D10": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "stats": stats, "pools": pools, "version": version}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "ccminer 2.3.3"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        boards = []
        for b in snap.boards:
            live = b.present and not snap.sleeping
            boards.append({"index": b.slot, "chips": b.chips,
                           "hashrate_ths": round(b.ghs_5s * MH_TO_THS, 12) if live else None,
                           "temp_c": float(int(max(b.pcb[0], b.pcb[2]))) if live else None,
                           "chip_temp_c": float(int(max(b.chip[0], b.chip[2]))) if live else None})
        return {**paused, "hashrate_ths": round(snap.ghs_5s * MH_TO_THS, 12), "expected_hashrate_ths": None,
                "boards": boards, "pools": pool_truth(snap)}
