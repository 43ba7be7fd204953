"""Braiins OS+ 25.07+: the legacy RPC on 4028 plus the public REST API on port 80 (``/api/v1``, token login
``POST /api/v1/auth/login``, header ``authorization``). Default login root/root.

Each unit runs 25.07 or 25.11. As captured on both: ``miner/stats`` carries averages beside ``last_1m``
(``last_15m``, ``last_1h``, ``since_restart``: the pre-scaling rate on a unit the tuner scaled back), the tuner's
active ``current_target`` may sit below the operator's ``profile.target``, ``miner/errors`` is a history (entries
from before this BOSminer run, and one from this run on a unit with a dead fan), an idle pool's
``last_share_time`` is null, hashboard frequency is in Hz, and every reply carries the miner's clock in ``Date``.
25.11 adds ``GET /api/v1/network``; 25.07 answers it 404."""

from __future__ import annotations

from datetime import UTC
from email.utils import formatdate

from .. import http as h
from .. import noise as n
from ..miner import SimMiner, Snapshot
from . import register
from ._web import RestBeside, token
from .braiins import Braiins


def _gh(x: float) -> dict[str, float]:
    return {"gigahash_per_second": x}


RELEASES = ("2025-08-06-0-3881c51d-25.07-plus", "2025-11-21-0-eb658dcd-25.11-plus")
_OLD_ERROR: dict[str, object] = {"components": [], "error_codes": [], "message": 'Failed to resolve ("mine.ocean.xyz", 3334)',
              "timestamp": "2015-01-01T00:00:12.000000Z"}


def _iso(epoch: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def errors(m: SimMiner, snap: Snapshot) -> list[dict[str, object]]:
    """The history: two entries from before this run; a dead fan adds one from this run (a current error)."""
    start = snap.when - snap.elapsed
    out: list[dict[str, object]] = [_OLD_ERROR, {"components": [], "error_codes": [{"code": "H2", "hint": "", "reason": "Hashboard stopped sending hashes"}],
                        "message": "Tuner error: Stage 4", "timestamp": _iso(start - 86400 * 40)}]
    if m.fault == "dead_fan":
        out.append({"components": [], "error_codes": [{"code": "F1", "hint": "", "reason": "Fan failure"}],
                    "message": f"Fan {m.dead_fan} stopped", "timestamp": _iso(start + 30)})
    return out


def current_errors(m: SimMiner) -> int:
    return 1 if m.fault == "dead_fan" else 0


def rest(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    body = _rest(m, snap, req)
    head, sep, rest_ = body.partition(b"\r\n")
    return head + sep + f"Date: {formatdate(snap.when, usegmt=True)}\r\n".encode() + rest_


def _rest(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
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
        scaled = m.extra["scaled"]
        return h.response(200, {
            "miner_stats": {"nominal_hashrate": _gh(snap.expected_ghs),
                            "real_hashrate": {"last_5s": _gh(snap.ghs_5s), "last_1m": _gh(snap.ghs),
                                              # averages: before the tuner scaled the unit back they ran higher
                                              "last_15m": _gh(snap.ghs * (1.1 if scaled else 1.0)),
                                              "last_1h": _gh(snap.ghs * (1.17 if scaled else 1.0)),
                                              "since_restart": _gh(snap.ghs_avg * (1.2 if scaled else 1.0))}},
            "pool_stats": {"accepted_shares": snap.accepted, "rejected_shares": snap.rejected},
            "power_stats": {"approximated_consumption": {"watt": snap.power_w}}})
    if p == "/api/v1/miner/hw/hashboards":
        return h.response(200, {"hashboards": [
            {"id": str(b.slot + 1), "enabled": True, "chips_count": b.chips, "board_temp": {"degree_c": max(b.pcb)},
             "current_frequency": {"hertz": b.freq * 1e6},
             "highest_chip_temp": {"temperature": {"degree_c": max(b.chip)}},
             "stats": {"real_hashrate": {"last_1m": _gh(b.ghs), "last_5s": _gh(b.ghs_5s)}}} for b in snap.boards]})
    if p == "/api/v1/cooling/state":
        return h.response(200, {"fans": [{"position": k, "rpm": rpm} for k, rpm in enumerate(snap.fans)]})
    if p == "/api/v1/pools":
        return h.response(200, [{"name": "default", "pools": [
            {"url": q.url, "user": q.user, "enabled": True, "alive": q.alive, "active": q.active,
             "stats": {"accepted_shares": q.accepted, "rejected_shares": q.rejected, "stale_shares": q.stale,
                       "last_share_time": {"seconds": snap.when - 2} if q.active else None}}
            for q in snap.pools]}])
    if p == "/api/v1/miner/errors":
        return h.response(200, {"errors": errors(m, snap)})
    if p == "/api/v1/miner/details":
        return h.response(200, {"miner_identity": {"miner_model": f"Antminer {m.model}"}, "mac_address": m.mac.lower(),
                                "serial_number": m.serial, "hostname": m.hostname,
                                "bos_version": {"current": m.extra["release"]},
                                "bosminer_uptime_s": snap.elapsed,
                                "status": "MINER_STATUS_PAUSED" if snap.sleeping else "MINER_STATUS_NORMAL"})
    if p == "/api/v1/performance/tuner-state":
        active = int(m.extra["limit"] * 0.8) if m.extra["scaled"] else m.extra["limit"]
        return h.response(200, {"mode_state": {"powertargetmodestate": {
            "current_target": {"watt": active}, "profile": {"target": {"watt": m.extra["limit"]}}}},
            "overall_tuner_state": 2})
    if p == "/api/v1/network" and m.extra["release"].endswith("25.11-plus"):
        return h.response(200, {"name": "eth0", "mac_address": m.mac.lower(), "hostname": m.hostname,
                                "networks": [{"address": m.ip, "netmask": "255.0.0.0"}]})
    return h.response(404, {"message": "not found"})


@register
class BraiinsRest(RestBeside, Braiins):
    name = "braiins_rest"
    driver = "braiins"

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        u = n.unit(miner.seed, miner.index, n.CH_VARIANT)
        miner.extra["release"] = RELEASES[int(u * len(RELEASES))]
        miner.extra["scaled"] = u > 0.7  # the tuner scaled this unit back (dynamic power scaling)

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        return rest(miner, snap, req)
