"""Shared readers for cgminer-shaped replies (the sections every cgminer-family firmware has)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ParseError
from ..reading import Pool
from ..units import integer, text, truthy

Reply = Mapping[str, Any]


def items(reply: Reply | None, section: str) -> list[dict[str, Any]]:
    """The list under ``section`` ("SUMMARY", "POOLS" ...), dict entries only; [] when absent."""
    if not reply or not isinstance(reply, Mapping):  # replies are Any-typed: HTTP APIs may answer arrays
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
        url = text(p.get("URL")) or ""
        user = text(p.get("User"))
        if fee_pool(url, user):
            continue
        status_raw = (text(p.get("Status")) or "").lower()
        if status_raw == "alive":
            status = "alive"
        elif status_raw in ("dead", "rejecting"):
            status = "dead"
        elif status_raw == "disabled":
            status = "disabled"
        else:
            status = "unknown"
        active = truthy(p.get("Stratum Active"))
        ages.append(_share_age(p.get("Last Share Time")))
        priorities.append(integer(p.get("Priority")))
        groups.append(p.get("GROUP"))  # LuxOS pool groups: one active pool per group
        out.append(
            Pool(
                url=url,
                user=user,
                status=status,
                accepted=integer(p.get("Accepted")),
                rejected=integer(p.get("Rejected")),
                stale=integer(p.get("Stale")),
                index=integer(p.get("POOL")),
                active=active,
            )
        )
    def rank(i: int) -> tuple[float, int, int]:
        age, priority = ages[i], priorities[i]
        return (age if age is not None else float("inf"), priority if priority is not None else 1 << 30, i)

    for group in {repr(g) for g in groups}:
        active_at = [i for i, p in enumerate(out) if p.active and repr(groups[i]) == group]
        if len(active_at) > 1:
            current = min(active_at, key=rank)
            for i in active_at:
                out[i].active = i == current
    return out
