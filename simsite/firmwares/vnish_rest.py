"""VNish with its REST API on port 80 (``POST /api/v1/unlock {"pw"}`` -> token; ``/api/v1/summary``,
``/api/v1/info``, ``/api/v1/perf-summary``) next to the bmminer-style RPC on 4028. Default password admin.

1.2.7 as captured: chains carry ``chip_statuses`` (red/orange/grey counts) instead of a chip count, the PSU
meters the power (``psu.psu_power_metering``), the dev-fee pool is listed (``pool_type`` DevFee), ``info``
names the miner in ``miner`` ("Antminer S21 Pro") with a short ``model``, ``serial`` is "N/A", and the summary
has no uptime: only ``system.uptime`` ("1:55", h:mm). Older releases: ``chips``, ``uptime`` in the summary."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import http as h
from ..miner import SimMiner, Snapshot
from . import register
from ._web import RestBeside, token
from .vnish import VNish, chain_watts, is_127


def _uptime_words(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    clock = f"{hours}:{minutes:02d}" if hours else f"{minutes} min"
    return f"{days} day{'s' if days != 1 else ''}, {clock}" if days else clock


def rest(m: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
    if req.method == "POST" and req.path == "/api/v1/unlock":
        if (req.json() or {}).get("pw") == "admin":
            return h.response(200, {"token": token(m, "vnish")})
        return h.response(401, {"err": "wrong password"})
    if req.method == "GET" and req.path == "/":
        return h.response(200, "<html><title>AnthillOS</title></html>", content_type="text/html")
    if req.method != "GET":
        return h.response(405, {"err": "method"})
    if req.headers.get("authorization") != token(m, "vnish"):
        return h.response(401, {"err": "unauthorized"})
    if req.path == "/api/v1/info":
        info: dict[str, object] = {"model": f"Antminer {m.model}", "fw_name": "Vnish", "fw_version": m.extra["vnish"],
                                   "serial": m.serial,
                                   "system": {"network_status": {"mac": m.mac, "hostname": m.hostname}}}
        if is_127(m):
            info.update(miner=f"Antminer {m.model}", model=m.model.lower().replace(" ", ""), serial="N/A")
            info["system"] = {"network_status": {"mac": m.mac, "hostname": m.hostname},
                              "uptime": _uptime_words(snap.elapsed)}
        return h.response(200, info)
    if req.path == "/api/v1/perf-summary" and is_127(m):
        return h.response(200, {"current_preset": {"name": str(m.extra["preset"]), "status": "untuned"}})
    if req.path == "/api/v1/summary":
        new = is_127(m)
        chains = []
        for b, watts in zip(snap.boards, chain_watts(snap), strict=True):
            chain: dict[str, object] = {"id": b.slot + 1, "hashrate_rt": b.ghs,
                                        "status": {"state": "mining"} if b.present else
                                        {"state": "failure", "description": "Chain lost: no chips found"},
                                        "pcb_temp": {"min": min(b.pcb), "max": max(b.pcb)},
                                        "chip_temp": {"min": min(b.chip), "max": max(b.chip)}}
            if new:
                orange = b.chips // 10
                chain.update(power_consumption=watts,
                             chip_statuses={"red": 0, "orange": orange, "grey": b.chips - orange})
            else:
                chain["chips"] = b.chips
            chains.append(chain)
        pools: list[dict[str, object]] = [
            {"id": p.index, "url": p.url, "user": p.user, "pool_type": "UserPool",
             "status": "active" if p.active else "working" if p.alive else "offline", "accepted": p.accepted,
             "rejected": p.rejected, "stale": p.stale} for p in snap.pools]
        if new:
            pools.append({"id": len(pools), "url": "DevFee", "pool_type": "DevFee", "user": "DevFee",
                          "status": "active", "accepted": 224 + snap.epoch, "rejected": 1, "stale": 0})
        miner = {
            "miner_status": {"miner_state": "stopped" if snap.sleeping else "auto-tuning" if new else "mining"},
            "hr_realtime": snap.ghs, "hr_average": snap.ghs_avg, "hr_nominal": snap.expected_ghs,
            "power_consumption": snap.power_w,
            "chains": chains,
            "cooling": {"fans": [{"id": k, "rpm": rpm} for k, rpm in enumerate(snap.fans)]},
            "pools": pools,
        }
        if new:
            miner["psu"] = {"psu_power_metering": True}
        else:
            miner["uptime"] = snap.elapsed
        return h.response(200, {"miner": miner})
    return h.response(404, {"err": "not found"})


@register
class VNishRest(RestBeside, VNish):
    name = "vnish_rest"
    driver = "vnish"
    versions: ClassVar[tuple[str, ...]] = ("1.2.6", "1.2.4", "1.3.0", "1.2.7")

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        miner.extra["preset"] = int(miner.spec.watts) // 10 * 10

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        return rest(miner, snap, req)

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        hooks = super().truth_hooks(miner, snap)
        if is_127(miner):
            # metered by the PSU; no serial ("N/A"); the system's uptime, to the minute
            hooks.update(power_source="reported", serial=None, uptime_s=snap.elapsed - snap.elapsed % 60)
        return hooks
