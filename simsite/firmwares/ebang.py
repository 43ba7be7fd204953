"""Ebang DWM controller (soft_v9.1): a web UI whose status pages answer only an empty POST behind a session
cookie (``POST /user/login`` form -> ``http-session`` cookie), each ``{"status": 1, "feedback": {...}}``;
rates as strings with a unit suffix ("12.44T"), board temperatures as "a,b|c,d" strings, pools as flat keys."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._plain import hms
from ._web import Route, WebFirmware, add_models, token

add_models(ModelSpec("Ebang DWM_BTC1000", "Ebang", 3, 0, 2, 12.5, 1600.0))


def _authed(m: SimMiner, req: h.HttpRequest) -> bool:
    return req.cookies.get("http-session") == token(m, "eb")


def login(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if b"word=" not in req.body:
        return h.response(200, "<html>login</html>", content_type="text/html")
    return h.response(200, {"status": 1}, headers={"Set-Cookie": f"http-session={token(m, 'eb')}; Path=/"})


def _wrap(build: Any) -> Route:
    def route(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        if not _authed(m, req):
            return h.response(200, "<html>login</html>", content_type="text/html")
        if req.body:
            return h.response(400, {"status": 0})
        return h.response(200, {"status": 1, "feedback": build(m, snap)})
    return route


def _active(snap: Snapshot) -> Any:
    return next((p for p in snap.pools if p.active), snap.pools[0])


def status(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    p = _active(snap)
    return {"fivesecfigure": f"{snap.ghs_5s / 1000.0:.2f}T", "fiveavg": f"{snap.ghs / 1000.0:.2f}T",
            "averfigure": f"{snap.ghs_avg / 1000.0:.2f}T", "accepted": p.accepted, "rejected": p.rejected,
            "worktime": hms(snap.elapsed), "cgminerstatus": p.url}


def alarm(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    return {"eth1Alarm": 0, "calValue": snap.expected_ghs, "pllValue": 785, "tmpValue": 60, "calAlarm": 0,
            "poolAlarm": 0, "tempAlarm": 0}


def system(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {"productname": "DWM_BTC1000", "systemsoftwareversion": "soft_v9.1.0.32",
                           "devicefan": snap.fans[0], "devicefan2": snap.fans[1], "device4temp": 60}
    for b in snap.boards:
        live = b.present and not snap.sleeping
        pcb = [int(t) for t in b.pcb]
        out[f"device{b.slot + 1}temp"] = f"{pcb[0]},{pcb[1]}|{pcb[2]},{pcb[3]}" if live else 0
    return out


def conf(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in snap.pools:
        out[f"Mip{p.index + 1}"], out[f"Mwork{p.index + 1}"], out[f"Mpassword{p.index + 1}"] = p.url, p.user, ""
    return out


@register
class Ebang(WebFirmware):
    name = "ebang"
    models: ClassVar[dict[str, float]] = {"Ebang DWM_BTC1000": 1.0}
    page = "<html><head><title>Ebang Miner</title></head><body></body></html>"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("POST", "/user/login"): login, ("POST", "/Cgminer/CgminerStatus"): _wrap(status),
                ("POST", "/alarm/GetAlarmLoop"): _wrap(alarm), ("POST", "/Status/getsystemstatus"): _wrap(system),
                ("POST", "/Cgminer/CgminerGetVal"): _wrap(conf)}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        active = _active(snap)
        return {
            **paused, "hashrate_ths": round(round(snap.ghs_5s / 1000.0, 2), 8),
            "expected_hashrate_ths": round(snap.expected_ghs / 1000.0, 8),
            "boards": [{"index": b.slot, "chips": None, "hashrate_ths": None, "temp_c": float(int(max(b.pcb))),
                        "chip_temp_c": None} for b in snap.boards if b.present and not snap.sleeping],
            "pools": [{"url": p.url, "user": p.user, "status": "alive" if p is active else "unknown",
                       "accepted": p.accepted if p is active else None,
                       "rejected": p.rejected if p is active else None, "stale": None} for p in snap.pools],
        }
