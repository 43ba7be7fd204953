"""Braiins OS+ 25.07+ public REST API (``/api/v1``, snake_case).

Login ``POST /api/v1/auth/login {"username","password"}`` -> ``token`` (sent as the ``authorization`` header;
refreshed before its hour runs out, and once on a 401). A login reply that is not JSON (an older release's
web server) means "no REST here": the next API is tried.

Per cycle ``GET miner/stats`` (required: it carries the hashrate and decides up/down), and the optional
``miner/hw/hashboards``, ``cooling/state``, ``pools/``, ``miner/errors``, ``miner/details`` (run status,
uptime, identity) and ``performance/tuner-state`` (power target: an operator or a curtailment script may change
it at any time, so nothing of these is cached). ``network`` (25.11+; MAC and hostname) is asked only when
``miner/details`` gives no MAC, and kept for the identity interval. An optional read that fails leaves its part
unknown and a note (``<part> not read (reason): ...``), never a down miner; a 404 is remembered.

- hashrate ``miner_stats.real_hashrate.last_1m`` (GH/s; ``last_5s`` when absent). The longer windows
  (``last_15m``, ``last_30m``, ``last_1h``, ``last_24h``, ``since_restart``) are averages: on a miner scaled
  back by the tuner they still hold the old rate and are never read. Expected ``nominal_hashrate`` (the tuned
  profile at the active target, so a scaled-back miner is not "degraded"); power
  ``power_stats.approximated_consumption.watt`` ("estimated"). Power limit: the tuner's *active*
  ``current_target`` (2431 W on a scaled-back unit whose operator set ``profile.target`` 3031 W).
- boards ``hashboards[]`` (string ids "1".. -> index 0..): ``chips_count``, ``board_temp``,
  ``highest_chip_temp``, ``stats.real_hashrate.last_1m`` (``current_frequency`` is in Hz and not exported).
- fans ``cooling.fans[].rpm`` by ``position``; pools: groups -> pools with ``stats.accepted_shares``/
  ``rejected_shares``/``stale_shares`` (``last_share_time`` may be null and is not read).
- errors: ``miner/errors`` is the firmware's error *history* (months of entries, unsorted, some stamped 2015
  before NTP), not a list of current faults. Only entries since this BOSminer run started count as current:
  start = the miner's clock (its HTTP ``Date`` header) - ``bosminer_uptime_s``. Without that clock the part is
  unknown (``errors: null``), never the whole history.
- identity ``miner_identity.miner_model``, ``mac_address``, ``serial_number``, ``hostname``,
  ``bos_version.current``; uptime ``bosminer_uptime_s``; sleeping ``status`` ``MINER_STATUS_PAUSED``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths
from . import _bmminer as bm
from ._weblogin import optional, token_from, with_token

REQUIRED = "miner/stats"
OPTIONAL = ("miner/hw/hashboards", "cooling/state", "pools/", "miner/errors", "miner/details",
            "performance/tuner-state")
IDENTITY = "network"
# MinerStatus of bos-plus-api (miner/details ``status``): the REST gateway gives the enum's name, older builds
# its number. PAUSED is the operator's pause (curtailment): sleeping, not broken.
_PAUSED = {"MINER_STATUS_PAUSED", "3"}


async def _login(ctx: FetchContext, creds: tuple[str, str]) -> str:
    resp = await ctx.post(ctx.web_port(80), "/api/v1/auth/login",
                          json_body={"username": creds[0], "password": creds[1]})
    resp.json()  # an HTML page or garbage: no REST API on this release (protocol/parse: try the next API)
    return token_from(resp, "token")


def _epoch(date_header: str | None) -> float | None:
    if not date_header:
        return None
    try:
        return parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


async def fetch(ctx: FetchContext, default_user: str, default_password: str) -> dict[str, Any]:
    port = ctx.web_port(80)
    creds = ctx.login(default_user, default_password)

    async def login(c: FetchContext) -> str:
        return await _login(c, creds)

    async def read(token: str) -> dict[str, Any]:
        hdr = {"authorization": token}

        async def one(path: str) -> tuple[Any, float | None]:
            resp = await ctx.get(port, f"/api/v1/{path}", headers=hdr)
            return resp.json(), _epoch(resp.headers.get("Date"))

        got = await asyncio.gather(one(REQUIRED), *(optional(ctx, p, partial(one, p)) for p in OPTIONAL),
                                   return_exceptions=True)
        for g in got:  # miner/stats failing, or a login that lapsed: all of them retrieved, the first raised
            if isinstance(g, BaseException):
                ctx.notes[:] = [n for n in ctx.notes if n.part not in OPTIONAL]  # this read did not happen
                raise g
        stats, *rest = got
        out: dict[str, Any] = {f"rest:{REQUIRED}": stats[0]}
        for path, value in zip(OPTIONAL, rest, strict=True):
            if value is None:
                continue
            out[f"rest:{path}"] = value[0]
            if path == "miner/errors" and value[1] is not None:
                out["rest:clock"] = value[1]
        # network only stands in for identity that details lacks (or details failed): asked then, and kept
        # for the identity interval
        if not mac(as_dict(out.get("rest:miner/details")).get("mac_address")) and (
                ctx.due("rest-network") or "rest-network" not in ctx.state):
            network = await optional(ctx, IDENTITY, lambda: one(IDENTITY))
            if network is not None:
                ctx.remember("rest-network", network[0])
        if "rest-network" in ctx.state:
            out[f"rest:{IDENTITY}"] = ctx.state["rest-network"]
        return out

    replies: dict[str, Any] = await with_token(ctx, login, read)
    return replies


def _gh(value: Any) -> float | None:
    return ths(as_dict(value).get("gigahash_per_second"), "GH")


def _deg(value: Any) -> float | None:
    d = as_dict(value)
    if "temperature" in d:
        d = as_dict(d.get("temperature"))
    t = num(d.get("degree_c"))
    return hottest([t]) if t else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def error_log(reply: Any) -> list[tuple[float | None, MinerErrorEntry]]:
    """Every entry of ``miner/errors`` with its time: (epoch or None, entry). Codes are letters and digits
    ("H2", "V2") in ``error_codes[].code``; the entry's code is its number when it has one, and the letters
    go into the message with the reason."""
    out: list[tuple[float | None, MinerErrorEntry]] = []
    for e in (as_dict(x) for x in as_list(as_dict(reply).get("errors"))):
        codes = [as_dict(c) for c in as_list(e.get("error_codes"))]
        message = text(e.get("message")) or "error"
        if codes:
            named = ", ".join(f"{text(c.get('code')) or '?'}: {text(c.get('reason')) or ''}".rstrip(": ") for c in codes)
            message = f"{named} ({message})"
        code = integer(codes[0].get("code")) if codes and str(codes[0].get("code", "")).isdigit() else None
        out.append((_timestamp(e.get("timestamp")), MinerErrorEntry(code=code, message=message)))
    return out


def current_errors(replies: Replies, uptime_s: int | None) -> list[MinerErrorEntry] | None:
    """Entries logged since this BOSminer run started (see the module notes), or None when unknown."""
    if "rest:miner/errors" not in replies:
        return None
    clock = num(replies.get("rest:clock"))
    if clock is None or uptime_s is None:
        return None
    started = clock - uptime_s
    return [entry for at, entry in error_log(replies["rest:miner/errors"]) if at is not None and at >= started]


def _pools(reply: Any) -> list[Pool]:
    out: list[Pool] = []
    for group in as_list(reply):
        for p in as_list(as_dict(group).get("pools")):
            p = as_dict(p)
            st = as_dict(p.get("stats"))
            alive = p.get("alive")
            out.append(Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("user")),
                status="disabled" if p.get("enabled") is False else "alive" if alive else "dead" if alive is False else "unknown",
                accepted=integer(st.get("accepted_shares")),
                rejected=integer(st.get("rejected_shares")),
                stale=integer(st.get("stale_shares")),
                index=len(out),
                active=p.get("active") if isinstance(p.get("active"), bool) else None,
            ))
    return out


def parse(replies: Replies, device: str, driver: str) -> MinerReading:
    stats = as_dict(replies.get(f"rest:{REQUIRED}"))
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
        boards.append(Board(
            index=(n - 1) if n else position,
            hashrate_ths=rate if rate is not None else _gh(hr.get("last_5s")),
            chips=integer(hb.get("chips_count")),
            temp_c=_deg(hb.get("board_temp")),
            chip_temp_c=_deg(hb.get("highest_chip_temp")),
        ))
    fans = sorted(
        (x for x in as_list(as_dict(replies.get("rest:cooling/state")).get("fans")) if isinstance(x, dict)),
        key=lambda f: integer(f.get("position")) or 0,
    )
    details = as_dict(replies.get("rest:miner/details"))
    network = as_dict(replies.get("rest:network"))
    model = bm.strip_vendor(text(as_dict(details.get("miner_identity")).get("miner_model")))
    power = num(as_dict(as_dict(stats.get("power_stats")).get("approximated_consumption")).get("watt"))
    tuner = as_dict(as_dict(as_dict(replies.get("rest:performance/tuner-state")).get("mode_state")).get("powertargetmodestate"))
    limit = num(as_dict(tuner.get("current_target")).get("watt"))
    uptime = integer(details.get("bosminer_uptime_s"))
    errors = current_errors(replies, uptime)
    notes = []
    if errors is None and "rest:miner/errors" in replies:
        notes.append("errors unknown: miner/errors is the firmware's error history, and without the miner's clock "
                     "and BOSminer's uptime none of it can be told to be current")
    return MinerReading(
        device=device,
        driver=driver,
        make="Antminer",
        model=model,
        algorithm=bm.algorithm_of(model),
        firmware="braiins",
        firmware_version=text(as_dict(details.get("bos_version")).get("current")),
        mac=mac(details.get("mac_address")) or mac(network.get("mac_address")),
        serial=text(details.get("serial_number")),
        hostname=text(details.get("hostname")) or text(network.get("hostname")),
        hashrate_ths=max(hashrate, 0.0) if hashrate is not None else None,
        expected_hashrate_ths=_gh(ms.get("nominal_hashrate")) or None,
        power_w=power if power and power > 0 else None,
        power_source="estimated" if power and power > 0 else None,
        power_limit_w=limit if limit and limit > 0 else None,
        fans_rpm=[rpm(f.get("rpm")) for f in fans],
        boards=boards,
        pools=_pools(replies.get("rest:pools/")),
        uptime_s=uptime,
        errors=errors,
        notes=notes,
        sleeping=str(details.get("status", "")).upper() in _PAUSED,
    )
