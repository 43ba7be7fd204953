"""Braiins OS legacy RPC on 4028: BOSminer/bOS+ (cgminer-compatible plus ``temps``, ``fans``, ``tunerstatus``),
and the 2019 Braiins OS that still ran bmminer (bmminer-shaped ``stats``; handled by :mod:`._bmminer`).

Per cycle one joined request ``summary+devs+devdetails+temps+fans+tunerstatus+pools+stats``; ``version`` is
identity (cached). Commands a firmware does not have come back as E sections and are simply absent (bOS
without the tuner has no ``tunerstatus``; BOSminer's ``stats`` holds no board data and is ignored there; the
bmminer-era bOS has no ``temps``/``fans``/``tunerstatus``).

BOSminer, what comes from where (all rates MH/s, unlike stock's GH/s):

- hashrate: ``summary`` "MHS 1m" (else "MHS 5s", else the sum of ``devs`` "MHS 1m").
- boards: ``devs`` by ``ID`` (1..3, or 6..8 on S9 -> index 0..2): "MHS 1m", "Nominal MHS" (their sum is the
  expected hashrate); ``devdetails`` by ``ID``: ``Chips``, ``Model``; ``temps`` by ``ID``: ``Board``, ``Chip``
  (0.0 = no reading).
- fans: ``fans.FANS`` ``RPM`` by ``ID`` (a dead fan reads 0 and stays).
- power: ``tunerstatus.TUNERSTATUS[0].ApproximateMinerPowerConsumption`` (W), source "estimated";
  ``PowerLimit`` -> power_limit_w.
- model: ``devdetails`` ``Model`` ("Antminer S17" -> "S17"), else from the description ("...-am2-s17 ...").
- firmware_version: ``version`` "BOSminer"/"BOSer", else the last word of the STATUS description.
- sleeping: every ``tunerstatus`` TunerChainStatus ``Status`` is "Paused".

Braiins OS+ 25.07+ public REST API (``/api/v1``, snake_case), used instead of the RPC when the group has web
credentials and the miner answers it: ``POST /api/v1/auth/login {"username","password"}`` -> ``token``
(sent as the ``authorization`` header; refreshed before its hour runs out, and once on a 401). Per cycle
``GET miner/stats``, ``miner/hw/hashboards``, ``cooling/state``, ``pools/``, ``miner/errors``,
``miner/details`` (identity, uptime, ``status``: ``MINER_STATUS_PAUSED`` is sleeping) and
``performance/tuner-state`` (power target). Firmware without it (404, refused) is read over
the RPC, and asked again after the identity interval (an upgrade adds it).

- hashrate ``miner_stats.real_hashrate.last_1m`` (GH/s; ``last_5s`` when absent); expected
  ``nominal_hashrate``; power ``power_stats.approximated_consumption.watt`` ("estimated"); power limit the
  tuner's ``current_target.watt``.
- boards ``hashboards[]`` (string ids "1".. -> index 0..): ``chips_count``, ``board_temp``,
  ``highest_chip_temp``, ``stats.real_hashrate.last_1m``; fans ``cooling.fans[].rpm`` by ``position``.
- pools: groups -> pools with ``stats.accepted_shares``/``rejected_shares``/``stale_shares``; errors
  ``errors[].message`` (their timestamps may predate NTP sync and are not used).
- identity ``miner_identity.miner_model``, ``mac_address``, ``serial_number``, ``hostname``,
  ``bos_version.current``; uptime ``bosminer_uptime_s``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..rpc import description
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths
from . import _bmminer as bm
from ._cgminer import first, items, pools
from ._weblogin import token_from, with_token

_AM_MODEL = re.compile(r"am\d+-([a-z]+\d+[a-z0-9+]*)", re.IGNORECASE)
_SUMMARY_RATE_KEYS = ("MHS 1m", "MHS 5s")


def model_from_platform(value: str | None) -> str | None:
    """ "S9" from "braiins-am1-s9" or "bosminer-plus-am2-s17" (Braiins' platform names)."""
    if not value:
        return None
    m = _AM_MODEL.search(value)
    return m.group(1).upper() if m else None


def _by_id(reply: Any, section: str) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for entry in items(reply, section):
        i = integer(entry.get("ID"))
        if i is not None:
            out[i] = entry
    return out


def _positive(value: Any) -> float | None:
    f = num(value)
    return f if f is not None and f > 0 else None


def _description(replies: Replies) -> str:
    for command in ("version", "summary", "devs", "devdetails", "stats"):
        reply = replies.get(command)
        if reply:
            found = description(reply)
            if found:
                return found
    return ""


def _firmware_version(replies: Replies) -> str | None:
    v = first(bm.usable(replies, "version"), "VERSION")
    for key in ("BOSminer", "BOSer", "bosminer", "boser"):
        if text(v.get(key)):
            return text(v.get(key))
    desc = _description(replies).split()
    return desc[-1] if len(desc) >= 2 else None


def _parse_bmminer(replies: Replies, device: str) -> MinerReading:
    sec = bm.sections(replies)
    raw = bm.raw_type(sec)
    model = model_from_platform(raw) or bm.strip_vendor(raw) or model_from_platform(_description(replies))
    version = text(sec.info.get("Miner")) or text(sec.version.get("Miner")) or _firmware_version(replies)
    return bm.build(
        sec, device, driver=DRIVER.name, firmware="braiins", model=model, firmware_version=version
    )


def _parse_bosminer(replies: Replies, device: str) -> MinerReading:
    summary = first(bm.usable(replies, "summary"), "SUMMARY")
    devs = _by_id(bm.usable(replies, "devs"), "DEVS")
    if not summary and not devs:
        raise ParseError("BOSminer answered neither summary (SUMMARY) nor devs (DEVS)")
    details = _by_id(bm.usable(replies, "devdetails"), "DEVDETAILS")
    temps = _by_id(bm.usable(replies, "temps"), "TEMPS")

    ids = sorted(set(devs) | set(details) | set(temps))
    base = bm.chain_base(ids)
    boards: list[Board] = []
    nominal: list[float | None] = []
    for i in ids:
        dev, detail, temp = devs.get(i, {}), details.get(i, {}), temps.get(i, {})
        rate = ths(dev.get("MHS 1m"), "MH")
        if rate is None:
            rate = ths(dev.get("MHS 5s"), "MH")
        nominal.append(ths(dev.get("Nominal MHS"), "MH") if dev else None)
        boards.append(
            Board(
                index=i - base,
                hashrate_ths=rate,
                chips=integer(detail.get("Chips")),
                temp_c=_positive(temp.get("Board")),
                chip_temp_c=_positive(temp.get("Chip")),
            )
        )

    hashrate = None
    for key in _SUMMARY_RATE_KEYS:
        hashrate = ths(summary.get(key), "MH")
        if hashrate is not None:
            break
    if hashrate is None and devs:
        rates = [b.hashrate_ths for b in boards if b.hashrate_ths is not None]
        hashrate = sum(rates) if rates else None

    model_raw = next((text(d.get("Model")) for d in details.values() if text(d.get("Model"))), None)
    model = bm.strip_vendor(model_raw) or model_from_platform(_description(replies))

    fan_entries = sorted(items(bm.usable(replies, "fans"), "FANS"), key=lambda e: integer(e.get("ID")) or 0)
    tuner = first(bm.usable(replies, "tunerstatus"), "TUNERSTATUS")
    power_w = _positive(tuner.get("ApproximateMinerPowerConsumption"))

    uptime = integer(summary.get("Elapsed"))
    if uptime is None and devs:
        uptime = max((integer(d.get("Device Elapsed")) or 0) for d in devs.values()) or None

    expected = sum(n for n in nominal if n) if nominal and all(nominal) else None
    # Paused by the operator (curtailment): every hashchain's tuner status says so. Inferred from the
    # tuner's per-chain Status field; a paused BOSminer also answers devdetails "Unavailable".
    chains = tuner.get("TunerChainStatus")
    chain_status = [str(c.get("Status", "")).lower() for c in chains if isinstance(c, dict)] if isinstance(chains, list) else []
    sleeping = bool(chain_status) and all(s == "paused" for s in chain_status)
    return MinerReading(
        device=device,
        driver=DRIVER.name,
        make="Antminer",
        model=model,
        algorithm=bm.algorithm_of(model),
        firmware="braiins",
        firmware_version=_firmware_version(replies),
        hashrate_ths=max(hashrate, 0.0) if hashrate is not None else None,
        expected_hashrate_ths=expected or None,
        power_w=power_w,
        power_source="estimated" if power_w is not None else None,
        power_limit_w=_positive(tuner.get("PowerLimit")),
        fans_rpm=[rpm(e.get("RPM")) for e in fan_entries],
        boards=boards,
        pools=pools(bm.usable(replies, "pools")),
        uptime_s=uptime,
        sleeping=sleeping,
    )


def _is_bmminer(replies: Mapping[str, Any]) -> bool:
    _info, data = bm.split_stats(bm.usable(replies, "stats"))
    if data:
        return True
    summary = first(bm.usable(replies, "summary"), "SUMMARY")
    return "GHS 5s" in summary and "MHS 1m" not in summary and not bm.usable(replies, "devs")


# ------------------------------------------------------------------------------------------- REST (25.07+)

DEFAULT_USER, DEFAULT_PASSWORD = "root", "root"
# Every cycle: miner/details carries the run status (paused) and the uptime, tuner-state the power target an
# operator or curtailment script may change at any time; caching them would serve stale values as current.
REST_READS = ("miner/stats", "miner/hw/hashboards", "cooling/state", "pools/", "miner/errors", "miner/details",
              "performance/tuner-state")
# MinerStatus of bos-plus-api (miner/details ``status``): the REST gateway gives the enum's name, older builds
# its number. PAUSED is the operator's pause (curtailment): sleeping, not broken.
_PAUSED = {"MINER_STATUS_PAUSED", "3"}


async def _login(ctx: FetchContext) -> str:
    user, password = ctx.login(DEFAULT_USER, DEFAULT_PASSWORD)
    resp = await ctx.post(ctx.web_port(80), "/api/v1/auth/login", json_body={"username": user, "password": password})
    return token_from(resp, "token")


async def _rest(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.web_port(80)

    async def read(token: str) -> dict[str, Any]:
        hdr = {"authorization": token}

        async def one(path: str) -> Any:
            return (await ctx.get(port, f"/api/v1/{path}", headers=hdr)).json()

        values = await asyncio.gather(*(one(p) for p in REST_READS))
        return {f"rest:{p}": v for p, v in zip(REST_READS, values, strict=True)}

    result: dict[str, Any] = await with_token(ctx, _login, read)
    return result


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    return await ctx.rest_else_rpc(_rest)


def _gh(value: Any) -> float | None:
    return ths(as_dict(value).get("gigahash_per_second"), "GH")


def _deg(value: Any) -> float | None:
    d = as_dict(value)
    if "temperature" in d:
        d = as_dict(d.get("temperature"))
    t = num(d.get("degree_c"))
    return hottest([t]) if t else None


def parse_rest(replies: Replies, device: str) -> MinerReading:
    stats = as_dict(replies.get("rest:miner/stats"))
    ms = as_dict(stats.get("miner_stats"))
    if not ms:
        raise ParseError("REST miner/stats has no miner_stats")
    real = as_dict(ms.get("real_hashrate"))
    hashrate = _gh(real.get("last_1m"))
    if hashrate is None:
        hashrate = _gh(real.get("last_5s"))
    boards: list[Board] = []
    for position, hb in enumerate(x for x in as_list(as_dict(replies.get("rest:miner/hw/hashboards")).get("hashboards")) if isinstance(x, dict)):
        n = integer(hb.get("id"))
        hr = as_dict(as_dict(hb.get("stats")).get("real_hashrate"))
        rate = _gh(hr.get("last_1m"))
        boards.append(
            Board(
                index=(n - 1) if n else position,
                hashrate_ths=rate if rate is not None else _gh(hr.get("last_5s")),
                chips=integer(hb.get("chips_count")),
                temp_c=_deg(hb.get("board_temp")),
                chip_temp_c=_deg(hb.get("highest_chip_temp")),
            )
        )
    fans = sorted(
        (x for x in as_list(as_dict(replies.get("rest:cooling/state")).get("fans")) if isinstance(x, dict)),
        key=lambda f: integer(f.get("position")) or 0,
    )
    out_pools: list[Pool] = []
    for group in as_list(replies.get("rest:pools/")):
        for p in as_list(as_dict(group).get("pools")):
            p = as_dict(p)
            st = as_dict(p.get("stats"))
            alive = p.get("alive")
            out_pools.append(
                Pool(
                    url=text(p.get("url")) or "",
                    user=text(p.get("user")),
                    status="disabled" if p.get("enabled") is False else "alive" if alive else "dead" if alive is False else "unknown",
                    accepted=integer(st.get("accepted_shares")),
                    rejected=integer(st.get("rejected_shares")),
                    stale=integer(st.get("stale_shares")),
                    index=len(out_pools),
                    active=p.get("active") if isinstance(p.get("active"), bool) else None,
                )
            )
    errors_reply = replies.get("rest:miner/errors")
    errors: list[MinerErrorEntry] | None = None
    if isinstance(errors_reply, dict) and isinstance(errors_reply.get("errors"), list):
        errors = [
            MinerErrorEntry(code=integer((as_list(e.get("error_codes")) or [None])[0]), message=text(e.get("message")) or "error")
            for e in (as_dict(x) for x in errors_reply["errors"])
        ]
    details = as_dict(replies.get("rest:miner/details"))
    model = bm.strip_vendor(text(as_dict(details.get("miner_identity")).get("miner_model")))
    power = num(as_dict(as_dict(stats.get("power_stats")).get("approximated_consumption")).get("watt"))
    tuner = as_dict(as_dict(as_dict(replies.get("rest:performance/tuner-state")).get("mode_state")).get("powertargetmodestate"))
    limit = num(as_dict(tuner.get("current_target")).get("watt"))
    return MinerReading(
        device=device,
        driver=DRIVER.name,
        make="Antminer",
        model=model,
        algorithm=bm.algorithm_of(model),
        firmware="braiins",
        firmware_version=text(as_dict(details.get("bos_version")).get("current")),
        mac=mac(details.get("mac_address")),
        serial=text(details.get("serial_number")),
        hostname=text(details.get("hostname")),
        hashrate_ths=max(hashrate, 0.0) if hashrate is not None else None,
        expected_hashrate_ths=_gh(ms.get("nominal_hashrate")) or None,
        power_w=power if power and power > 0 else None,
        power_source="estimated" if power and power > 0 else None,
        power_limit_w=limit if limit and limit > 0 else None,
        fans_rpm=[rpm(f.get("rpm")) for f in fans],
        boards=boards,
        pools=out_pools,
        uptime_s=integer(details.get("bosminer_uptime_s")),
        errors=errors,
        sleeping=str(details.get("status", "")).upper() in _PAUSED,
    )


def parse(replies: Replies, device: str) -> MinerReading:
    if "rest:miner/stats" in replies:
        return parse_rest(replies, device)
    if _is_bmminer(replies):
        return _parse_bmminer(replies, device)
    return _parse_bosminer(replies, device)


DRIVER = Driver(
    name="braiins",
    # BOSminer / BOSer in every STATUS description; the bmminer-era bOS says "bOS_am1-s9" / "braiins-am1-s9".
    signatures=("BOSMINER", "BOSER", "BOS_AM", "BRAIINS-AM"),
    commands=("summary", "devs", "devdetails", "temps", "fans", "tunerstatus", "pools", "stats"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=20,
    fetch=fetch,
)
