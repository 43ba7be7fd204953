"""VNish: Bitmain's bmminer patched; stats print numbers where stock prints strings, and the firmware name and
version live inside ``Type`` ("Antminer S19 Pro (vnish 1.2.6)"). Before 1.2.7 power is only on its REST API.

1.2.7 (as captured on an S21 Pro): ``version`` answers STATUS E "Invalid command" (Code 0, no id); ``Type`` spells
"Vnish"; stats print ``chain_consumptionN`` (W per chain); ``pools`` lists the firmware's dev-fee pool (URL and
User "DevFee", Type 1) beside the user's, mining at the same time."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, reply, status
from ..jsontok import arr, f2, obj, q
from ..miner import SimMiner, Snapshot
from . import _bmminer as bm
from . import register

_READABLE = frozenset(("stats", "pools", "devs", "summary", "version"))
LAYOUT = bm.Layout(chain_slots=3, rate_str=False, absent_rate="0.00")


def is_127(m: SimMiner) -> bool:
    return m.extra["vnish"] == "1.2.7"


def _type(m: SimMiner) -> str:
    return "Antminer {} ({} {})".format(m.model, "Vnish" if is_127(m) else "vnish", m.extra["vnish"])


def chain_watts(snap: Snapshot) -> list[int]:
    """1.2.7's per-chain watts: the miner's power split over its chains (0 on a missing one)."""
    live = [b for b in snap.boards if b.present]
    share = snap.power_w // max(len(live), 1) if not snap.sleeping else 0
    return [share if b.present else 0 for b in snap.boards]


def devfee_pool(snap: Snapshot) -> dict[str, str]:
    return {"POOL": str(len(snap.pools)), "URL": q("DevFee"), "Type": "1", "User": q("DevFee"),
            "Status": q("Alive"), "Accepted": str(224 + snap.epoch), "Rejected": "1", "Stale": "0",
            "Stratum Active": "true"}


def stats(m: SimMiner, snap: Snapshot) -> str:
    data = bm.stats_data(m, snap, LAYOUT, "BTM_SOC0")
    data["fan_pwm"] = "0" if snap.sleeping else f"{60 + snap.epoch % 5:d}"
    data["fan_mode"] = "2"
    for b in snap.boards:
        live = b.present and not snap.sleeping
        data[f"chain_rateideal{b.slot + 1:d}"] = f2(b.nominal_ghs if live else 0.0)
        data[f"chain_vol{b.slot + 1:d}"] = f"{13600 if live else 0:d}"
    for x in snap.boards:
        live = x.present and not snap.sleeping
        data[f"temp3_{x.slot + 1:d}"] = str(int(max(x.chip))) if live else "0"
        data[f"freq_avg{x.slot + 1:d}"] = "525" if live else "0"
    if is_127(m):
        for b, watts in zip(snap.boards, chain_watts(snap), strict=True):
            data[f"chain_consumption{b.slot + 1:d}"] = str(watts)
    data["total_rate"] = f2(snap.ghs)
    data["miner_version"] = q("49.0.1.3")
    data["build_version"] = q(m.extra["vnish"])
    head = {
        "BMMiner": q("1.0.0"),
        "Miner": q("49.0.1.3"),
        "CompileTime": q(m.extra["compiled"]),
        "Type": q(_type(m)),
    }
    return reply(
        m.extra["desc"], snap.when, 70, "CGMiner stats", "STATS", bm.stats_reply_body(head, data, False)
    )


def summary(m: SimMiner, snap: Snapshot) -> str:
    body = bm.summary(m, snap, LAYOUT)
    return reply(m.extra["desc"], snap.when, 11, "Summary", "SUMMARY", "[" + obj(body) + "]")


def pools(m: SimMiner, snap: Snapshot) -> str:
    items = bm.pools(m, snap) + ([devfee_pool(snap)] if is_127(m) else [])
    return reply(m.extra["desc"], snap.when, 7, f"{len(items):d} Pool(s)", "POOLS", arr(items))


def devs(m: SimMiner, snap: Snapshot) -> str:
    return reply(m.extra["desc"], snap.when, 9, "1 ASC(s)", "DEVS", bm.devs_soc(m, snap))


def version(m: SimMiner, snap: Snapshot) -> str:
    if is_127(m):  # refused, and without the trailing id (as captured)
        return '{"STATUS":[' + status("E", snap.when, 0, "Invalid command", m.extra["desc"]) + "]}"
    block = {
        "BMMiner": q("1.0.0"),
        "API": q("3.1"),
        "Miner": q("49.0.1.3"),
        "CompileTime": q(m.extra["compiled"]),
        "Type": q(_type(m)),
    }
    return reply(m.extra["desc"], snap.when, 22, "CGMiner versions", "VERSION", "[" + obj(block) + "]")


@register
class VNish(Firmware):
    name = "vnish"
    models: ClassVar[dict[str, float]] = {"S19 Pro": 0.35, "S19j Pro": 0.3, "S19 XP": 0.2, "S19": 0.15}
    # Releases the units run (one each, by seed); the REST personality adds 1.2.7 (``version`` refused).
    versions: ClassVar[tuple[str, ...]] = ("1.2.6", "1.2.4", "1.3.0")
    reads: ClassVar[dict[str, Handler]] = {
        "stats": stats,
        "summary": summary,
        "pools": pools,
        "devs": devs,
        "version": version,
        "devdetails": devs,
        "estats": stats,
    }

    def setup(self, miner: SimMiner) -> None:
        versions = self.versions
        miner.extra["vnish"] = versions[int(n.unit(miner.seed, miner.index, n.CH_VARIANT) * len(versions))]
        miner.extra["compiled"] = "Sat Jun 15 10:02:41 CST 2024"
        miner.extra["desc"] = "cgminer 1.0.0"

    def allowed(self, miner: SimMiner, cmd: str) -> bool:
        return cmd in _READABLE

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        watts = sum(chain_watts(snap)) if is_127(miner) else 0
        return {
            "power_w": float(watts) if watts else None,
            "power_source": "estimated" if watts else None,
            "expected_hashrate_ths": None if snap.sleeping else round(snap.expected_ghs / 1000.0, 8),
            "fans_rpm": [0] * len(snap.fans) if snap.sleeping else list(snap.fans),
            "boards": [bm.board_truth(b, snap) for b in snap.boards],
        }
