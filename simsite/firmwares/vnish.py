"""VNish: Bitmain's bmminer patched; stats print numbers where stock prints strings, and the firmware name and
version live inside ``Type`` ("Antminer S19 Pro (vnish 1.2.6)"). Power is only on its REST API, not the RPC."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, f2, obj, q
from ..miner import SimMiner, Snapshot
from . import _bmminer as bm
from . import register

_READABLE = frozenset(("stats", "pools", "devs", "summary", "version"))
LAYOUT = bm.Layout(chain_slots=3, rate_str=False, absent_rate="0.00")


def _type(m: SimMiner) -> str:
    return "Antminer {} (vnish {})".format(m.model, m.extra["vnish"])


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
    return reply(
        m.extra["desc"], snap.when, 7, f"{len(snap.pools):d} Pool(s)", "POOLS", arr(bm.pools(m, snap))
    )


def devs(m: SimMiner, snap: Snapshot) -> str:
    return reply(m.extra["desc"], snap.when, 9, "1 ASC(s)", "DEVS", bm.devs_soc(m, snap))


def version(m: SimMiner, snap: Snapshot) -> str:
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
        miner.extra["vnish"] = ("1.2.6", "1.2.4", "1.3.0")[
            int(n.unit(miner.seed, miner.index, n.CH_VARIANT) * 3)
        ]
        miner.extra["compiled"] = "Sat Jun 15 10:02:41 CST 2024"
        miner.extra["desc"] = "cgminer 1.0.0"

    def allowed(self, miner: SimMiner, cmd: str) -> bool:
        return cmd in _READABLE

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        return {
            "expected_hashrate_ths": None if snap.sleeping else round(snap.expected_ghs / 1000.0, 8),
            "fans_rpm": [0] * len(snap.fans) if snap.sleeping else list(snap.fans),
            "boards": [bm.board_truth(b, snap) for b in snap.boards],
        }
