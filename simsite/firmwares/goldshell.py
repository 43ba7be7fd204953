"""Goldshell (CK5): port 80, ``GET /user/login?...&cipher=false`` -> JWT; ``/mcb/cgminer?cgminercmd=devs``,
``/mcb/pools`` (bare array), ``/mcb/status`` with ``Authorization: Bearer``. Default password 123456789."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import Route, WebFirmware, add_models, token

add_models(ModelSpec("CK5", "Goldshell", 4, 36, 4, 12.0, 2400.0))
PASSWORD = "123456789"


def _authed(m: SimMiner, req: h.HttpRequest) -> bool:
    return req.headers.get("authorization") == f"Bearer {token(m, 'jwt')}"


def login(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.query.get("username") == "admin" and req.query.get("password") == PASSWORD:
        return h.response(200, {"JWT Token": token(m, "jwt"), "expiry": 3600})
    return h.response(200, {"error": "password"})


def cgminer(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if not _authed(m, req):
        return h.response(401, {"error": "token"})
    fans = " / ".join(f"{rpm} rpm" for rpm in snap.fans)
    data = [
        {"id": b.slot, "hashrate": b.ghs * 1000.0, "av_hashrate": b.nominal_ghs * 1000.0,
         "temp": f"{max(b.pcb):.1f} °C / {max(b.chip):.1f} °C", "fanspeed": fans,
         "accepted": snap.accepted // len(snap.boards), "rejected": snap.rejected // len(snap.boards),
         "hwerrors": b.hw, "minerstatus": 0, "time": snap.elapsed // 60}
        for b in snap.boards
    ]
    return h.response(200, {"status": 2, "data": data})


def pools(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if not _authed(m, req):
        return h.response(401, {"error": "token"})
    return h.response(200, [{"url": p.url, "user": p.user, "pass": "x", "active": p.active, "legal": p.alive,
                             "dragid": p.index, "pool-priority": p.index} for p in snap.pools])


def status(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if not _authed(m, req):
        return h.response(401, {"error": "token"})
    return h.response(200, {"model": f"Goldshell {m.model}", "firmware": "2.2.5", "mac": m.mac})


@register
class Goldshell(WebFirmware):
    name = "goldshell"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("/mcb/pools", "/mcb/status"))
    models: ClassVar[dict[str, float]] = {"CK5": 1.0}
    page = "<html><head><title>Goldshell Miner</title></head><body>cloud-box</body></html>"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("GET", "/user/login"): login, ("GET", "/mcb/cgminer"): cgminer, ("GET", "/mcb/pools"): pools,
                ("GET", "/mcb/status"): status}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        # No field of this firmware's API says "paused": a paused unit shows only that it is not hashing.
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused,
            "mac": miner.mac, "expected_hashrate_ths": None,
            "boards": [{"index": b.slot, "chips": None, "hashrate_ths": round(b.ghs / 1000.0, 8),
                        "temp_c": max(b.pcb), "chip_temp_c": None} for b in snap.boards],
            "pools": [{"url": p.url, "user": p.user, "status": "alive" if p.alive else "dead", "accepted": None,
                       "rejected": None, "stale": None} for p in snap.pools],
            "uptime_s": None,
        }
