"""Bitfury B8 / Tardis on OpenMiner, its own HTTP API on port 80 (no cgminer RPC).

Login ``POST /api/login`` ``{"email": user, "password": ...}`` -> ``{"token": ...}``; every read is
``GET /api/om/miner/stat/agg`` with ``Authorization: Bearer <token>`` (one request carries everything).

==============================  ====================================================================================
field                           from
==============================  ====================================================================================
hashrate                        ``master.intervals["30"].bySol`` (GH/s, the 30-second window; ``"0"`` is the
                                session total, never used) = the sum of the slots' ``ghs``
boards                          ``slots`` — an object keyed by index ("0".."5") on a running unit, an empty
                                LIST on one that is powered down: ``ghs`` (GH/s), ``chips``, ``temperature``
                                (board; the hotter of its two heatsink thermometers), ``pwrOn`` 0 = off
power                           ``master.psuW`` (W, the PSUs' measured output: ``reported``); "0.0" on a
                                powered-down unit is no reading, never 0 W
fans                            ``fansRpm[]``
pool                            ``pool.host``/``port``/``userName``; ``intervals["0"]`` ``sharesAccepted``,
                                ``sharesRejected``, ``staleJobShares``
identity                        ``mac``, ``hostname``, ``versions.softwareVersion``
uptime                          ``master.upTime``
errors                          boards whose ``errorRate`` (%) is above 10: a board losing work (``errors``)
==============================  ====================================================================================

The reply does not name the model. OpenMiner runs on the B8 (six boards) and the Tardis (eight); the model is
taken from the number of board slots as Bitfury builds them, and left null when the boards are powered down
(``slots`` empty): a guess there would bring wrong model facts.
"""

from __future__ import annotations

from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, as_list, integer, mac, num, rpm, text, ths
from ._weblogin import token_from, with_token

NAME = "bitfury"
MAKE = "Bitfury"
AGG = "/api/om/miner/stat/agg"
LOGIN = "/api/login"
ERROR_RATE_PCT = 10.0
_MODELS = {6: "Bitfury B8", 8: "Bitfury Tardis"}


async def _login(ctx: FetchContext) -> str:
    user, password = ctx.login("admin", None)
    return token_from(await ctx.post(ctx.web_port(80), LOGIN, json_body={"email": user, "password": password}),
                      "token")


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    async def read(token: str) -> dict[str, Any]:
        resp = await ctx.get(ctx.web_port(80), AGG, headers={"Authorization": f"Bearer {token}"})
        return {"agg": resp.json()}

    result: dict[str, Any] = await with_token(ctx, _login, read)
    return result


def _slots(raw: Any) -> list[tuple[int, dict[str, Any]]]:
    if isinstance(raw, dict):
        out = [(i, v) for k, v in raw.items() if (i := integer(k)) is not None and isinstance(v, dict)]
    else:
        out = [(i, v) for i, v in enumerate(as_list(raw)) if isinstance(v, dict)]
    return sorted(out, key=lambda x: x[0])


def parse(replies: Replies, device: str) -> MinerReading:
    agg = replies.get("agg")
    if not isinstance(agg, dict) or "master" not in agg:
        raise ParseError("stat/agg reply has no master section")
    master = as_dict(agg.get("master"))
    intervals = as_dict(master.get("intervals"))
    boards: list[Board] = []
    errors: list[MinerErrorEntry] = []
    for index, slot in _slots(agg.get("slots")):
        on = integer(slot.get("pwrOn")) != 0
        temp = num(slot.get("temperature"))
        boards.append(Board(index=index, hashrate_ths=ths(slot.get("ghs"), "GH") if on else 0.0,
                            chips=integer(slot.get("chips")) if on else 0,
                            temp_c=temp if temp and on else None))
        rate = num(slot.get("errorRate"))
        if rate is not None and rate > ERROR_RATE_PCT:
            errors.append(MinerErrorEntry(code=None, message=f"board {index}: {rate:g} % of its work in error"))
    power = num(master.get("psuW"))
    pool_raw = as_dict(agg.get("pool"))
    totals = as_dict(as_dict(pool_raw.get("intervals")).get("0"))
    host = text(pool_raw.get("host"))
    pools = [Pool(url=f"stratum+tcp://{host}:{text(pool_raw.get('port')) or ''}".rstrip(":"),
                  user=text(pool_raw.get("userName")), status="unknown",
                  accepted=integer(totals.get("sharesAccepted")), rejected=integer(totals.get("sharesRejected")),
                  stale=integer(totals.get("staleJobShares")), index=0, active=True)] if host else []
    versions = as_dict(agg.get("versions"))
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=_MODELS.get(len(boards)),
        firmware="openminer",
        firmware_version=text(versions.get("softwareVersion")),
        mac=mac(agg.get("mac")) or mac(master.get("hwAddr")),
        hostname=text(agg.get("hostname")),
        hashrate_ths=ths(as_dict(intervals.get("30")).get("bySol"), "GH"),
        power_w=power if power else None,
        power_source="reported" if power else None,
        fans_rpm=[rpm(f) for f in as_list(agg.get("fansRpm"))],
        boards=boards,
        pools=pools,
        uptime_s=integer(master.get("upTime")),
        errors=errors,
        notes=[] if boards else ["the hash boards are powered down (OpenMiner lists no slots): model unknown"],
    )


DRIVER = Driver(
    name=NAME,
    signatures=("OPENMINER", "BITFURY"),
    web_signatures=("openminer", "bitfury"),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=80,
    priority=60,
    make=MAKE,
)
