"""Auradine Teraflux (FluxOS): cgminer-style RPC on 4028 (gcminer) plus an HTTP API on 8080 with a token.

RPC per cycle ``summary+devs+pools`` (joined); ``version`` and ``devdetails`` are identity. HTTP on 8080,
when a login is configured: ``POST /token {"command":"token","user":..,"password":..}`` -> ``Token[0].Token``,
sent as the ``Token`` header on ``GET /psu``, ``/fan``, ``/mode``, ``/temperature`` every cycle and
``GET /ipreport`` as identity. Without a login only the RPC part is read (no power, fans or MAC).

- hashrate: ``summary`` "MHS 1m" (MH/s; the ~1-minute figure, docs/architecture.md), else "MHS 5s"; never "MHS av".
- boards: ``devs`` by ``ID`` (1-based -> index 0..): "MHS 1m"/"MHS 5s", ``Temperature`` (board); the HTTP
  ``temperature`` "Hash Board N" entries add the hottest ``BoardTemp`` and ``ChipTemp``.
- power: ``psu.PSU[0].PowerIn`` "58.94W" (string with unit; "reported"); power limit ``mode.Mode[0].Power``.
- fans: ``fan.Fan[]`` ``Speed`` by ``ID``. Sleeping: ``mode.Mode[0].Sleep`` "on".
- identity: ``devdetails`` ``Model``, ``ipreport.IPReport[0]`` ``mac``, ``hostname``, ``version``.
"""

from __future__ import annotations

import functools
from typing import Any

from ...errors import DeviceError, ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading
from ..units import hottest, integer, mac, num, rpm, text, ths, truthy
from ._cgminer import first, items, pools
from ._weblogin import optional, token_from, with_token

NAME = "auradine"
WEB_PORT = 8080
DEFAULT_USER, DEFAULT_PASSWORD = "admin", "admin"
WEB_READS = ("psu", "fan", "mode", "temperature")


async def _login(ctx: FetchContext) -> str:
    user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    body = {"command": "token", "user": user, "password": password}
    return token_from(await ctx.post(WEB_PORT, "/token", json_body=body), "Token", "0", "Token")


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    replies = await ctx.rpc_cycle()
    if not ctx.credentials.configured or ctx.state.get("web") is False:
        return replies

    async def read(token: str) -> dict[str, Any]:
        hdr = {"Token": token}
        out: dict[str, Any] = {}
        for name in WEB_READS:
            # The RPC carries the hashrate; each web page is an optional part (null plus a note).
            # A lapsed token is raised (with_token logs in again).
            got = await optional(ctx, f"{name} (/{name})", functools.partial(ctx.get, WEB_PORT, f"/{name}", headers=hdr))
            if got is not None:
                out[name] = got.json()
        if ctx.due("ipreport"):
            got = await optional(ctx, "identity (/ipreport)", lambda: ctx.get(WEB_PORT, "/ipreport", headers=hdr))
            ctx.remember("ipreport", got.json() if got is not None else {})  # no MAC/hostname without it
        out["ipreport"] = ctx.state.get("ipreport")
        return out

    try:
        replies.update(await with_token(ctx, _login, read))
    except DeviceError as e:
        if e.reason == "refused":
            ctx.state["web"] = False  # no web API on this firmware: RPC only from now on
        else:
            raise
    return replies


def _hb_temps(reply: Any) -> dict[int, tuple[float | None, float | None]]:
    out: dict[int, tuple[float | None, float | None]] = {}
    for entry in items(reply, "Temperature"):
        name = str(entry.get("Name", ""))
        if not name.lower().startswith("hash board"):
            continue
        n = integer(name.split()[-1])
        if n is None:
            continue
        board = [num(t.get("Temperature")) for t in entry.get("BoardTemp") or [] if isinstance(t, dict)]
        chip = [num(t.get("Temperature")) for t in entry.get("ChipTemp") or [] if isinstance(t, dict)]
        out[n] = (hottest([b for b in board if b]), hottest([c for c in chip if c]))
    return out


def parse(replies: Replies, device: str) -> MinerReading:
    summary = first(replies.get("summary"), "SUMMARY")
    devs = items(replies.get("devs"), "DEVS")
    if not summary and not devs:
        raise ParseError("neither summary (SUMMARY) nor devs (DEVS) answered")
    temps = _hb_temps(replies.get("temperature"))
    boards: list[Board] = []
    for position, d in enumerate(devs):
        ident = integer(d.get("ID"))
        number = ident if ident is not None else position + 1
        rate = ths(d.get("MHS 1m"), "MH")
        if rate is None:
            rate = ths(d.get("MHS 5s"), "MH")
        board_t, chip_t = temps.get(number, (None, None))
        dev_t = num(d.get("Temperature"))
        boards.append(
            Board(
                index=number - 1,
                hashrate_ths=rate,
                temp_c=board_t if board_t is not None else (dev_t or None),
                chip_temp_c=chip_t,
            )
        )
    hashrate = ths(summary.get("MHS 1m"), "MH")
    if hashrate is None:
        hashrate = ths(summary.get("MHS 5s"), "MH")
    psu = first(replies.get("psu"), "PSU")
    power = num(psu.get("PowerIn"))
    mode = first(replies.get("mode"), "Mode")
    fans = sorted(items(replies.get("fan"), "Fan"), key=lambda f: integer(f.get("ID")) or 0)
    details = first(replies.get("devdetails"), "DEVDETAILS")
    report = first(replies.get("ipreport"), "IPReport")
    model = text(details.get("Model")) or text(report.get("model"))
    if model and model.lower().startswith("auradine"):
        model = text(model[len("auradine"):])
    version = first(replies.get("version"), "VERSION")
    expected = num(mode.get("Ths"))
    return MinerReading(
        device=device,
        driver=NAME,
        make="Auradine",
        model=model,
        firmware="fluxos",
        firmware_version=text(report.get("version")) or text(version.get("GCMiner")),
        mac=mac(report.get("mac")),
        serial=text(report.get("serial")),
        hostname=text(report.get("hostname")),
        hashrate_ths=max(hashrate, 0.0) if hashrate is not None else None,
        expected_hashrate_ths=expected if expected and expected > 0 else None,
        power_w=power if power and power > 0 else None,
        power_source="reported" if power and power > 0 else None,
        power_limit_w=num(mode.get("Power")) or None,
        fans_rpm=[rpm(f.get("Speed")) for f in fans],
        boards=boards,
        pools=pools(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed")),
        sleeping=bool(truthy(mode.get("Sleep"))),
    )


DRIVER = Driver(
    name=NAME,
    signatures=("GCMINER", "FLUXOS"),
    web_signatures=("auradine", "fluxos"),
    commands=("summary", "devs", "pools"),
    identity_commands=("version", "devdetails"),
    parse=parse,
    fetch=fetch,
    priority=45,
    make="Auradine",
)
