"""VNish on Antminer hardware, RPC on 4028 (bmminer-style replies with numbers where stock has strings).

Per cycle ``summary+stats+pools``; ``version`` is identity (cached). Same keys as stock (see :mod:`._bmminer`);
the differences:

- model: ``Type`` is "Antminer S17 (vnish 0.9.2-alpha)": the model is the part before the parenthesis and the
  firmware version the part inside it (else stats ``build_version``).
- fans: ``fan_num`` 0 with every slot 0 (immersion, fans not reported) gives [] (unknown), not dead fans.
- power: 1.2.x prints ``chain_consumptionN`` (W per chain); their sum is read as "estimated" (the RPC does not
  say whether the PSU meters it). Older releases have no watts on the RPC.
- pools: the firmware's own dev-fee pool (URL/User "DevFee", listed beside the user's and mining at the same
  time) is left out; ``summary`` share counts include it.
- 1.2.x answers ``version`` with STATUS E "Invalid command" (Code 0): model and version come from ``stats``.

VNish REST API (``/api/v1``, port 80), used instead of the RPC when the group has web credentials:
``POST /api/v1/unlock {"pw": ...}`` -> ``token`` (sent as the ``Authorization`` header; refreshed once on a
401). Per cycle ``GET /api/v1/summary`` (required) and ``/api/v1/perf-summary`` (optional: the active preset);
``GET /api/v1/info`` is identity (cached). ``settings`` (the *configured* preset, which the preset switcher may
have overridden) and ``autotune/presets`` are configuration, not telemetry, and are not read.

- hashrate ``miner.hr_realtime`` (GH/s), expected ``miner.hr_nominal`` (at the current preset; ``hr_stock`` is
  the stock nameplate); power ``miner.power_consumption`` (W): "reported" when ``psu.psu_power_metering`` is
  true, else "estimated" (``power_usage`` is not read as watts); power limit the active preset's watts.
- boards ``miner.chains[]``: ``id`` (1-based), ``hashrate_rt``, ``chips``/``asic_num`` (1.2.x: the sum of
  ``chip_statuses``), ``pcb_temp.max``, ``chip_temp.max``; fans ``miner.cooling.fans[].rpm``; pools
  ``miner.pools[]`` without ``pool_type`` DevFee (``active`` mines now, ``working`` is a live backup);
  sleeping ``miner.miner_status.miner_state`` in (stopped, paused, sleeping); "auto-tuning" is hashing;
  errors: chains whose ``status.state`` is "failure", with their ``status.description``.
- identity (``info``): ``miner`` ("Antminer S21 Pro"; ``model`` is the short "s21pro"), ``fw_version``,
  ``serial`` ("N/A" = none), ``system.network_status.mac``/``hostname``; uptime ``system.uptime`` ("1:55",
  the system's, to the minute) where the summary has none.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..http import Response
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths
from . import _bmminer as bm
from ._weblogin import optional, token_from, with_token

DEFAULT_USER, DEFAULT_PASSWORD = "admin", "admin"


async def _login(ctx: FetchContext) -> str:
    _user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    return token_from(await ctx.post(ctx.web_port(80), "/api/v1/unlock", json_body={"pw": password}), "token")


async def _rest(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.web_port(80)

    async def read(token: str) -> dict[str, Any]:
        hdr = {"Authorization": token}
        out = {"rest:summary": (await ctx.get(port, "/api/v1/summary", headers=hdr)).json()}
        # Optional parts: the active preset (changes with the preset switcher, so every cycle) and identity.
        preset = await optional(ctx, "perf-summary", lambda: _json(ctx.get(port, "/api/v1/perf-summary", headers=hdr)))
        if preset is not None:
            out["rest:perf-summary"] = preset
        if ctx.due("rest-info") or "rest-info" not in ctx.state:
            # identity read before stays until the next one is read
            info = await optional(ctx, "info", lambda: _json(ctx.get(port, "/api/v1/info", headers=hdr)))
            if info is not None:
                ctx.remember("rest-info", info)
        if "rest-info" in ctx.state:
            out["rest:info"] = ctx.state["rest-info"]
        return out

    result: dict[str, Any] = await with_token(ctx, _login, read)
    return result


async def _json(request: Awaitable[Response]) -> Any:
    return (await request).json()


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    return await ctx.rest_else_rpc(_rest)


def _max(value: Any) -> float | None:
    d = as_dict(value)
    t = num(d.get("max")) if d else num(value)
    return hottest([t]) if t else None


def _chips(chain: dict[str, Any]) -> int | None:
    """Chips of a chain: ``chips``/``asic_num`` where given; 1.2.x gives only ``chip_statuses`` (red/orange/grey
    counts of the chips that answer, by health), whose sum is the chain's chip count."""
    n = integer(chain.get("chips", chain.get("asic_num")))
    if n is not None:
        return n
    statuses = as_dict(chain.get("chip_statuses"))
    counts = [integer(v) for v in statuses.values()]
    return sum(c for c in counts if c is not None) if counts and all(c is not None for c in counts) else None


_UPTIME = re.compile(r"^(?:(\d+)\s*days?,?\s*)?(?:(\d+):(\d{2})|(\d+)\s*min)?$", re.IGNORECASE)


