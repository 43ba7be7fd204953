"""Shared readers for cgminer-shaped replies (the sections every cgminer-family firmware has)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import ParseError
from ..reading import Pool
from ..units import integer, text, ths, truthy

Reply = Mapping[str, Any]


def items(reply: Reply | None, section: str) -> list[dict[str, Any]]:
    """The list under ``section`` ("SUMMARY", "POOLS" ...), dict entries only; [] when absent."""
    # Replies are Any-typed (HTTP APIs may answer arrays); type() first: the Mapping ABC check is the slow path.
    if not reply or (type(reply) is not dict and not isinstance(reply, Mapping)):
        return []
    value = reply.get(section)
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def first(reply: Reply | None, section: str) -> dict[str, Any]:
    found = items(reply, section)
    return found[0] if found else {}


def required(replies: Mapping[str, Reply], command: str, section: str) -> dict[str, Any]:
    """The first entry of a section the reading cannot do without; ParseError names what is missing."""
    entry = first(replies.get(command), section)
    if not entry:
        raise ParseError(f"{command} reply has no {section} section")
    return entry


def fee_pool(url: str, user: str | None) -> bool:
    """A pool the firmware mines to for its developer, not the site: MSK/Hiveon-style hidden ``*`` entries and
    Blissz's ``devFeeMiner.N`` users. They are not the site's pools and are left out of ``pools``."""
    u = (user or "").strip().lower()
    return url.strip() == "*" or u == "*" or u.startswith("devfee")


def fee_pools(reply: Reply | None) -> list[Pool]:
    """The POOLS entries :func:`pools` leaves out as the firmware's own fee pools, for the pool view."""
    out: list[Pool] = []
    for p in items(reply, "POOLS"):
        url = text(p.get("URL")) or ""
        user = text(p.get("User"))
        if fee_pool(url, user):
            out.append(Pool(url=url, user=user, index=integer(p.get("POOL")), active=truthy(p.get("Stratum Active"))))
    return out


def _share_age(value: Any) -> float | None:
    """How long ago the last share was, comparable across pools of one reply: bmminer's "H:MM:SS" string is an
    age; cgminer's integer is an epoch (larger = later, so it is negated); 0 or unreadable is never."""
    if isinstance(value, str) and ":" in value:
        try:
            parts = [int(x) for x in value.strip().split(":")]
        except ValueError:
            return None
        return float(sum(v * 60**i for i, v in enumerate(reversed(parts))))
    epoch = integer(value)
    return -float(epoch) if epoch else None


def pools(reply: Reply | None) -> list[Pool]:
    """POOLS entries (stock cgminer/bmminer keys; pool numbering kept as the firmware gives it), without the
    firmware's own fee pools. Some bmminer builds keep "Stratum Active" true on every pool they ever connected
    to (the S17 Pro capture: three "active" pools, two with no share for 66 hours): only the one with the latest
    share (then the lowest Priority) is the active pool."""
    out: list[Pool] = []
    ages: list[float | None] = []
    priorities: list[int | None] = []
    groups: list[object] = []
    for p in items(reply, "POOLS"):
        get = p.get
        # text()'s work inline for the usual str values: this runs for every pool of every miner every cycle.
        raw = get("URL")
        url = (raw.strip() if type(raw) is str else text(raw)) or ""
        raw = get("User")
        user = (raw.strip() or None) if type(raw) is str else text(raw)
        if fee_pool(url, user):
            continue
        raw = get("Status")
        status_raw = (raw.strip() if type(raw) is str else text(raw) or "").lower()
        if status_raw == "alive":
            status = "alive"
        elif status_raw in ("dead", "rejecting"):
            status = "dead"
        elif status_raw == "disabled":
            status = "disabled"
        else:
            status = "unknown"
        raw = get("Stratum Active")
        active = raw if type(raw) is bool else truthy(raw)
        ages.append(_share_age(get("Last Share Time")))
        priorities.append(integer(get("Priority")))
        groups.append(get("GROUP"))  # LuxOS pool groups: one active pool per group
        out.append(Pool(url, user, status, integer(get("Accepted")), integer(get("Rejected")), integer(get("Stale")),
                        integer(get("POOL")), active))
    def rank(i: int) -> tuple[float, int, int]:
        age, priority = ages[i], priorities[i]
        return (age if age is not None else float("inf"), priority if priority is not None else 1 << 30, i)

    if sum(1 for p in out if p.active) < 2:  # the usual reply: nothing to settle between active pools
        return out
    for group in {repr(g) for g in groups}:
        active_at = [i for i, p in enumerate(out) if p.active and repr(groups[i]) == group]
        if len(active_at) > 1:
            current = min(active_at, key=rank)
            for i in active_at:
                out[i].active = i == current
    return out


