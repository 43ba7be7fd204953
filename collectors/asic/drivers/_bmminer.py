"""Readers for bmminer-shaped replies, shared by the drivers of firmwares built on Bitmain's bmminer/cgminer
(stock Antminer and Hiveon, LuxOS, VNish, the 2019 Braiins OS that still ran bmminer).

What the shape is (captures listed in research/asic.md):

- ``summary.SUMMARY[0]``: ``GHS 5s`` (a string on old bmminer, a number on X19+), ``GHS av`` (since boot: never
  used as current), optional ``GHS 1m`` (LuxOS) or ``Hashrate1m`` (2019 bOS), ``Elapsed``.
- ``stats.STATS``: one version block (``Type``, ``Miner``, ``CompileTime``) and one data block. Old firmware joins
  the two as ``}{`` (the transport repairs that). The data block holds, per chain N (1..16):
  ``chain_acnN`` (chips, 0 = no board), ``chain_rateN`` (rate, "" when absent), ``temp_pcbN``/``temp_chipN``
  (dash-joined sensor lists that may hold negatives), or the older ``tempN`` (board) / ``temp2_N`` (chip), or
  ``temp_in_pcb_N``/``temp_out_pcb_N``/``temp_in_chip_N``/``temp_out_chip_N`` (DR5); ``fanN`` slots;
  ``total_rateideal`` with ``rate_unit``; ``Mode``; ``Elapsed``.

Units are decided per key, once, here: every rate key of one reply is in ``rate_unit`` when the firmware says
it, else in the algorithm's bmminer unit (GH for SHA-256 and Blake256, MH for Scrypt, kSol for Equihash; see
:data:`ALGORITHM_RATE_UNIT`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ParseError
from ..models import lookup
from ..reading import Board, MinerReading
from ..rpc import status_of
from ..units import dash_list, hottest, integer, num, rpm, text, ths
from ._cgminer import fee_pools, items, pools

Reply = Mapping[str, Any]

CHAINS = range(1, 17)  # bmminer reports up to 16 chain slots
FANS = range(1, 17)

# Every per-chain and per-fan key name, built once: a poll looks each up for all 16 slots, several times, and
# formatting them per lookup was a measurable share of driver parse (README "Performance"). Index = slot number.
_ACN = tuple(f"chain_acn{n}" for n in range(17))
_ACS = tuple(f"chain_acs{n}" for n in range(17))
_RATE = tuple(f"chain_rate{n}" for n in range(17))
_FAN = tuple(f"fan{n}" for n in range(17))
# Board sensors, chip sensors (each: the keys read together, then the older single key used when they read none).
_BOARD_TEMPS = tuple((f"temp_pcb{n}", f"temp_in_pcb_{n}", f"temp_out_pcb_{n}") for n in range(17))
_BOARD_TEMP_OLD = tuple(f"temp{n}" for n in range(17))
_CHIP_TEMPS = tuple((f"temp_chip{n}", f"temp_in_chip_{n}", f"temp_out_chip_{n}") for n in range(17))
_CHIP_TEMP_OLD = tuple(f"temp2_{n}" for n in range(17))

# The unit bmminer's "GHS" keys really carry when the reply names none. The labels say GH for every model, but:
# - Scrypt (L3+): old bmminer writes MH/s under "GHS" (bitmaintech/bmminer issue #11; pyasic converts per algo);
# - Equihash (Z9 mini): values are kSol/s: the capture reads "15.82" on a 10 kSol/s-class machine, which as GH/s
#   would be a million times any Equihash ASIC. One solution counts as one hash (hashes_per_second = Sol/s).
# - X11 (D3) and Ethash (E3): MH/s under "GHS" too: the D3 capture reads "16346.64" on a 15-19 GH/s machine and
#   the E3 one "197.30" on a 190 MH/s one. Taken as GH/s they would be 1,000x high.
ALGORITHM_RATE_UNIT = {
    "sha256": "GH", "blake256": "GH", "scrypt": "MH", "equihash": "KH", "x11": "MH", "ethash": "MH",
}

# Model-name prefixes that decide the algorithm when the model table has no row for a model (longest first:
# "DR5" is Blake256, "D3" X11).
_ALGORITHM_BY_SERIES = (
    ("DR", "blake256"), ("D", "x11"), ("E", "ethash"), ("L", "scrypt"), ("Z", "equihash"),
)
_VENDOR_PREFIX = re.compile(r"^\s*(?:antminer|bitmain)\s+", re.IGNORECASE)

SLEEP_MODE = 254  # bmminer "Mode" while the operator has put the miner to sleep (S17+ capture)


def usable(replies: Mapping[str, Reply], command: str) -> Reply | None:
    """The reply to ``command`` unless absent or an error (E/F) reply."""
    reply = replies.get(command)
    if not reply or status_of(reply)[0] in ("E", "F"):
        return None
    return reply


@dataclass(slots=True)
class Sections:
    """The bmminer sections of one poll, each {} when the firmware did not answer it."""

    summary: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # stats version block
    data: dict[str, Any] = field(default_factory=dict)  # stats data block
    version: dict[str, Any] = field(default_factory=dict)
    pools_reply: Reply | None = None


def split_stats(reply: Reply | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(version block, data block) of a bmminer ``stats`` reply; {} for a block that is not there."""
    info: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for entry in items(reply, "STATS"):
        if not info and "Type" in entry:
            info = entry
        elif not data and ("GHS 5s" in entry or "total_rateideal" in entry or "chain_acn1" in entry):
            data = entry
    return info, data


