"""Braiins Pool's workers API, read only: ``GET {url}/accounts/workers/json/{coin}/`` with the access profile's
token in a header (the pool's API configuration guide: ``Pool-Auth-Token``, formerly ``SlushPool-Auth-Token``;
both are sent). The reply is keyed by coin, then by worker name::

    {"btc": {"workers": {"acct.rig1": {"state": "ok", "last_share": 1733380000, "hash_rate_unit": "Gh/s",
                                       "hash_rate_5m": 104000.5, "hash_rate_60m": 103500.0, "hash_rate_24h": ...,
                                       "shares_5m": ..., "shares_60m": ..., "shares_24h": ...}}}}

Each worker carries its own ``hash_rate_unit``. A field that is missing, null or not a number is unknown (None),
never 0; a reply that is not this shape is a :class:`PoolApiError` naming what is wrong, and nothing of it is kept.
The API asks for at most about one request per five seconds; the collector's interval is a minute by default.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

WINDOWS = ("5m", "60m", "24h")
# "Gh/s" and its siblings, case as the pool writes it or not.
_UNITS = {"h/s": 1.0, "kh/s": 1e3, "mh/s": 1e6, "gh/s": 1e9, "th/s": 1e12, "ph/s": 1e15, "eh/s": 1e18}
MAX_BODY = 16 * 1024 * 1024  # a farm of 20,000 workers is about 6 MB of this JSON


class PoolApiError(Exception):
    """A reply that cannot be read: one line, no token in it."""


@dataclass(frozen=True, slots=True)
class WorkerStats:
    worker: str
    state: str | None
    last_share: float | None  # Unix time
    hashrate: dict[str, float | None]  # window -> H/s
    shares: dict[str, float | None]  # window -> the pool's share count over it


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):  # some pools quote numbers; a quoted one is still a number
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def parse_workers(body: bytes, coin: str = "btc") -> list[WorkerStats]:
    """The workers of a Braiins Pool workers reply, sorted by name."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoolApiError(f"the reply is not JSON ({type(exc).__name__})") from None
    section = data.get(coin) if isinstance(data, dict) else None
    workers = section.get("workers") if isinstance(section, dict) else None
    if not isinstance(workers, dict):
        raise PoolApiError(f'the reply has no "{coin}": {{"workers": {{...}}}} object')
    out = []
    for name, w in workers.items():
        if not isinstance(w, dict) or not name:
            continue
        unit = w.get("hash_rate_unit")
        scale = _UNITS.get(unit.strip().lower()) if isinstance(unit, str) else None
        rates: dict[str, float | None] = {}
        for window in WINDOWS:
            value = _number(w.get(f"hash_rate_{window}"))
            rates[window] = value * scale if value is not None and scale is not None else None
        state = w.get("state")
        out.append(WorkerStats(worker=str(name), state=state if isinstance(state, str) else None,
                               last_share=_number(w.get("last_share")), hashrate=rates,
                               shares={window: _number(w.get(f"shares_{window}")) for window in WINDOWS}))
    return sorted(out, key=lambda s: s.worker)
