"""Unit and value coercion at the edge: every firmware quirk in how a number is written ends here."""

from __future__ import annotations

import math
import re
from typing import Any

_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MAC_HEX = re.compile(r"^[0-9A-Fa-f]{12}$")

# Multipliers to TH/s, by unit spelled as firmwares spell it.
_TO_THS = {"H": 1e-12, "KH": 1e-9, "MH": 1e-6, "GH": 1e-3, "TH": 1.0, "PH": 1e3}


def num(value: Any) -> float | None:
    """A finite float from a number or a numeric string ("15656.60", "58.94W", " 73 "); else None.

    NaN, +-inf and booleans are unknown, never a number.
    """
    # Exact types first: a JSON reading holds hundreds of these per miner, and a bool (type bool, not int) or a
    # subclass falls through to the general path below.
    t = type(value)
    if t is float:
        return value if math.isfinite(value) else None
    if t is int:
        try:
            return float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return None
    if value is None or isinstance(value, bool):
        return None
    if type(value) is str and "_" not in value:  # the common case, a plain number: float() without the regex
        try:  # ("1_000" is left to the regex: float() reads it as 1000, the regex as 1, as before)
            f = float(value)
        except ValueError:
            pass
        else:
            return f if math.isfinite(f) else None  # "nan", "inf", "1e999": unknown, as the regex path says
    if isinstance(value, int | float):
        try:
            f = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return None
    elif isinstance(value, str):
        m = _NUM.search(value)
        if m is None:
            return None
        try:
            f = float(m.group())
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def integer(value: Any) -> int | None:
    # Most counts arrive as JSON integers: returned as they are where the float round trip below is exact
    # (|v| <= 2**53); larger ones keep that round trip, so what they read as does not change.
    if type(value) is int and -9007199254740992 <= value <= 9007199254740992:
        return value
    f = num(value)
    return None if f is None else int(round(f))


def rpm(value: Any) -> int | None:
    """A fan speed in RPM; NaN, garbage and negative readings are unknown (None), never a stopped fan (0)."""
    r = integer(value)
    return r if r is not None and r >= 0 else None


def ths(value: Any, unit: str) -> float | None:
    """Hashrate in TH/s from a value in ``unit`` ("GH", "GH/s", "MH/s", "MHS", "T" ...)."""
    f = num(value)
    if f is None:
        return None
    mult = _MULTIPLIERS.get(unit) if type(unit) is str else None
    if mult is None:
        mult = _multiplier(unit)
    return f * mult


# A reading converts dozens of values in the same one or two unit spellings: each spelling is normalised once.
_MULTIPLIERS: dict[str, float] = {}


def _multiplier(unit: str) -> float:
    key = unit.upper().replace("/S", "").replace("HS", "H").strip()
    if len(key) == 1 and key != "H":
        key += "H"
    mult = _TO_THS.get(key)
    if mult is None:
        raise ValueError(f"unknown hashrate unit {unit!r}")
    if len(_MULTIPLIERS) < 256:  # bounded: a unit string comes from the device
        _MULTIPLIERS[unit] = mult
    return mult


def plain_floats(tokens: list[str]) -> list[float] | None:
    """``tokens`` read by float() in one C loop when every one is a finite number, else None (garbage raises,
    a NaN or an overflow makes the sum non-finite) for the caller's per-token reading. Tokens with "_" are the
    caller's to keep out: float() reads "1_000" as 1000 where num() reads 1."""
    try:
        plain = list(map(float, tokens))
    except ValueError:
        return None
    total = sum(plain)
    return plain if total - total == 0.0 else None


def dash_list(value: Any) -> list[float]:
    """Numbers from a dash-joined sensor list; "2--1-20-22" is [2, -1, 20, 22] (a '-' after a '-' is a sign)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [f for f in (num(v) for v in value) if f is not None]
    if isinstance(value, int | float):
        f = num(value)
        return [] if f is None else [f]
    if type(value) is str and "--" not in value and "_" not in value and value[:1] != "-":
        plain = plain_floats(value.split("-"))  # the usual "73-45-64-65": no sign to carry
        if plain is not None:
            return plain
    out: list[float] = []
    negative = False
    for token in str(value).strip().split("-"):
        if token == "":
            negative = True
            continue
        f = num(token)
        if f is not None:
            out.append(-f if negative else f)
        negative = False
    return out


def hottest(values: list[float], *, floor: float = -50.0, ceiling: float = 200.0) -> float | None:
    """Max of plausible sensor values; sentinels (-273, 0 from absent sensors handled by callers) dropped."""
    if values:
        top = max(values)
        if top < ceiling and min(values) > floor:  # all plausible (a board's hundred chips): no copy
            return top
    good = [v for v in values if floor < v < ceiling]
    return max(good) if good else None


def mac(value: Any) -> str | None:
    """AA:BB:CC:DD:EE:FF from colons, dashes or bare hex; None when it is not 12 hex digits."""
    if not isinstance(value, str):
        return None
    hexes = re.sub(r"[:\-.\s]", "", value.strip())
    if not _MAC_HEX.match(hexes):
        return None
    hexes = hexes.upper()
    return ":".join(hexes[i : i + 2] for i in range(0, 12, 2))


def text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def truthy(value: Any) -> bool | None:
    """Booleans as firmwares write them: true, "true", "1", 1, "Y"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if num(value) is None else value != 0  # NaN/inf are unknown, not "true"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "yes", "y", "1", "on"):
            return True
        if v in ("false", "no", "n", "0", "off", ""):
            return False
    return None


def duration_s(value: Any) -> int | None:
    """Seconds from an int or "dd:hh:mm:ss" / "hh:mm:ss" / "1d 2h 3m 4s" forms."""
    if isinstance(value, str) and ":" in value:
        parts = [integer(p) for p in value.split(":")]
        if any(p is None for p in parts):
            return None
        total = 0
        for p, mult in zip(reversed(parts), (1, 60, 3600, 86400), strict=False):
            total += int(p or 0) * mult
        return total
    return integer(value)


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else {} (a firmware that sends a string or null for an object)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def by_slot(numbered: dict[int, int | None], first: int = 1) -> list[int | None]:
    """Fan readings keyed by slot number (``Fan1``, ``Fans Speed 3``, ``FAN2``) as a list in slot order from
    ``first``: a number missing between reported ones is a slot the device does not report (None, unknown),
    and the slots after it keep their places; "10" comes after "9", not after "1"."""
    if not numbered:
        return []
    return [numbered.get(n) for n in range(first, max(numbered) + 1)]
