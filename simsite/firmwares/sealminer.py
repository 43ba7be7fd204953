"""Sealminer A2 on bdminer 4.11: ``stats`` is one flat object with numbered keys (``N Chip Count``,
``N MHS(Sample)``, ``N Temp 0..3``, ``N Speed``), the PSU's measured ``PSU Input Power``, ``MHS(1m)`` and
``MHS(Ideal)``; the summary's ``MHS 5s`` runs far above the machine's rating (a firmware quirk: never current).
The web UI (``POST /cgi-bin/login.php`` -> cookie; ``GET /cgi-bin/get_system_info.php``) carries the serial."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..cgminer import Firmware, Handler
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import pool_truth, pools, section
from ._web import add_models, token

add_models(ModelSpec("Sealminer A2", "Sealminer", 3, 153, 4, 226.0, 3500.0))


def summary(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 11, "Summary", "SUMMARY", [{
        "Elapsed": snap.elapsed, "MHS av": snap.ghs_avg * 1000.0, "MHS 5s": snap.ghs_5s * 1670.0,
        "MHS 1m": snap.ghs * 990.0, "Accepted": snap.accepted + 1099, "Rejected": snap.rejected}])


def stats(m: SimMiner, snap: Snapshot) -> str:
    data: dict[str, Any] = {
        "STATS": 0, "ID": "A20", "Elapsed": snap.elapsed, "Model": "A2", "ASIC": "Seal02-V1",
        "Firmware": "2025091001", "MAC": m.mac.lower(), "Ctrl Board SN": m.serial, "PM State": "Running",
        "Chip Count": sum(b.chips for b in snap.boards), "MHS(Rated)": snap.expected_ghs * 1041.0,
        "Power Limit": 3500, "MHS(Ideal)": snap.expected_ghs * 1000.0, "MHS(Sample)": snap.ghs_5s * 1000.0,
        "MHS(1m)": snap.ghs * 1000.0, "MHS(Avg)": snap.ghs_avg * 1000.0, "PSU Input Power": snap.power_w,
        "PSU Fan Speed": 4408, "Fan Count": len(snap.fans), "Board Count": len(snap.boards),
    }
    for k, rpm in enumerate(snap.fans):
        data[f"{k} PWM"], data[f"{k} Speed"] = 112, rpm
    for b in snap.boards:
        n = b.slot
        data[f"{n} Online"] = b.present
        data[f"{n} Chip Count"] = b.chips
        data[f"{n} MHS(Sample)"] = b.ghs * 1000.0
        for k in range(4):
            data[f"{n} Temp {k}"] = b.pcb[k] if b.present else 0
    return section(m, snap, 70, "BDMiner stats", "STATS", [data])


def version(m: SimMiner, snap: Snapshot) -> str:
    return section(m, snap, 22, "BDMiner versions", "VERSION", [{"BDMiner": "4.11.1", "API": "3.7"}])


@register
class Sealminer(Firmware):
    name = "sealminer"
    models: ClassVar[dict[str, float]] = {"Sealminer A2": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "stats": stats, "pools": pools, "version": version}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "bdminer 4.11.1"

    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return (80,)

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        req = h.parse(raw) if h.is_http(raw) else None
        if req is None:
            return None
        session = token(miner, "sess")
        if req.method == "POST" and req.path == "/cgi-bin/login.php":
            return h.response(200, {"status": "ok"}, headers={"Set-Cookie": f"PHPSESSID={session}; path=/"})
        if req.method == "GET" and req.path == "/cgi-bin/get_system_info.php":
            if req.cookies.get("PHPSESSID") != session:
                return h.response(200, {"status": "login"})
            return h.response(200, {"firmware_version": "2025091001", "miner_type": "A2", "brand": "Sealminer",
                                    "macaddr": miner.mac.lower(), "crtl_sn": miner.serial, "ratedHashrate": 0})
        if req.method == "GET" and req.path == "/":
            return h.response(200, "<html><head><title>Miner</title></head></html>", content_type="text/html")
        return h.response(404, "not found", content_type="text/plain")

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused, "mac": miner.mac, "serial": miner.serial, "power_source": "reported",
            "pools": pool_truth(snap),
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(b.ghs / 1000.0, 8) if b.present
                        else None, "temp_c": max(b.pcb) if b.present else None, "chip_temp_c": None}
                       for b in snap.boards],
        }
