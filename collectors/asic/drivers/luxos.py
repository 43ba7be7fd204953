"""LuxOS (LUXminer) on Antminer hardware, RPC on 4028.

Per cycle one joined request ``summary+stats+devs+pools+power+fans+config`` (config carries the curtail mode,
which must be fresh: a curtailed miner is asleep, not broken); ``version`` is identity
(cached). What comes from where:

- hashrate: ``summary`` "GHS 1m" (GH/s; "GHS 5s" when absent). Never "GHS av".
- boards: stats ``chain_acnN`` (chips) and temps as on stock (:mod:`._bmminer`); per-board rate from
  ``devs`` "MHS 1m" (MH/s) by ``ID`` (0-based, listed out of order), else stats ``chain_rateN`` (which on LuxOS
  is the since-boot average). Stats ``total rate`` and ``total_acn`` are wrong on LuxOS and never read.
- expected: stats ``total_rateideal`` (follows the active profile; config ``NameplateTHS`` is the sticker value
  at the default profile and would flag every down-clocked miner as degraded).
- fans: ``fans.FANS`` ordered by the fan's name (FAN1..FANn = physical slots; the list order differs), else
  (absent, or no RPM readable) stats ``fanN``; an unreadable RPM is unknown (None), never 0.
- power: ``power.POWER[0].Watts``; source "reported" when ``PSU`` is true (PSU telemetry), else "estimated".
- identity: ``config`` ``Model``, ``MACAddr``, ``SerialNumber``, ``Hostname``; ``version`` ``Miner``.
- sleeping: stats ``Mode`` 254 / all-zero stats (as stock), every board ``IsUserShutdown``, or a config
  ``CurtailMode`` other than "None".
- ``temps`` (four corner sensors per board) is read when present to fill a board temperature stats lacks.
"""

from __future__ import annotations

import re
from typing import Any

from ..driver import Driver, Replies
from ..reading import MinerReading
from ..units import by_slot, hottest, integer, mac, num, rpm, text, ths, truthy
from . import _bmminer as bm
from ._bmminer import usable
from ._cgminer import first, items

_FAN_NAME = re.compile(r"(?<!\d)(\d{1,9})\s*$")  # bounded: int() refuses >4300 digits
_NOT_CURTAILED = ("", "none", "off", "wakeup", "awake", "normal")


def _fan_order(entry: dict[str, Any]) -> tuple[int, int]:
    m = _FAN_NAME.search(str(entry.get("FAN", "")))
    if m is not None:
        return 0, int(m.group(1))
    return 1, integer(entry.get("ID")) or 0


def fans_by_name(reply: Any) -> list[int | None] | None:
    """RPM per fan in slot order (None where unreadable); None when the reply has no FANS."""
    entries = items(reply, "FANS")
    if not entries:
        return None
    ordered = sorted(entries, key=_fan_order)
    named = {int(m.group(1)): rpm(e.get("RPM")) for e in entries if (m := _FAN_NAME.search(str(e.get("FAN", ""))))}
    if len(named) == len(entries):
        return by_slot(named, first=min(1, min(named)))  # FAN1, FAN3: slot 2 unknown, FAN3 keeps its place
    return [rpm(e.get("RPM")) for e in ordered]


def power(reply: Any) -> tuple[float | None, str | None]:
    entry = first(reply, "POWER")
    watts = num(entry.get("Watts"))
    if not watts or watts <= 0:
        return None, None
    return watts, ("reported" if truthy(entry.get("PSU")) else "estimated")


def _devs_by_id(reply: Any) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for entry in items(reply, "DEVS"):
        i = integer(entry.get("ID"))
        if i is not None:
            out[i] = entry
    return out


def _temps_by_id(reply: Any) -> dict[int, float | None]:
    out: dict[int, float | None] = {}
    for entry in items(reply, "TEMPS"):
        i = integer(entry.get("ID"))
        if i is None:
            continue
        values = [num(v) for k, v in entry.items() if k not in ("ID", "TEMP")]
        out[i] = hottest([v for v in values if v])
    return out


def parse(replies: Replies, device: str) -> MinerReading:
    sec = bm.sections(replies)
    config = first(usable(replies, "config"), "CONFIG")
    model = bm.strip_vendor(text(config.get("Model")) or bm.raw_type(sec))
    version = (
        text(sec.version.get("Miner")) or text(sec.info.get("Miner")) or text(sec.version.get("LUXminer"))
    )
    devs = _devs_by_id(usable(replies, "devs"))
    curtail = (text(config.get("CurtailMode")) or "").lower()
    user_shutdown = bool(devs) and all(truthy(d.get("IsUserShutdown")) for d in devs.values())
    reading = bm.build(
        sec, device, driver=DRIVER.name, firmware="luxos", model=model, firmware_version=version,
        sleeping_hint=curtail not in _NOT_CURTAILED or user_shutdown,
    )

    temps = _temps_by_id(usable(replies, "temps"))
    by_index = {b.index: b for b in reading.boards}
    for i, dev in devs.items():
        board = by_index.get(i)
        if board is None:
            continue
        rate = ths(dev.get("MHS 1m"), "MH")
        if rate is None:
            rate = ths(dev.get("MHS 5s"), "MH")
        if rate is not None and board.chips != 0:
            board.hashrate_ths = rate
    for i, temp in temps.items():
        board = by_index.get(i)
        if board is not None and board.temp_c is None and board.chips != 0:
            board.temp_c = temp

    fan_list = fans_by_name(usable(replies, "fans"))
    if fan_list is not None and any(speed is not None for speed in fan_list):
        reading.fans_rpm = fan_list
    reading.power_w, reading.power_source = power(usable(replies, "power"))
    reading.mac = mac(config.get("MACAddr"))
    reading.serial = text(config.get("SerialNumber"))
    reading.hostname = text(config.get("Hostname"))
    return reading


DRIVER = Driver(
    name="luxos",
    signatures=("LUXMINER",),
    web_signatures=("luxor firmware", "luxos"),
    commands=("summary", "stats", "devs", "pools", "power", "fans", "config"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=10,
)
