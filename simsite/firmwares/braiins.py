"""Braiins OS (BOSminer) legacy cgminer-compatible RPC: MH/s hashrates, ``devs`` IDs 1..3 with ``Nominal MHS``,
``devdetails`` (Chips, Model, Frequency in Hz), ``temps``, ``fans``, ``tunerstatus`` (the firmware's approximate
power); ``stats`` carries no board data. A paused miner answers ``devdetails`` with Msg "Unavailable"."""

from __future__ import annotations

from typing import Any, ClassVar

from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, num, obj, q
from ..miner import SimMiner, Snapshot
from . import register

_DEVDETAILS_MODEL = {"S19j No PIC": "Antminer S19J88NoPic"}


def _r(m: SimMiner, snap: Snapshot, code: int, msg: str, section: str, body: str, st: str = "S") -> str:
    return reply(m.extra["desc"], snap.when, code, msg, section, body, st)


def _present(snap: Snapshot) -> list[Any]:
    return [b for b in snap.boards if b.present]


def summary(m: SimMiner, snap: Snapshot) -> str:
    mhs, mhs5, avg = snap.ghs * 1000.0, snap.ghs_5s * 1000.0, snap.ghs_avg * 1000.0
    d = {
        "Elapsed": str(snap.elapsed),
        "MHS av": num(avg),
        "MHS 5s": num(mhs5),
        "MHS 1m": num(mhs),
        "MHS 5m": num(mhs),
        "MHS 15m": num(avg),
        "Found Blocks": "0",
        "Getworks": str(52000 + snap.epoch * 4),
        "Accepted": str(snap.accepted),
        "Rejected": str(snap.rejected),
        "Hardware Errors": str(snap.hw),
        "Utility": num(round(snap.accepted * 60.0 / max(snap.elapsed, 1), 2)),
        "Discarded": "0",
        "Stale": str(snap.stale),
        "Get Failures": "0",
        "Local Work": str(74000000 + snap.epoch * 1000),
        "Remote Failures": "0",
        "Network Blocks": str(2400 + snap.epoch // 10),
        "Total MH": num(avg * snap.elapsed),
        "Work Utility": num(round(avg / 7158.0, 2)),
        "Difficulty Accepted": num(snap.accepted * 65536.0),
        "Difficulty Rejected": num(snap.rejected * 65536.0),
        "Difficulty Stale": num(snap.stale * 65536.0),
        "Best Share": str(20492871957 + m.index),
        "Device Hardware%": num(0.0001),
        "Device Rejected%": num(0.3797),
        "Pool Rejected%": num(0.3797),
        "Pool Stale%": num(0.0),
        "Last getwork": str(snap.when),
    }
    return _r(m, snap, 11, "Summary", "SUMMARY", "[" + obj(d) + "]")


def devs(m: SimMiner, snap: Snapshot) -> str:
    items = []
    for k, b in enumerate(_present(snap)):
        mhs = b.ghs * 1000.0
        items.append(
            {
                "ASC": str(k),
                "Name": '""',
                "ID": str(b.slot + 1),
                "Enabled": q("Y"),
                "Status": q("Alive"),
                "Temperature": num(0.0),
                "MHS av": num(snap.ghs_avg * 1000.0 / len(snap.boards)),
                "MHS 5s": num(b.ghs_5s * 1000.0),
                "MHS 1m": num(mhs),
                "MHS 5m": num(mhs),
                "MHS 15m": num(mhs),
                "Accepted": "0",
                "Rejected": "0",
                "Hardware Errors": str(b.hw),
                "Utility": num(0.0),
                "Last Share Pool": "-1",
                "Last Share Time": str(snap.when - 3),
                "Total MH": num(mhs * snap.elapsed),
                "Diff1 Work": str(4961699267 + b.hw),
                "Difficulty Accepted": num(0.0),
                "Difficulty Rejected": num(0.0),
                "Last Share Difficulty": num(2607.0),
                "Last Valid Work": str(snap.when),
                "Device Hardware%": num(0.0015),
                "Device Rejected%": num(0.0),
                "Device Elapsed": str(snap.elapsed),
                "Hardware Error MHS 15m": num(330.0),
                "Nominal MHS": num(b.nominal_ghs * 1000.0),
            }
        )
    return _r(m, snap, 9, f"{len(items):d} ASC(s)", "DEVS", arr(items))


def devdetails(m: SimMiner, snap: Snapshot) -> str:
    if snap.sleeping:
        return _r(m, snap, 69, "Unavailable", "DEVDETAILS", "[]", st="E")
    model = _DEVDETAILS_MODEL.get(m.model, "Antminer " + m.model)
    items = [
        {
            "DEVDETAILS": str(k),
            "Name": q(f"HashchainManager {b.slot + 1:d}"),
            "ID": str(b.slot + 1),
            "Driver": '""',
            "Kernel": '""',
            "Model": q(model),
            "Device Path": '""',
            "Voltage": num(13.6),
            "Frequency": str(b.freq * 1000000 + 466481),
            "Chips": str(b.chips),
            "Cores": str(b.chips * 672),
        }
        for k, b in enumerate(_present(snap))
    ]
    return _r(m, snap, 69, "Device Details", "DEVDETAILS", arr(items))


def temps(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {"TEMP": str(k), "ID": str(b.slot + 1), "Board": num(max(b.pcb)), "Chip": num(max(b.chip))}
        for k, b in enumerate(_present(snap))
    ]
    return _r(m, snap, 201, f"{len(items):d} Temp(s)", "TEMPS", arr(items))


def fans(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {"FAN": str(k), "ID": str(k), "Speed": "100" if rpm else "0", "RPM": str(rpm)}
        for k, rpm in enumerate(snap.fans)
    ]
    return _r(m, snap, 202, f"{len(items):d} Fan(s)", "FANS", arr(items))


def tunerstatus(m: SimMiner, snap: Snapshot) -> str:
    present = _present(snap)
    chains = [
        {
            "HashchainIndex": str(b.slot),
            "Iteration": str(12 + snap.epoch % 3),
            "LoadedProfile": "true",
            "PowerLimit": str(int(m.extra["limit"] / 3)),
            "EstimatedPowerConsumption": str(snap.power_w // 3),
            "Status": q("Stable" if not snap.sleeping else "Paused"),
        }
        for b in present
    ]
    d = {
        "PowerLimit": str(m.extra["limit"]),
        "DynamicPowerScaling": q("Disabled"),
        "ApproximateChainPowerConsumption": str(max(snap.power_w - 60, 0)),
        "ApproximateMinerPowerConsumption": str(snap.power_w),
        "TunerChainStatus": arr(chains),
    }
    return _r(m, snap, 203, "Tuner Status", "TUNERSTATUS", "[" + obj(d) + "]")


def pools(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "POOL": str(p.index),
            "URL": q(p.url),
            "Status": q("Alive" if p.alive else "Dead"),
            "Priority": str(p.index),
            "Quota": "1",
            "Long Poll": q("N"),
            "Getworks": str(300 + snap.epoch if p.active else 0),
            "Accepted": str(p.accepted),
            "Rejected": str(p.rejected),
            "Works": str(p.accepted * 4),
            "Discarded": "0",
            "Stale": str(p.stale),
            "Get Failures": "0",
            "Remote Failures": "0",
            "User": q(p.user),
            "Last Share Time": str(snap.when - 2 if p.active else 0),
            "Diff1 Shares": str(p.accepted * 65536),
            "Proxy Type": '""',
            "Proxy": '""',
            "Difficulty Accepted": num(p.accepted * 65536.0),
            "Difficulty Rejected": num(p.rejected * 65536.0),
            "Difficulty Stale": num(p.stale * 65536.0),
            "Last Share Difficulty": num(65536.0 if p.active else 0.0),
            "Work Difficulty": num(65536.0),
            "Has Stratum": "true",
            "Stratum Active": "true" if p.active else "false",
            "Stratum URL": q(p.url.split("//", 1)[-1] if p.active else ""),
            "Stratum Difficulty": num(65536.0),
            "Has GBT": "false",
            "Best Share": str(20492871957 if p.active else 0),
            "Pool Rejected%": num(0.0),
            "Pool Stale%": num(0.0),
            "Bad Work": "0",
            "Current Block Height": "0",
            "Current Block Version": "536870912",
            "AsicBoost": "true",
        }
        for p in snap.pools
    ]
    return _r(m, snap, 7, f"{len(items):d} Pool(s)", "POOLS", arr(items))


def stats(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "STATS": str(k),
            "ID": '""',
            "Elapsed": "0",
            "Calls": "0",
            "Wait": num(0.0),
            "Max": num(0.0),
            "Min": num(0.0),
        }
        for k in range(3)
    ]
    return _r(m, snap, 70, "BOSminer stats", "STATS", arr(items))


