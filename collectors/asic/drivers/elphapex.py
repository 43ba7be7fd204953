"""Elphapex DG1 / DG1+ / DG Home (Scrypt): a Bitmain-derived web CGI on port 80 behind HTTP Digest.

Per cycle ``/cgi-bin/stats.cgi``, ``/cgi-bin/summary.cgi`` and ``/cgi-bin/pools.cgi``; identity
``/cgi-bin/get_system_info.cgi`` once per identity interval. The shapes are the stock Antminer web CGI's
(:mod:`._antminer_web`), with Elphapex's own habits:

- ``rate_unit`` "MH/s": ``rate_5s`` is the current hashrate (11531.88 MH/s = 0.0115 TH/s of Scrypt); ``rate_avg``,
  ``rate_15m`` are averages and ``rate_30m`` reads 0 before it is computed (never a hashrate); ``rate_ideal``
  is the expected rate.
- per chain: ``rate_real`` adds up to ``rate_avg`` (an average), so a board's rate is its ``hashrate`` key when
  present (DG1+), else ``rate_real`` (DG1 v1 has only that); ``asic_num`` chips; ``temp_pcb`` (the DG1+ copies
  one list onto every chain: read as given); ``temp_chip`` milli-degrees as strings, "" for no sensor.
- ``fan`` strings ("5340"); ``summary.cgi`` status items other than "s" are errors (its ``hw_all`` equals
  ``rate_avg``, a firmware bug: not read).
- ``pools.cgi`` lower-case keys, status "Alive"/"Unreachable", no active flag: the first Alive pool is taken
  as the working one.

Model: ``INFO.type`` (stats) or ``minertype`` ("DG1+"), reported as "Elphapex DG1+". The default login is
``root``/``root`` (used only with ``use_default_password``).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from ...errors import DeviceError
from .. import http
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import MinerReading
from ..units import as_dict, text, ths
from . import _antminer_web as web

NAME = "elphapex"
MAKE = "Elphapex"
WEB_PORT = 80


def _digest(ctx: FetchContext) -> aiohttp.DigestAuthMiddleware:
    mw = ctx.state.get("digest")
    if mw is None:
        user, password = ctx.login("root", "root")
        mw = ctx.state["digest"] = http.digest(user, password)
    return mw  # type: ignore[no-any-return]


async def _cgi(ctx: FetchContext, path: str) -> Any:
    return (await ctx.get(ctx.web_port(WEB_PORT), path, digest=_digest(ctx))).json()


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    try:
        out: dict[str, Any] = {"stats": await _cgi(ctx, web.STATS)}
    except DeviceError:
        ctx.forget("digest")
        raise
    # Optional pages: a firmware without one (404), or one that times out, leaves that part null with a note.
    out["summary"] = await ctx.optional(f"errors ({web.SUMMARY})", _cgi(ctx, web.SUMMARY), share=0.5)
    out["pools"] = await ctx.optional(f"pools ({web.POOLS})", _cgi(ctx, web.POOLS), share=0.5)
    if ctx.due("system_info"):
        info = await ctx.optional(f"identity ({web.SYSTEM_INFO})", _cgi(ctx, web.SYSTEM_INFO))
        if info is not None:
            ctx.remember("system_info", info)
    out["system_info"] = ctx.state.get("system_info")
    return out


def parse(replies: Replies, device: str) -> MinerReading:
    stats = as_dict(replies.get("stats"))
    r = web.parse_stats(stats, device, NAME)
    entries = stats.get("STATS")
    data = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    unit = text(data.get("rate_unit")) or "MH/s"
    chains = [c for c in data.get("chain") or [] if isinstance(c, dict)]
    for board, chain in zip(r.boards, chains, strict=False):
        if board.hashrate_ths is not None and "hashrate" in chain:
            board.hashrate_ths = ths(chain.get("hashrate"), unit)
    info = web.identity(replies.get("system_info"))
    model = r.model or info["model"]
    if model and not model.upper().startswith("ELPHAPEX"):
        model = f"{MAKE} {model}"
    r.make, r.model, r.algorithm, r.firmware = MAKE, model, "scrypt", "elphapex"
    r.firmware_version = info["firmware_version"] or r.firmware_version
    r.hostname, r.mac = info["hostname"], info["mac"]
    r.errors = web.summary_errors(replies.get("summary"))
    pools = web.web_pools(replies.get("pools"))
    raw = as_dict(replies.get("pools")).get("POOLS")
    for p, src in zip(pools, raw if isinstance(raw, list) else [], strict=False):
        if isinstance(src, dict) and str(src.get("status", "")).lower() == "unreachable":
            p.status = "dead"
    if pools and all(p.active is None for p in pools):
        working = next((p for p in pools if p.status == "alive"), None)
        for p in pools:
            p.active = p is working
    r.pools = pools
    return r


DRIVER = Driver(
    name=NAME,
    signatures=("ELPHAPEX",),
    web_signatures=("elphapex",),
    web_realms=("elphapex", "daoge"),  # the Digest realm is "Daoge..."
    commands=(),
    parse=parse,
    fetch=fetch,
    port=WEB_PORT,
    priority=60,
    make=MAKE,
)