# --------------------------------------------------------------------------------------- hashrate keys, per key
# cgminer-family firmwares name a rate "<unit prefix>HS <window>" ("MHS 5s", "GHS 1m", "KHS 5s") or, newer
# forks, "<unit prefix>HS(<window>)" ("MHS(1m)" on bdminer). The unit is the key's own prefix: one reply may mix
# them (stock cgminer prints MHS, bmminer GHS), so it is decided per key, never per firmware.
_RATE_KEY = re.compile(r"^([KMGTP]?)HS\s*\(?\s*([0-9]+[smh]|av|avg|sample)\s*\)?$", re.IGNORECASE)
# Current windows, preferred first: the contract's ~1 minute figure, else shorter ones. "av"/"Avg" (since boot),
# "Sample" and the 5m/15m/1h windows are not the current rate.
CURRENT_WINDOWS = ("1m", "30s", "5s")
AVERAGE_WINDOWS = ("av", "avg")


def rate_keys(entry: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """{window (lower case): (unit, value)} of the rate keys in ``entry``; the first key of a window wins."""
    out: dict[str, tuple[str, Any]] = {}
    for key, value in entry.items():
        form = _rate_form(key) if isinstance(key, str) else None
        if form is not None:
            out.setdefault(form[0], (form[1], value))
    return out


# (window, unit) of a key, or None for a key that is not a rate: a reply holds dozens of keys, the same ones every
# poll, so each spelling is matched once (bounded: the keys come from the device).
_RATE_FORMS: dict[str, tuple[str, str] | None] = {}


def _rate_form(key: str) -> tuple[str, str] | None:
    try:
        return _RATE_FORMS[key]
    except KeyError:
        pass
    m = _RATE_KEY.match(key) if "HS" in key.upper() else None
    form = None if m is None else (m.group(2).lower(), (m.group(1) or "").upper() + "H")
    if len(_RATE_FORMS) < 4096:
        _RATE_FORMS[key] = form
    return form


def current_rate(entry: Mapping[str, Any], windows: tuple[str, ...] = CURRENT_WINDOWS) -> float | None:
    """The current hashrate of one SUMMARY/DEVS/STATS entry in TH/s (of the device's own algorithm's unit):
    the first of ``windows`` present with a number, converted by that key's own unit prefix; None when only a
    since-boot average (or nothing) is there."""
    keys = rate_keys(entry)
    for window in windows:
        found = keys.get(window)
        if found is not None:
            value = ths(found[1], found[0])
            if value is not None:
                return max(value, 0.0)
    return None


def has_average_only(entry: Mapping[str, Any]) -> bool:
    """The entry carries a since-boot average ("MHS av") and no current window: the caller reports null."""
    keys = rate_keys(entry)
    return any(w in keys for w in AVERAGE_WINDOWS) and not any(w in keys for w in CURRENT_WINDOWS)


def numbered_sections(reply: Reply | None, prefix: str) -> list[dict[str, Any]]:
    """Entries of sections spelled ``PREFIX0``, ``PREFIX1`` ... at the top level (sgminer 4.4 prints STATS0..N
    and POOL0..N this way instead of one list), in index order."""
    if not reply or (type(reply) is not dict and not isinstance(reply, Mapping)):
        return []
    found: list[tuple[int, dict[str, Any]]] = []
    for key, value in reply.items():
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix):].isdigit() and len(key) < 16:
            entries = value if isinstance(value, list) else [value]
            found.extend((int(key[len(prefix):]), v) for v in entries if isinstance(v, dict))
    return [v for _i, v in sorted(found, key=lambda x: x[0])]


def description_parts(reply: Reply | None) -> tuple[str | None, str | None]:
    """("cgminer", "4.10.0") from a STATUS Description "cgminer 4.10.0"; (None, None) without one."""
    st = first(reply, "STATUS")
    desc = text(st.get("Description"))
    if not desc:
        return None, None
    name, _sep, version = desc.partition(" ")
    return name.lower(), text(version)
