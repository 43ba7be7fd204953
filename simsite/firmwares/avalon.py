"""Canaan Avalon (cgminer 4.11.1): board data lives in the ``MM ID0`` bracket string of ``stats``/``estats``
(``MGHS[a b c]`` per board GH/s, ``GHSmm`` nominal, ``MTmax`` per-board hottest chip, ``PVT_Tn`` one value per
chip, ``WALLPOWER`` on 13xx and later only); ``version`` carries PROD/MODEL and a 12-hex MAC. Soft-off (sleep)
shows ``Work: In Idle`` and a non-zero ``SoftOFF``."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, f2, obj, q
from ..miner import SimMiner, Snapshot
from . import register

_DESC = "cgminer 4.11.1"
_VER = {
    "1246": "1246-83-21072802_4ec6bb0_211fc46",
    "1366": "1366-N-23042701_7b7c1a5_8a3ff63",
    "1466": "1466-N-24031301_3b9e2c8_5cfd0a1",
    "1566": "1566-N-24110801_9d41e07_b2c7f15",
}


def _wallpower(m: SimMiner) -> bool:
    return m.model != "1246"


def _psu_watts(m: SimMiner, snap: Snapshot) -> int:
    """PS[4]: the PSU's output power; WALLPOWER (13xx and later) is the wall side, a little higher."""
    if snap.sleeping:
        return 0
    return int(snap.power_w * 0.985) if _wallpower(m) else snap.power_w


def _ps(m: SimMiner, snap: Snapshot) -> str:
    # PS[err, Vin*100?, Vout*100, Iout, Pout W, ?, power limit]: Vout x Iout ~ Pout, as on real units.
    watts = _psu_watts(m, snap)
    vout = 4 if snap.sleeping else 1316
    return f"0 1214 {vout:d} {round(watts * 100 / 1316) if watts else 0:d} {watts:d} 1320 {m.extra['limit'] + 300:d}"


def _chip_temps(m: SimMiner, slot: int, hottest: int) -> str:
    """One reading per chip; the per-chip spread is fixed per miner, the hottest chip reads ``hottest``."""
    offsets = m.extra["chip_offsets"][slot]
    if not hottest:  # soft-off: the sensors read 0
        return " ".join(["  0"] * len(offsets))
    return " ".join([f"{hottest - off:3d}" for off in offsets])


