"""Reply bodies of Bitmain's bmminer (cgminer 4.x fork) shared by stock Antminer, VNish and LuxOS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..jsontok import arr, f2, f6, obj, q
from ..miner import BoardState, SimMiner, Snapshot


@dataclass(frozen=True, slots=True)
class Layout:
    chain_first: int = 1  # S9 on Hiveon/early bOS-style builds numbers chains 6..8
    chain_slots: int = 4  # slots printed (X19 prints 4 for a 3-board miner)
    fan_first: int = 1
    fan_slots: int = 4
    rate_str: bool = True  # chain_rateN "37603.30" (stock) vs 37603.30 (VNish)
    ghs_str: bool = False  # "GHS 5s":"15656.60" on old bmminer
    absent_rate: str = '""'  # empty slot / missing board rate token (LuxOS prints "0")


@cache
def acs(chips: int) -> str:
    group = 3 if chips % 3 == 0 else 4 if chips % 4 == 0 else 8
    full, rest = divmod(chips, group)
    parts = ["o" * group] * full + (["o" * rest] if rest else [])
    return " " + " ".join(parts) if chips else ""


def dash(vals: list[float]) -> str:
    return "-".join(str(int(v)) for v in vals)


def rate(x: float, as_str: bool) -> str:
    return f'"{x:.2f}"' if as_str else f2(x)


def _board_at(snap: Snapshot, slot: int) -> BoardState | None:
    return snap.boards[slot] if 0 <= slot < len(snap.boards) else None


def _live(b: BoardState | None, snap: Snapshot) -> bool:
    # Asleep, bmminer zeroes every chain (captures: all chain_acn 0, rates "", fan_num 0).
    return b is not None and b.present and not snap.sleeping


def stats_data(m: SimMiner, snap: Snapshot, lay: Layout, stats_id: str = "BTM_SOC0") -> dict[str, str]:
    live_boards = [b for b in snap.boards if _live(b, snap)]
    d: dict[str, str] = {
        "STATS": "0",
        "ID": q(stats_id),
        "Elapsed": str(snap.elapsed),
        "Calls": "0",
        "Wait": f6(0),
        "Max": f6(0),
        "Min": f6(99999999),
        "GHS 5s": rate(snap.ghs, lay.ghs_str),
        "GHS av": f2(snap.ghs_avg if not snap.sleeping else 0.0),
        "rate_30m": f2(snap.ghs_avg if not snap.sleeping else 0.0),
        "Mode": "254" if snap.sleeping else "2",
        "miner_count": str(len(live_boards)),
        "frequency": "525",
        "fan_num": "0" if snap.sleeping else str(m.spec.fans),
    }
    fans = [0] * lay.fan_slots if snap.sleeping else snap.fans + [0] * (lay.fan_slots - len(snap.fans))
    for k in range(lay.fan_slots):
        d[f"fan{k + lay.fan_first:d}"] = str(fans[k])
    d["temp_num"] = str(len(live_boards))
    slots = range(lay.chain_slots)
    live = [(k, _board_at(snap, k)) for k in slots]
    for k, b in live[: len(snap.boards)]:
        d[f"temp{k + lay.chain_first:d}"] = str(int(max(b.pcb))) if _live(b, snap) and b else "0"
    for k, b in live[: len(snap.boards)]:
        d[f"temp2_{k + lay.chain_first:d}"] = str(int(max(b.chip))) if _live(b, snap) and b else "0"
    for key, attr, off in (("temp_pcb", "pcb", 0), ("temp_chip", "chip", 0), ("temp_pic", "pcb", -10)):
        for k, b in live:
            vals = [v + off for v in getattr(b, attr)] if b is not None and _live(b, snap) else [0, 0, 0, 0]
            d[f"{key}{k + lay.chain_first:d}"] = q(dash(vals))
    d["total_rateideal"] = f2(0.0 if snap.sleeping else snap.expected_ghs)
    d["rate_unit"] = q("GH")
    d["total_freqavg"] = "525" if live_boards else "0"
    d["total_acn"] = str(sum(b.chips for b in live_boards))
    d["total rate"] = f2(snap.ghs_avg if not snap.sleeping else 0.0)
    d["temp_max"] = "0"
    d["no_matching_work"] = str(snap.hw)
    for prefix, fn in (
        ("chain_acn", lambda b: str(b.chips)),
        ("chain_acs", lambda b: q(acs(b.chips))),
        ("chain_hw", lambda b: str(b.hw)),
        ("chain_rate", lambda b: rate(b.ghs, lay.rate_str)),
    ):
        empty = {"chain_acn": "0", "chain_acs": '""', "chain_hw": "0", "chain_rate": lay.absent_rate}[prefix]
        for k, b in live:
            d[f"{prefix}{k + lay.chain_first:d}"] = fn(b) if b is not None and _live(b, snap) else empty
    for k, b in live:
        d[f"freq{k + lay.chain_first:d}"] = str(b.freq) if b is not None and _live(b, snap) else "0"
    return d


def summary(m: SimMiner, snap: Snapshot, lay: Layout, getworks_key: str = "Getworks") -> dict[str, str]:
    acc, rej, stale = snap.accepted, snap.rejected, snap.stale
    avg = 0.0 if snap.sleeping else snap.ghs_avg
    return {
        "Elapsed": str(snap.elapsed),
        "GHS 5s": rate(snap.ghs, lay.ghs_str),
        "GHS av": f2(avg),
        "GHS 30m": f2(avg),
        "Found Blocks": "0",
        getworks_key: str(3000 + snap.epoch * 4),
        "Accepted": str(acc),
        "Rejected": str(rej),
        "Hardware Errors": str(snap.hw),
        "Utility": f2(acc * 60.0 / max(snap.elapsed, 1)),
        "Discarded": str(4500000 + snap.epoch * 90),
        "Stale": str(stale),
        "Get Failures": "1",
        "Local Work": str(4520000 + snap.epoch * 93),
        "Remote Failures": "0",
        "Network Blocks": str(80 + snap.epoch // 10),
        "Total MH": f"{avg * 1000.0 * snap.elapsed:.4f}",
        "Work Utility": f2(avg * 14.05),
        "Difficulty Accepted": f2(acc * 524288.0),
        "Difficulty Rejected": f2(rej * 524288.0),
        "Difficulty Stale": f2(stale * 524288.0),
        "Best Share": str(12904207043 + m.index),
        "Device Hardware%": f"{0.0:.4f}",
        "Device Rejected%": f"{100.0 * rej / max(acc + rej, 1):.4f}",
        "Pool Rejected%": f"{100.0 * rej / max(acc + rej, 1):.4f}",
        "Pool Stale%": f"{100.0 * stale / max(acc + rej, 1):.4f}",
        "Last getwork": str(snap.when),
    }


def pools(m: SimMiner, snap: Snapshot) -> list[dict[str, str]]:
    out = []
    for p in snap.pools:
        out.append(
            {
                "POOL": str(p.index),
                "URL": q(p.url),
                "Status": q("Alive" if p.alive else "Dead"),
                "Priority": str(p.index),
                "Quota": "1",
                "Long Poll": q("N"),
                "Getworks": str(3951 + snap.epoch * 4 if p.active else 3),
                "Accepted": str(p.accepted),
                "Rejected": str(p.rejected),
                "Discarded": str(4528183 + snap.epoch * 90 if p.active else 0),
                "Stale": str(p.stale),
                "Get Failures": str(1 if p.active else 0),
                "Remote Failures": "0",
                "User": q(p.user),
                "Last Share Time": q(f"0:00:{1 + snap.epoch % 9:02d}" if p.active else "0"),
                "Diff": q("524K" if p.active else ""),
                "Diff1 Shares": "0",
                "Proxy Type": '""',
                "Proxy": '""',
                "Difficulty Accepted": f2(p.accepted * 524288.0),
                "Difficulty Rejected": f2(p.rejected * 524288.0),
                "Difficulty Stale": f2(0.0),
                "Last Share Difficulty": f2(524288.0 if p.active else 0.0),
                "Has Stratum": "true",
                "Stratum Active": "true" if p.active else "false",
                "Stratum URL": q(p.url.split("//", 1)[-1].rsplit(":", 1)[0] if p.active else ""),
                "Has GBT": "false",
                "Best Share": str(12904207043 if p.active else 0),
                "Pool Rejected%": f"{100.0 * p.rejected / max(p.accepted + p.rejected, 1):.4f}",
                "Pool Stale%%": f"{0.0:.4f}",
            }
        )
    return out


def devs_soc(m: SimMiner, snap: Snapshot) -> str:
    """bmminer's ``devs``: one useless BTM_SOC device with zeros and the misspelt "Tenperature"."""
    return arr(
        [
            {
                "ASC": "0",
                "Name": q("BTM_SOC"),
                "ID": "0",
                "Enabled": q("Y"),
                "Status": q("Alive"),
                "Tenperature": f2(0),
                "MHS av": f2(0),
                "MHS 5s": f2(0),
                "Accepted": str(snap.accepted),
                "Rejected": str(snap.rejected),
                "Hardware Errors": "0",
                "Utility": f2(0),
                "Last Share Pool": "0",
                "Last Share Time": str(snap.when - 3),
                "Total MH": f"{0:.4f}",
                "Diff1 Work": "0",
                "Difficulty Accepted": f2(snap.accepted * 524288.0),
                "Difficulty Rejected": f2(snap.rejected * 524288.0),
                "Last Share Difficulty": f2(524288.0),
                "Last Valid Work": str(snap.when - 3),
                "Device Hardware%": f"{0:.4f}",
                "Device Rejected%": f"{0:.4f}",
                "Device Elapsed": str(snap.elapsed),
            }
        ]
    )


def board_truth(b: BoardState, snap: Snapshot, temps: bool = True) -> dict[str, object]:
    """A board as a correct parser reads bmminer stats: asleep, every chain reads 0 chips and "" rate."""
    if snap.sleeping:
        return {"index": b.slot, "chips": 0, "hashrate_ths": None, "temp_c": None, "chip_temp_c": None}
    from ..truth import board

    return board(b, temps, temps)


def stats_reply_body(version_block: dict[str, str], data: dict[str, str], glued: bool) -> str:
    """STATS[0] is the version block, STATS[1] the data; old bmminer glues them as ``}{`` (no comma)."""
    return "[" + obj(version_block) + ("" if glued else ",") + obj(data) + "]"
