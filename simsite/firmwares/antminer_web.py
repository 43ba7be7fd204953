"""Stock Antminer with its web CGI on port 80 behind HTTP Digest (realm "antMiner Configuration", root/root)
next to the bmminer RPC on 4028: ``get_system_info.cgi``, ``get_miner_conf.cgi``, ``stats.cgi``,
``summary.cgi``, ``pools.cgi``; ``GET /`` without credentials is the 401 that identifies it."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from . import register
from ._web import bitmain_cgi, bitmain_pools
from .antminer import Antminer

REALM = "antMiner Configuration"


def cgi(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    def stats() -> dict[str, Any]:
        chains = [{"index": b.slot, "rate_real": b.ghs, "asic_num": b.chips, "temp_pcb": b.pcb, "temp_chip": b.chip,
                   "sn": f"{m.serial}{b.slot}"} for b in snap.boards]
        return {"STATUS": {"STATUS": "S", "Msg": "stats"}, "INFO": {"type": f"Antminer {m.model}"},
                "STATS": [{"elapsed": snap.elapsed, "rate_5s": snap.ghs_5s, "rate_ideal": snap.expected_ghs,
                           "rate_unit": "GH/s", "fan": snap.fans, "chain": chains}]}

    return bitmain_cgi(m, req, REALM, {
        "/cgi-bin/get_system_info.cgi": lambda: {
            "minertype": f"Antminer {m.model}", "macaddr": m.mac, "serinum": m.serial, "hostname": m.hostname,
            "system_filesystem_version": "FR-1.12(251009-S21)"},
        "/cgi-bin/get_miner_conf.cgi": lambda: {"bitmain-work-mode": "1" if snap.sleeping else "0", "pools": []},
        "/cgi-bin/stats.cgi": stats,
        "/cgi-bin/summary.cgi": lambda: {"STATUS": {"STATUS": "S"}, "SUMMARY": [{"status": [
            {"type": "rate", "status": "s", "code": 0, "msg": ""}]}]},
        "/cgi-bin/pools.cgi": lambda: bitmain_pools(snap, "Dead"),
    })


@register
class AntminerWeb(Antminer):
    name = "antminer_web"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("version", "/cgi-bin/get_system_info.cgi"))

    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return (80,)

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        req = h.parse(raw) if h.is_http(raw) else None
        if req is not None and self.lacks(miner, req.path):
            return h.response(404, "not found", content_type="text/plain")
        return cgi(miner, snap, req) if req is not None else None

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        out = super().truth_hooks(miner, snap)
        out.update({"driver": "antminer", "mac": miner.mac, "serial": miner.serial, "hostname": miner.hostname})
        return out
