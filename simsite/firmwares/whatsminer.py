"""Whatsminer API 1.x/2.x (btminer on cgminer 4.9.2): cgminer reads in MH/s with ``Factory GHS`` in GH/s and
power in the summary, plus the btminer flat replies (``get_version``, ``get_miner_info``, ``get_psu``,
``status``, ``get_error_code``) whose STATUS is a string. btminer commands cannot be joined with ``+``; a
request using the ``cmd`` key for anything but a btminer command gets "Missing JSON 'command'"."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import noise as n
from ..cgminer import Firmware, Handler, Parsed, error, reply
from ..jsontok import arr, f2, obj, q
from ..miner import SimMiner, Snapshot
from . import register

_VARIANT = {
    "M30S": "M30S_VE20",
    "M30S+": "M30S+_VE40",
    "M50": "M50_VH50",
    "M50S": "M50S_VH50",
    "M60": "M60_VK30",
    "M60S": "M60S_VK30",
}
# (firmware build, API version): older builds quote the version with an invalid JSON escape \'.
_BUILDS = (("20200917.22.REL", "1.4.0"), ("20210109.22.REL", "2.0.2"), ("20230803.11.REL", "2.0.5"))
_BTMINER_WRITES = frozenset(
    "update_pools restart_btminer power_off power_on manage_led set_led set_low_power set_high_power "
    "set_normal_power update_firmware reboot factory_reset update_pwd set_target_freq enable_btminer_fast_boot "
    "disable_btminer_fast_boot enable_web_pools disable_web_pools set_hostname set_zone adjust_power_limit "
    "adjust_upfreq_speed set_power_pct pre_power_on set_temp_offset set_poweroff_cool set_fan_zero_speed "
    "net_config load_log".split()
)


def _legacy(m: SimMiner) -> bool:
    return m.extra["build"][1] != "2.0.5"


def _fw_token(m: SimMiner) -> str:
    build = m.extra["build"][0]
    # The 2020 build really prints "\'...\'" (an invalid escape); later ones print plain single quotes.
    return f"\"\\'{build}\\'\"" if m.extra["bad_escape"] else q(f"'{build}'")


def summary(m: SimMiner, snap: Snapshot) -> str:
    mhs, mhs5, avg = (
        snap.ghs * 1000.0,
        snap.ghs_5s * 1000.0,
        (0.0 if snap.sleeping else snap.ghs_avg * 1000.0),
    )
    temps = [max(b.pcb) for b in snap.boards if b.present]
    chips = [max(b.chip) for b in snap.boards if b.present]
    d = {
        "Elapsed": str(snap.elapsed),
        "MHS av": f2(avg),
        "MHS 5s": f2(mhs5),
        "MHS 1m": f2(mhs),
        "MHS 5m": f2(mhs),
        "MHS 15m": f2(avg),
        "HS RT": f2(mhs5),
        "Found Blocks": "0",
        "Getworks": str(10000 + snap.epoch * 5),
        "Accepted": str(snap.accepted),
        "Rejected": str(snap.rejected),
        "Hardware Errors": str(snap.hw),
        "Utility": f2(snap.accepted * 60.0 / max(snap.elapsed, 1)),
        "Discarded": str(8000000 + snap.epoch * 100),
        "Stale": str(snap.stale),
        "Get Failures": "0",
        "Local Work": str(527000000 + snap.epoch * 1000),
        "Remote Failures": "0",
        "Network Blocks": str(4200 + snap.epoch // 10),
        "Total MH": f"{avg * snap.elapsed:.4f}",
        "Work Utility": f2(avg / 18000.0),
        "Difficulty Accepted": f"{snap.accepted * 213000.0:.8f}",
        "Difficulty Rejected": f"{snap.rejected * 213000.0:.8f}",
        "Difficulty Stale": f"{0.0:.8f}",
        "Best Share": str(1003626349 + m.index),
        "Temperature": f2(max(temps, default=0.0)),
        "freq_avg": "622",
        "Fan Speed In": str(snap.fans[0]),
        "Fan Speed Out": str(snap.fans[1]),
        "Voltage": "1300",
        "Power": str(snap.power_w),
        "Power_RT": str(max(snap.power_w - 9, 0)),
        "Device Hardware%": "0.0220",
        "Device Rejected%": f"{135.0 + snap.epoch % 7:.4f}",
        "Pool Rejected%": "0.5220",
        "Pool Stale%": "0.0000",
        "Last getwork": "0",
        "Uptime": str(snap.elapsed + 597),
        "Chip Data": q("HP3D04-20010214 C BINV04-192104B"),
        "Power Current": "245",
        "Power Fanspeed": str(8880 if not snap.sleeping else 2400),
    }
    errors = m.extra["errors"](snap)
    for k, code in enumerate(errors):
        d[f"Error Code {k:d}"] = str(code)
    d.update(
        {
            "Error Code Count": str(len(errors)),
            "Factory Error Code Count": "0",
            "Security Mode": "0",
            "Liquid Cooling": "false",
            "Hash Stable": "true",
            "Hash Stable Cost Seconds": "1498",
            "Hash Deviation%": "-0.3372",
            "Target Freq": "622",
            "Target MHS": str(int(snap.expected_ghs * 1000)),
            "Env Temp": f2(snap.env_c),
            "Power Mode": q("Normal"),
            "Firmware Version": _fw_token(m),
            "CB Platform": q("ALLWINNER_H6OS"),
            "CB Version": q("V10"),
            "MAC": q(m.mac),
            "Factory GHS": str(int(round(snap.expected_ghs))),
            "Power Limit": str(m.extra["limit"]),
            "Chip Temp Min": f2(min(chips, default=0.0) - 15.0),
            "Chip Temp Max": f2(max(chips, default=0.0)),
            "Chip Temp Avg": f2(max(chips, default=0.0) - 6.0),
        }
    )
    return reply("cgminer 4.9.2", snap.when, 11, "Summary", "SUMMARY", "[" + obj(d) + "]")


def devs(m: SimMiner, snap: Snapshot) -> str:
    items = []
    for b in snap.boards:
        if not b.present:
            continue
        mhs = b.ghs * 1000.0
        items.append(
            {
                "ASC": str(b.slot),
                "Name": q("SM"),
                "ID": str(b.slot),
                "Slot": str(b.slot),
                "Enabled": q("Y"),
                "Status": q("Alive"),
                "Temperature": f2(max(b.pcb)),
                "Chip Frequency": str(610 + b.slot * 7),
                "Fan Speed In": str(snap.fans[0]),
                "Fan Speed Out": str(snap.fans[1]),
                "MHS av": f2(0.0 if snap.sleeping else b.nominal_ghs * 1000.0),
                "MHS 5s": f2(b.ghs_5s * 1000.0),
                "MHS 1m": f2(mhs),
                "MHS 5m": f2(mhs),
                "MHS 15m": f2(mhs),
                "Accepted": str(snap.accepted // 3),
                "Rejected": str(snap.rejected // 3),
                "Hardware Errors": str(b.hw),
                "Utility": "1.47",
                "Last Share Pool": "0",
                "Last Share Time": str(snap.when - 9),
                "Total MH": f"{mhs * snap.elapsed:.4f}",
                "Diff1 Work": "1369410",
                "Difficulty Accepted": f"{snap.accepted * 71000.0:.8f}",
                "Difficulty Rejected": f"{0.0:.8f}",
                "Last Share Difficulty": f"{158554.0:.8f}",
                "Last Valid Work": str(snap.when),
                "Device Hardware%": "0.0237",
                "Device Rejected%": "118.4570",
                "Device Elapsed": str(snap.elapsed),
                "Upfreq Complete": "1",
                "Effective Chips": str(b.chips),
                "PCB SN": q(f"{m.serial[:18]}{b.slot:02d}"),
                "Chip Temp Min": f2(max(b.chip) - 20.0),
                "Chip Temp Max": f2(max(b.chip)),
                "Chip Temp Avg": f2(max(b.chip) - 6.0),
            }
        )
    return reply("cgminer 4.9.2", snap.when, 9, f"{len(items):d} ASC(s)", "DEVS", arr(items))


def pools(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "POOL": str(p.index + 1),
            "URL": q(p.url),
            "Status": q("Alive" if p.alive else "Dead"),
            "Priority": str(p.index),
            "Quota": "1",
            "Long Poll": q("N"),
            "Getworks": str(3000 + snap.epoch if p.active else 0),
            "Accepted": str(p.accepted),
            "Rejected": str(p.rejected),
            "Works": str(p.accepted * 3),
            "Discarded": "0",
            "Stale": str(p.stale),
            "Get Failures": "0",
            "Remote Failures": "0",
            "User": q(p.user),
            "Last Share Time": str(snap.when - 4 if p.active else 0),
            "Diff1 Shares": "0",
            "Proxy Type": '""',
            "Proxy": '""',
            "Difficulty Accepted": f"{p.accepted * 213000.0:.8f}",
            "Difficulty Rejected": f"{p.rejected * 213000.0:.8f}",
            "Difficulty Stale": f"{0.0:.8f}",
            "Last Share Difficulty": f"{213000.0 if p.active else 0.0:.8f}",
            "Work Difficulty": f"{213000.0:.8f}",
            "Has Stratum": "true",
            "Stratum Active": "true" if p.active else "false",
            "Stratum URL": q(p.url.split("//", 1)[-1].rsplit(":", 1)[0] if p.active else ""),
            "Stratum Difficulty": f"{213000.0:.8f}",
            "Has GBT": "false",
            "Best Share": "0",
            "Pool Rejected%": "0.0000",
            "Pool Stale%": "0.0000",
            "Bad Work": "0",
            "Current Block Height": str(860000 + snap.epoch // 10),
            "Current Block Version": "536870912",
        }
        for p in snap.pools
    ]
    return reply("cgminer 4.9.2", snap.when, 7, f"{len(items):d} Pool(s)", "POOLS", arr(items))


def devdetails(m: SimMiner, snap: Snapshot) -> str:
    items = [
        {
            "DEVDETAILS": str(b.slot),
            "Name": q("SM"),
            "ID": str(b.slot),
            "Driver": q("bitmicro"),
            "Kernel": '""',
            "Model": q(_VARIANT[m.model]),
            "Device Path": '""',
        }
        for b in snap.boards
        if b.present
    ]
    return reply("cgminer 4.9.2", snap.when, 69, "Device Details", "DEVDETAILS", arr(items))


def version(m: SimMiner, snap: Snapshot) -> str:
    block = {
        "CGMiner": q("4.9.2"),
        "API": q("3.7"),
        "Miner": q(m.extra["build"][0]),
        "CompileTime": q(""),
        "Type": q("Whatsminer"),
    }
    return reply("cgminer 4.9.2", snap.when, 22, "CGMiner versions", "VERSION", "[" + obj(block) + "]")


def _flat(m: SimMiner, snap: Snapshot, msg: dict[str, str], code: int = 131, st: str = "S") -> str:
    desc = "whatsminer v1.3" if _legacy(m) else ""
    return (
        f'{{"STATUS":"{st}","When":{snap.when:d},"Code":{code:d},"Msg":{obj(msg)},"Description":{q(desc)}}}'
    )


def _flat_error(m: SimMiner, snap: Snapshot, code: int, msg: str) -> str:
    desc = "whatsminer v1.3" if _legacy(m) else ""
    return f'{{"STATUS":"E","When":{snap.when:d},"Code":{code:d},"Msg":{q(msg)},"Description":{q(desc)}}}'


def get_version(m: SimMiner, snap: Snapshot) -> str:
    build, api = m.extra["build"]
    return _flat(m, snap, {"api_ver": q(api), "fw_ver": q(build), "platform": q("H6OS"), "chip": q("K2.1")})


def get_miner_info(m: SimMiner, snap: Snapshot) -> str:
    return _flat(
        m,
        snap,
        {
            "ip": q(m.ip),
            "proto": q("dhcp"),
            "netmask": q("255.0.0.0"),
            "gateway": q("127.0.0.1"),
            "dns": q("127.0.0.53"),
            "hostname": q(m.hostname),
            "mac": q(m.mac),
            "ledstat": q("auto"),
            "minersn": q(m.serial),
        },
    )


def get_psu(m: SimMiner, snap: Snapshot) -> str:
    return _flat(
        m,
        snap,
        {
            "name": q("P221B"),
            "hw_version": q("V01.00"),
            "sw_version": q("V01.00.V01.03"),
            "model": q("P221B"),
            "iin": q(f"{snap.power_w * 1000 // 228:d}"),
            "vin": q("22800"),
            "fan_speed": q(str(8880 if not snap.sleeping else 2400)),
            "serial_no": q(m.serial[::-1]),
        },
    )


def status(m: SimMiner, snap: Snapshot) -> str:
    off = "true" if snap.sleeping else "false"
    build = m.extra["build"][0]
    if _legacy(m):
        return _flat(m, snap, {"btmineroff": q(off), "Firmware Version": q(f"'{build}'")})
    return _flat(
        m,
        snap,
        {
            "mineroff": q(off),
            "mineroff_reason": q("user" if snap.sleeping else ""),
            "mineroff_time": q(""),
            "FirmwareVersion": q(build),
            "power_limit_set": q(str(m.extra["limit"])),
            "hash_percent": q("0" if snap.sleeping else "100"),
            "power_mode": q("normal"),
        },
    )


def get_error_code(m: SimMiner, snap: Snapshot) -> str:
    codes = m.extra["errors"](snap)
    items = ",".join(f'{{"{c:d}":"2025-10-09 {7:02d}:{k:02d}:{30:02d}"}}' for k, c in enumerate(codes))
    return _flat(m, snap, {"error_code": "[" + items + "]"})


_BTMINER: dict[str, Handler] = {
    "get_version": get_version,
    "get_miner_info": get_miner_info,
    "get_psu": get_psu,
    "status": status,
    "get_error_code": get_error_code,
}


@register
class Whatsminer(Firmware):
    name = "whatsminer"
    optional_parts: ClassVar[frozenset[str]] = frozenset(("status", "get_error_code"))
    models: ClassVar[dict[str, float]] = {
        "M30S": 0.2,
        "M30S+": 0.2,
        "M50": 0.15,
        "M50S": 0.2,
        "M60": 0.1,
        "M60S": 0.15,
    }
    temp_step = 0.5
    fan_step = 30
    reads: ClassVar[dict[str, Handler]] = {
        "summary": summary,
        "devs": devs,
        "edevs": devs,
        "pools": pools,
        "devdetails": devdetails,
        "version": version,
    }

    def setup(self, miner: SimMiner) -> None:
        k = int(n.unit(miner.seed, miner.index, n.CH_VARIANT) * len(_BUILDS))
        miner.extra["build"] = _BUILDS[k]
        miner.extra["bad_escape"] = k == 0
        miner.extra["desc"] = "cgminer 4.9.2"
        miner.extra["limit"] = 3600 if miner.spec.watts > 3300 else 3500
        dead = miner.dead_fan

        def errors(snap: Snapshot) -> list[int]:
            # 110/111: intake/outlet fan speed error; 2010: a hashboard not detected.
            out = [110 + dead] if miner.fault == "dead_fan" else []
            return out + ([2010] if any(not b.present for b in snap.boards) else [])

        miner.extra["errors"] = errors

    def answer_json(self, miner: SimMiner, snap: Snapshot, p: Parsed) -> str:
        if p.error is None and p.is_json:
            if p.command in _BTMINER:
                if self.lacks(miner, p.command):
                    return error(self.description(miner), snap.when, 14, "Invalid command")
                return _BTMINER[p.command](miner, snap)
            if p.command in _BTMINER_WRITES:
                return _flat_error(miner, snap, 45, "Permission denied")  # writes need the token + AES API
            if (
                p.key == "command"
                and "+" in p.command
                and any(c in _BTMINER or c.startswith("get_") for c in p.command.split("+"))
            ):
                return error(self.description(miner), snap.when, 14, "Invalid command")
        return super().answer_json(miner, snap, p)

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        # devs: Temperature = board sensor, Chip Temp Max = hottest chip (the generic board truth).
        return {
            "mac": miner.mac,
            "serial": miner.serial,
            "hostname": miner.hostname,
            "power_source": "reported",
            "expected_hashrate_ths": round(int(round(snap.expected_ghs)) / 1000.0, 8),
        }
