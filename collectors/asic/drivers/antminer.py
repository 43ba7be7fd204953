"""Stock Antminer (bmminer/cgminer RPC on 4028, X9..X21) and Hiveon-style bmminer replies.

Per cycle one joined request ``summary+stats+pools``; ``version`` is identity (cached).

- hashrate: ``summary`` "GHS 1m" when present, else "GHS 5s" (string on old bmminer), else stats "GHS 5s";
  never "GHS av". Unit per :mod:`._bmminer` (``rate_unit``, else the model's algorithm).
- boards: stats data block ``chain_acnN``/``chain_rateN``/temps, chains 1..4 (X19) or 6..8 (S9, Hiveon) -> 0..
- expected: ``total_rateideal`` in ``rate_unit``; fans: populated ``fanN`` slots; uptime ``Elapsed``.
- model: ``version.Type`` or stats ``Type`` without the "Antminer" prefix (and Hiveon's " Hiveon" suffix);
  firmware_version: ``CompileTime`` (else ``Miner``).
- power: none. Stock RPC reports no watts; Hiveon's ``chain_power`` ("34.65 (AB)") is not watts.
- ``devdetails`` is "Access denied" on stock and is never asked for; ``devs`` (one useless BTM_SOC) neither.

Web CGI (:mod:`._antminer_web`, HTTP Digest on port 80), only when the group has web credentials:

- identity ``get_system_info.cgi`` (MAC, serial, hostname, model, firmware version): read at the first poll
  and then once per identity interval (cached), never every cycle;
- ``get_miner_conf.cgi`` (``bitmain-work-mode`` "1" = sleep): read only when the RPC shows no hashrate,
  which is when "asleep" and "broken" must be told apart;
- values from ``stats.cgi``/``summary.cgi``/``pools.cgi`` (old firmware: ``get_miner_status.cgi``) when the RPC
  port is closed (firmware that ships with the API off).

A web failure while the RPC answers never fails the poll: the reading keeps the RPC values without web identity.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from ...errors import DeviceError, DeviceRefused
from .. import http
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import MinerReading
from . import _antminer_web as web
from . import _bmminer as bm

DEFAULT_USER, DEFAULT_PASSWORD = "root", "root"
WEB_PORT = 80

_HIVEON = re.compile(r"\s*\bhiveon\b\s*", re.IGNORECASE)
# Custom firmwares that keep the stock bmminer reply shape and write their name and version into ``Type``
# ("Antminer D3 Blissz v2.06 beta"): the name is the firmware, never part of the model.
_NAMED_FIRMWARE = re.compile(r"\s+(blissz)\b\s*(.*)$", re.IGNORECASE)
# A version tag after the model ("S19-88 v.2.6.0.39 ", "Antminer S9 Pro (v5.1) "): MSK's bmminer fork writes its
# own version there. It is the firmware's version, and a model name carrying it would match no model row.
_VERSION_TAG = re.compile(r"\s*(?:\(\s*v\.?\s*(\d[\w.\-]*)\s*\)|\bv\.?\s*(\d+(?:\.\d+)+)[\w.\-]*)\s*$", re.IGNORECASE)


# Custom builds that name themselves in the bmminer version instead ("BMMiner": "2.4.0-asicseer-1.1.9-f7b7").
_BUILD_FIRMWARE = re.compile(r"-(asicseer)-([\w.\-]+)", re.IGNORECASE)


def model_and_firmware(raw: str | None, sec: bm.Sections) -> tuple[str | None, str, str | None]:
    """(model, firmware, the firmware's own version when ``Type`` carries one) from the reported type string:
    ("S9", "hiveon", None) from "Antminer S9 Hiveon"; ("S19 Pro", "stock", None) from "Antminer S19 Pro";
    ("D3", "blissz", "2.06 beta") from "Antminer D3 Blissz v2.06 beta"; ("S19-88", "mskminer", "2.6.0.39")
    from "S19-88 v.2.6.0.39 " on the ``rwglr`` bmminer build that Hiveon and MSK share."""
    build = str(sec.info.get("BMMiner") or sec.version.get("BMMiner") or "")
    rwglr = "rwglr" in build.lower()
    s = " ".join(raw.split()) if raw else ""  # line breaks and runs of spaces seen in Type strings
    named_build = _BUILD_FIRMWARE.search(build)
    if named_build:
        return bm.strip_vendor(s or None), named_build.group(1).lower(), named_build.group(2)
    if _HIVEON.search(s):
        return bm.strip_vendor(_HIVEON.sub(" ", s).strip()), "hiveon", None
    named = _NAMED_FIRMWARE.search(s)
    if named:
        version = re.sub(r"^v\.?\s*", "", named.group(2), flags=re.IGNORECASE) or None
        return bm.strip_vendor(s[: named.start()]), named.group(1).lower(), version
    tag = _VERSION_TAG.search(s)
    if tag and rwglr:
        return bm.strip_vendor(s[: tag.start()]), "mskminer", tag.group(1) or tag.group(2)
    return bm.strip_vendor(s or None), ("hiveon" if rwglr else "stock"), None


def parse(replies: Replies, device: str) -> MinerReading:
    web_sleeping = web.sleeping(replies.get("web:miner_conf"))
    if "web:stats" in replies or "web:status" in replies:
        reading = _parse_web(replies, device)
    else:
        reading = _parse_rpc(replies, device, sleeping_hint=web_sleeping)
    ident = web.identity(replies.get("web:system_info"))
    reading.mac = ident["mac"] or reading.mac
    reading.serial = ident["serial"] or reading.serial
    reading.hostname = ident["hostname"] or reading.hostname
    reading.model = reading.model or ident["model"]
    if ident["firmware_version"]:
        reading.firmware_version = ident["firmware_version"]
    if web_sleeping:
        reading.sleeping = True
    return reading


def _parse_web(replies: Replies, device: str) -> MinerReading:
    model = web.identity(replies.get("web:system_info"))["model"]
    if "web:stats" in replies:
        reading = web.parse_stats(replies["web:stats"], device, DRIVER.name)
        reading.pools = web.web_pools(replies.get("web:pools"))
        reading.errors = web.summary_errors(replies.get("web:summary"))
    else:
        reading = web.parse_old_status(replies["web:status"], device, DRIVER.name, model)
    return reading


def _digest(ctx: FetchContext) -> aiohttp.DigestAuthMiddleware:
    mw = ctx.state.get("digest")
    if mw is None:
        user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
        mw = ctx.state["digest"] = http.digest(user, password)
    return mw  # type: ignore[no-any-return]


async def _cgi(ctx: FetchContext, path: str) -> object:
    return (await ctx.get(ctx.web_port(WEB_PORT), path, digest=_digest(ctx))).json()


async def _web_values(ctx: FetchContext) -> dict[str, Any]:
    try:
        out: dict[str, Any] = {"web:stats": await _cgi(ctx, web.STATS)}
    except DeviceError as e:
        if e.reason not in ("protocol",):  # 404: firmware before stats.cgi
            raise
        return {"web:status": await _cgi(ctx, web.OLD_STATUS)}
    for key, path, part in (("web:summary", web.SUMMARY, "errors"), ("web:pools", web.POOLS, "pools")):
        # Optional pages: stats.cgi carries the hashrate; a firmware without summary.cgi or pools.cgi (404)
        # or one that times out on it leaves that part null, with a note.
        got = await ctx.optional(f"{part} ({path})", _cgi(ctx, path))
        if got is not None:
            out[key] = got
    return out


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    use_web = ctx.credentials.configured
    try:
        replies: dict[str, Any] = await ctx.rpc_cycle()
        rpc_ok = True
    except DeviceRefused as e:
        if not use_web:
            # Stock firmware ships with the RPC off on some batches: say that a login reads it over the web.
            raise await ctx.refused_needs_login(e, WEB_PORT) from None
        replies, rpc_ok = await _web_values(ctx), False
    if not use_web:
        return replies
    # The web identity and work-mode pages are optional parts: one that fails (404, a timeout, a login the web
    # refuses while the RPC answers) leaves the reading with that part null and a note, never a down miner.
    if ctx.due("system_info"):
        info = await ctx.optional("identity (get_system_info.cgi)", _cgi(ctx, web.SYSTEM_INFO))
        if info is not None:
            ctx.remember("system_info", info)
        else:
            ctx.forget("digest")  # log in afresh next time
    if ctx.state.get("system_info") is not None:
        replies["web:system_info"] = ctx.state["system_info"]
    if rpc_ok:
        try:
            idle = not _parse_rpc(replies, "-").hashrate_ths
        except DeviceError:
            idle = True
    else:
        idle = not web.parse_stats(replies["web:stats"], "-", DRIVER.name).hashrate_ths if (
            "web:stats" in replies
        ) else False
    if idle:
        conf = await ctx.optional("work mode (get_miner_conf.cgi)", _cgi(ctx, web.MINER_CONF))
        if conf is not None:
            replies["web:miner_conf"] = conf
    return replies


def _parse_rpc(replies: Replies, device: str, *, sleeping_hint: bool = False) -> MinerReading:
    sec = bm.sections(replies)
    model, firmware, own_version = model_and_firmware(bm.raw_type(sec), sec)
    return bm.build(
        sec,
        device,
        driver=DRIVER.name,
        firmware=firmware,
        model=model,
        firmware_version=own_version or bm.compile_time(sec),
        sleeping_hint=sleeping_hint,
    )


DRIVER = Driver(
    name="antminer",
    # "ANTMINER" is in every stock Type string; custom firmwares on Antminer hardware match first (custom=True).
    signatures=("ANTMINER", "HIVEON", "BMMINER"),
    web_realms=("antminer",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    custom=False,
    fetch=fetch,
    priority=90,  # the most generic stock signature: other stock drivers' more specific ones go first
)
