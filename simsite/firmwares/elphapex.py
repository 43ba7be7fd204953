"""Elphapex DG1+ (Scrypt): Bitmain-derived web CGI on port 80 behind HTTP Digest (realm "Daoge",
root/root). ``stats.cgi`` in MH/s with per-chain ``rate_real`` (average) and ``hashrate``
(current), milli-degree chip temperatures as strings with "" for absent sensors, fans as strings;
``pools.cgi`` lower-case keys with "Alive"/"Unreachable" and no active flag. The simulated rate is kept in MH/s:
the nameplate is written as 14.0 "TH/s" so that the fleet's GH/s figures are MH/s here (14 GH/s of Scrypt)."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import WebFirmware, add_models, bitmain_cgi, bitmain_pools

add_models(ModelSpec("Elphapex DG1+", "Elphapex", 4, 204, 4, 14.0, 3950.0))
REALM = "Daoge"  # the realm real units send begins "Daoge" (pyasic identifies Elphapex by it)
MH_TO_THS = 1e-6


def _chip(values: list[float], live: bool) -> list[str]:
    return [str(int(v * 1000)) for v in values[:2]] + ["", ""] if live else ["", "", "", ""]


def cgi(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    def stats() -> dict[str, Any]:
        chains = []
        for b in snap.boards:
            live = b.present and not snap.sleeping
            chains.append({"index": b.slot, "rate_real": b.nominal_ghs if live else 0, "hashrate": b.ghs_5s,
                           "asic_num": b.chips, "temp_pcb": [int(t) for t in b.pcb] if live else [0, 0, 0, 0],
                           "temp_chip": _chip(b.chip, live)})
        return {"STATUS": {"STATUS": "S"}, "INFO": {"type": "DG1+", "miner_version": "DG1+_SW_V1.0.2"},
                "STATS": [{"elapsed": snap.elapsed, "rate_5s": snap.ghs_5s, "rate_avg": snap.ghs_avg,
                           "rate_30m": 0, "rate_ideal": snap.expected_ghs, "rate_unit": "MH/s",
                           "fan": [str(f) for f in snap.fans], "chain": chains}]}

    return bitmain_cgi(m, req, REALM, {
        "/cgi-bin/get_system_info.cgi": lambda: {
            "minertype": "DG1+", "Algorithm": "Scrypt", "macaddr": m.mac, "hostname": m.hostname,
            "system_filesystem_version": "DG1+_SW_V1.0.2", "firmware_type": "Release"},
        "/cgi-bin/stats.cgi": stats,
        "/cgi-bin/summary.cgi": lambda: {"STATUS": {"STATUS": "S"}, "SUMMARY": [{"rate_5s": snap.ghs_5s, "status": [
            {"type": t, "status": "s", "code": 0, "msg": ""} for t in ("rate", "network", "fans", "temp")]}]},
        "/cgi-bin/pools.cgi": lambda: bitmain_pools(snap, "Unreachable"),
    })


@register
class Elphapex(WebFirmware):
    name = "elphapex"
    models: ClassVar[dict[str, float]] = {"Elphapex DG1+": 1.0}

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        if not h.is_http(raw):
            return None
        req = h.parse(raw)
        return cgi(miner, snap, req) if req is not None else h.response(400, "bad", content_type="text/plain")

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        boards = []
        for b in snap.boards:
            live = b.present and not snap.sleeping
            boards.append({"index": b.slot, "chips": b.chips,
                           "hashrate_ths": round(b.ghs_5s * MH_TO_THS, 12) if b.present else None,
                           "temp_c": float(int(max(b.pcb))) if live else None,
                           "chip_temp_c": float(int(max(b.chip[:2]) * 1000)) / 1000 if live else None})
        return {**paused, "mac": miner.mac, "hostname": miner.hostname,
                "hashrate_ths": round(snap.ghs_5s * MH_TO_THS, 12),
                "expected_hashrate_ths": round(snap.expected_ghs * MH_TO_THS, 12), "boards": boards,
                "pools": [{"url": p.url, "user": p.user, "status": "alive" if p.alive else "dead",
                           "accepted": p.accepted, "rejected": p.rejected, "stale": p.stale} for p in snap.pools]}