def sections(replies: Mapping[str, Reply]) -> Sections:
    """The sections a bmminer reading is built from; ParseError when there is neither summary nor stats data."""
    summary_reply = usable(replies, "summary")
    summary = items(summary_reply, "SUMMARY")
    info, data = split_stats(usable(replies, "stats"))
    version = items(usable(replies, "version"), "VERSION")
    if not summary and not data:
        raise ParseError(
            "no SUMMARY section and no bmminer STATS data block (neither summary nor stats answered)"
        )
    return Sections(
        summary=summary[0] if summary else {},
        info=info,
        data=data,
        version=version[0] if version else {},
        pools_reply=usable(replies, "pools"),
    )


def raw_type(sec: Sections) -> str | None:
    """The firmware's model string ("Antminer S19 Pro", "Antminer S17 (vnish 0.9.2-alpha)")."""
    return text(sec.version.get("Type")) or text(sec.info.get("Type"))


def identity(version_reply: Reply | None) -> dict[str, str | None]:
    """Model and firmware strings from a ``version`` reply alone (what identification caches)."""
    entries = items(version_reply, "VERSION")
    v = entries[0] if entries else {}
    return {
        "type": text(v.get("Type")),
        "compile_time": text(v.get("CompileTime")),
        "miner": text(v.get("Miner")),
    }


def strip_vendor(model: str | None) -> str | None:
    """ "Antminer S19 Pro" -> "S19 Pro" (``make`` carries the vendor)."""
    if model is None:
        return None
    # Type strings arrive with trailing spaces, line breaks and runs of spaces ("S19-88 v.2.6.0.39 "): one
    # space between words, or the model table finds no row.
    return text(_VENDOR_PREFIX.sub("", " ".join(model.split())))


def compile_time(sec: Sections) -> str | None:
    return (
        text(sec.version.get("CompileTime"))
        or text(sec.info.get("CompileTime"))
        or text(sec.version.get("Miner"))
        or text(sec.info.get("Miner"))
    )


def algorithm_of(model: str | None) -> str:
    facts = lookup(model)
    if facts is not None:
        return facts.algorithm
    if model:
        name = model.upper().replace("ANTMINER", "").strip()
        for prefix, algorithm in _ALGORITHM_BY_SERIES:
            if name.startswith(prefix):
                return algorithm
    return "sha256"


def rate_unit(data: Mapping[str, Any], algorithm: str) -> str:
    """The unit of every rate key in this reply: the firmware's ``rate_unit``, else the algorithm's default."""
    unit = text(data.get("rate_unit"))
    if unit:
        try:
            ths(1, unit)
        except ValueError:
            raise ParseError(f"stats rate_unit {unit!r} is not a hashrate unit") from None
        return unit
    return ALGORITHM_RATE_UNIT.get(algorithm, "GH")


def current_hashrate(summary: Mapping[str, Any], data: Mapping[str, Any], unit: str) -> float | None:
    """The ~1-minute figure when the firmware has one, else the 5-second one; never the since-boot average."""
    for source, key in (
        (summary, "GHS 1m"),
        (summary, "Hashrate1m"),
        (summary, "GHS 5s"),
        (data, "GHS 1m"),
        (data, "GHS 5s"),
    ):
        value = ths(source.get(key), unit)
        if value is not None:
            return max(value, 0.0)
    return None


def expected_hashrate(data: Mapping[str, Any], unit: str) -> float | None:
    """``total_rateideal``; 0 (asleep, not yet tuned) is unknown, not an expectation of zero."""
    value = ths(data.get("total_rateideal"), unit)
    return value if value else None


def _nonzero(values: list[float]) -> list[float]:
    # Absent sensors and absent boards read 0 (or "0-0-0-0"); a board at exactly 0 °C is not a reading.
    return [v for v in values if v != 0]


