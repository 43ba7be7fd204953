"""ePIC UMC / PowerPlay firmware: HTTP on port 4028 (no cgminer RPC), reads need no login.

Per cycle ``GET /summary``; ``GET /capabilities`` and ``GET /network`` are identity (cached, re-read with
the identity interval). What comes from where:

- hashrate: the sum of ``HBs[].Hashrate[0]`` (MH/s, the board's current figure) when the firmware gives
  per-board rates; older firmware (epic-miner 2.0.x) has none, and there it is ``Session."LastAverageMHs"
  .Hashrate`` (MH/s: the average of the last completed hour, the newest point of ``/history``), unknown when
  that point is more than two hours older than the last work. Never ``Session."Average MHs"``: that is the
  average since the session started (days), not current.
- expected: ``/capabilities`` ``Default Hashrate`` (TH/s).
- power: ``"Power Supply Stats"."Input Power"`` (W, PSU telemetry); else the sum of ``HBs[]."Input Power"``
  (per-board input power, also measured): both "reported".
- boards: ``HBs[]`` by ``Index`` with ``Temperature``; chips from ``/capabilities``
  ``"Performance Estimator"."Chip Count"`` when present.
- fans: ``"Fans Rpm"`` {"Fans Speed N": rpm}; 2.0.x reports only a duty percentage ("Fans Speed": 50),
  which is not an RPM: fans unknown.
- pool: ``Stratum."Current Pool"`` (no scheme) / ``"Current User"``; counters ``Session.Accepted/Rejected``.
- errors: ``Status."Last Error"`` when not empty (null, not read, where the summary has no ``Status``, as on
  2.0.x); state: ``Status."Operating State"`` "Idle"/"Stopped" = asleep.
- identity: ``Hostname``, ``Software`` (firmware version), ``/capabilities`` ``Model``, ``/network`` MAC.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, by_slot, integer, mac, num, rpm, text, ths

_FAN_KEY = re.compile(r"(\d{1,4})\s*$")  # "Fans Speed 3" -> slot 3

NAME = "epic"
PORT = 4028
# LastAverageMHs is the newest hourly history point; one older than this before the last work is stale.
LAST_AVERAGE_MAX_AGE_S = 7200


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.session.port if ctx.session.port not in (80, 443) else PORT
    replies: dict[str, Any] = {"summary": (await ctx.get(port, "/summary")).json()}
    if ctx.due("identity"):
        ident: dict[str, Any] = {}
        for path in ("capabilities", "network"):
            # /summary carries the hashrate; a firmware without these pages (404) or one that hangs on them
            # keeps the reading, with a note.
            got = await ctx.optional(f"identity (/{path})", ctx.get(port, f"/{path}"))
            if got is not None:
                ident[path] = got.json()
        ctx.remember("identity", ident)
    replies.update(ctx.state.get("identity") or {})
    return replies


def _mac(network: Any) -> str | None:
    if not isinstance(network, dict):
        return None
    for value in network.values():
        if isinstance(value, dict):
            found = mac(value.get("mac_address")) or mac(value.get("MAC")) or mac(value.get("mac"))
            if found:
                return found
    return mac(network.get("mac_address")) or mac(network.get("mac"))


def last_hour_ths(session: dict[str, Any]) -> float | None:
    """``LastAverageMHs.Hashrate`` in TH/s, or None when absent or stale against ``Last Work Timestamp``."""
    last = as_dict(session.get("LastAverageMHs"))
    rate = ths(last.get("Hashrate"), "MH")
    if rate is None:
        return None
    at, work = integer(last.get("Timestamp")), integer(session.get("Last Work Timestamp"))
    if at is not None and work is not None and work - at > LAST_AVERAGE_MAX_AGE_S:
        return None
    return rate


def parse(replies: Replies, device: str) -> MinerReading:
    s = replies.get("summary")
    if not isinstance(s, dict) or not ("Session" in s or "HBs" in s):
        raise ParseError("/summary has neither Session nor HBs")
    caps = as_dict(replies.get("capabilities"))
    session = as_dict(s.get("Session"))
    perf = as_dict(caps.get("Performance Estimator"))
    chips = integer(perf.get("Chip Count"))
    boards: list[Board] = []
    rates: list[float] = []
    for position, hb in enumerate(x for x in s.get("HBs") or [] if isinstance(x, dict)):
        rate_raw = hb.get("Hashrate")
        rate = ths(rate_raw[0] if isinstance(rate_raw, list) and rate_raw else rate_raw, "MH")
        if rate is not None:
            rates.append(rate)
        temp = num(hb.get("Temperature"))
        found = integer(hb.get("Index"))
        boards.append(
            Board(
                index=position if found is None else found,
                hashrate_ths=rate,
                chips=chips,
                temp_c=temp if temp else None,
            )
        )
    hashrate = sum(rates) if rates and len(rates) == len(boards) else last_hour_ths(session)
    psu = as_dict(s.get("Power Supply Stats"))
    power = num(psu.get("Input Power"))
    if not power:
        per_hb = [num(hb.get("Input Power")) for hb in s.get("HBs") or [] if isinstance(hb, dict)]
        power = sum(p for p in per_hb if p) if per_hb and all(per_hb) else None
    fans_rpm: list[int | None] = []
    fans_raw = s.get("Fans Rpm")
    if isinstance(fans_raw, dict):
        numbered = {int(m.group(1)): rpm(v) for k, v in fans_raw.items() if (m := _FAN_KEY.search(str(k)))}
        # By slot number ("Fans Speed 10" after "Fans Speed 9"); keys without a number keep the reply's order.
        fans_rpm = by_slot(numbered, first=min(numbered)) if numbered and len(numbered) == len(fans_raw) else [
            rpm(v) for v in fans_raw.values()]
    stratum = as_dict(s.get("Stratum"))
    pools: list[Pool] = []
    pool_url = text(stratum.get("Current Pool"))
    if pool_url:
        pools.append(
            Pool(
                url=pool_url if "://" in pool_url else f"stratum+tcp://{pool_url}",
                user=text(stratum.get("Current User")),
                status="alive",
                accepted=integer(session.get("Accepted")),
                rejected=integer(session.get("Rejected")),
                index=0,
                active=True,
            )
        )
    status = as_dict(s.get("Status"))
    errors: list[MinerErrorEntry] | None = None  # not read: this firmware's summary has no Status."Last Error"
    if "Last Error" in status:
        errors = []
        last_error = text(status.get("Last Error"))
        if last_error and last_error.lower() not in ("none", "null"):
            errors.append(MinerErrorEntry(code=None, message=last_error))
    op = (text(status.get("Operating State")) or "").lower()
    return MinerReading(
        device=device,
        driver=NAME,
        make="ePIC",
        model=text(caps.get("Model")),
        firmware="epic",
        firmware_version=text(s.get("Software")),
        mac=_mac(replies.get("network")),
        hostname=text(s.get("Hostname")),
        hashrate_ths=hashrate,
        expected_hashrate_ths=num(caps.get("Default Hashrate")) or None,
        power_w=power or None,
        power_source="reported" if power else None,
        fans_rpm=fans_rpm,
        boards=boards,
        pools=pools,
        uptime_s=integer(session.get("Uptime")),
        errors=errors,
        sleeping=op in ("idle", "stopped", "sleeping", "curtailed"),
    )


DRIVER = Driver(
    name=NAME,
    signatures=("EPIC-MINER", "EPIC MINER"),
    web_signatures=("miner web dashboard", "epic blockchain"),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=PORT,
    priority=60,
    make="ePIC",
)
