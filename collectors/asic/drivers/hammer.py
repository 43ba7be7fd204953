"""Hammer (D10 and its siblings: Scrypt, "ccminer" 2.x, a bmminer-derived RPC on TCP 4028).

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     ``MHS 5s`` (a string, MH/s: "4885.0813" = 4.885 GH/s of Scrypt; ``MHS av`` is never read),
            ``Elapsed``. ``Accepted``/``Rejected`` are float-formatted and equal on this firmware (a known
            bug): share counts come from ``pools`` only.
stats       bmminer-style data block: ``chain_acnN`` (chips), ``chain_rateN`` (MH/s strings, "" on an empty
            slot), ``fan1..fan_num`` (RPM), and ``temp1..temp4`` each printed FOUR times in one object
            (duplicate JSON keys: a last-wins parser sees one of four sensors). This driver decodes ``stats``
            itself keeping every value: ``tempN`` is board N's four sensors, read as (board, chip) pairs
            (21/42/21/45: the low ones board-side, the high ones chip-side), so board temperature is the
            hotter board-side value and chip temperature the hotter chip-side one.
pools       ``POOLS[]``
version     ``Type`` ("Hammer D10"), ``CompileTime`` (firmware version)
==========  ================================================================================================

With web credentials ``/cgi-bin/get_system_info.cgi`` (HTTP Digest, Antminer-style) adds hostname and MAC once
per identity interval. No power and no expected rate are reported; both come from nothing (null).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import DeviceError, ParseError
from .. import http, rpc
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading
from ..units import integer, num, rpm, text, ths
from . import _antminer_web as web
from . import cgminer as generic
from ._cgminer import current_rate, description_parts, first

NAME = "hammer"
MAKE = "Hammer"
DUPLICATES = "__duplicates__"  # key -> every value of a key the object printed more than once
_TEMP = re.compile(r"^temp(\d)$")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dups: dict[str, list[Any]] = {}
    for key, value in pairs:
        if key in out:
            dups.setdefault(key, [out[key]]).append(value)
        out[key] = value
    if dups:
        out[DUPLICATES] = dups
    return out


def decode_keeping_duplicates(raw: bytes) -> rpc.Reply:
    """A reply decoded with every value of a repeated key kept under :data:`DUPLICATES` (last value wins under
    the key itself, as any other parser would show it); falls back to the transport's repairs when needed."""
    try:
        obj = json.loads(raw.rstrip(b"\x00\r\n\t ").decode("utf-8", errors="replace"), object_pairs_hook=_pairs)
    except ValueError:
        return rpc.decode_reply(raw)
    if not isinstance(obj, dict):
        raise ParseError("stats reply is not a JSON object")
    return obj


def _board(data: dict[str, Any], n: int) -> Board | None:
    chips = integer(data.get(f"chain_acn{n}"))
    rate_raw = data.get(f"chain_rate{n}")
    if not chips and (rate_raw in (None, "") or not num(rate_raw)):
        return None
    values = data.get(DUPLICATES, {}).get(f"temp{n}") or [data.get(f"temp{n}")]
    temps = [num(v) for v in values]
    board_side = [t for t in temps[0::2] if t is not None and 0 < t < 200]
    chip_side = [t for t in temps[1::2] if t is not None and 0 < t < 200]
    return Board(index=n - 1, hashrate_ths=ths(rate_raw, "MH") if rate_raw not in (None, "") else None,
                 chips=chips, temp_c=max(board_side) if board_side else None,
                 chip_temp_c=max(chip_side) if chip_side else None)


def parse(replies: Replies, device: str) -> MinerReading:
    summary = first(replies.get("summary"), "SUMMARY")
    entries = generic.stats_entries(replies.get("stats"))
    data = next((e for e in entries if any(k.startswith("chain_acn") for k in e)), {})
    if not summary and not data:
        raise ParseError("no summary or stats data in the replies")
    hashrate = current_rate(summary) if summary else current_rate(data)
    boards = [b for n in range(1, 9) if (b := _board(data, n)) is not None]
    fan_count = integer(data.get("fan_num"))
    fans = [rpm(data.get(f"fan{k}")) for k in range(1, (fan_count or 0) + 1)] if fan_count else []
    info = web.identity(replies.get("web:system_info"))
    name, _version = description_parts(replies.get("version") or replies.get("summary"))
    version = first(replies.get("version"), "VERSION") or (entries[0] if entries else {})
    model = generic.model_of(replies) or info["model"]
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=model,
        algorithm="scrypt",
        firmware=name,
        firmware_version=text(version.get("CompileTime")) or text(version.get("Miner")),
        mac=info["mac"],
        hostname=info["hostname"],
        hashrate_ths=hashrate,
        fans_rpm=fans,
        boards=boards,
        pools=generic.pool_list(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed", data.get("Elapsed"))),
    )


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    replies: dict[str, Any] = await ctx.rpc(("summary", "pools"), join=True)
    if ctx.due("rpc-identity") or not ctx.state.get("rpc-identity"):
        ctx.remember("rpc-identity", await ctx.rpc(("version",)))
    replies.update(ctx.state["rpc-identity"])
    raw = await rpc.exchange(ctx.host, ctx.rpc_port, rpc.request("stats"), deadline=ctx.deadline)
    stats = decode_keeping_duplicates(raw)
    if rpc.status_of(stats)[0] not in ("E", "F"):
        replies["stats"] = stats
    if ctx.credentials.configured:
        try:
            if ctx.due("system_info"):
                mw = ctx.state.get("digest")
                if mw is None:
                    user, password = ctx.login("root", "root")
                    mw = ctx.state["digest"] = http.digest(user, password)
                resp = await ctx.get(ctx.web_port(80), web.SYSTEM_INFO, digest=mw)
                ctx.remember("system_info", resp.json())
            replies["web:system_info"] = ctx.state.get("system_info")
        except DeviceError as e:
            ctx.forget("digest")  # the RPC values stand; identity is tried again next time
            ctx.note(f"identity ({web.SYSTEM_INFO})", e.reason, e.message)
    return replies


DRIVER = Driver(
    name=NAME,
    signatures=("HAMMER",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    fetch=fetch,
    priority=40,
    make=MAKE,
)
