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
- fans, model unknown: when the model is unknown (no ``devdetails``), zero-RPM slots after the last spinning fan are left
  out: BOSminer lists every fan header of the control board (4 on an S9 that has 2 fans), so a trailing 0 may
  be a header with nothing on it; a 0 before a spinning fan keeps its place (a dead fan). With the model known,
  the model's fan count decides (normalize).

With web credentials the web APIs are read instead, newest first (:func:`fetch`): the public REST API of
bOS+ 25.07+ (:mod:`._braiins_rest`), else the legacy GraphQL of bOS 21.x / bOS+ up to 25.05
(:mod:`._braiins_gql`), else this RPC. Each carries more than the RPC (MAC, hostname, full firmware version).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading
from ..rpc import description
from ..units import integer, num, rpm, text, ths
from . import _bmminer as bm
from . import _braiins_gql as gql
from . import _braiins_rest as rest
from ._cgminer import first, items, pools

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


def _platform_model(replies: Replies) -> str | None:
    """The model in any reply's STATUS description ("BOSminer bosminer-plus-am1-s9 0.4.0-..."): one BOSminer+
    build names the platform in ``devs`` but not in ``version`` ("BOSminer+ 0.2.0-...")."""
    for reply in replies.values():
        if isinstance(reply, dict):
            found = model_from_platform(description(reply))
            if found:
                return found
    return None


def _firmware_version(replies: Replies) -> str | None:
    v = first(bm.usable(replies, "version"), "VERSION")
    for key in ("BOSminer", "BOSminer+", "BOSer", "bosminer", "boser"):
        if text(v.get(key)):
            return text(v.get(key))
    desc = _description(replies).split()
    return desc[-1] if len(desc) >= 2 else None


def _parse_bmminer(replies: Replies, device: str) -> MinerReading:
    sec = bm.sections(replies)
    raw = bm.raw_type(sec)
    model = model_from_platform(raw) or bm.strip_vendor(raw) or _platform_model(replies)
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
    model = bm.strip_vendor(model_raw) or _platform_model(replies)

    fan_entries = sorted(items(bm.usable(replies, "fans"), "FANS"), key=lambda e: integer(e.get("ID")) or 0)
    fans = [rpm(e.get("RPM")) for e in fan_entries]
    notes = []
    if model is None and fans and fans[-1] == 0:
        while fans and fans[-1] == 0:
            fans.pop()
        notes.append("model unknown: fan headers reading 0 after the last spinning fan are not reported")
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
        fans_rpm=fans,
        boards=boards,
        pools=pools(bm.usable(replies, "pools")),
        uptime_s=uptime,
        sleeping=sleeping,
        notes=notes,
    )


def _is_bmminer(replies: Mapping[str, Any]) -> bool:
    _info, data = bm.split_stats(bm.usable(replies, "stats"))
    if data:
        return True
    summary = first(bm.usable(replies, "summary"), "SUMMARY")
    return "GHS 5s" in summary and "MHS 1m" not in summary and not bm.usable(replies, "devs")


# ------------------------------------------------------------------------------------------- web APIs

DEFAULT_USER, DEFAULT_PASSWORD = "root", "root"


async def _rest(ctx: FetchContext) -> dict[str, Any]:
    return await rest.fetch(ctx, DEFAULT_USER, DEFAULT_PASSWORD)


async def _graphql(ctx: FetchContext) -> dict[str, Any]:
    return await gql.fetch(ctx, DEFAULT_USER, DEFAULT_PASSWORD)


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    # Newest first: the public REST API (25.07+), else the legacy GraphQL (21.x .. 25.05), else the RPC
    # (no credentials, or neither web API answers). See collectors/asic/README.md "Braiins OS".
    return await ctx.web_else_rpc(("rest", _rest), ("graphql", _graphql))


def parse(replies: Replies, device: str) -> MinerReading:
    if "rest:miner/stats" in replies:
        return rest.parse(replies, device, DRIVER.name)
    if "gql:system" in replies or "gql:boards" in replies:
        return gql.parse(replies, device, DRIVER.name)
    if _is_bmminer(replies):
        return _parse_bmminer(replies, device)
    return _parse_bosminer(replies, device)


DRIVER = Driver(
    name="braiins",
    # BOSminer / BOSer in every STATUS description; the bmminer-era bOS says "bOS_am1-s9" / "braiins-am1-s9".
    signatures=("BOSMINER", "BOSER", "BOS_AM", "BRAIINS-AM"),
    web_signatures=("braiins os", "bos+"),
    commands=("summary", "devs", "devdetails", "temps", "fans", "tunerstatus", "pools", "stats"),
    identity_commands=("version",),
    parse=parse,
    custom=True,
    priority=20,
    fetch=fetch,
)
