"""Bitfury B8 on OpenMiner 1.3.7: ``POST /api/login`` {email, password} -> {token}; ``GET
/api/om/miner/stat/agg`` with the bearer token answers everything (slots keyed by index as strings, GH/s
strings, the 30-second window, the PSUs' measured watts). A paused unit powers its boards down: ``slots`` is an
empty list and ``psuW`` "0.0"."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import Route, WebFirmware, add_models, token

add_models(ModelSpec("Bitfury B8", "Bitfury", 6, 96, 6, 49.0, 6400.0))


def login(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    body = req.json()
    if not isinstance(body, dict) or not body.get("password"):
        return h.response(401, {"error": "credentials"})
    return h.response(200, {"token": token(m, "om")})


def agg(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.headers.get("authorization") != f"Bearer {token(m, 'om')}":
        return h.response(401, {"error": "token"})
    slots: Any = [] if snap.sleeping else {
        str(b.slot): {"ghs": f"{b.ghs:.1f}", "chips": b.chips, "temperature": int(max(b.pcb)) if b.present else 0,
                      "pwrOn": 1 if b.present else 0, "errorRate": "1.0", "errors": str(b.hw)}
        for b in snap.boards}
    p = next((p for p in snap.pools if p.active), snap.pools[0])
    host, _, port = p.url.split("//", 1)[-1].rpartition(":")
    body = {
        "pwr": {"state": "INITIAL_POWER" if snap.sleeping else "FULL_PWER", "powerOn": 0 if snap.sleeping else 1},
        "fansRpm": snap.fans, "mac": m.mac.lower(), "hostname": m.hostname, "slots": slots,
        "pool": {"userName": p.user, "host": host, "port": port, "intervals": {"0": {
            "sharesAccepted": p.accepted, "sharesRejected": p.rejected, "staleJobShares": p.stale}}},
        "versions": {"softwareVersion": "1.3.7", "miner": "v8.16.66"},
        "master": {"upTime": snap.elapsed, "boards": 0 if snap.sleeping else len(snap.boards),
                   "psuW": "0.0" if snap.sleeping else f"{snap.power_w:.1f}",
                   "intervals": {"30": {"bySol": "0.0" if snap.sleeping else f"{sum(round(b.ghs, 1) for b in snap.boards):.1f}"},
                                 "0": {"bySol": f"{snap.ghs_avg:.1f}"}}},
    }
    return h.response(200, body)


@register
class Bitfury(WebFirmware):
    name = "bitfury"
    models: ClassVar[dict[str, float]] = {"Bitfury B8": 1.0}
    page = "<html><head><title>Bitfury OpenMiner</title></head><body></body></html>"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("POST", "/api/login"): login, ("GET", "/api/om/miner/stat/agg"): agg}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        p = next((p for p in snap.pools if p.active), snap.pools[0])
        pool = [{"url": p.url, "user": p.user, "status": "unknown", "accepted": p.accepted, "rejected": p.rejected,
                 "stale": p.stale}]
        if snap.sleeping:
            return {"state": "not_hashing", "hashrate_ths": 0.0, "boards": [], "power_source": None,
                    "mac": miner.mac, "hostname": miner.hostname, "pools": pool, "expected_hashrate_ths": None}
        return {
            "mac": miner.mac, "hostname": miner.hostname, "power_source": "reported", "pools": pool,
            "hashrate_ths": round(sum(round(b.ghs, 1) for b in snap.boards) / 1000.0, 8),
            "expected_hashrate_ths": 49.0,
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(round(b.ghs, 1) / 1000.0, 8),
                        "temp_c": float(int(max(b.pcb))) if b.present else None, "chip_temp_c": None}
                       for b in snap.boards],
        }
