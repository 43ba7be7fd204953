"""IceRiver KS5L: port 80, cookie login ``POST /user/loginpost?post=6&user=admin&pwd=...`` then
``POST /user/userpanel?post=4``; an unauthenticated read gets the login page. Default password 12345678."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import Route, WebFirmware, add_models, dashed_mac, token

add_models(ModelSpec("KS5L", "IceRiver", 3, 18, 4, 12.0, 3400.0))
PASSWORD = "12345678"
LOGIN_PAGE = "<html><head><title>用户界面</title></head><body>login</body></html>"


def login(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.query.get("post") == "6" and req.query.get("user") == "admin" and req.query.get("pwd") == PASSWORD:
        return h.response(200, {"error": 0}, headers={"Set-Cookie": f"session={token(m, 'ice')}; Path=/"})
    return h.response(200, {"error": 1})


def _runtime(s: int) -> str:
    return f"{s // 86400:02d}:{s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def userpanel(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.cookies.get("session") != token(m, "ice") or req.query.get("post") != "4":
        return h.response(200, LOGIN_PAGE, content_type="text/html")
    data = {
        "model": "none", "algo": "none", "online": True, "softver1": f"ICM168_3_2_10_{m.model.lower()[:3]}{m.model[3:]}_miner",
        "mac": dashed_mac(m), "host": m.hostname, "rtpow": f"{snap.ghs:.2f}G", "avgpow": f"{snap.ghs_avg:.2f}G",
        "runtime": _runtime(snap.elapsed), "unit": "G", "powstate": True, "netstate": True, "fanstate": True,
        "tempstate": False, "fans": list(snap.fans),
        "pools": [{"no": float(p.index + 1), "addr": p.url, "user": p.user, "pass": "x",
                   "connect": 1.0 if p.alive else -1.0, "state": 1.0 if p.active else 0.0,
                   "accepted": float(p.accepted), "rejected": float(p.rejected)} for p in snap.pools],
        "boards": [{"no": float(b.slot + 1), "chipnum": float(b.chips), "rtpow": f"{b.ghs:.2f}G",
                    "intmp": min(b.pcb), "outtmp": max(b.pcb), "state": True} for b in snap.boards],
    }
    return h.response(200, {"error": 0, "data": data, "message": ""})


@register
class IceRiver(WebFirmware):
    name = "iceriver"
    models: ClassVar[dict[str, float]] = {"KS5L": 1.0}
    page = LOGIN_PAGE

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("POST", "/user/loginpost"): login, ("POST", "/user/userpanel"): userpanel}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        # No field of this firmware's API says "paused": a paused unit shows only that it is not hashing.
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused,
            "mac": miner.mac, "hostname": miner.hostname, "expected_hashrate_ths": None,
            "boards": [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(b.ghs / 1000.0, 8),
                        "temp_c": max(b.pcb), "chip_temp_c": None} for b in snap.boards],
            "pools": [{"url": p.url, "user": p.user, "status": "alive" if p.alive else "dead",
                       "accepted": p.accepted, "rejected": p.rejected, "stale": None} for p in snap.pools],
        }
