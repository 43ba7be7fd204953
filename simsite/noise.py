"""Deterministic noise: a splitmix64-style hash of integers, so every simulated value is a pure function of
(seed, miner index, poll, channel) and two sites built with the same seed answer byte for byte the same."""

from __future__ import annotations

import random
from collections.abc import Callable

_MASK = (1 << 64) - 1


def mix(*parts: int) -> int:
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = ((h ^ (p & _MASK)) * 0xBF58476D1CE4E5B9) & _MASK
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK
        h ^= h >> 29
    return h


def unit(*parts: int) -> float:
    """Uniform in [0, 1)."""
    return (mix(*parts) >> 11) * (1.0 / (1 << 53))


def sym(*parts: int) -> float:
    """Uniform in [-1, 1)."""
    return unit(*parts) * 2.0 - 1.0


def pick(weights: dict[str, float], *parts: int) -> str:
    """Weighted choice, deterministic in ``parts``; weights need not sum to 1."""
    total = sum(weights.values())
    x = unit(*parts) * total
    name = ""
    for name, w in weights.items():
        x -= w
        if x < 0:
            return name
    return name


def exact_shares(count: int, shuffle_seed: int, fractions: dict[str, float] | None,
                 check: Callable[[str], None], what: str) -> list[str | None]:
    """Exactly ``round(fraction * count)`` of ``count`` places per name, chosen by a seeded shuffle (the same places
    for the same seed, whatever the shard); one name per place. ``check`` rejects unknown names; ``what`` names
    them in the error when the fractions add up to more than the whole site."""
    out: list[str | None] = [None] * count
    if not fractions:
        return out
    order = list(range(count))
    random.Random(shuffle_seed).shuffle(order)
    pos = 0
    for name, fraction in fractions.items():
        check(name)
        k = round(fraction * count)
        for idx in order[pos : pos + k]:
            out[idx] = name
        pos += k
    if pos > count:
        raise ValueError(f"{what} fractions add up to more than the whole site")
    return out


# Channels: one constant per independent random quantity.
CH_FIRMWARE, CH_MODEL, CH_IDENT, CH_LATENCY, CH_JITTER, CH_BOARD, CH_TEMP, CH_FAN, CH_POOL = range(1, 10)
CH_POWER, CH_UPTIME, CH_FAULT_SLOT, CH_VARIANT, CH_HASH5S, CH_GARBAGE = range(10, 16)