def mm_id0(m: SimMiner, snap: Snapshot) -> str:
    sleeping = snap.sleeping
    present = [b for b in snap.boards if b.present]
    tmax = [int(max(b.chip)) if b.present and not sleeping else 0 for b in snap.boards]
    fans = [0] * len(snap.fans) if sleeping else snap.fans
    parts = [
        f"Ver[{_VER[m.model]}]",
        "DNA[{}]".format(m.extra["dna"]),
        "MEMFREE[1201472.0]",
        "NETFAIL[0 0 0 0 0 0 0 0]",
        f"SYSTEMSTATU[Work: {'In Idle' if sleeping else 'In Work'}, Hash Board: {len(present):d} ]",
        f"Elapsed[{snap.elapsed:d}]",
        "BOOTBY[0x08.00000000]",
        f"LW[{24558724 + snap.epoch * 400:d}]",
        "MH[{}]".format(" ".join(str(b.hw // 3) for b in snap.boards)),
        f"HW[{snap.hw:d}]",
        "DH[2.732%]",
        f"Temp[{int(snap.env_c):d}]",
        f"TMax[{max(tmax):d}]",
        f"TAvg[{max(tmax) - 11 if max(tmax) else 0:d}]",
    ]
    parts += [f"Fan{k + 1:d}[{rpm:d}]" for k, rpm in enumerate(fans)]
    parts += [
        f"FanR[{0 if sleeping else 72:d}%]",
        "Vo[329]",
        f"PS[{_ps(m, snap)}]",
    ]
    if _wallpower(m):
        parts.append(f"WALLPOWER[{snap.power_w:d}]")
    parts += [
        f"GHSspd[{snap.ghs_5s:.2f}]",
        "DHspd[2.732%]",
        f"GHSmm[{snap.expected_ghs:.2f}]",
        f"GHSavg[{0.0 if sleeping else snap.ghs_avg:.2f}]",
        f"WU[{snap.ghs * 13.97:.2f}]",
        f"Freq[{0.0 if sleeping else 502.41:.2f}]",
        "Led[0]",
        "MGHS[{}]".format(" ".join(f"{b.ghs:.2f}" for b in snap.boards)),
        "MTmax[{}]".format(" ".join(str(t) for t in tmax)),
        "MTavg[{}]".format(" ".join(str(t - 11 if t else 0) for t in tmax)),
        f"TA[{len(present) * m.spec.chips:d}]",
        "Core[A3201]",
        "PING[443]",
        "POWS[0]",
        "HASHS[{}]".format(" ".join("0" for _ in snap.boards)),
        "POOLS[0]",
        f"SoftOFF[{4 if sleeping else 0:d}]",
        "ECHU[{}]".format(" ".join("0" for _ in snap.boards)),
        "ECMM[0]",
    ]
    for b in present:
        parts.append(f"PVT_T{b.slot:d}[{_chip_temps(m, b.slot, 0 if sleeping else int(max(b.chip)))}]")
    parts += [
        "CRC[{}]".format(" ".join("0" for _ in snap.boards)),
        "POW_I2C[OK]",
        "ADJ[1]",
        f"MPO[{m.extra['limit']:d}]",
        "MVL[87]",
        f"WORKMODE[{0 if sleeping else 1:d}]",
    ]
    return " ".join(parts)


def _stats(m: SimMiner, snap: Snapshot, with_pools: bool) -> str:
    items = [
        {
            "STATS": "0",
            "ID": q("AVA100"),
            "Elapsed": str(snap.elapsed),
            "Calls": "0",
            "Wait": "0.000000",
            "Max": "0.000000",
            "Min": "99999999.000000",
            "MM ID0": q(mm_id0(m, snap)),
            "MM Count": "1",
            "Smart Speed": "1",
            "Voltage Level Offset": "0",
            "Nonce Mask": "25",
        }
    ]
    if with_pools:
        for p in snap.pools:
            items.append(
                {
                    "STATS": str(p.index + 1),
                    "ID": q(f"POOL{p.index:d}"),
                    "Elapsed": str(snap.elapsed),
                    "Calls": "0",
                    "Wait": "0.000000",
                    "Max": "0.000000",
                    "Min": "99999999.000000",
                    "Pool Calls": "0",
                    "Pool Attempts": "0",
                    "Pool Wait": "0.000000",
                    "Pool Max": "0.000000",
                    "Pool Min": "99999999.000000",
                    "Pool Av": "0.000000",
                    "Work Had Roll Time": "false",
                    "Work Can Roll": "false",
                    "Work Had Expire": "false",
                    "Work Roll Time": "0",
                    "Work Diff": f"{262144.0 if p.active else 0.0:.6f}",
                    "Times Sent": str(p.accepted + 3),
                    "Bytes Sent": str(p.accepted * 131 + 255),
                    "Times Recv": str(p.accepted * 2 + 6),
                    "Bytes Recv": str(p.accepted * 1020 + 2055),
                }
            )
    return reply(_DESC, snap.when, 70, "CGMiner stats", "STATS", arr(items))


def stats(m: SimMiner, snap: Snapshot) -> str:
    return _stats(m, snap, True)


def estats(m: SimMiner, snap: Snapshot) -> str:
    return _stats(m, snap, False)


def summary(m: SimMiner, snap: Snapshot) -> str:
    mhs, avg = snap.ghs * 1000.0, (0.0 if snap.sleeping else snap.ghs_avg * 1000.0)
    d = {
        "Elapsed": str(snap.elapsed),
        "MHS av": f2(avg),
        "MHS 30s": f2(snap.ghs_5s * 1000.0),
        "MHS 1m": f2(mhs),
        "MHS 5m": f2(mhs),
        "MHS 15m": f2(avg),
        "Found Blocks": "0",
        "Getworks": str(670 + snap.epoch),
        "Accepted": str(snap.accepted),
        "Rejected": str(snap.rejected),
        "Hardware Errors": str(snap.hw),
        "Utility": f2(snap.accepted * 60.0 / max(snap.elapsed, 1)),
        "Discarded": str(3691802 + snap.epoch * 50),
        "Stale": str(snap.stale),
        "Get Failures": "0",
        "Local Work": str(191000 + snap.epoch * 30),
        "Remote Failures": "0",
        "Network Blocks": str(68 + snap.epoch // 10),
        "Total MH": f"{avg * snap.elapsed:.6f}",
        "Work Utility": f2(snap.ghs * 13.97),
        "Difficulty Accepted": f"{snap.accepted * 262144.0:.6f}",
        "Difficulty Rejected": f"{snap.rejected * 262144.0:.6f}",
        "Difficulty Stale": f"{0.0:.6f}",
        "Best Share": str(354914572 + m.index),
        "Device Hardware%": "0.0000",
        "Device Rejected%": "0.2007",
        "Pool Rejected%": "0.2129",
        "Pool Stale%": "0.0000",
        "Last getwork": "0",
    }
    return reply(_DESC, snap.when, 11, "Summary", "SUMMARY", "[" + obj(d) + "]")


def devs(m: SimMiner, snap: Snapshot) -> str:
    mhs = snap.ghs * 1000.0
    d = {
        "ASC": "0",
        "Name": q("AVALON"),
        "ID": "0",
        "Enabled": q("Y"),
        "Status": q("Alive"),
        "Temperature": f2(snap.env_c),
        "MHS av": f2(0.0 if snap.sleeping else snap.ghs_avg * 1000.0),
        "MHS 5s": f2(snap.ghs_5s * 1000.0),
        "MHS 1m": f2(mhs),
        "MHS 5m": f2(mhs),
        "MHS 15m": f2(mhs),
        "Accepted": str(snap.accepted),
        "Rejected": str(snap.rejected),
        "Hardware Errors": str(snap.hw),
        "Utility": f2(snap.accepted * 60.0 / max(snap.elapsed, 1)),
        "Last Share Pool": "0",
        "Last Share Time": str(snap.when - 5),
        "Total MH": f"{mhs * snap.elapsed:.6f}",
        "Diff1 Work": "391888896",
        "Difficulty Accepted": f"{snap.accepted * 262144.0:.6f}",
        "Difficulty Rejected": f"{0.0:.6f}",
        "Last Share Difficulty": f"{262144.0:.6f}",
        "Last Valid Work": str(snap.when),
        "Device Hardware%": "0.0000",
        "Device Rejected%": "0.2007",
        "Device Elapsed": str(snap.elapsed),
    }
    return reply(_DESC, snap.when, 9, "1 ASC(s)", "DEVS", "[" + obj(d) + "]")


def devdetails(m: SimMiner, snap: Snapshot) -> str:
    d = {
        "DEVDETAILS": "0",
        "Name": q("AVALON"),
        "ID": "0",
        "Driver": q("avalon"),
        "Kernel": '""',
        "Model": '""',
        "Device Path": '""',
    }
    return reply(_DESC, snap.when, 69, "Device Details", "DEVDETAILS", "[" + obj(d) + "]")


def pools(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "POOL": str(p.index),
            "URL": q(p.url),
            "Status": q("Alive" if p.alive else "Dead"),
            "Priority": str(p.index),
            "Quota": "1",
            "Long Poll": q("N"),
            "Getworks": str(670 + snap.epoch if p.active else 1),
            "Accepted": str(p.accepted),
            "Rejected": str(p.rejected),
            "Works": str(p.accepted * 100),
            "Discarded": "0",
            "Stale": str(p.stale),
            "Get Failures": "0",
            "Remote Failures": "0",
            "User": q(p.user),
            "Last Share Time": str(snap.elapsed - 7 if p.active else 0),
            "Diff1 Shares": str(p.accepted * 440000),
            "Proxy Type": '""',
            "Proxy": '""',
            "Difficulty Accepted": f"{p.accepted * 262144.0:.6f}",
            "Difficulty Rejected": f"{p.rejected * 262144.0:.6f}",
            "Difficulty Stale": f"{0.0:.6f}",
            "Last Share Difficulty": f"{262144.0 if p.active else 0.0:.6f}",
            "Work Difficulty": f"{262144.0:.6f}",
            "Has Stratum": "true",
            "Stratum Active": "true" if p.active else "false",
            "Stratum URL": q(p.url.split("//", 1)[-1].rsplit(":", 1)[0] if p.active else ""),
            "Stratum Difficulty": f"{262144.0:.6f}",
            "Has Vmask": "true",
            "Has GBT": "false",
            "Best Share": str(354914572 if p.active else 0),
            "Pool Rejected%": "0.0000",
            "Pool Stale%": "0.0000",
            "Bad Work": "0",
            "Current Block Height": str(907089 + snap.epoch // 10),
            "Current Block Version": "536870912",
        }
        for p in snap.pools
    ]
    return reply(_DESC, snap.when, 7, f"{len(items):d} Pool(s)", "POOLS", arr(items))


def version(m: SimMiner, snap: Snapshot) -> str:
    d = {
        "CGMiner": q("4.11.1"),
        "API": q("3.7"),
        "PROD": q("AvalonMiner " + m.model),
        "MODEL": q(m.model),
        "HWTYPE": q("MM3v2_X3"),
        "SWTYPE": q("MM314"),
        "VERSION": q(_VER[m.model].split("-", 1)[1]),
        "LOADER": q("d0d779de.00"),
        "DNA": q(m.extra["dna"]),
        "MAC": q(m.mac.replace(":", "").lower()),
        "UPAPI": q("2"),
    }
    return reply(_DESC, snap.when, 22, "CGMiner versions", "VERSION", "[" + obj(d) + "]")


@register
class Avalon(Firmware):
    name = "avalon"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("version",))  # the MM Ver names the model
    models: ClassVar[dict[str, float]] = {"1246": 0.35, "1366": 0.3, "1466": 0.2, "1566": 0.15}
    fan_step = 1
    reads: ClassVar[dict[str, Handler]] = {
        "summary": summary,
        "stats": stats,
        "estats": estats,
        "devs": devs,
        "devdetails": devdetails,
        "pools": pools,
        "version": version,
    }

    def allowed(self, miner: SimMiner, cmd: str) -> bool:
        return True

    def setup(self, miner: SimMiner) -> None:
        miner.extra["desc"] = _DESC
        miner.extra["dna"] = f"020100{n.mix(miner.seed, miner.index, n.CH_IDENT, 9) & 1099511627775:010x}"
        miner.extra["limit"] = int(miner.spec.watts) - 220
        offsets = []
        for slot in range(miner.spec.boards):
            rnd = random.Random(n.mix(miner.seed, miner.index, n.CH_TEMP, slot)).random
            spread = [int(14 * rnd()) for _ in range(miner.spec.chips)]
            spread[int(rnd() * len(spread))] = 0
            offsets.append(spread)
        miner.extra["chip_offsets"] = offsets

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        boards = []
        for b in snap.boards:
            live = b.present and not snap.sleeping
            boards.append(
                {
                    "index": b.slot,
                    "chips": b.chips,  # one PVT_T value per chip
                    "hashrate_ths": round(b.ghs / 1000.0, 8),  # MGHS (0.00 for a missing board)
                    "temp_c": None,  # Avalon reports no per-board PCB sensor
                    "chip_temp_c": float(int(max(b.chip))) if live else None,  # MTmax, 0 = no reading
                }
            )
        return {
            "mac": miner.mac,
            "power_source": "reported",
            # WALLPOWER where the firmware has it, else the PSU output in PS[4].
            "power_w": float(snap.power_w if _wallpower(miner) else _psu_watts(miner, snap)),
            "fans_rpm": [0] * len(snap.fans) if snap.sleeping else list(snap.fans),
            "boards": boards,
        }
