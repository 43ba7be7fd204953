"""Whatsminer with 2025 firmware (API 3): 4028 still answers the btminer reads (``get_version`` shows the
firmware date that selects API 3), and TCP 4433 speaks API 3 (length-prefixed JSON, TH/s and W)."""

from __future__ import annotations

from typing import Any

from .. import http as h
from ..miner import SimMiner, Snapshot
from . import register
from .whatsminer import _VARIANT, Whatsminer


def _msg(snap: Snapshot, desc: str, msg: dict[str, Any], code: int = 0) -> bytes:
    return h.api3_frame({"code": code, "desc": desc, "msg": msg, "when": snap.when})


def api3(m: SimMiner, snap: Snapshot, req: dict[str, Any]) -> bytes:
    cmd, param = str(req.get("cmd", "")), req.get("param")
    if not cmd.startswith("get."):
        return _msg(snap, cmd, {"reason": "token required"}, code=-2)
    if cmd == "get.device.info":
        return _msg(snap, cmd, {
            "miner": {"type": _VARIANT.get(m.model, m.model), "miner-sn": m.serial, "board-num": str(len(snap.boards)),
                      "working": "false" if snap.sleeping else "true"},
            "network": {"mac": m.mac, "hostname": m.hostname},
            "system": {"fwversion": m.extra["build"][0], "api": "3.0.2"},
            "power": {"fanspeed": 6300},
            "error-code": [],
            "salt": "uhCiDyVj",
        })
    if cmd == "get.miner.status" and param == "summary":
        return _msg(snap, cmd, {"summary": {
            "elapsed": snap.elapsed, "hash-realtime": snap.ghs_5s / 1000.0, "hash-1min": snap.ghs / 1000.0,
            "hash-average": snap.ghs_avg / 1000.0, "factory-hash": snap.expected_ghs / 1000.0,
            "power-realtime": float(snap.power_w), "power-limit": m.extra["limit"],
            "fan-speed-in": snap.fans[0], "fan-speed-out": snap.fans[1] if len(snap.fans) > 1 else 0,
            "environment-temperature": snap.env_c, "board-temperature": [max(b.pcb) for b in snap.boards],
            "chip-temp-max": max(max(b.chip) for b in snap.boards)}})
    if cmd == "get.miner.status" and param == "edevs":
        return _msg(snap, cmd, {"edevs": [
            {"id": b.slot, "hash-realtime": b.ghs / 1000.0, "hash-average": b.nominal_ghs / 1000.0,
             "effective-chips": b.chips, "chip-temp-max": max(b.chip), "status": "alive"} for b in snap.boards]})
    if cmd == "get.miner.status" and param == "pools":
        return _msg(snap, cmd, {"pools": [
            {"url": p.url, "account": p.user, "status": "alive" if p.alive else "dead",
             "stratum-active": p.active, "pool-priority": p.index} for p in snap.pools]})
    return _msg(snap, cmd, {"reason": "invalid param"}, code=-1)


@register
class Whatsminer3(Whatsminer):
    name = "whatsminer3"

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        miner.extra["build"] = ("20251209.16.Rel2", "3.0.2")
        miner.extra["bad_escape"] = False

    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return (4433,)

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        req = h.api3_request(raw) if raw[:1] != b"{" and not h.is_http(raw) else None
        return api3(miner, snap, req) if req is not None else None

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from ..truth import board, pools

        return {
            "driver": "whatsminer", "mac": miner.mac, "serial": miner.serial, "hostname": miner.hostname,
            "power_source": "reported", "expected_hashrate_ths": snap.expected_ghs / 1000.0,
            "boards": [board(b) for b in snap.boards],
            "pools": [{**p, "accepted": None, "rejected": None, "stale": None} for p in pools(snap)],
        }
