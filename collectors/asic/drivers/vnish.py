"""VNish on Antminer hardware, RPC on 4028 (bmminer-style replies with numbers where stock has strings).

Per cycle ``summary+stats+pools``; ``version`` is identity (cached). Same keys as stock (see :mod:`._bmminer`);
the differences:

- model: ``Type`` is "Antminer S17 (vnish 0.9.2-alpha)": the model is the part before the parenthesis and the
  firmware version the part inside it (else stats ``build_version``).
- fans: ``fan_num`` 0 with every slot 0 (immersion, fans not reported) gives [] (unknown), not dead fans.
- power: the RPC has no watts.

VNish REST API (``/api/v1``, port 80), used instead of the RPC when the group has web credentials:
``POST /api/v1/unlock {"pw": ...}`` -> ``token`` (sent as the ``Authorization`` header; refreshed once on a
401). Per cycle ``GET /api/v1/summary``; ``GET /api/v1/info`` is identity (cached).

- hashrate ``miner.hr_realtime`` (GH/s), expected ``miner.hr_nominal``; power ``miner.power_consumption`` (W,
  the firmware's estimate; ``power_usage`` is a deprecated alias of the efficiency and never read as watts).
- boards ``miner.chains[]``: ``id`` (1-based), ``hashrate_rt``, ``chips``/``asic_num``, ``pcb_temp.max``,
  ``chip_temp.max``; fans ``miner.cooling.fans[].rpm``; pools ``miner.pools[]`` (url, user, status, accepted,
  rejected, stale); sleeping ``miner.miner_status.miner_state`` in (stopped, paused, sleeping).
- identity (``info``): ``model``, ``fw_version``, ``serial``, ``system.network_status.mac``/``hostname``.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading, Pool
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths
from . import _bmminer as bm
from ._weblogin import token_from, with_token

DEFAULT_USER, DEFAULT_PASSWORD = "admin", "admin"


async def _login(ctx: FetchContext) -> str:
    _user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    return token_from(await ctx.post(ctx.web_port(80), "/api/v1/unlock", json_body={"pw": password}), "token")


async def _rest(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.web_port(80)

    async def read(token: str) -> dict[str, Any]:
        hdr = {"Authorization": token}
        out = {"rest:summary": (await ctx.get(port, "/api/v1/summary", headers=hdr)).json()}
        if ctx.due("rest-info"):
            ctx.remember("rest-info", (await ctx.get(port, "/api/v1/info", headers=hdr)).json())
        out["rest:info"] = ctx.state["rest-info"]
        return out

    result: dict[str, Any] = await with_token(ctx, _login, read)
    return result


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    return await ctx.rest_else_rpc(_rest)


def _max(value: Any) -> float | None:
    d = as_dict(value)
    t = num(d.get("max")) if d else num(value)
    return hottest([t]) if t else None


def parse_rest(replies: Replies, device: str) -> MinerReading:
    miner = as_dict(as_dict(replies.get("rest:summary")).get("miner"))
    if not miner:
        raise ParseError("VNish summary has no miner object")
    info = as_dict(replies.get("rest:info"))
    net = as_dict(as_dict(info.get("system")).get("network_status"))
    boards: list[Board] = []
    for position, c in enumerate(as_dict(x) for x in as_list(miner.get("chains"))):
        n = integer(c.get("id"))
        chips = integer(c.get("chips", c.get("asic_num")))
        boards.append(
            Board(
                index=(n - 1) if n else position,
                hashrate_ths=ths(c.get("hashrate_rt"), "GH"),
                chips=chips,
                temp_c=_max(c.get("pcb_temp")),
                chip_temp_c=_max(c.get("chip_temp")),
            )
        )
    out_pools = []
    for i, p in enumerate(as_dict(x) for x in as_list(miner.get("pools"))):
        st = (text(p.get("status")) or "").lower()
        out_pools.append(
            Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("user")),
                status="alive" if st in ("alive", "working", "active") else "dead" if st in ("dead", "offline", "rejecting") else "disabled" if st == "disabled" else "unknown",
                accepted=integer(p.get("accepted")),
                rejected=integer(p.get("rejected")),
                stale=integer(p.get("stale")),
                index=integer(p.get("id")) if integer(p.get("id")) is not None else i,
                active=st in ("active", "working") or None,
            )
        )
    power = num(miner.get("power_consumption"))
    model, version = split_type(text(info.get("model")) or text(miner.get("model")))
    state = (text(as_dict(miner.get("miner_status")).get("miner_state")) or "").lower()
    return MinerReading(
        device=device,
        driver=DRIVER.name,
        make="Antminer",
        model=model,
        algorithm=bm.algorithm_of(model),
        firmware="vnish",
        firmware_version=text(info.get("fw_version")) or version,
        mac=mac(net.get("mac")),
        serial=text(info.get("serial")),
        hostname=text(net.get("hostname")),
        hashrate_ths=ths(miner.get("hr_realtime"), "GH"),
        expected_hashrate_ths=ths(miner.get("hr_nominal"), "GH") or None,
        power_w=power if power and power > 0 else None,
        power_source="estimated" if power and power > 0 else None,
        fans_rpm=[rpm(as_dict(f).get("rpm")) for f in as_list(as_dict(miner.get("cooling")).get("fans"))],
        boards=boards,
        pools=out_pools,
        uptime_s=integer(miner.get("uptime")) if miner.get("uptime") is not None else None,
        sleeping=state in ("stopped", "paused", "sleeping", "shutting-down"),
    )

_SUFFIX = re.compile(r"\s*\(\s*vnish\s*([^)]*)\)\s*", re.IGNORECASE)


def split_type(raw: str | None) -> tuple[str | None, str | None]:
    """("S17", "0.9.2-alpha") from "Antminer S17 (vnish 0.9.2-alpha)"."""
    if not raw:
        return None, None
    m = _SUFFIX.search(raw)
    if m is None:
        return bm.strip_vendor(raw), None
    return bm.strip_vendor(_SUFFIX.sub(" ", raw).strip()), text(m.group(1))


def parse(replies: Replies, device: str) -> MinerReading:
    if "rest:summary" in replies:
        return parse_rest(replies, device)
    sec = bm.sections(replies)
    model, version = split_type(bm.raw_type(sec))
    version = version or text(sec.data.get("build_version")) or text(sec.version.get("VNish"))
    return bm.build(sec, device, driver=DRIVER.name, firmware="vnish", model=model, firmware_version=version)


DRIVER = Driver(
    name="vnish",
    signatures=("VNISH",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=10,
    fetch=fetch,
)
