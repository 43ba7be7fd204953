"""The power-domain model: each domain's budget, parent and members as the ``power_domains`` file names them
(read and checked by ``agent/power_domains.py``), and what follows from the tree alone (ancestors, source roots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuServer:
    name: str
    pdu: str
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class PowerDomain:
    name: str
    parent: str | None = None
    budget_w: float | None = None
    budget_amps: float | None = None  # per phase
    phases: int = 1
    pdus: tuple[str, ...] = ()
    racks: tuple[tuple[str, str], ...] = ()  # (container, rack); container "" when the site has none
    miners: tuple[str, ...] = ()
    gpu_servers: tuple[GpuServer, ...] = ()
    # Where the domain's energy comes from (grid, ppa, solar, generator, ...) and what it costs; a child without
    # its own inherits its parent's (energy_sources below). Issue 18.2: energy accounted by source.
    source: str | None = None
    price_usd_per_kwh: float | None = None


def ancestors(domains: Sequence[PowerDomain]) -> dict[str, tuple[str, ...]]:
    """Each domain, then its parent, grandparent...: a member of a domain counts in all of them."""
    parents = {d.name: d.parent for d in domains}
    out: dict[str, tuple[str, ...]] = {}
    for d in domains:
        chain: list[str] = []
        cur: str | None = d.name
        while cur is not None and cur in parents and cur not in chain:  # the config rejects cycles; bounded anyway
            chain.append(cur)
            cur = parents[cur]
        out[d.name] = tuple(chain)
    return out


def member_keys(d: PowerDomain) -> list[str]:
    """The ``member`` label of each member of one domain (its own members, not its children's)."""
    return ([f"pdu:{p}" for p in d.pdus] + [f"rack:{c}/{r}" if c else f"rack:{r}" for c, r in d.racks]
            + [f"miner:{m}" for m in d.miners] + [f"gpu:{s.name}" for s in d.gpu_servers])


def energy_sources(domains: Sequence[PowerDomain]) -> dict[str, tuple[str, float | None]]:
    """The source roots: each domain that names a source and has no ancestor that does, with its source and price.
    Energy by source sums these roots only, so a breaker under a feed is not counted twice."""
    by_name = {d.name: d for d in domains}
    out: dict[str, tuple[str, float | None]] = {}
    for d in domains:
        if d.source is None:
            continue
        parent, shadowed = d.parent, False
        seen: set[str] = set()
        while parent is not None and parent in by_name and parent not in seen:
            seen.add(parent)
            if by_name[parent].source is not None:
                shadowed = True
                break
            parent = by_name[parent].parent
        if not shadowed:
            out[d.name] = (d.source, d.price_usd_per_kwh)
    return out
