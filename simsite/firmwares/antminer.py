"""Stock Antminer bmminer: X19/X21 (API 3.1, "cgminer 1.0.0") and the old S9 build (chains 6..8, fan5/fan6,
STATS objects glued with ``}{``). Stock ships ``api-groups A:stats:pools:devs:summary:version``, so every other
cgminer command is "Access denied"; no power anywhere in the RPC."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, f2, obj, q
from ..miner import SimMiner, Snapshot
from . import _bmminer as bm
from . import register

_READABLE = frozenset(("stats", "pools", "devs", "summary", "version"))

# (BMMiner, Miner, CompileTime) per model family.
_BUILDS = {
    "S9": ("4.9.0", "13.10.1.3", "Wed Sep 18 15:51:07 CST 2019"),
    "S19": ("1.0.0", "49.0.1.3", "Tue Dec  6 16:12:30 CST 2022"),
    "S21": ("1.0.0", "62.0.2.3", "Thu Aug  8 14:31:19 CST 2024"),
}

X19 = bm.Layout()
S9 = bm.Layout(chain_first=6, chain_slots=16, fan_first=1, fan_slots=8, ghs_str=True)


def _build(m: SimMiner) -> tuple[str, str, str]:
    return _BUILDS["S9" if m.model == "S9" else "S21" if m.model in ("S21", "T21") else "S19"]


def _type(m: SimMiner) -> str:
    variant = m.extra.get("variant")
    if variant == "odd_type":
        return "Antminer  " + m.model.replace(" ", "  ") + " \n"  # doubled spaces, trailing space, line break
    if variant == "scrypt":
        return "Antminer L7"
    return "Antminer " + m.model


def _version_block(m: SimMiner) -> dict[str, str]:
    bmm, miner, compiled = _build(m)
    return {
        "BMMiner": q(bmm),
        "Miner": q(miner),
        "CompileTime": q(compiled),
        "Type": q(_type(m)),
    }


def _variant_keys(m: SimMiner, data: dict[str, str]) -> dict[str, str]:
    """The stats data block as the miner's variant build prints it (simsite.variants)."""
    variant = m.extra.get("variant")
    if variant == "fan_gap":
        data.pop(f"fan{_fan_first(m) + 1:d}", None)
    elif variant == "old_keys":
        for key in [k for k in data if k.startswith(("temp_pcb", "temp_chip", "temp_pic", "chain_acn"))]:
            del data[key]
    elif variant == "scrypt":
        data.pop("rate_unit", None)
    return data


def _fan_first(m: SimMiner) -> int:
    return 5 if m.model == "S9" else 1


def _s9_data(m: SimMiner, snap: Snapshot) -> dict[str, str]:
    """The old 16-slot S9 layout; boards sit on chains 6..8 and fans on fan5/fan6."""
    first = S9.chain_first
    board_at = {b.slot + first: b for b in snap.boards if b.present and not snap.sleeping}
    d: dict[str, str] = {
        "STATS": "0",
        "ID": q("BC50"),
        "Elapsed": str(snap.elapsed),
        "Calls": "0",
        "Wait": "0.000000",
        "Max": "0.000000",
        "Min": "99999999.000000",
        "GHS 5s": bm.rate(snap.ghs, True),
        "GHS av": f2(0.0 if snap.sleeping else snap.ghs_avg),
        "miner_count": str(len(board_at)),
        "frequency": q("550"),
        "fan_num": "0" if snap.sleeping else str(m.spec.fans),
    }
    fans = {5 + k: rpm for k, rpm in enumerate(snap.fans)} if not snap.sleeping else {}
    for k in range(1, 9):
        d[f"fan{k:d}"] = str(fans.get(k, 0))
    d["temp_num"] = str(len(board_at))
    for key, pick in (("temp%d", lambda b: max(b.pcb)), ("temp2_%d", lambda b: max(b.chip))):
        for k in range(1, 17):
            b = board_at.get(k)
            d[key % k] = str(int(pick(b))) if b else "0"
    for k in range(1, 17):
        d[f"temp3_{k}"] = "0"
    for key, attr in (("temp_pcb%d", "pcb"), ("temp_chip%d", "chip")):
        for k in range(1, 17):
            b = board_at.get(k)
            d[key % k] = q(bm.dash(getattr(b, attr)[:2]) if b else "-")
    for k in range(1, 17):
        b = board_at.get(k)
        d[f"freq_avg{k:d}"] = "550.00" if b else "0.00"
    d["total_rateideal"] = f2(0.0 if snap.sleeping else snap.expected_ghs)
    d["total_freqavg"] = "550.00" if board_at else "0.00"
    d["total_acn"] = str(sum(b.chips for b in board_at.values()))
    d["total_rate"] = f2(snap.ghs)
    for k in range(1, 17):
        b = board_at.get(k)
        d[f"chain_rateideal{k:d}"] = f2(b.nominal_ghs) if b else "0.00"
    d["temp_max"] = str(int(max((max(b.pcb) for b in board_at.values()), default=0)))
    d["Device Hardware%"] = "0.0000"
    d["no_matching_work"] = str(snap.hw)
    for key, fn, empty in (
        ("chain_acn%d", lambda b: str(b.chips), "0"),
        ("chain_acs%d", lambda b: q(bm.acs(b.chips)), '""'),
        ("chain_hw%d", lambda b: str(b.hw), "0"),
        ("chain_rate%d", lambda b: bm.rate(b.ghs, True), '""'),
    ):
        for k in range(1, 17):
            b = board_at.get(k)
            d[key % k] = fn(b) if b else empty
    for key, value in (("chain_xtime", q("{}")), ("chain_offside_", q("0")), ("chain_opencore_", q("0"))):
        for k in sorted(board_at):
            d[f"{key}{k:d}"] = value
    d["miner_version"] = q(_build(m)[1])
    d["miner_id"] = q(m.extra["miner_id"])
    return d


