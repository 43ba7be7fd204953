"""Braiins OS+ 25.07+: the legacy RPC on 4028 plus the public REST API on port 80 (``/api/v1``, token login
``POST /api/v1/auth/login``, header ``authorization``). Default login root/root."""

from __future__ import annotations

from .. import http as h
from ..miner import SimMiner, Snapshot
from . import register
from ._web import RestBeside, token
from .braiins import Braiins


def _gh(x: float) -> dict[str, float]:
    return {"gigahash_per_second": x}


def rest(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.method == "POST" and req.path == "/api/v1/auth/login":
        body = req.json() or {}
        if body.get("username") == "root" and body.get("password") == "root":
            return h.response(200, {"token": token(m, "bos"), "timeout_s": 3600})
        return h.response(401, {"message": "invalid credentials"})
    if req.method == "GET" and req.path == "/":
        return h.response(200, "<html><title>Braiins OS</title></html>", content_type="text/html")
    if req.method != "GET":
        return h.response(405, {"message": "method"})
    if req.headers.get("authorization") != token(m, "bos"):
        return h.response(401, {"message": "unauthorized"})
    p = req.path.rstrip("/")
    if p == "/api/v1/miner/stats":
        return h.response(200, {
            "miner_stats": {"nominal_hashrate": _gh(snap.expected_ghs),
                            "real_hashrate": {"last_5s": _gh(snap.ghs_5s), "last_1m": _gh(snap.ghs)}},
            "pool_stats": {"accepted_shares": snap.accepted, "rejected_shares": snap.rejected},
            "power_stats": {"approximated_consumption": {"watt": snap.power_w}}})
    if p == "/api/v1/miner/hw/hashboards":
        return h.response(200, {"hashboards": [
            {"id": str(b.slot + 1), "enabled": True, "chips_count": b.chips, "board_temp": {"degree_c": max(b.pcb)},
             "highest_chip_temp": {"temperature": {"degree_c": max(b.chip)}},
             "stats": {"real_hashrate": {"last_1m": _gh(b.ghs), "last_5s": _gh(b.ghs_5s)}}} for b in snap.boards]})
    if p == "/api/v1/cooling/state":
        return h.response(200, {"fans": [{"position": k, "rpm": rpm} for k, rpm in enumerate(snap.fans)]})
    if p == "/api/v1/pools":
        return h.response(200, [{"name": "default", "pools": [
            {"url": q.url, "user": q.user, "enabled": True, "alive": q.alive, "active": q.active,
             "stats": {"accepted_shares": q.accepted, "rejected_shares": q.rejected, "stale_shares": q.stale}}
            for q in snap.pools]}])
    if p == "/api/v1/miner/errors":
        return h.response(200, {"errors": []})
    if p == "/api/v1/miner/details":
        return h.response(200, {"miner_identity": {"miner_model": f"Antminer {m.model}"}, "mac_address": m.mac.lower(),
                                "serial_number": m.serial, "hostname": m.hostname,
                                "bos_version": {"current": "2025-08-06-0-3881c51d-25.07-plus"},
                                "bosminer_uptime_s": snap.elapsed,
                                "status": "MINER_STATUS_PAUSED" if snap.sleeping else "MINER_STATUS_NORMAL"})
    if p == "/api/v1/performance/tuner-state":
        return h.response(200, {"mode_state": {"powertargetmodestate": {"current_target": {"watt": m.extra["limit"]}}}})
    return h.response(404, {"message": "not found"})


@register
class BraiinsRest(RestBeside, Braiins):
    name = "braiins_rest"
    driver = "braiins"

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        return rest(miner, snap, req)
