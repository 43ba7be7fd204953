"""Braiins OS+ 24.09 .. 25.05 (and bOS 21.x): the legacy web API on port 80 — GraphQL on ``POST /graphql`` and
the LuCI admin pages — next to the RPC on 4028, whose ``version`` answers as BOSer.

What differs from release to release, as the captures show it: the board temperature sensors' names ("Board"/
"Chip" on 24.09; "Max Board"/"Max Chip"/"Inlet"/"Outlet" on 25.03; "MAX_BOARD"/"MAX_CHIP"/"INLET"/"OUTLET" on
25.05), and ``hbSerialNumber`` (25.03+). Each simulated unit runs one release. GraphQL logs in with the
``auth { login }`` mutation (``session_id`` cookie); every other mutation is answered with an error and
recorded, so a test can prove none was sent. LuCI logs in with its form (302 + ``sysauth``). Default login
root/root (``extra["password"]`` sets another, e.g. the empty one of early releases). Only the RPC's
``devdetails`` names the model.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from .. import http as h
from .. import noise as n
from ..cgminer import Handler, reply
from ..jsontok import obj, q
from ..miner import SimMiner, Snapshot
from . import register
from ._web import RestBeside, token
from .braiins import Braiins

RELEASES = ("2024-10-17-0-75912fc7-24.09-plus", "2025-04-07-0-424f9a7f-25.03-plus",
            "2025-06-25-0-45f356ea-25.05.1-plus")
_SENSORS = {
    "24.09": (("Board", "pcb"), ("Chip", "chip")),
    "25.03": (("Max Board", "pcb"), ("Max Chip", "chip"), ("Inlet", "inlet"), ("Outlet", "pcb")),
    "25.05": (("MAX_BOARD", "pcb"), ("MAX_CHIP", "chip"), ("INLET", "inlet"), ("OUTLET", "pcb")),
}
_MUTATION = re.compile(r"\bmutation\b")


def _release(m: SimMiner) -> str:
    """"24.09", "25.03" or "25.05" (25.05.1) from the full version string."""
    return str(m.extra["release"]).split("-")[5][:5]


def _mhs(ghs: float) -> float:
    return round(ghs * 1000.0, 3)


def _sensors(m: SimMiner, b: Any) -> list[dict[str, Any]]:
    out = []
    for name, kind in _SENSORS[_release(m)]:
        value = max(b.pcb) if kind == "pcb" else max(b.chip) if kind == "chip" else b.pcb[1] + 10.0
        out.append({"degreesC": value, "name": name})
    return out


def _system(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    return {"data": {
        "bos": {"faultLight": False, "hostname": m.hostname, "info": {"version": {"full": m.extra["release"]}},
                "uptime": {"durationS": snap.elapsed}},
        "bosminer": {"info": {
            "fans": [{"name": str(k), "rpm": rpm, "speed": 100} for k, rpm in enumerate(snap.fans)],
            "summary": {"power": {"approxConsumptionW": snap.power_w, "limitW": m.extra["limit"]}},
            "workSolver": {"nominalMhs": _mhs(snap.expected_ghs), "realHashrate": {"mhs5S": _mhs(snap.ghs_5s)}}}}}}


def _boards(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    solvers = []
    for b in snap.boards:
        hw: dict[str, Any] = {"chips": b.chips, "frequencyMhz": float(b.freq), "voltageV": 13.45}
        if _release(m) != "24.09":
            hw["hbSerialNumber"] = f"NGSB{m.serial[-9:]}{b.slot}"
        solvers.append({"hwDetails": hw, "name": str(b.slot + 1), "nominalMhs": _mhs(b.nominal_ghs),
                        "realHashrate": {"mhs5S": _mhs(b.ghs_5s)},
                        "temperatures": _sensors(m, b) if b.present else []})
    return {"data": {"bosminer": {"info": {"workSolver": {"childSolvers": solvers}}}}}


def _pools(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    pools = [{"active": p.active, "shares": {"acceptedSolutions": p.accepted, "rejectedSolutions": p.rejected},
              "status": "ALIVE" if p.alive else "DEAD", "url": p.url, "user": p.user} for p in snap.pools]
    return {"data": {"bosminer": {"info": {"poolGroups": [{"name": "default", "pools": pools}]}}}}


def _events(m: SimMiner, snap: Snapshot) -> dict[str, Any]:
    """The dashboard's current notices: a dead fan is one."""
    appeals = [{"kind": "ERROR", "message": f"Fan {m.dead_fan} failed", "timestamp": snap.when - 60}
               ] if m.fault == "dead_fan" else []
    return {"data": {"events": {"appeals": appeals}}}


