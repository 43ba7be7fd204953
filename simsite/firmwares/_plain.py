"""Reply helpers for the plain cgminer-API personalities (generic cgminer, Innosilicon, Sealminer, Hammer,
iBeLink): bodies built as Python values and written with ``json.dumps``, since these firmwares print ordinary
JSON numbers (the quirks each one has are written by its module)."""

from __future__ import annotations

import json
from typing import Any

from ..cgminer import reply
from ..miner import SimMiner, Snapshot


def section(m: SimMiner, snap: Snapshot, code: int, msg: str, name: str, entries: list[dict[str, Any]]) -> str:
    return reply(m.extra["desc"], snap.when, code, msg, name, json.dumps(entries, separators=(",", ":")))


def pools(m: SimMiner, snap: Snapshot) -> str:
    entries = [{"POOL": p.index, "URL": p.url, "Status": "Alive" if p.alive else "Dead", "Priority": p.index,
                "Accepted": p.accepted, "Rejected": p.rejected, "Stale": p.stale, "User": p.user,
                "Stratum Active": p.active} for p in snap.pools]
    return section(m, snap, 7, f"{len(entries)} Pool(s)", "POOLS", entries)


def pool_truth(snap: Snapshot) -> list[dict[str, Any]]:
    return [{"url": p.url, "user": p.user, "status": "alive" if p.alive else "dead", "accepted": p.accepted,
             "rejected": p.rejected, "stale": p.stale} for p in snap.pools]


def hms(seconds: int) -> str:
    return f"{seconds // 3600:d}:{seconds // 60 % 60:d}:{seconds % 60:d}"
