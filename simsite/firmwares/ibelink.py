"""iBeLink BM-N1Max (Eaglesong) on cgminer 5.4.8: one PGA in ``devs`` per hash board (``Name`` is the model,
``Asics`` the chips, ``Temperature`` always 0.00, ``Active`` a uint64 mask above 2^63-1), board temperatures
``Temp1..`` and PWM values in the summary, no RPM and no model anywhere else (version names only cgminer)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..cgminer import Firmware, Handler
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import pool_truth, pools, section
from ._web import add_models

add_models(ModelSpec("iBeLink BM-N1Max", "iBeLink", 3, 144, 2, 12.0, 2300.0))


def summary(m: SimMiner, snap: Snapshot) -> str:
    body: dict[str, Any] = {"Elapsed": snap.elapsed, "MHS av": snap.ghs_avg * 1000.0, "MHS 5s": snap.ghs_5s * 1000.0,
                            "Accepted": snap.accepted, "Rejected": snap.rejected, "Pool Rejected%": 99.48}
    for k in range(8):
        b = snap.boards[k] if k < len(snap.boards) else None
        body[f"Temp{k + 1}"] = max(b.pcb) if b is not None and b.present and not snap.sleeping else 0.0
    body.update({"PWM": 2520, "PWM1": 2520, "PWM2": 2490, "PWM3": 2460, "Power Type": "QianBen3600",
                 "macaddress": m.mac.replace(":", "").lower()})
    return section(m, snap, 11, "Summary", "SUMMARY", [body])


def devs(m: SimMiner, snap: Snapshot) -> str:
    entries = [{"PGA": b.slot, "ActiveStr": "aca65b300108ec42", "Active": 12440731282391493698,
                "Version": "cgminer 5.4.8", "Asics": b.chips, "Temperature": 0.0, "Name": "BM-N1Max",
                "ID": b.slot, "Enabled": "Y", "Status": "Alive" if b.present else "Dead",
                "MHS av": b.nominal_ghs * 1000.0, "MHS 5s": b.ghs_5s * 1000.0,
                "Chain SN": f"{m.serial}{b.slot}"} for b in snap.boards]
    return section(m, snap, 9, f" - {len(entries)} PGA(s) - ", "DEVS", entries)


def version(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 22, "CGMiner versions", "VERSION", [{"CGMiner": "5.4.8", "API": "3.7"}])


@register
class IBeLink(Firmware):
    name = "ibelink"
    models: ClassVar[dict[str, float]] = {"iBeLink BM-N1Max": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "devs": devs, "pools": pools, "version": version}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "cgminer 5.4.8"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused, "mac": miner.mac, "hashrate_ths": round(snap.ghs_5s / 1000.0, 8),
            "expected_hashrate_ths": None, "fans_rpm": [], "pools": pool_truth(snap),
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(b.ghs_5s / 1000.0, 8),
                        "temp_c": max(b.pcb) if b.present and not snap.sleeping else None, "chip_temp_c": None}
                       for b in snap.boards],
        }
