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


def pools(reply: Reply | None) -> list[Pool]:
    """POOLS entries (stock cgminer/bmminer keys; pool numbering kept as the firmware gives it)."""
    out: list[Pool] = []
    for p in items(reply, "POOLS"):
        url = text(p.get("URL")) or ""
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
        out.append(
            Pool(
                url=url,
                user=text(p.get("User")),
                status=status,
                accepted=integer(p.get("Accepted")),
                rejected=integer(p.get("Rejected")),
                stale=integer(p.get("Stale")),
                index=integer(p.get("POOL")),
                active=active,
            )
        )
    return out
