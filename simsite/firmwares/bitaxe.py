"""Bitaxe / ESP-Miner (AxeOS): ``GET /api/system/info`` on port 80, no login (GH/s, W, mV, mA), and
``GET /api/system/asic`` naming the device model ("Ultra", "Gamma"), which is not the ASIC chip ("BM1366")."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import Route, WebFirmware, add_models, dashed_mac

add_models(ModelSpec("Ultra", "Bitaxe", 1, 1, 1, 0.5, 12.0), ModelSpec("Gamma", "Bitaxe", 1, 1, 1, 1.2, 17.0))
CHIP = {"Ultra": "BM1366", "Gamma": "BM1370"}  # the one ASIC on each board


def info(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    b = snap.boards[0]
    pool = snap.pools[0]
    host, _, port = pool.url.split("//", 1)[-1].rpartition(":")
    body = {
        "power": float(snap.power_w), "voltage": 5100.0, "current": 2300.0,
        "temp": max(b.chip), "vrTemp": max(b.pcb), "hashRate": snap.ghs, "expectedHashrate": snap.expected_ghs,
        "coreVoltage": 1200, "frequency": 525, "macAddr": dashed_mac(m), "hostname": m.hostname,
        "sharesAccepted": pool.accepted, "sharesRejected": pool.rejected, "uptimeSeconds": snap.elapsed,
        "asicCount": b.chips, "smallCoreCount": 894, "ASICModel": CHIP[m.model], "stratumURL": host,
        "stratumPort": int(port), "stratumUser": pool.user, "isUsingFallbackStratum": 0,
        "version": "v2.9.0", "axeOSVersion": "v2.9.0", "fanspeed": 60, "fanrpm": snap.fans[0],
    }
    return h.response(200, body)


def asic(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    return h.response(200, {"ASICModel": CHIP[m.model], "deviceModel": m.model, "swarmColor": "blue",
                            "asicCount": snap.boards[0].chips, "defaultFrequency": 525, "frequencyOptions": [525],
                            "defaultVoltage": 1200, "voltageOptions": [1200]})


@register
class Bitaxe(WebFirmware):
    name = "bitaxe"
    models: ClassVar[dict[str, float]] = {"Ultra": 0.5, "Gamma": 0.5}
    optional_parts: ClassVar[frozenset[str]] = frozenset(("/api/system/asic",))  # AxeOS before it: the chip name
    page = "<html><head><title>AxeOS</title></head><body>AxeOS</body></html>"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("GET", "/api/system/info"): info, ("GET", "/api/system/asic"): asic}

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        b = snap.boards[0]
        p = snap.pools[0]
        # No field of this firmware's API says "paused": a paused unit shows only that it is not hashing.
        paused = {"state": "not_hashing"} if snap.sleeping else {}
        return {
            **paused,
            "mac": miner.mac, "hostname": miner.hostname, "power_source": "reported",
            "boards": [{"index": 0, "chips": b.chips, "hashrate_ths": round(b.ghs / 1000.0, 8),
                        "temp_c": max(b.pcb), "chip_temp_c": max(b.chip)}],
            "pools": [{"url": p.url, "user": p.user, "status": "alive", "accepted": p.accepted,
                       "rejected": p.rejected, "stale": None}],
        }
