"""ePIC UMC: HTTP on port 4028 (``/summary``, ``/capabilities``, ``/network``), no login for reads; a cgminer
request gets the HTTP server's 400."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import Route, WebFirmware, add_models

add_models(ModelSpec("BlockMiner 520i", "ePIC", 3, 124, 4, 125.0, 3000.0))


def summary(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    pool = snap.pools[0]
    body = {
        "Hostname": m.hostname, "Software": "UMC v1.14.0",
        "Stratum": {"Current Pool": pool.url.split("//", 1)[-1], "Current User": pool.user},
        "Session": {"Uptime": snap.elapsed, "Accepted": snap.accepted, "Rejected": snap.rejected,
                    "Average MHs": snap.ghs_avg * 1000.0},
        "Status": {"Operating State": "Idle" if snap.sleeping else "Mining", "Last Error": None},
        "HBs": [{"Index": b.slot, "Hashrate": [b.ghs * 1000.0, 100.0], "Temperature": max(b.pcb),
                 "Input Power": snap.power_w / len(snap.boards)} for b in snap.boards],
        "Power Supply Stats": {"Input Power": float(snap.power_w)},
        "Fans Rpm": {f"Fans Speed {k}": rpm for k, rpm in enumerate(snap.fans)},
    }
    return h.response(200, body)


def capabilities(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    return h.response(200, {"Model": m.model, "Default Hashrate": snap.expected_ghs / 1000.0,
                            "Performance Estimator": {"Chip Count": m.spec.chips}})


def network(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    return h.response(200, {"eth0": {"mac_address": m.mac, "dhcp": True}})


@register
class Epic(WebFirmware):
    name = "epic"
    # /capabilities is also what identifies ePIC on 4028; /network (MAC) is the optional page.
    optional_parts: ClassVar[frozenset[str]] = frozenset(("/network",))
    models: ClassVar[dict[str, float]] = {"BlockMiner 520i": 1.0}
    web_port = 4028
    page = "<html><head><title>Miner Web Dashboard</title></head></html>"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("GET", "/summary"): summary, ("GET", "/capabilities"): capabilities, ("GET", "/network"): network}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        p = snap.pools[0]
        return {
            "mac": miner.mac, "hostname": miner.hostname, "power_source": "reported",
            "boards": [{"index": b.slot, "chips": miner.spec.chips, "hashrate_ths": round(b.ghs / 1000.0, 8),
                        "temp_c": max(b.pcb), "chip_temp_c": None} for b in snap.boards],
            "pools": [{"url": p.url, "user": p.user, "status": "alive", "accepted": snap.accepted,
                       "rejected": snap.rejected, "stale": None}],
        }
