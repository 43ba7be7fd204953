"""Goldshell (CK/KD/LT/HS boxes), HTTP on port 80 with a JWT login.

Login: ``GET /user/login?username=admin&password=...&cipher=false`` -> ``{"JWT Token": ...}`` (the firmware's
documented default password is used only when the config allows it); reads carry
``Authorization: Bearer <jwt>``.

Per cycle ``GET /mcb/cgminer?cgminercmd=devs`` and ``GET /mcb/pools``; ``GET /mcb/status`` is identity.

- boards: ``data[]`` by ``id``: ``hashrate`` (MH/s, current; ``av_hashrate`` is an average and unused),
  ``temp`` "83.0 °C / 73.8 °C" (leading figure; the degree sign arrives as mojibake), per-board
  ``accepted``/``rejected``; hashrate = sum of boards.
- fans: ``fanspeed`` "2940 rpm / 2940 rpm / ..." (the same string on every board: read once).
- pools: ``/mcb/pools`` is a bare JSON array of ``{url, user, active, legal, pool-priority}``; no counters.
- identity: ``/mcb/status`` ``model``, ``firmware``; power and errors are not available from this firmware.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading, Pool
from ..units import as_dict, integer, mac, num, text, ths, truthy
from ._weblogin import optional, token_from, with_token

NAME = "goldshell"
DEFAULT_USER, DEFAULT_PASSWORD = "admin", "123456789"
_RPM = re.compile(r"(-?\d+)\s*rpm", re.IGNORECASE)


async def _login(ctx: FetchContext) -> str:
    user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    path = f"/user/login?username={quote(user)}&password={quote(password)}&cipher=false"
    return token_from(await ctx.get(ctx.web_port(80), path), "JWT Token")


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.web_port(80)

    async def read(token: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {token}"}
        out: dict[str, Any] = {"devs": (await ctx.get(port, "/mcb/cgminer?cgminercmd=devs", headers=auth)).json()}
        # devs carries the hashrate; pools and the identity page are optional parts (null plus a note).
        # A lapsed token is raised (with_token logs in again); anything else leaves that part null, noted.
        pools = await optional(ctx, "pools (/mcb/pools)", lambda: ctx.get(port, "/mcb/pools", headers=auth))
        if pools is not None:
            out["pools"] = pools.json()
        if ctx.due("status"):
            status = await optional(ctx, "identity (/mcb/status)", lambda: ctx.get(port, "/mcb/status", headers=auth))
            if status is not None:
                ctx.remember("status", status.json())
        out["status"] = ctx.state.get("status")
        return out

    result: dict[str, Any] = await with_token(ctx, _login, read)
    return result


# Goldshell product lines by model prefix (Goldshell's specifications).
_ALGORITHMS = (("CK", "eaglesong"), ("KD", "blake2s"), ("LT", "scrypt"), ("HS", "blake2b"), ("KA", "kheavyhash"),
               ("AL", "blake3"), ("SC", "blake2b"), ("BOX", "eaglesong"),
               # Scrypt DOGE/LTC boxes (Mini-DOGE, E-DG1M, DG Max), the E- series (E-KA1M, E-AL1M), LB-Box (LBRY),
               # ST-Box (SHA-512/256d).
               ("MINIDOGE", "scrypt"), ("EDG", "scrypt"), ("DG", "scrypt"), ("EKA", "kheavyhash"),
               ("EAL", "blake3"), ("LB", "lbry"), ("ST", "sha512256d"))


def algorithm_of(model: str | None) -> str:
    name = (model or "").upper().replace("-", "").replace(" ", "")
    for prefix, algorithm in _ALGORITHMS:
        if name.startswith(prefix):
            return algorithm
    return "unknown"


def fans(value: Any) -> list[int | None]:
    return [max(int(m), 0) for m in _RPM.findall(str(value or ""))]


def parse(replies: Replies, device: str) -> MinerReading:
    devs = replies.get("devs")
    data = devs.get("data") if isinstance(devs, dict) else None
    if not isinstance(data, list):
        raise ParseError("/mcb/cgminer devs has no data list")
    boards: list[Board] = []
    fan_list: list[int | None] = []
    for position, d in enumerate(x for x in data if isinstance(x, dict)):
        idx = integer(d.get("id"))
        temp = num(d.get("temp"))
        boards.append(
            Board(index=idx if idx is not None else position, hashrate_ths=ths(d.get("hashrate"), "MH"),
                  temp_c=temp if temp else None)
        )
        if not fan_list:
            fan_list = fans(d.get("fanspeed"))
    rates = [b.hashrate_ths for b in boards if b.hashrate_ths is not None]
    pools: list[Pool] = []
    raw_pools = replies.get("pools")
    for i, p in enumerate(x for x in raw_pools or [] if isinstance(x, dict)) if isinstance(raw_pools, list) else ():
        legal = truthy(p.get("legal"))
        pools.append(
            Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("user")),
                status="alive" if legal else "dead" if legal is False else "unknown",
                index=integer(p.get("pool-priority")) if integer(p.get("pool-priority")) is not None else i,
                active=truthy(p.get("active")),
            )
        )
    status = as_dict(replies.get("status"))
    model = text(status.get("model"))
    if model and model.lower().startswith("goldshell"):
        model = text(model[len("goldshell"):].lstrip(" -_"))
    return MinerReading(
        device=device,
        driver=NAME,
        make="Goldshell",
        model=model,
        algorithm=algorithm_of(model),
        firmware="goldshell",
        firmware_version=text(status.get("firmware")),
        mac=mac(status.get("mac")),
        hashrate_ths=sum(rates) if rates else None,
        fans_rpm=fan_list,
        boards=boards,
        pools=pools,
    )


DRIVER = Driver(
    name=NAME,
    signatures=("GOLDSHELL",),
    web_signatures=("goldshell", "cloud-box"),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=80,
    priority=60,
    make="Goldshell",
)