def chain_temps(data: Mapping[str, Any], n: int) -> tuple[float | None, float | None]:
    """(hottest board/PCB sensor, hottest chip sensor) of chain ``n``."""
    board = _sensors(data, _BOARD_TEMPS[n], _BOARD_TEMP_OLD[n])
    chip = _sensors(data, _CHIP_TEMPS[n], _CHIP_TEMP_OLD[n])
    return hottest(board), hottest(chip)


def _sensors(data: Mapping[str, Any], keys: tuple[str, ...], older: str) -> list[float]:
    """The non-zero values of ``keys`` in order, else of the ``older`` key (an absent key reads nothing)."""
    values: list[float] = []
    for key in keys:
        value = data.get(key)
        if value is not None:
            values += dash_list(value)
    good = _nonzero(values)
    if good:
        return good
    value = data.get(older)
    return _nonzero(dash_list(value)) if value is not None else []


def chain_base(populated: list[int]) -> int:
    """Chain number of board index 0: S9-era firmware (stock S9, Hiveon, 2019 bOS) numbers chains 6..8."""
    return 6 if populated and min(populated) >= 6 else 1


def chain_chips(data: Mapping[str, Any], n: int) -> int | None:
    """Chips on chain ``n``: ``chain_acnN``, else the count of answering chips (``o``) in ``chain_acsN`` (the
    per-chip status string some firmware builds send without the count); None when neither is readable."""
    acn = _ACN[n]
    if acn in data:
        return integer(data[acn])  # unreadable (NaN, garbage) stays unknown
    acs = data.get(_ACS[n])
    return acs.count("o") if isinstance(acs, str) else None


def _chain_listed(data: Mapping[str, Any], n: int) -> bool:
    return _ACN[n] in data or _RATE[n] in data or _ACS[n] in data


def chain_boards(data: Mapping[str, Any], unit: str, expected_boards: int | None) -> list[Board]:
    """One Board per chain slot from the first populated chain's base; a missing board has chips 0.

    A chain number the firmware does not list at all (no ``chain_acnN``/``chain_rateN``/``chain_acsN`` key) is
    not a slot of this model: the E3 lists chains 1-3 and 8-13 and nothing for 4-7, while stock firmware lists
    every slot of a model, an absent board as ``chain_acnN`` 0. Boards are numbered in slot order."""
    present: dict[int, tuple[int | None, float | None]] = {}
    for n in CHAINS:
        if not _chain_listed(data, n):
            continue
        present[n] = (chain_chips(data, n), ths(data.get(_RATE[n]), unit))
    populated = [n for n, (chips, rate) in present.items() if (chips or 0) > 0 or (rate or 0) > 0]
    if not populated:
        # Every chain the firmware lists reads an explicit 0 chips: all of the model's boards are missing (or
        # asleep). Anything unreadable among them (NaN, garbage) leaves the boards unknown: [].
        acn = [integer(data[_ACN[n]]) for n in CHAINS if _ACN[n] in data]
        if expected_boards and acn and all(c == 0 for c in acn):
            return [Board(index=i, chips=0) for i in range(expected_boards)]
        return []
    base = chain_base(populated)
    last = max(populated)
    if expected_boards:
        last = max(last, base + expected_boards - 1)
    slots = [n for n in range(base, last + 1) if n in present]  # finalize pads the model's unlisted slots
    boards: list[Board] = []
    for index, n in enumerate(slots):
        chips, rate = present.get(n, (0, None))
        temp, chip_temp = chain_temps(data, n)
        if not chips and not rate:
            rate = None  # a missing board has no rate ("" or "0"), not a measured zero
        boards.append(Board(index=index, hashrate_ths=rate, chips=chips, temp_c=temp, chip_temp_c=chip_temp))
    return boards


def fan_slots(data: Mapping[str, Any]) -> list[tuple[int, int | None]]:
    """(slot number, RPM) of every slot up to the last ``fanN`` key; RPM None where the value is unreadable (NaN,
    garbage, negative) or the key is absent between listed slots (a header the build does not report: unknown,
    and the slots after it keep their places)."""
    listed = [n for n in FANS if _FAN[n] in data]
    if not listed:
        return []
    return [(n, rpm(data.get(_FAN[n]))) for n in range(1, listed[-1] + 1)]


