"""Model facts (expected boards, chips, fans, nameplate hashrate and power) kept as data in ``models.yaml``.

Lookup is by a normalised model name: upper case, vendor prefix and firmware suffixes dropped, spaces and
underscores removed ("Antminer S19 Pro (vnish 1.2)" -> "S19PRO", "M50S_VH75" -> tries "M50SVH75", then the
family "M50S"). Only a Whatsminer chip-bin suffix (VH75, VK20, V10 ...) falls back to its family: any other unknown
name gets no facts, because wrong facts (an S19 table row for an S19k Pro) raise false missing-chip alarms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class ModelFacts:
    key: str
    make: str
    name: str
    algorithm: str
    boards: int
    chips_per_board: int | None
    fans: int
    hashrate_ths: float | None
    power_w: float | None


_PREFIXES = ("ANTMINER", "BITMAIN", "WHATSMINER", "MICROBT", "AVALONMINER", "AVALON", "CANAAN", "BITAXE")


def normalise(model: str) -> str:
    s = model.upper()
    s = re.sub(r"\(.*?\)", "", s)  # "(vnish 1.2.6)", "(LuxOS)"
    for word in _PREFIXES:
        if s.startswith(word):
            s = s[len(word) :]
            break
    return re.sub(r"[\s_\-]", "", s)


@cache
def _table() -> dict[str, ModelFacts]:
    raw: dict[str, dict[str, Any]] = yaml.safe_load(
        resources.files("collectors.asic").joinpath("models.yaml").read_text(encoding="utf-8")
    )
    out: dict[str, ModelFacts] = {}
    for name, f in raw.items():
        key = normalise(str(name))
        out[key] = ModelFacts(
            key=key,
            make=f["make"],
            name=str(name),
            algorithm=f.get("algorithm", "sha256"),
            boards=int(f["boards"]),
            chips_per_board=f.get("chips_per_board"),
            fans=int(f.get("fans", 0)),
            hashrate_ths=f.get("hashrate_ths"),
            power_w=f.get("power_w"),
        )
    return out


def all_models() -> dict[str, ModelFacts]:
    return dict(_table())


# Cached: finalize, the metric families and the floor view ask it for every miner every cycle, and a site has a
# few dozen model strings (device strings are cut to the bounds of bounds.py, so the cache stays small anyway).
@lru_cache(maxsize=4096)
def lookup(model: str | None) -> ModelFacts | None:
    if not model:
        return None
    key = normalise(model)
    table = _table()
    hit = table.get(key)
    if hit is not None:
        return hit
    family = re.sub(r"V(?:[A-Z]\d{1,3}|\d{2})$", "", key)
    return table.get(family) if family != key else None
