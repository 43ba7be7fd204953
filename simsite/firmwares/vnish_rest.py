"""VNish with its REST API on port 80 (``POST /api/v1/unlock {"pw"}`` -> token; ``/api/v1/summary``,
``/api/v1/info``) next to the bmminer-style RPC on 4028. Default password admin."""

from __future__ import annotations

from .. import http as h
from ..miner import SimMiner, Snapshot
from . import register
from ._web import RestBeside, token
from .vnish import VNish


def rest(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.method == "POST" and req.path == "/api/v1/unlock":
        if (req.json() or {}).get("pw") == "admin":
            return h.response(200, {"token": token(m, "vnish")})
        return h.response(401, {"err": "wrong password"})
    if req.method == "GET" and req.path == "/":
        return h.response(200, "<html><title>AnthillOS</title></html>", content_type="text/html")
    if req.method != "GET":
        return h.response(405, {"err": "method"})
    if req.headers.get("authorization") != token(m, "vnish"):
        return h.response(401, {"err": "unauthorized"})
    if req.path == "/api/v1/info":
        return h.response(200, {"model": f"Antminer {m.model}", "fw_name": "Vnish", "fw_version": m.extra["vnish"],
                                "serial": m.serial,
                                "system": {"network_status": {"mac": m.mac, "hostname": m.hostname}}})
    if req.path == "/api/v1/summary":
        miner = {
            "miner_status": {"miner_state": "stopped" if snap.sleeping else "mining"},
            "hr_realtime": snap.ghs, "hr_average": snap.ghs_avg, "hr_nominal": snap.expected_ghs,
            "power_consumption": snap.power_w, "uptime": snap.elapsed,
            "chains": [{"id": b.slot + 1, "hashrate_rt": b.ghs, "chips": b.chips,
                        "pcb_temp": {"min": min(b.pcb), "max": max(b.pcb)},
                        "chip_temp": {"min": min(b.chip), "max": max(b.chip)}} for b in snap.boards],
            "cooling": {"fans": [{"id": k, "rpm": rpm} for k, rpm in enumerate(snap.fans)]},
            "pools": [{"id": p.index, "url": p.url, "user": p.user, "status": "active" if p.active else
                       "working" if p.alive else "offline", "accepted": p.accepted, "rejected": p.rejected,
                       "stale": p.stale} for p in snap.pools],
        }
        return h.response(200, {"miner": miner})
    return h.response(404, {"err": "not found"})


@register
class VNishRest(RestBeside, VNish):
    name = "vnish_rest"
    driver = "vnish"

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        return rest(miner, snap, req)