def version(m: SimMiner, snap: Snapshot) -> str:
    block = {"BOSminer": q(m.extra["bosminer"]), "API": q("3.7")}
    return _r(m, snap, 22, "BOSminer versions", "VERSION", "[" + obj(block) + "]")


@register
class Braiins(Firmware):
    name = "braiins"
    models: ClassVar[dict[str, float]] = {
        "S19j Pro": 0.3,
        "S19j No PIC": 0.15,
        "S19 Pro": 0.25,
        "S19 XP": 0.2,
        "S17": 0.1,
    }
    extra_known = frozenset(("pause", "resume", "tunerset"))
    temp_step = 0.0625  # BOSminer prints sensor readings in 1/16 degC
    reads: ClassVar[dict[str, Handler]] = {
        "summary": summary,
        "devs": devs,
        "edevs": devs,
        "devdetails": devdetails,
        "temps": temps,
        "fans": fans,
        "tunerstatus": tunerstatus,
        "pools": pools,
        "stats": stats,
        "estats": stats,
        "version": version,
    }

    def setup(self, miner: SimMiner) -> None:
        tag = "s17" if miner.model == "S17" else "s19"
        miner.extra["bosminer"] = (
            f"bosminer-plus-am2-{tag} 0.9.0-{(miner.seed * 2654435761) & 0xFFFFFFFF:08x}"
        )
        miner.extra["desc"] = "BOSminer " + miner.extra["bosminer"]
        miner.extra["limit"] = int(miner.spec.watts)

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from ..truth import board

        boards = [board(b) for b in snap.boards]
        if snap.sleeping:  # paused: devdetails is "Unavailable", so chip counts are unknown
            boards = [{**t, "chips": None} for t in boards]
        nominal = sum(b.nominal_ghs for b in snap.boards if b.present)  # Nominal MHS of the devs listed
        return {
            "power_source": "estimated",
            "boards": boards,
            "expected_hashrate_ths": round(nominal / 1000.0, 8),
        }
