"""Sealminer (A2 and later, bdminer 4.x) on its cgminer-style RPC, TCP 4028, plus its web CGI for identity.

bdminer's ``stats`` is one flat object with numbered keys; it carries much more than the summary:

==========  ================================================================================================
command     fields
==========  ================================================================================================
stats       ``Model`` ("A2"), ``Firmware``, ``MAC``, ``Ctrl Board SN``; hashrate ``MHS(1m)`` (chip side, the
            same window as the boards), else ``MHS(30s)``; expected ``MHS(Ideal)`` (the sum of the boards'
            ideals; ``MHS(Rated)`` is the nameplate); power ``PSU Input Power`` (W, measured by the PSU at its
            input: ``reported``), ``Power Limit``; ``Board Count`` boards ``N Chip Count``, ``N MHS(Sample)``,
            ``N Temp 0..3`` (board sensors), ``N Online``; ``Fan Count`` fans ``N Speed`` (RPM; the PSU fan is
            not a chassis fan slot); ``PM State`` "Running"; ``System Uptime``/``Elapsed``
summary     fallback hashrate ``MHS 1m`` (its ``MHS 5s`` can be far off: 368 TH/s on a 231 TH/s unit), uptime
pools       ``POOLS[]``
version     ``BDMiner`` version (no model here)
==========  ================================================================================================

With web credentials the driver also reads, once per identity interval, ``/cgi-bin/get_system_info.php`` after
``POST /cgi-bin/login.php`` (session cookie): ``crtl_sn`` (sic) is the serial, ``macaddr`` the MAC; and
``/cgi-bin/miner_psu_status.php`` when stats has no PSU power (``Power`` W, measured; read with the identity,
so it is as old as the identity interval). A web failure never fails the poll: the RPC values stand, with a
note.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import AuthError, ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading
from ..units import as_dict, integer, mac, num, rpm, text, truthy
from . import cgminer as generic
from ._cgminer import current_rate, description_parts, first

NAME = "sealminer"
MAKE = "Sealminer"
WEB_PORT = 80
LOGIN = "/cgi-bin/login.php"
SYSTEM_INFO = "/cgi-bin/get_system_info.php"
PSU_STATUS = "/cgi-bin/miner_psu_status.php"
_BOARD_TEMP = re.compile(r"^(\d{1,2}) Temp \d{1,2}$")


def _board(data: dict[str, Any], n: int) -> Board:
    temps = [t for k, v in data.items() if (m := _BOARD_TEMP.match(k)) and int(m.group(1)) == n
             and (t := num(v)) is not None and 0 < t < 200]
    online = truthy(data.get(f"{n} Online"))
    chips = integer(data.get(f"{n} Chip Count"))
    rate = current_rate({"MHS 5s": data.get(f"{n} MHS(Sample)")}) if online is not False else None
    return Board(index=n, hashrate_ths=rate, chips=0 if online is False else chips,
                 temp_c=max(temps) if temps else None)


def parse(replies: Replies, device: str) -> MinerReading:
    data = first(replies.get("stats"), "STATS")
    summary = first(replies.get("summary"), "SUMMARY")
    if not data and not summary:
        raise ParseError("no stats or summary section in the replies")
    hashrate = current_rate({k.replace("(", " ").rstrip(")"): v for k, v in data.items() if k.startswith("MHS(")})
    if hashrate is None:
        hashrate = current_rate(summary)
    boards = [_board(data, n) for n in range(integer(data.get("Board Count")) or 0)]
    fans = [rpm(data.get(f"{n} Speed")) for n in range(integer(data.get("Fan Count")) or 0)]
    web = as_dict(replies.get("web:system_info"))
    psu = as_dict(replies.get("web:psu"))
    power = num(data.get("PSU Input Power"))
    if power is None and truthy(psu.get("Online")):
        power = num(psu.get("Power"))
    ideal = current_rate({"MHS 5s": data.get("MHS(Ideal)")})
    name, version = description_parts(replies.get("stats") or replies.get("summary"))
    model = text(data.get("Model")) or text(web.get("miner_type"))
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=f"{MAKE} {model}" if model else None,
        firmware=name or "bdminer",
        firmware_version=text(data.get("Firmware")) or text(web.get("firmware_version")) or version,
        mac=mac(data.get("MAC")) or mac(web.get("macaddr")),
        serial=text(web.get("crtl_sn")) or text(data.get("Ctrl Board SN")),
        hashrate_ths=hashrate,
        expected_hashrate_ths=ideal or None,
        power_w=power if power else None,
        power_source="reported" if power else None,
        power_limit_w=num(data.get("Power Limit")),
        fans_rpm=fans,
        boards=boards,
        pools=generic.pool_list(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed", data.get("Elapsed"))),
    )


async def _web_login(ctx: FetchContext) -> str:
    user, password = ctx.login("admin", None)
    resp = await ctx.post(ctx.web_port(WEB_PORT), LOGIN, form={"username": user, "origin_pwd": password})
    if not resp.cookies:
        raise AuthError("Sealminer login refused (no session cookie)")
    return "; ".join(f"{k}={v}" for k, v in resp.cookies.items())


async def _web(ctx: FetchContext, stats: dict[str, Any]) -> dict[str, Any]:
    port = ctx.web_port(WEB_PORT)
    cookie = await _web_login(ctx)
    out = {"system_info": (await ctx.get(port, SYSTEM_INFO, headers={"Cookie": cookie})).json()}
    if "PSU Input Power" not in stats:
        out["psu"] = (await ctx.get(port, PSU_STATUS, headers={"Cookie": cookie})).json()
    return out


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    replies: dict[str, Any] = await ctx.rpc_cycle()
    if not ctx.credentials.configured:
        return replies
    if ctx.due("web"):
        got = await ctx.optional("identity (web UI)", _web(ctx, first(replies.get("stats"), "STATS")), share=0.5)
        if got is not None:
            ctx.remember("web", got)
    web = ctx.state.get("web") or {}
    replies["web:system_info"] = web.get("system_info")
    if "psu" in web:
        replies["web:psu"] = web["psu"]
    return replies


DRIVER = Driver(
    name=NAME,
    signatures=("BDMINER", "SEALMINER"),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    fetch=fetch,
    priority=40,
    make=MAKE,
)
