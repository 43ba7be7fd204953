"""The generic cgminer-API reader: any miner that answers the cgminer RPC on 4028 but matches no dedicated driver.

Identification falls back to it when the RPC probe got a well-formed cgminer reply (a ``STATUS`` block) and no
signature matched, instead of calling the device ``unsupported``. It reads only what the standard API carries,
and every reading it makes carries the note :data:`NOTE` so nobody mistakes it for a dedicated driver's:

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     current hashrate (:func:`._cgminer.current_rate`: "MHS 1m", else 30s, else 5s, the unit taken from
            each key's own prefix — KHS/MHS/GHS/THS); ``Elapsed`` (uptime); a summary with only a since-boot
            average ("MHS av") gives a null hashrate and a note, never the average
stats       chain entries (those with a chip count: ``Num active chips``, ``Chip Count``, ``Asics``,
            ``chain_acnN``-free forks): chips, board temperature (``Temp``, ``Temp Avg``), current rate;
            ``Type``/``Model`` (model); fan speeds ``FanN``/``fanN``/``Fan N Speed``/``FanN Speed`` (RPM keys
            only: ``Fan duty``/``PWM`` are percentages or control values, not speeds) from the first entry that
            has any, since some firmwares repeat the same fans on every chain entry
devs        per-device current rate, chips (``Asics``) and temperature, asked only when stats has no chain
            entries
pools       ``POOLS[]`` (or sgminer's ``POOL0``..``POOLn``)
version     ``Type``/``Model`` (model)
==========  ================================================================================================

Power, expected hashrate, errors, MAC and serial are null: the standard API has no such fields. The algorithm
is "unknown" unless the model is in the model facts table (a Scrypt or Equihash machine behind the generic reader
would otherwise be labelled SHA-256). The hashrate is exported in TH/s of whatever unit the device counts in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading
from ..units import integer, num, rpm, text
from ._cgminer import (
    current_rate,
    description_parts,
    first,
    has_average_only,
    items,
    numbered_sections,
    pools,
)

NAME = "cgminer"
NOTE = ("generic cgminer-API reader: hashrate, pools, uptime, fans and temperatures from the standard API only; "
        "power, expected hashrate, errors and identity are not read")
AVERAGE_ONLY_NOTE = "the firmware reports only a since-boot average hashrate (\"MHS av\"): current hashrate unknown"

_CHIP_KEYS = ("Num active chips", "Chip Count", "Asics", "Num chips", "chips")
_TEMP_KEYS = ("Temp", "Temp Avg", "Temperature", "temp")
_FAN_KEY = re.compile(r"^fan\s?(\d{1,2})(?:\s?speed)?$", re.IGNORECASE)
_FAN_SPEED_KEY = re.compile(r"^fan\s?speed\s?(\d{1,2})$", re.IGNORECASE)


def stats_entries(reply: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """STATS entries, in either shape: one ``STATS`` list or sgminer's ``STATS0``..``STATSn`` sections."""
    return items(reply, "STATS") or numbered_sections(reply, "STATS")


def pool_list(reply: Mapping[str, Any] | None) -> list[Any]:
    if items(reply, "POOLS") or not reply:
        return pools(reply)
    return pools({"POOLS": numbered_sections(reply, "POOL")})


def chip_count(entry: Mapping[str, Any]) -> int | None:
    for key in _CHIP_KEYS:
        if key in entry:
            return integer(entry.get(key))
    return None


def is_chain(entry: Mapping[str, Any]) -> bool:
    """A STATS entry about a hash chain (not the firmware header or a POOLn statistics entry)."""
    ident = str(entry.get("ID", ""))
    return not ident.upper().startswith("POOL") and any(k in entry for k in _CHIP_KEYS)


def temperature(entry: Mapping[str, Any], keys: tuple[str, ...] = _TEMP_KEYS) -> float | None:
    """The first temperature key with a plausible reading; 0 is an absent sensor (every such firmware prints
    0.00 for one), never 0 °C."""
    for key in keys:
        t = num(entry.get(key))
        if t is not None and 0 < t < 200:
            return t
    return None


def fan_speeds(entries: list[dict[str, Any]]) -> list[int | None]:
    """RPM fans of the first entry that has any, in slot order."""
    for entry in entries:
        found: dict[int, int | None] = {}
        for key, value in entry.items():
            if not isinstance(key, str):
                continue
            m = _FAN_KEY.match(key) or _FAN_SPEED_KEY.match(key)
            if m is not None:
                found.setdefault(int(m.group(1)), rpm(value))
        if found:
            return [found[k] for k in sorted(found)]
    return []


def chain_boards(entries: list[dict[str, Any]]) -> list[Board]:
    boards: list[Board] = []
    for position, entry in enumerate(e for e in entries if is_chain(e)):
        boards.append(Board(index=position, hashrate_ths=current_rate(entry), chips=chip_count(entry),
                            temp_c=temperature(entry)))
    return boards


def model_of(replies: Replies) -> str | None:
    version = first(replies.get("version"), "VERSION")
    for entry in (version, *stats_entries(replies.get("stats"))[:2]):
        for key in ("Type", "Model"):
            found = text(entry.get(key))
            if found:
                return found
    return None


def parse(replies: Replies, device: str) -> MinerReading:
    summary = first(replies.get("summary"), "SUMMARY")
    stats = stats_entries(replies.get("stats"))
    devs = items(replies.get("devs"), "DEVS")
    if not summary and not stats and not devs:
        name, version = description_parts(next((r for r in replies.values() if isinstance(r, dict)), None))
        what = " ".join(x for x in (name, version) if x) or "a cgminer API"
        raise ParseError(f"generic cgminer reader: {what} answered no summary, stats or devs")
    notes = [NOTE]
    hashrate = current_rate(summary) if summary else None
    boards = chain_boards(stats)
    if not boards:
        boards = [Board(index=i, hashrate_ths=current_rate(d), chips=chip_count(d), temp_c=temperature(d))
                  for i, d in enumerate(devs)]
    if hashrate is None and not summary:
        rates = [b.hashrate_ths for b in boards]
        hashrate = sum(r for r in rates if r is not None) if rates and None not in rates else None
    if hashrate is None and any(has_average_only(e) for e in (summary, *stats, *devs) if e):
        notes.append(AVERAGE_ONLY_NOTE)
    name, version = description_parts(next((r for r in replies.values() if isinstance(r, dict)), None))
    return MinerReading(
        device=device,
        driver=NAME,
        model=model_of(replies),
        algorithm="unknown",
        firmware=name,
        firmware_version=version,
        hashrate_ths=hashrate,
        fans_rpm=fan_speeds([summary, *stats]),
        boards=boards,
        pools=pool_list(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed")) if "Elapsed" in summary else integer(
            next((e.get("Elapsed") for e in stats if "Elapsed" in e), None)),
        notes=notes,
    )


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    """The RPC cycle, and ``devs`` only for a firmware whose stats name no chains (asked of every miner, a
    command many firmwares lack would put a "not read" note on every reading)."""
    replies: dict[str, Any] = await ctx.rpc_cycle()
    if not any(is_chain(e) for e in stats_entries(replies.get("stats"))):
        devs = await ctx.optional("devs", ctx.rpc(("devs",)), share=0.5)
        if not devs:  # the firmware rejected it (an error status is left out of the replies): say so
            ctx.note("devs", "protocol", "no devs reply (the firmware rejected the command)")
        replies.update(devs or {})
    return replies


DRIVER = Driver(
    name=NAME,
    # No signature: identification falls back to this driver when a cgminer reply matched no other one.
    signatures=(),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    fetch=fetch,
    priority=99,
)