def fans(data: Mapping[str, Any], expected: int | None) -> list[int | None]:
    """RPM of the populated fan slots in slot order; a populated slot reading 0 (dead fan) stays 0, an
    unreadable one is None (unknown).

    bmminer reports every slot (fan1..4, fan1..8, fan1..16) and the populated ones vary by model and firmware
    (fan1/fan2 on stock S9k, fan5/fan6 on Hiveon and early bOS S9). The window of populated slots is the
    model's fan count (else ``fan_num``) around the spinning fans, starting on slot 1, 5, 9 or 13 when that
    fits (Bitmain's slot groups). With no fan spinning and ``fan_num`` 0 the firmware reports no fans
    (immersion, fan control off, asleep): [] (unknown), not a row of dead fans.
    """
    slots = fan_slots(data)
    spinning = [i for i, (_n, speed) in enumerate(slots) if speed]
    fan_num = integer(data.get("fan_num")) or 0
    if not spinning:
        count = expected or fan_num
        if fan_num <= 0 or not count:
            return []
        return [speed for _n, speed in slots[:count]]
    first, last = spinning[0], spinning[-1]
    width = max(expected or max(fan_num, len(spinning)), last - first + 1)
    if width > len(slots):
        width = len(slots)
    lo, hi = max(0, last - width + 1), min(first, len(slots) - width)
    starts = list(range(lo, hi + 1)) or [max(0, min(first, len(slots) - width))]
    aligned = [s for s in starts if (slots[s][0] - 1) % 4 == 0]
    start = (aligned or starts)[0]
    return [speed for _n, speed in slots[start : start + width]]


def stopped_fans(data: Mapping[str, Any], expected: int | None) -> list[int]:
    """The model's fan slots as zeros when the reply lists fan slots and every one reads an explicit 0 (how
    a sleeping miner reads); [] when the model's fan count is unknown or any slot is not an explicit 0."""
    slots = fan_slots(data)
    if not expected or not slots or any(speed != 0 for _n, speed in slots):
        return []
    return [0] * expected


def _zero(value: Any) -> bool:
    """An explicit zero: absent, NaN and garbage are unknown, never zero."""
    return num(value) == 0


def asleep(data: Mapping[str, Any]) -> bool:
    """Sleep mode set by the operator: ``Mode`` 254, or a data block that reads an explicit zero everywhere
    (no chips on any chain, no rate, no expected rate, fans stopped, ``fan_num`` 0), which is how the sleeping
    S17+ reads. Unknowns (NaN, garbage, absent values) never count as zeros: a reply of NaNs is unknown, not
    asleep. A miner whose boards all failed still spins its fans, so it is not taken for asleep."""
    if integer(data.get("Mode")) == SLEEP_MODE:
        return True
    if not data:
        return False
    rates = [data[k] for k in ("GHS 5s", "total_rateideal") if k in data]
    if not rates or not all(_zero(v) for v in rates):
        return False
    acn = [data[_ACN[n]] for n in CHAINS if _ACN[n] in data]
    if not acn or not all(_zero(v) for v in acn):
        return False
    if "fan_num" in data and not _zero(data["fan_num"]):
        return False
    slots = fan_slots(data)
    return bool(slots) and all(speed == 0 for _n, speed in slots)


def build(
    sec: Sections,
    device: str,
    *,
    driver: str,
    firmware: str,
    model: str | None,
    firmware_version: str | None,
    make: str = "Antminer",
    sleeping_hint: bool = False,
) -> MinerReading:
    """A reading from bmminer sections; the caller has decided model and firmware strings. ``sleeping_hint``:
    the firmware said elsewhere that the operator put it to sleep (web work mode, curtail mode)."""
    algorithm = algorithm_of(model)
    facts = lookup(model)
    unit = rate_unit(sec.data, algorithm)
    data = sec.data
    uptime = integer(sec.summary.get("Elapsed"))
    if uptime is None:
        uptime = integer(data.get("Elapsed"))
    expected_fans = facts.fans if facts else None
    sleeping = asleep(data) or sleeping_hint
    fan_list = fans(data, expected_fans)
    if sleeping and not fan_list:
        # Asleep, bmminer reports fan_num 0 and every slot 0: the model's fans are stopped (known, not
        # unknown), as the firmwares that list their fans while asleep (LuxOS, Avalon) report them.
        fan_list = list(stopped_fans(data, expected_fans))
    # MSK's bmminer build adds ``total_power`` (W, the firmware's estimate from its PSU settings: no meter on an
    # S19 PSU). Hiveon-style ``chain_power`` strings ("34.65 (AB)") are not watts and are never read.
    power = num(data.get("total_power"))
    power = power if power is not None and power > 0 else None
    return MinerReading(
        device=device,
        driver=driver,
        make=make,
        power_w=power,
        power_source="estimated" if power is not None else None,
        model=model,
        algorithm=algorithm,
        firmware=firmware,
        firmware_version=firmware_version,
        hashrate_ths=current_hashrate(sec.summary, data, unit),
        expected_hashrate_ths=expected_hashrate(data, unit),
        fans_rpm=fan_list,
        boards=chain_boards(data, unit, facts.boards if facts else None),
        pools=pools(sec.pools_reply),
        fee_pools=fee_pools(sec.pools_reply),
        uptime_s=uptime,
        hostname=text(data.get("hostname")),  # ASICseer builds put it in the stats data block
        sleeping=sleeping,
    )