def stats(m: SimMiner, snap: Snapshot) -> str:
    old = m.model == "S9"
    data = _s9_data(m, snap) if old else bm.stats_data(m, snap, X19)
    if not old:
        data["miner_version"] = q(_build(m)[1])
        data["miner_id"] = q(m.extra["miner_id"])
    body = bm.stats_reply_body(_version_block(m), _variant_keys(m, data), glued=old)
    return reply(m.extra["desc"], snap.when, 70, "CGMiner stats", "STATS", body)


def summary(m: SimMiner, snap: Snapshot) -> str:
    lay = S9 if m.model == "S9" else X19
    body = bm.summary(m, snap, lay, "Getworks" if m.model == "S9" else "Getwork")
    return reply(m.extra["desc"], snap.when, 11, "Summary", "SUMMARY", "[" + obj(body) + "]")


def pools(m: SimMiner, snap: Snapshot) -> str:
    return reply(
        m.extra["desc"], snap.when, 7, f"{len(snap.pools):d} Pool(s)", "POOLS", arr(bm.pools(m, snap))
    )


def devs(m: SimMiner, snap: Snapshot) -> str:
    return reply(m.extra["desc"], snap.when, 9, "1 ASC(s)", "DEVS", bm.devs_soc(m, snap))


def version(m: SimMiner, snap: Snapshot) -> str:
    bmm, miner, compiled = _build(m)
    block = {
        "BMMiner": q(bmm),
        "API": q("3.1"),
        "Miner": q(miner),
        "CompileTime": q(compiled),
        "Type": q(_type(m)),
    }
    return reply(m.extra["desc"], snap.when, 22, "CGMiner versions", "VERSION", "[" + obj(block) + "]")


@register
class Antminer(Firmware):
    name = "antminer"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("version",))  # stats carries the Type too
    models: ClassVar[dict[str, float]] = {
        "S19": 0.15,
        "S19j Pro": 0.2,
        "S19 Pro": 0.2,
        "S19 XP": 0.15,
        "S21": 0.15,
        "T21": 0.1,
        "S9": 0.05,
    }
    reads: ClassVar[dict[str, Handler]] = {
        "stats": stats,
        "summary": summary,
        "pools": pools,
        "devs": devs,
        "version": version,
        # Known to bmminer but outside the stock API group: answered "Access denied".
        "devdetails": devs,
        "estats": stats,
        "config": version,
        "coin": version,
        "edevs": devs,
    }

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = "cgminer " + _build(miner)[0]
        miner.extra["miner_id"] = f"{n.mix(miner.seed, miner.index, n.CH_IDENT, 5):016x}"

    def allowed(self, miner: SimMiner, cmd: str) -> bool:
        if cmd == "pools" and miner.extra.get("variant") == "no_pools":
            return False
        return cmd in _READABLE

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expected_hashrate_ths": None if snap.sleeping else round(snap.expected_ghs / 1000.0, 8),
            "fans_rpm": [0] * len(snap.fans) if snap.sleeping else list(snap.fans),
            "boards": [bm.board_truth(b, snap) for b in snap.boards],
        }
        variant = miner.extra.get("variant")
        if variant == "fan_gap" and len(out["fans_rpm"]) > 1 and not snap.sleeping:
            out["fans_rpm"][1] = None  # the slot keeps its place, unknown
        elif variant == "no_pools":
            out["pools"] = []
        elif variant == "scrypt":
            # The printed figures are MH/s under "GHS" labels: a correct reader divides by 1e6, not 1e3.
            out["model"] = "L7"
            out["hashrate_ths"] = round(snap.ghs * 1e-6, 11)
            if out["expected_hashrate_ths"] is not None:
                out["expected_hashrate_ths"] = round(snap.expected_ghs * 1e-6, 11)
            for b in out["boards"]:
                if b["hashrate_ths"] is not None:
                    b["hashrate_ths"] = round(b["hashrate_ths"] * 1e-3, 11)
        return out
