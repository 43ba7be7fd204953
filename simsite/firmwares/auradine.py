"""Auradine Teraflux (FluxOS): gcminer RPC on 4028 (MH/s, devs ID 1-based) plus an HTTP API on 8080 with a
token (``POST /token {"command":"token",...}``; header ``Token``). Default password admin."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, num, obj, q
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import _bmminer as bm
from . import register
from ._web import add_models, token

add_models(ModelSpec("AT2880", "Auradine", 3, 132, 4, 260.0, 5460.0))
DESC = "GCMiner-2023-05.24-0ce5e7cc"


def _r(m: SimMiner, snap: Snapshot, code: int, msg: str, section: str, body: str) -> str:
    return reply(DESC, snap.when, code, msg, section, body)


def summary(m: SimMiner, snap: Snapshot) -> str:
    d = {"Elapsed": str(snap.elapsed), "MHS av": num(snap.ghs_avg * 1000.0), "MHS 5s": num(snap.ghs_5s * 1000.0),
         "MHS 1m": num(snap.ghs * 1000.0), "Accepted": str(snap.accepted), "Rejected": str(snap.rejected),
         "Hardware Errors": str(snap.hw)}
    return _r(m, snap, 11, "Summary", "SUMMARY", "[" + obj(d) + "]")


def devs(m: SimMiner, snap: Snapshot) -> str:
    rows = [obj({"DEV": str(b.slot + 1), "ID": str(b.slot + 1), "Name": q("ASICBoard"), "Enabled": "true",
                 "Status": q("Alive"), "MHS 1m": num(b.ghs * 1000.0), "MHS 5s": num(b.ghs_5s * 1000.0),
                 "Temperature": num(max(b.pcb))}) for b in snap.boards]
    return _r(m, snap, 9, f"{len(rows)} Dev(s)", "DEVS", "[" + ",".join(rows) + "]")


def pools(m: SimMiner, snap: Snapshot) -> str:
    return _r(m, snap, 7, f"{len(snap.pools)} Pool(s)", "POOLS", arr(bm.pools(m, snap)))


def version(m: SimMiner, snap: Snapshot) -> str:
    return _r(m, snap, 22, "GCMiner versions", "VERSION", "[" + obj({"API": q("1.0"), "GCMiner": q("0.5")}) + "]")


def devdetails(m: SimMiner, snap: Snapshot) -> str:
    rows = [obj({"DEVDETAILS": str(b.slot), "Name": q("ASICBoard"), "ID": str(b.slot + 1), "Model": q(m.model)})
            for b in snap.boards]
    return _r(m, snap, 69, "Device Details", "DEVDETAILS", "[" + ",".join(rows) + "]")


def _web(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    st = [{"STATUS": "S", "Code": 0, "Msg": req.path, "Description": DESC, "When": snap.when}]
    if req.method == "POST" and req.path == "/token":
        body = req.json() or {}
        if body.get("command") == "token" and body.get("user") == "admin" and body.get("password") == "admin":
            return h.response(200, {"STATUS": st, "Token": [{"Token": token(m, "aura")}]})
        return h.response(200, {"STATUS": [{**st[0], "STATUS": "E", "Msg": "bad password"}]})
    if req.method != "GET":
        return h.response(405, {"STATUS": st})
    if req.headers.get("token") != token(m, "aura"):
        return h.response(401, {"STATUS": [{**st[0], "STATUS": "E", "Msg": "token"}]})
    if req.path == "/psu":
        return h.response(200, {"STATUS": st, "PSU": [{"PowerIn": f"{snap.power_w:.2f}W", "Vin": "245.00V"}]})
    if req.path == "/fan":
        return h.response(200, {"STATUS": st, "Fan": [{"ID": k + 1, "Speed": rpm, "Max": 7700}
                                                     for k, rpm in enumerate(snap.fans)]})
    if req.path == "/mode":
        return h.response(200, {"STATUS": st, "Mode": [{"Mode": "normal", "Power": m.spec.watts,
                                                        "Ths": round(snap.expected_ghs / 1000.0, 3),
                                                        "Sleep": "on" if snap.sleeping else "off"}]})
    if req.path == "/temperature":
        rows = [{"ID": 0, "Name": "Control Board", "BoardTemp": [{"ID": 0, "Temperature": 30.0}], "ChipTemp": None}]
        rows += [{"ID": b.slot + 1, "Name": f"Hash Board {b.slot + 1}",
                  "BoardTemp": [{"ID": i, "Temperature": t} for i, t in enumerate(b.pcb)],
                  "ChipTemp": [{"ID": i, "Temperature": t} for i, t in enumerate(b.chip)]} for b in snap.boards]
        return h.response(200, {"STATUS": st, "Temperature": rows})
    if req.path == "/ipreport":
        return h.response(200, {"STATUS": st, "IPReport": [{"mac": m.mac, "hostname": m.hostname,
                                                            "version": "FluxOS-2023-12.27", "model": m.model}]})
    return h.response(404, {"STATUS": st})


@register
class Auradine(Firmware):
    name = "auradine"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("/fan", "/ipreport"))
    models: ClassVar[dict[str, float]] = {"AT2880": 1.0}
    reads: ClassVar[dict[str, Handler]] = {"summary": summary, "devs": devs, "pools": pools, "version": version,
                                           "devdetails": devdetails}

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = DESC

    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return (8080,)

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        req = h.parse(raw) if h.is_http(raw) else None
        if req is not None and self.lacks(miner, req.path):
            return h.response(404, {"STATUS": [{"STATUS": "E", "Msg": req.path, "Description": DESC}]})
        return _web(miner, snap, req) if req is not None else None

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from ..truth import board

        return {"mac": miner.mac, "hostname": miner.hostname, "power_source": "reported",
                "expected_hashrate_ths": round(snap.expected_ghs / 1000.0, 3),
                "boards": [{**board(b), "chips": None} for b in snap.boards]}
