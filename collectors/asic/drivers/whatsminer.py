"""Whatsminer (MicroBT btminer) API 1.x/2.x on TCP 4028 — firmware before 2024-11.

What is read, and from where (units are per key, research/asic.md "Whatsminer <= API 2.x"):

==================  ==========================================================================================
command             fields
==================  ==========================================================================================
summary             ``MHS 1m`` (MH/s, preferred) -> ``MHS 5s`` -> ``HS RT``; never ``MHS av`` (since boot);
                    ``Factory GHS`` (GH/s, expected); ``Power`` -> ``Power_RT`` (W, "reported"; absent on
                    2019 firmware -> unknown); ``Power Limit``; ``Fan Speed In``/``Fan Speed Out`` (the two fan
                    slots, 0 stays 0); ``MAC``; ``Firmware Version`` ("'20200917.22.REL'", quotes stripped);
                    ``Elapsed`` (miner uptime, not the OS ``Uptime``); ``Error Code N`` (old firmware errors)
devs                ``DEVS[]``: ``Slot``/``ASC`` 0..2 = board index; ``MHS 1m`` -> ``MHS 5s`` (never ``MHS av``:
                    a board with only the since-boot average has an unknown rate);
                    ``Effective Chips``; ``Temperature`` (board); ``Chip Temp Max`` (-> ``Chip Temp Avg``)
pools               ``POOLS[]`` (numbered from 1 by this firmware; kept as the device numbers them)
devdetails          ``DEVDETAILS[0].Model`` "M50S_VH75" -> model "M50S VH75" (the table falls back to "M50S")
get_version         flat ``Msg.fw_ver`` "20230803.11.REL" -> firmware_version (its date picks API 3 later),
                    ``Msg.api_ver``
get_miner_info      flat ``Msg.mac``, ``Msg.hostname``, ``Msg.minersn`` (serial)
status              flat ``Msg.btmineroff`` (API 1.x) / ``Msg.mineroff`` (API 2.x) "true" -> sleeping
get_error_code      flat ``Msg.error_code`` = [{"<code>": "<since>"}, ...] (the code is the KEY)
==================  ==========================================================================================

Connections per cycle. btminer answers cgminer joins (``summary+devs+pools``) but rejects ``get_*`` and
``status`` inside a ``+`` join, so those go one per connection. Identity (``devdetails``, ``get_version``,
``get_miner_info``) changes only with a firmware update or re-flash: cached by the session and re-read hourly.
(poll.py asks for the identity commands joined, btminer rejects that join with an ``E`` status and the
transport re-asks one command per connection: one wasted connection per identity refresh, not per cycle.)
``get_error_code`` is read every cycle: errors are what alerts are made of. ``status`` is read whenever the
summary's 5 s rate is not above 0: without it a curtailed miner is indistinguishable from a broken one (both
show 0 hashrate), while a miner hashing now is not switched off (``_status_unneeded``). That is two connections
per cycle for a hashing miner (one joined read + ``get_error_code``), three for one that is not. A firmware
that does not know ``get_error_code`` answers with an ``E`` status, which the transport drops; the summary's
``Error Code N`` keys are used instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from ...errors import DeviceError, ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths, truthy
from ._cgminer import first, items, pools

NAME = "whatsminer"
MAKE = "Whatsminer"

_ERROR_KEY = re.compile(r"^Error Code \d+$")


def _msg(reply: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``Msg`` object of a flat btminer reply (``{"STATUS":"S","Code":131,"Msg":{...}}``)."""
    if not reply or (type(reply) is not dict and not isinstance(reply, Mapping)):
        return {}
    msg = reply.get("Msg")
    return msg if isinstance(msg, dict) else {}


def clean_firmware_version(value: Any) -> str | None:
    """ "'20200917.22.REL'" (quotes are part of the value on API 1.x) -> "20200917.22.REL"."""
    s = text(value)
    if s is None:
        return None
    return text(s.replace("\\'", "").strip("'\" ")) or None


def clean_model(value: Any) -> str | None:
    """devdetails Model "M50S_VH75" / "M20S.V10" / "WhatsMiner M30S++_VG30" -> "M50S VH75" / "M20S V10" / ..."""
    s = text(value)
    if s is None:
        return None
    s = re.sub(r"^(?:whats\s*miner|microbt)[\s_\-]*", "", s, flags=re.IGNORECASE)
    s = re.sub(r"[_.\s]+", " ", s).strip()
    return s.upper() or None