def uptime_text(value: Any) -> int | None:
    """Seconds from the system uptime as VNish writes it (the ``uptime`` command's words): "1:55" (h:mm),
    "5 min", "3 days, 2:10", "1 day, 4 min"; a number is seconds. Anything else is unknown."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return integer(value)
    m = _UPTIME.match(str(value or "").strip())
    if m is None or not any(m.groups()):
        return None
    days, hours, minutes, only_min = (int(g) if g else 0 for g in m.groups())
    return days * 86400 + hours * 3600 + (minutes or only_min) * 60


def is_devfee(url: Any, user: Any, kind: Any = None) -> bool:
    """The firmware's own dev-fee pool (VNish lists it beside the user's pools): not one of the user's."""
    return any(str(v or "").strip().lower() == "devfee" for v in (url, user, kind))


def parse_rest(replies: Replies, device: str) -> MinerReading:
    miner = as_dict(as_dict(replies.get("rest:summary")).get("miner"))
    if not miner:
        raise ParseError("VNish summary has no miner object")
    info = as_dict(replies.get("rest:info"))
    net = as_dict(as_dict(info.get("system")).get("network_status"))
    boards: list[Board] = []
    for position, c in enumerate(as_dict(x) for x in as_list(miner.get("chains"))):
        n = integer(c.get("id"))
        boards.append(
            Board(
                index=(n - 1) if n else position,
                hashrate_ths=ths(c.get("hashrate_rt"), "GH"),
                chips=_chips(c),
                temp_c=_max(c.get("pcb_temp")),
                chip_temp_c=_max(c.get("chip_temp")),
            )
        )
    out_pools: list[Pool] = []
    fee: list[Pool] = []
    for i, p in enumerate(as_dict(x) for x in as_list(miner.get("pools"))):
        st = (text(p.get("status")) or "").lower()
        (fee if is_devfee(p.get("url"), p.get("user"), p.get("pool_type")) else out_pools).append(
            Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("user")),
                status="alive" if st in ("alive", "working", "active") else "dead" if st in ("dead", "offline", "rejecting") else "disabled" if st == "disabled" else "unknown",
                accepted=integer(p.get("accepted")),
                rejected=integer(p.get("rejected")),
                stale=integer(p.get("stale")),
                index=integer(p.get("id")) if integer(p.get("id")) is not None else i,
                # "active" mines now; "working" is a reachable backup
                active=st == "active" if st else None,
            )
        )
    power = num(miner.get("power_consumption"))
    metered = as_dict(miner.get("psu")).get("psu_power_metering") is True
    model, version = split_type(text(info.get("miner")) or text(miner.get("miner_type")) or text(info.get("model")))
    state = (text(as_dict(miner.get("miner_status")).get("miner_state")) or "").lower()
    preset = num(as_dict(as_dict(replies.get("rest:perf-summary")).get("current_preset")).get("name"))
    # a chain whose status is "failure" carries the firmware's description of it: the current errors
    errors: list[MinerErrorEntry] = []
    for position, c in enumerate(as_dict(x) for x in as_list(miner.get("chains"))):
        status = as_dict(c.get("status"))
        if (text(status.get("state")) or "").lower() == "failure":
            chain = integer(c.get("id")) or position + 1
            why = text(status.get("description")) or "failure"
            errors.append(MinerErrorEntry(code=None, message=f"chain {chain}: {why}"))
    serial = text(info.get("serial"))
    return MinerReading(
        device=device,
        driver=DRIVER.name,
        make="Antminer",
        model=model,
        algorithm=bm.algorithm_of(model),
        firmware="vnish",
        firmware_version=text(info.get("fw_version")) or version,
        mac=mac(net.get("mac")),
        serial=None if serial is None or serial.upper() in ("N/A", "NA", "UNKNOWN") else serial,
        hostname=text(net.get("hostname")),
        hashrate_ths=ths(miner.get("hr_realtime"), "GH"),
        expected_hashrate_ths=ths(miner.get("hr_nominal"), "GH") or None,
        power_w=power if power and power > 0 else None,
        # PSU metering on (1.2.x reports it): a measurement; otherwise the firmware's own estimate
        power_source=("reported" if metered else "estimated") if power and power > 0 else None,
        # the preset running now ("2800" W), which the preset switcher may have lowered from the configured one
        power_limit_w=preset if preset and preset > 0 else None,
        fans_rpm=[rpm(as_dict(f).get("rpm")) for f in as_list(as_dict(miner.get("cooling")).get("fans"))],
        boards=boards,
        pools=out_pools,
        fee_pools=fee,
        uptime_s=integer(miner.get("uptime")) if miner.get("uptime") is not None else uptime_text(as_dict(info.get("system")).get("uptime")),
        errors=errors,
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
    r = bm.build(sec, device, driver=DRIVER.name, firmware="vnish", model=model, firmware_version=version)
    r.fee_pools += [p for p in r.pools if is_devfee(p.url, p.user)]
    r.pools = [p for p in r.pools if not is_devfee(p.url, p.user)]
    # 1.2.x: per-chain watts; their sum is the firmware's power figure (the RPC cannot say whether the PSU
    # meters it, so it is "estimated" here; the REST API says)
    chains = [num(sec.data.get(f"chain_consumption{n}")) for n in range(1, 17) if f"chain_consumption{n}" in sec.data]
    if chains and all(c is not None for c in chains) and not r.sleeping:
        watts = sum(c or 0.0 for c in chains)
        if watts > 0:
            r.power_w, r.power_source = watts, "estimated"
    return r


DRIVER = Driver(
    name="vnish",
    signatures=("VNISH",),
    web_signatures=("anthillos", "vnish"),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=10,
    fetch=fetch,
)