def graphql(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    body = req.json() or {}
    document = str(body.get("query", "")) if isinstance(body, dict) else ""
    if _MUTATION.search(document):
        if " ".join(document.split()).startswith("mutation ($username: String!, $password: String!) { auth {"):
            v = body.get("variables") or {}
            if v.get("username") == "root" and v.get("password") == m.extra.get("password", "root"):
                return h.response(200, {"data": {"auth": {"login": {"void": None}}}},
                                  headers={"Set-Cookie": f"session_id={token(m, 'gql')}; Path=/"})
            return h.response(200, {"data": {"auth": {"login": {"message": "Invalid username or password"}}}})
        m.extra["mutations"] = m.extra.get("mutations", 0) + 1  # a write reached the miner: tests fail on it
        return h.response(200, {"data": None, "errors": [{"message": "mutations are not simulated"}]})
    if req.cookies.get("session_id") != token(m, "gql"):
        return h.response(200, {"data": None, "errors": [{"message": "Unauthorized"}]})
    part = ("boards" if "childSolvers" in document else "pools" if "poolGroups" in document
            else "events" if "appeals" in document else "system")
    if part in m.extra.get("missing", ()):  # a part this unit does not answer (tests of optional parts)
        return h.response(200, {"data": None, "errors": [{"message": f"Cannot query field in {part}"}]})
    return h.response(200, {"boards": _boards, "pools": _pools, "events": _events, "system": _system}[part](m, snap))


def web(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.method == "GET" and req.path == "/":
        return h.response(200, "<html><head><title>Braiins OS+</title></head></html>", content_type="text/html")
    if req.method == "POST" and req.path == "/graphql":
        return graphql(m, snap, req)
    if req.method == "POST" and req.path == "/cgi-bin/luci":
        form = dict(part.split("=", 1) for part in req.body.decode("latin-1").split("&") if "=" in part)
        if form.get("luci_username") == "root" and form.get("luci_password") == m.extra.get("password", "root"):
            return h.response(302, b"", content_type="text/html",
                              headers={"Location": "/cgi-bin/luci/",
                                       "Set-Cookie": f"sysauth={token(m, 'luci')}; path=/cgi-bin/luci"})
        return h.response(403, "login failed", content_type="text/html")
    if req.method == "GET" and req.path == "/cgi-bin/luci/admin/network/iface_status/lan" and (
            "mac" not in m.extra.get("missing", ())):
        if req.cookies.get("sysauth") != token(m, "luci"):
            return h.response(403, "forbidden", content_type="text/html")
        return h.response(200, json.dumps([{"macaddr": m.mac.lower()}]))
    return h.response(404, "not found", content_type="text/html")  # no /api/v1 on these releases


def version(m: SimMiner, snap: Snapshot) -> str:
    block = {"API": q("3.7"), "BOSer": q(m.extra["boser"])}
    return reply(m.extra["desc"], snap.when, 22, "BOSer versions", "VERSION", "[" + obj(block) + "]")


@register
class BraiinsGraphQL(RestBeside, Braiins):
    name = "braiins_gql"
    driver = "braiins"
    models: ClassVar[dict[str, float]] = {"S19j Pro": 0.3, "S19 XP": 0.3, "S21": 0.4}
    reads: ClassVar[dict[str, Handler]] = {**Braiins.reads, "version": version}

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        miner.extra["release"] = RELEASES[int(n.unit(miner.seed, miner.index, n.CH_VARIANT) * len(RELEASES))]
        miner.extra["boser"] = "boser-buildroot 0.1.0-" + str(miner.extra["release"]).split("-")[4]
        miner.extra["desc"] = "BOSer " + miner.extra["boser"]

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        return web(miner, snap, req)

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from ..truth import state

        boards = [{"index": b.slot, "chips": b.chips, "hashrate_ths": round(b.ghs_5s / 1000.0, 8),
                   "temp_c": max(b.pcb) if b.present else None, "chip_temp_c": max(b.chip) if b.present else None}
                  for b in snap.boards]
        hashrate = round(snap.ghs_5s / 1000.0, 8)  # GraphQL's realHashrate has the 5-second figure only
        expected = round(snap.expected_ghs / 1000.0, 8)
        return {
            **super().truth_hooks(miner, snap),
            "serial": None,  # neither GraphQL nor LuCI gives it
            "hashrate_ths": hashrate,
            "expected_hashrate_ths": expected,
            "boards": boards,
            "pools": [{"url": p.url, "user": p.user, "status": "alive" if p.alive else "dead", "accepted": p.accepted,
                       "rejected": p.rejected, "stale": None} for p in snap.pools],
            # GraphQL says nothing of a pause: a paused unit reads as not hashing, never a guess
            "state": "not_hashing" if snap.sleeping else state(snap, hashrate, expected),
        }