def _first_num(entry: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = num(entry.get(key))
        if value is not None:
            return value
    return None


def _temp(value: Any) -> float | None:
    """A board or chip temperature; 0 and -273 are "no sensor" on these firmwares."""
    t = num(value)
    if t is None or t == 0:
        return None
    return hottest([t])


def _boards(devs: Mapping[str, Any] | None) -> list[Board]:
    boards: list[Board] = []
    for position, dev in enumerate(items(devs, "DEVS")):
        index = integer(dev.get("Slot"))
        if index is None:
            index = integer(dev.get("ASC"))
        if index is None:
            index = position
        # Current figures only: "MHS av" is the board's since-boot average, never its current rate.
        rate = _first_num(dev, "MHS 1m", "MHS 5s")
        chip = _temp(dev.get("Chip Temp Max"))
        if chip is None:
            chip = _temp(dev.get("Chip Temp Avg"))
        boards.append(
            Board(
                index=index,
                hashrate_ths=None if rate is None else rate * 1e-6,
                chips=integer(dev.get("Effective Chips")),
                temp_c=_temp(dev.get("Temperature")),
                chip_temp_c=chip,
            )
        )
    return boards


def _errors(summary: Mapping[str, Any], error_reply: Mapping[str, Any] | None) -> list[MinerErrorEntry] | None:
    """Current error codes: ``get_error_code``, else the summary's ``Error Code N`` keys (old firmware, which
    also says ``Error Code Count``); None (not read) when the firmware gave neither."""
    out: list[MinerErrorEntry] = []
    if error_reply is not None:
        raw = _msg(error_reply).get("error_code")
        entries: list[Any] = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
        for entry in entries:
            if not isinstance(entry, dict):
                code = integer(entry)
                if code is not None:
                    out.append(MinerErrorEntry(code=code, message=f"Whatsminer error {code}"))
                continue
            reason = text(entry.get("reason"))
            for key, since in entry.items():
                if key == "reason":
                    continue
                code = integer(key) if str(key).strip().lstrip("-").isdigit() else None
                if code is None:
                    continue
                message = reason or f"Whatsminer error {code}"
                when = text(since)
                out.append(
                    MinerErrorEntry(code=code, message=f"{message} (since {when})" if when else message)
                )
        return out
    # Old firmware (no get_error_code): "Error Code 0": 205 ... in summary. "Factory Error Code N" are the
    # factory test's history, not current faults.
    keys = sorted(k for k in summary if _ERROR_KEY.match(k))
    if not keys and "Error Code Count" not in summary:
        return None
    for key in keys:
        code = integer(summary[key])
        if code is not None:
            out.append(MinerErrorEntry(code=code, message=f"Whatsminer error {code}"))
    return out


def parse(replies: Replies, device: str) -> MinerReading:
    if V3_SUMMARY in replies:
        return parse_v3(replies, device)
    summary = first(replies.get("summary"), "SUMMARY")
    if not summary:
        raise ParseError("summary reply has no SUMMARY section")
    details = first(replies.get("devdetails"), "DEVDETAILS")
    version = _msg(replies.get("get_version"))
    info = _msg(replies.get("get_miner_info"))
    status = _msg(replies.get("status"))

    hashrate = _first_num(summary, "MHS 1m", "MHS 5s", "HS RT")
    boards = _boards(replies.get("devs"))
    if hashrate is None and boards and all(b.hashrate_ths is not None for b in boards):
        # No miner-level current figure at all: the sum of the boards' current figures is the best left.
        hashrate_ths: float | None = sum(b.hashrate_ths or 0.0 for b in boards)
    else:
        hashrate_ths = None if hashrate is None else hashrate * 1e-6

    power = _first_num(summary, "Power", "Power_RT")
    if power is not None and power <= 0:
        power = None

    fans: list[int | None] = []
    fan_in, fan_out = summary.get("Fan Speed In"), summary.get("Fan Speed Out")
    if fan_in is not None or fan_out is not None:
        fans = [rpm(fan_in), rpm(fan_out)]

    mineroff = truthy(status.get("btmineroff"))
    if mineroff is None:
        mineroff = truthy(status.get("mineroff"))

    firmware_version = (
        clean_firmware_version(version.get("fw_ver"))
        or clean_firmware_version(summary.get("Firmware Version"))
        or clean_firmware_version(status.get("Firmware Version"))
        or clean_firmware_version(status.get("FirmwareVersion"))
    )

    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=clean_model(details.get("Model")),
        firmware="stock",
        firmware_version=firmware_version,
        mac=mac(summary.get("MAC")) or mac(info.get("mac")),
        serial=text(info.get("minersn")),
        hostname=text(info.get("hostname")),
        hashrate_ths=hashrate_ths,
        expected_hashrate_ths=_positive(ths(summary.get("Factory GHS"), "GH")),
        power_w=power,
        power_source="reported" if power is not None else None,
        fans_rpm=fans,
        boards=boards,
        pools=pools(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed")),
        errors=_errors(summary, replies.get("get_error_code")),
        sleeping=bool(mineroff),
        power_limit_w=_positive(num(summary.get("Power Limit"))),
    )


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


# ------------------------------------------------------------------------------------------------ API 3

# Firmware from this date on speaks API 3 on TCP 4433 (pyasic and asic-rs use the same cut-off).
API3_FROM = 20241101
V3_INFO, V3_SUMMARY, V3_EDEVS, V3_POOLS = (
    "get.device.info",
    "get.miner.status.summary",
    "get.miner.status.edevs",
    "get.miner.status.pools",
)
_FW_DATE = re.compile(r"(\d{8})")


def api_of(fw_ver: Any) -> str:
    """ "v3" for firmware dated 2024-11-01 or later ("20251209.16.Rel2"), else "v2"."""
    m = _FW_DATE.search(str(fw_ver or ""))
    return "v3" if m and int(m.group(1)) >= API3_FROM else "v2"


def _status_unneeded(command: str, replies: Mapping[str, Any]) -> bool:
    """``status`` (mineroff) tells a switched-off miner from a broken one, and both show a 5 s rate of 0: a miner
    whose summary shows a current (5 s or realtime) rate above 0 is hashing now, so it is not asked, unless
    ``status`` is the only place left for the firmware version. A miner that stops hashing is asked again at
    once (switched off a few seconds before the read, it may show one more cycle of decaying rate)."""
    if command != "status":
        return False
    summary = first(replies.get("summary"), "SUMMARY")
    rate = _first_num(summary, "MHS 5s", "HS RT")
    if rate is None or rate <= 0:
        return False
    return bool(_msg(replies.get("get_version")).get("fw_ver") or summary.get("Firmware Version"))


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    """API 2.x over the cgminer RPC, or API 3 on 4433, chosen by the firmware date in ``get_version``
    (checked again with the identity interval: a firmware update switches API)."""
    if ctx.due("api"):
        try:
            # The identity reads include get_version: kept as the RPC identity, so API 2.x costs nothing extra.
            # They are optional (a hung or refused devdetails is a note); only a refused port means API 3.
            ident = await ctx.rpc_identity(reraise=("refused",))
            api = api_of(_msg(ident.get("get_version")).get("fw_ver"))
        except DeviceError as e:
            if e.reason != "refused":
                raise
            api = "v3"  # 4028 closed: API 3-only firmware
        ctx.remember("api", api)
    if ctx.state["api"] == "v2":
        return await ctx.rpc_cycle(unneeded=_status_unneeded)
    # summary and edevs carry the hashrate; device info (identity, errors) and pools are optional parts.
    info, summary, edevs, pools_ = await asyncio.gather(
        ctx.optional("identity (get.device.info)", ctx.api3("get.device.info")),
        ctx.api3("get.miner.status", "summary"),
        ctx.api3("get.miner.status", "edevs"),
        ctx.optional("pools (get.miner.status pools)", ctx.api3("get.miner.status", "pools")),
    )
    out = {V3_SUMMARY: summary, V3_EDEVS: edevs}
    if info is not None:
        out[V3_INFO] = info
    if pools_ is not None:
        out[V3_POOLS] = pools_
    return out


def _v3(replies: Replies, key: str, section: str | None = None) -> Any:
    reply = replies.get(key)
    msg = reply.get("msg") if isinstance(reply, dict) else None
    if section is None:
        return msg if isinstance(msg, dict) else {}
    value = msg.get(section) if isinstance(msg, dict) else None
    return value


def _v3_errors(info: Mapping[str, Any]) -> list[MinerErrorEntry] | None:
    """``error-code`` of ``get.device.info`` (absent when there is none); None when that read gave nothing."""
    if not info:
        return None
    raw = info.get("error-code")
    return _errors({}, {"Msg": {"error_code": raw if isinstance(raw, list) else []}})


def parse_v3(replies: Replies, device: str) -> MinerReading:
    """API 3 replies (all rates TH/s, power W): ``get.miner.status`` summary/edevs/pools, ``get.device.info``.

    hashrate ``summary.hash-1min`` (else ``hash-realtime``); expected ``factory-hash`` (a value <= 0 is the
    firmware's placeholder); power ``power-realtime`` ("reported"), limit ``power-limit``; fans
    ``fan-speed-in``/``fan-speed-out``; boards ``edevs[]`` by ``id``: ``hash-realtime``, ``effective-chips``,
    ``chip-temp-max``, board temperature from ``summary.board-temperature[id]``; pools ``url``/``account``/
    ``status``/``stratum-active`` (no share counters in API 3); identity ``miner.type``, ``miner.miner-sn``,
    ``network.mac``/``hostname``, ``system.fwversion``; errors ``error-code`` (code = key, "reason" = text);
    sleeping: ``miner.working`` "false".
    """
    summary = _v3(replies, V3_SUMMARY, "summary")
    if not isinstance(summary, dict):
        raise ParseError("get.miner.status summary has no msg.summary")
    info = _v3(replies, V3_INFO)
    miner = as_dict(info.get("miner"))
    network = as_dict(info.get("network"))
    system = as_dict(info.get("system"))
    board_temps = as_list(summary.get("board-temperature"))
    boards: list[Board] = []
    edevs = _v3(replies, V3_EDEVS, "edevs")
    for position, e in enumerate(x for x in edevs or [] if isinstance(x, dict)):
        idx = integer(e.get("id"))
        idx = position if idx is None else idx
        rate = _first_num(e, "hash-1min", "hash-realtime")  # never hash-average (since boot)
        boards.append(
            Board(
                index=idx,
                hashrate_ths=rate,
                chips=integer(e.get("effective-chips")),
                temp_c=_temp(board_temps[idx]) if idx < len(board_temps) else None,
                chip_temp_c=_temp(e.get("chip-temp-max")),
            )
        )
    out_pools: list[Pool] = []
    for i, p in enumerate(x for x in _v3(replies, V3_POOLS, "pools") or [] if isinstance(x, dict)):
        st = (text(p.get("status")) or "").lower()
        prio = integer(p.get("pool-priority"))
        out_pools.append(
            Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("account")),
                status="alive" if st == "alive" else "dead" if st in ("dead", "rejecting") else "unknown",
                index=prio if prio is not None else i,
                active=truthy(p.get("stratum-active")),
            )
        )
    power = _positive(num(summary.get("power-realtime")))
    fan_in, fan_out = summary.get("fan-speed-in"), summary.get("fan-speed-out")
    working = truthy(miner.get("working"))
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=clean_model(miner.get("type")),
        firmware="stock",
        firmware_version=text(system.get("fwversion")),
        mac=mac(network.get("mac")),
        serial=text(miner.get("miner-sn")),
        hostname=text(network.get("hostname")),
        hashrate_ths=_first_num(summary, "hash-1min", "hash-realtime"),
        expected_hashrate_ths=_positive(num(summary.get("factory-hash"))),
        power_w=power,
        power_source="reported" if power is not None else None,
        power_limit_w=_positive(num(summary.get("power-limit"))),
        fans_rpm=[rpm(fan_in), rpm(fan_out)] if fan_in is not None or fan_out is not None else [],
        boards=boards,
        pools=out_pools,
        uptime_s=integer(summary.get("elapsed")),
        errors=_v3_errors(info),
        sleeping=working is False,
    )


DRIVER = Driver(
    name=NAME,
    signatures=("BTMINER", "BITMICRO", "WHATSMINER"),
    web_signatures=("whatsminer", "/cgi-bin/luci"),
    commands=("summary", "devs", "pools"),
    parse=parse,
    single_commands=("status", "get_error_code"),
    identity_commands=("devdetails", "get_version", "get_miner_info"),
    join=True,
    priority=40,
    fetch=fetch,
)
