"""LuxOS (LUXminer): bmminer-compatible summary/stats (with the wrong ``total rate``/``total_acn`` aggregates)
plus ``config``, ``power`` (``PSU`` false = the firmware's estimate), ``fans`` (list order is not fan-name order),
``temps`` (4 corner sensors per board), ``profiles``, ``devs`` (not sorted by ID), pools in GROUPs."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, reply
from ..jsontok import arr, b, num, obj, q
from ..miner import PoolSpec, SimMiner, Snapshot
from . import _bmminer as bm
from . import register

LAYOUT = bm.Layout(absent_rate='"0"')
_FAN_NAMES = (
    "FAN4",
    "FAN2",
    "FAN1",
    "FAN3",
)  # as LuxOS lists them: physical name order differs from list order


def _desc(m: SimMiner) -> str:
    return "LUXminer " + m.extra["lux"]


def _r(m: SimMiner, snap: Snapshot, code: int, msg: str, section: str, body: str) -> str:
    return reply(_desc(m), snap.when, code, msg, section, body)


def summary(m: SimMiner, snap: Snapshot) -> str:
    d = bm.summary(m, snap, LAYOUT)
    avg = f"{0.0 if snap.sleeping else snap.ghs_avg:.2f}"
    d["GHS 5s"] = f"{snap.ghs_5s:.2f}"
    out = {
        "Elapsed": d.pop("Elapsed"),
        "GHS 5s": d.pop("GHS 5s"),
        "GHS 1m": f"{snap.ghs:.2f}",
        "GHS 5m": avg,
        "GHS 15m": avg,
        "GHS 24h": avg,
        **d,
    }
    return _r(m, snap, 11, "Summary", "SUMMARY", "[" + obj(out) + "]")


def stats(m: SimMiner, snap: Snapshot) -> str:
    data = bm.stats_data(m, snap, LAYOUT)
    data["GHS 5s"] = f"{snap.ghs_5s:.2f}"
    for k in range(4):  # LuxOS prints the chip sensors into all three temperature families
        data[f"temp_chip{k + 1:d}"] = data[f"temp_pcb{k + 1:d}"]
        data[f"temp_pic{k + 1:d}"] = data[f"temp_pcb{k + 1:d}"]
    for k in range(len(snap.boards)):
        data[f"temp2_{k + 1:d}"] = data[f"temp{k + 1:d}"]
    first = next((x for x in snap.boards if x.present and not snap.sleeping), None)
    data["total rate"] = f"{first.ghs if first else 0.0:.2f}"  # real firmware bug: one board, not the sum
    data["total_acn"] = "4"
    data["miner_version"] = q(m.extra["miner"])
    data["miner_id"] = q(m.mac.replace(":", "").lower())
    head = {
        "CompileTime": q(m.extra["compiled"]),
        "Miner": q(m.extra["miner"]),
        "Type": q("Antminer " + m.model),
    }
    return _r(m, snap, 70, "LUXminer stats", "STATS", bm.stats_reply_body(head, data, False))


def version(m: SimMiner, snap: Snapshot) -> str:
    block = {
        "LUXminer": q(m.extra["lux"]),
        "API": q("3.7"),
        "Miner": q(m.extra["miner"]),
        "CompileTime": q(m.extra["compiled"]),
        "Type": q("Antminer " + m.model),
    }
    return _r(m, snap, 22, "LUXminer versions", "VERSION", "[" + obj(block) + "]")


def config(m: SimMiner, snap: Snapshot) -> str:
    d = {
        "ASC Count": str(sum(1 for x in snap.boards if x.present)),
        "PGA Count": "0",
        "Pool Count": str(len(snap.pools)),
        "Strategy": q("Failover"),
        "Log Interval": "0",
        "Device Code": '""',
        "OS": q("LuxOS"),
        "Hotplug": q("None"),
        "Model": q("Antminer " + m.model),
        "MACAddr": q(m.mac.lower()),
        "SerialNumber": q(m.serial),
        "Hostname": q(m.hostname),
        "NameplateTHS": num(m.spec.ths),
        "Profile": q("default"),
        "ProfileStep": q("0"),
        "CurtailMode": q("Sleep" if snap.sleeping else "None"),
        "IsPowerSupplyOn": b(not snap.sleeping),
        "IsTuning": "false",
        "IsAtmEnabled": "true",
        "ImmersionMode": "false",
        "Cooling": q("Air"),
        "PSULabel": q("APW121215e"),
        "RedLed": q("auto"),
        "GreenLed": q("auto"),
        "SystemStatus": q("Curtailed" if snap.sleeping else "Normal"),
        "DHCP": "true",
        "IPAddr": q(m.ip),
        "Netmask": q("255.0.0.0"),
        "Gateway": q("127.0.0.1"),
        "BcastAddr": q("127.255.255.255"),
        "DNS Servers": '""',
        "ControlBoardType": q("cvitek"),
        "FPGABuildIdHex": q("0x18351835"),
        "FPGABuildIdStr": q("2018-35-18 35:00"),
        "FeeStatus": q("Ok"),
        "IsSingleVoltage": "true",
        "LogFileLevel": q("info"),
        "PSUHwVersion": q("75"),
        "UpdateOnStartup": q("off"),
        "UpdateOnTimeout": q("off"),
        "UpdateOnUser": q("full"),
        "UpdateSource": q("https://storage.googleapis.com/luxor-firmware/stable"),
        "UpdateTimeout": "60",
    }
    return _r(m, snap, 33, "LUXminer config", "CONFIG", "[" + obj(d) + "]")


def power(m: SimMiner, snap: Snapshot) -> str:
    return _r(
        m, snap, 311, "Power usage", "POWER", arr([{"Watts": str(snap.power_w), "PSU": b(m.extra["psu"])}])
    )


def fans(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {"FAN": q(_FAN_NAMES[k % 4]), "ID": str(k), "RPM": str(rpm), "Speed": "0" if snap.sleeping else "40"}
        for k, rpm in enumerate(snap.fans)
    ]
    body = arr(items) + ',"FANCTRL":' + arr([{"MinFans": "3", "PowerOffSpeed": "20"}])
    return _r(m, snap, 202, f"{len(items):d} Fan(s)", "FANS", body)


def temps(m: SimMiner, snap: Snapshot) -> str:
    items: list[dict[str, str]] = []
    for x in snap.boards:
        if not x.present:
            continue
        items.append(
            {
                "TEMP": str(len(items)),
                "ID": str(x.slot),
                "TopLeft": num(x.pcb[0]),
                "TopRight": num(x.pcb[1]),
                "BottomLeft": num(x.pcb[2]),
                "BottomRight": num(x.pcb[3]),
            }
        )
    meta = (
        '[{"TopLeft":{"Label":"Board Exhaust (top)","Position":[0,0]},"TopRight":{"Label":"Board Intake (top)",'
        '"Position":[0,1]},"BottomLeft":{"Label":"Board Exhaust (bottom)","Position":[1,0]},'
        '"BottomRight":{"Label":"Board Intake (bottom)","Position":[1,1]}}]'
    )
    return _r(m, snap, 201, f"{len(items):d} Temp(s)", "TEMPS", arr(items) + ',"METADATA":' + meta)


def devs(m: SimMiner, snap: Snapshot) -> str:
    items = []
    present = [x for x in snap.boards if x.present]
    rot = m.index % max(len(present), 1)
    for x in present[rot:] + present[:rot]:  # LuxOS does not sort devs by ID
        mhs = x.ghs * 1000.0
        items.append(
            {
                "ASC": str(x.slot),
                "Name": '""',
                "ID": str(x.slot),
                "Enabled": q("Y"),
                "Status": q("Alive" if not snap.sleeping else "Disabled"),
                "Temperature": num(max(x.pcb)),
                "MHS av": num(snap.ghs_avg * 1000.0 / len(snap.boards)),
                "MHS 5s": num(x.ghs_5s * 1000.0),
                "MHS 1m": num(mhs),
                "MHS 5m": num(mhs),
                "MHS 15m": num(mhs),
                "MHS 30m": num(mhs),
                "MHS 60m": num(mhs),
                "Accepted": str(snap.accepted // max(len(present), 1)),
                "Rejected": "0",
                "Hardware Errors": str(x.hw),
                "Utility": "0",
                "Last Share Pool": "0",
                "Last Share Time": str(snap.when - 1),
                "Total MH": num(mhs * snap.elapsed),
                "Diff1 Work": str(snap.accepted * 32768),
                "Difficulty Accepted": str(snap.accepted * 32768),
                "Difficulty Rejected": "0",
                "Last Share Difficulty": "32768",
                "Last Valid Work": str(snap.when - 1),
                "Device Hardware%": "0",
                "Device Rejected%": "0",
                "Hardware Error MHS 15m": "0",
                "ControllerIPVersionHex": q("0x18351835"),
                "ControllerIPVersionStr": q("N/A"),
                "Nominal MHS": num(0.0 if snap.sleeping else x.nominal_ghs * 1000.0),
                "Profile": q("default"),
                "SerialNumber": q(m.serial[:-1] + "ABC"[x.slot % 3]),
                "Board": q("BHB56903"),
                "Connector": q(f"J{7 + x.slot:d}"),
                "Device Elapsed": str(snap.elapsed),
                "IsRamping": "false",
                "IsUserShutdown": b(snap.sleeping),
            }
        )
    return _r(m, snap, 9, f"{len(items):d} ASC(s)", "DEVS", arr(items))


def devdetails(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "DEVDETAILS": str(k),
            "Name": '""',
            "ID": str(x.slot),
            "Driver": q("bitmain"),
            "Kernel": '""',
            "Model": q("Antminer " + m.model),
            "Device Path": '""',
            "Chips": str(x.chips),
        }
        for k, x in enumerate(y for y in snap.boards if y.present)
    ]
    return _r(m, snap, 69, "Device Details", "DEVDETAILS", arr(items))


def pools(m: SimMiner, snap: Snapshot) -> str:
    items = bm.pools(m, snap)
    for d, p in zip(items, snap.pools, strict=True):
        d["GROUP"] = str(p.index // 2)
        d["Pool Stale%"] = d.pop("Pool Stale%%")
        d["Long Pool"] = d.pop("Long Poll")  # sic: LuxOS spells it "Long Pool"
        d.update(
            {
                "Works": "0",
                "Bad Work": "0",
                "AsicBoost": "true",
                "Has Vmask": "true",
                "Current Block Height": "0",
                "Current Block Version": "536870912",
                "Stratum Difficulty": "32768" if p.active else "0",
                "Work Difficulty": "32768" if p.active else "0",
            }
        )
    return _r(m, snap, 7, f"{len(items):d} Pool(s)", "POOLS", arr(items))


def profiles(m: SimMiner, snap: Snapshot) -> str:
    items = []
    for step in range(-6, 5):
        ths = round(m.spec.ths * (1 + 0.043 * step), 1)
        items.append(
            {
                "Profile Name": q("default" if step == 0 else f"{590 + 25 * step:d}MHz"),
                "Frequency": str(590 + 25 * step),
                "Hashrate": num(ths),
                "Watts": str(int(m.spec.watts * (1 + 0.056 * step))),
                "Voltage": num(round(13.5 + 0.15 * step, 2)),
                "Step": q(str(step)),
                "IsDynamic": "true",
                "IsTuned": b(step == 0),
                "CanRestore": "true",
                "HasOverrides": "false",
            }
        )
    return _r(m, snap, 323, "List profiles", "PROFILES", arr(items))


@register
class LuxOS(Firmware):
    name = "luxos"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("power", "fans", "config"))
    models: ClassVar[dict[str, float]] = {
        "S19k Pro": 0.3,
        "S19 Pro": 0.2,
        "S19j Pro": 0.2,
        "S19 XP": 0.15,
        "S21": 0.15,
    }
    extra_known = frozenset(
        (
            "logon",
            "logoff",
            "curtail",
            "profileset",
            "rebootdevice",
            "resetminer",
            "ledset",
            "fanset",
            "tempctrlset",
            "poolopts",
            "atmset",
            "updaterun",
        )
    )
    reads: ClassVar[dict[str, Handler]] = {
        "summary": summary,
        "stats": stats,
        "version": version,
        "config": config,
        "power": power,
        "fans": fans,
        "temps": temps,
        "devs": devs,
        "edevs": devs,
        "devdetails": devdetails,
        "pools": pools,
        "profiles": profiles,
    }

    def setup(self, miner: SimMiner) -> None:
        miner.extra["lux"] = "2025.4.8.220305-57b389c7"
        miner.extra["miner"] = "2025.4.8.220305"
        miner.extra["compiled"] = "Tue Apr  8 22:05:35 UTC 2025"
        miner.extra["psu"] = n.unit(miner.seed, miner.index, n.CH_VARIANT) < 0.3
        miner.extra["desc"] = _desc(miner)
        # Two pool groups, one active pool in each.
        base = miner.pool_specs
        miner.pool_specs = [
            base[0],
            PoolSpec(base[1].url, base[0].user, False, False, 0, 0),
            PoolSpec(base[0].url, base[0].user + "b", True, True, base[0].accepted0 // 2, base[0].rate),
            PoolSpec(base[1].url, base[0].user + "b", False, False, 0, 0),
        ]

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        return {
            "mac": miner.mac,
            "serial": miner.serial,
            "hostname": miner.hostname,
            "power_source": "reported" if miner.extra["psu"] else "estimated",
            # Physical order is the FAN name (FAN1..FAN4); the FANS list and stats fanN follow list order.
            "fans_rpm": [snap.fans[_FAN_NAMES.index(f"FAN{k + 1}")] for k in range(len(snap.fans))],
            "expected_hashrate_ths": None if snap.sleeping else round(snap.expected_ghs / 1000.0, 8),
            # temp_chipN repeats temp_pcbN on LuxOS, so the hottest "chip" reading is the hottest board sensor.
            "boards": [
                {**t, "chip_temp_c": t["temp_c"]} for t in (bm.board_truth(x, snap) for x in snap.boards)
            ],
        }
