"""IceRiver (KS0..KS7 Kaspa, AL Alephium), HTTP on port 80 with a cookie login.

Login: ``POST /user/loginpost?post=6&user=admin&pwd=...`` sets a session cookie (the firmware's documented
default password only when the config allows it). Read: ``POST /user/userpanel?post=4`` (a read-only query,
the firmware's status page) -> ``{"error": 0, "data": {...}}``. A reply that is not that (an expired session
answers the login page) logs in again once.

- hashrate: ``data.rtpow`` "15011G" with ``data.unit`` "G": the unit letter is stripped and applied
  (``avgpow`` is an average, unused). Boards ``data.boards[]``: ``no`` (1-based), ``chipnum``, ``rtpow``,
  ``intmp``/``outtmp`` (inlet/outlet; temp_c = the hotter), ``state``.
- fans ``data.fans[]`` (RPM); uptime ``data.runtime`` "dd:hh:mm:ss"; pools ``data.pools[]`` ``addr``, ``user``,
  ``connect`` (1 = connected, -1 = not), ``state`` (1 = in use), ``accepted``/``rejected`` (floats).
- identity: ``softver1`` "ICM168_3_2_10_ks5L_miner" -> model "KS5L", firmware_version = ``softver1``;
  ``mac`` (dashes or colons), ``host`` (hostname). ``powstate``/``fanstate``/``tempstate`` false -> errors.
- power: not available from this firmware.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ...errors import AuthError, DeviceError, ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import duration_s, integer, mac, num, rpm, text, ths, truthy

NAME = "iceriver"
DEFAULT_USER, DEFAULT_PASSWORD = "admin", "12345678"
_MODEL = re.compile(r"_((?:ks|al|ka)[0-9a-z]*?)_(?:miner|bg)$", re.IGNORECASE)
_RATE = re.compile(r"^\s*([-+]?[0-9.]+)\s*([KMGTP]?)", re.IGNORECASE)


async def _login(ctx: FetchContext) -> dict[str, str]:
    user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    path = f"/user/loginpost?post=6&user={quote(user)}&pwd={quote(password)}"
    resp = await ctx.post(ctx.web_port(80), path, allow_status=(302, 303))
    if not resp.cookies:
        raise AuthError("IceRiver login set no session cookie (wrong password?)")
    return resp.cookies


async def _panel(ctx: FetchContext, cookies: dict[str, str]) -> dict[str, Any]:
    resp = await ctx.post(ctx.web_port(80), "/user/userpanel?post=4", cookies=cookies, allow_status=(302, 303))
    if resp.status in (302, 303):
        raise AuthError("IceRiver session expired")
    try:
        body = resp.json()
    except DeviceError:
        raise AuthError("IceRiver answered its login page (session expired)") from None
    if not isinstance(body, dict) or "data" not in body:
        raise AuthError("IceRiver userpanel refused the session")
    return body


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    cookies = ctx.state.get("cookies")
    if not cookies:
        cookies = ctx.state["cookies"] = await _login(ctx)
        return {"userpanel": await _panel(ctx, cookies)}
    try:
        return {"userpanel": await _panel(ctx, cookies)}
    except AuthError:
        cookies = ctx.state["cookies"] = await _login(ctx)
        return {"userpanel": await _panel(ctx, cookies)}


def rate(value: Any, unit: Any = None) -> float | None:
    """TH/s from "15011G" (or 15011 with unit "G")."""
    if value is None:
        return None
    m = _RATE.match(str(value))
    if m is None:
        return None
    letter = (m.group(2) or str(unit or "") or "G").upper()[:1]
    return ths(m.group(1), letter)


def model_of(softver: str | None) -> str | None:
    m = _MODEL.search(softver or "")
    return m.group(1).upper() if m else None


def parse(replies: Replies, device: str) -> MinerReading:
    body = replies.get("userpanel")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ParseError("userpanel reply has no data object")
    unit = data.get("unit")
    boards: list[Board] = []
    for position, b in enumerate(x for x in data.get("boards") or [] if isinstance(x, dict)):
        no = integer(b.get("no"))
        temps = [t for t in (num(b.get("intmp")), num(b.get("outtmp"))) if t]
        boards.append(
            Board(
                index=(no - 1) if no else position,
                hashrate_ths=rate(b.get("rtpow"), unit),
                chips=integer(b.get("chipnum")),
                temp_c=max(temps) if temps else None,
            )
        )
    pools: list[Pool] = []
    for i, p in enumerate(x for x in data.get("pools") or [] if isinstance(x, dict)):
        connect = integer(p.get("connect"))
        no = integer(p.get("no"))
        pools.append(
            Pool(
                url=text(p.get("addr")) or "",
                user=text(p.get("user")),
                status="alive" if connect == 1 else "dead" if connect is not None else "unknown",
                accepted=integer(p.get("accepted")),
                rejected=integer(p.get("rejected")),
                index=no if no is not None else i,
                active=integer(p.get("state")) == 1,
            )
        )
    states = {name: truthy(data.get(key)) for key, name in (("powstate", "power"), ("fanstate", "fan"),
                                                             ("netstate", "network"))}
    errors = (
        [MinerErrorEntry(code=None, message=f"{name} fault reported") for name, ok in states.items() if ok is False]
        if any(ok is not None for ok in states.values())
        else None  # none of the state flags readable: errors not read
    )
    softver = text(data.get("softver1"))
    model = model_of(softver)
    return MinerReading(
        device=device,
        driver=NAME,
        make="IceRiver",
        model=model,
        algorithm="blake3" if (model or "").startswith("AL") else "kheavyhash",
        firmware="iceriver",
        firmware_version=softver,
        mac=mac(data.get("mac")),
        hostname=text(data.get("host")),
        hashrate_ths=rate(data.get("rtpow"), unit),
        fans_rpm=[rpm(f) for f in data.get("fans") or []],
        boards=boards,
        pools=pools,
        uptime_s=duration_s(data.get("runtime")),
        errors=errors,
    )


DRIVER = Driver(
    name=NAME,
    signatures=("ICERIVER",),
    web_signatures=("iceriver", "用户界面"),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=80,
    priority=60,
    make="IceRiver",
)
