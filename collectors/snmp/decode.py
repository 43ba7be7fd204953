"""Turn the raw varbinds of one poll into a :class:`SnmpReading` using a profile: a pure function, unit-tested.

Raw values arrive as Python values (int, bytes, OID tuple, ``None`` for noSuchObject/noSuchInstance). Scaling
happens here and only here. Values outside physical bounds for their quantity are dropped, not exported:
ENTITY-SENSOR agents are known to report, say, a power supply's watts with a nonsense scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .profile import Column, Oid, Profile, Table
from .reading import Row, SnmpReading, Value

Raw = int | bytes | str | tuple[int, ...] | None
Walks = Mapping[Oid, Mapping[Oid, Raw]]  # column OID -> row index -> value

BOUNDS = {
    "temperature_c": (-60.0, 200.0),
    "humidity_ratio": (0.0, 1.05),
    "voltage_v": (0.0, 1000.0),
    "current_a": (0.0, 5000.0),
    "power_w": (0.0, 5e6),
    "load_ratio": (0.0, 5.0),
    "battery_charge_ratio": (0.0, 1.0),
    "energy_j": (0.0, math.inf),  # exported as a counter
    # Durations and ratings cannot be negative: a MIB's -1 "unknown" scaled (UPS runtime -1 min = -60 s) is no reading.
    "runtime_s": (0.0, math.inf),
    "seconds_on_battery": (0.0, math.inf),
    "battery_voltage_v": (0.0, 1000.0),
    "battery_temperature_c": (-60.0, 200.0),
    "rated_current_a": (0.0, 5000.0),
    "frequency_hz": (0.0, 1000.0),
    "alarms": (0.0, 1e6),
}
# Integer32's extremes are the "not available" value of many MIBs (2147483647 where a positive reading is expected,
# -2147483648 for signed ones); no real reading of any column here sits exactly on them. Counter columns excepted.
INT32_SENTINELS = frozenset({2147483647, -2147483648})


def text(raw: Raw) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        s = raw.decode("utf-8", "replace").replace("\x00", "").strip()
    elif isinstance(raw, tuple):
        s = ".".join(map(str, raw))
    else:
        s = str(raw).strip()
    return s or None


def convert(col: Column, raw: Raw, decimals: Raw = None, si_prefix: Raw = None, fahrenheit: bool = False) -> Value:
    if raw is None:
        return None
    if col.text:
        return text(raw)
    if col.map is not None:
        return col.map.get(raw, col.default) if isinstance(raw, int) else col.default
    if not isinstance(raw, int) or raw in col.absent or (not col.counter and raw in INT32_SENTINELS):
        return None
    try:
        value = raw * col.scale
    except OverflowError:  # an INTEGER beyond float range (not an SMI type, but value_of takes any Integer)
        return None
    if isinstance(decimals, int) and 0 <= decimals <= 9:
        value /= 10**decimals
    if isinstance(si_prefix, int) and 1 <= si_prefix <= 17:
        value *= 10.0 ** (3 * (si_prefix - 9))
    if not math.isfinite(value) or (col.counter and value < 0):  # a counter column holding a negative Integer32
        return None
    if fahrenheit:
        value = round((value - 32) * 5 / 9, 2)
    bounds = BOUNDS.get(col.field)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return None
    exact = col.scale == 1.0 and decimals is None and si_prefix is None and not fahrenheit
    return int(value) if exact else tidy(value)


def tidy(value: float) -> float:
    """A scaled reading without binary noise: 14 tenths of an amp is 1.4 A, not 1.4000000000000001 (15
    significant digits keep every real reading, counters in joules included, exact to far below a unit)."""
    tidied = float(f"{value:.15g}")
    return tidied if math.isfinite(tidied) else value  # rounding the largest doubles up would reach infinity


def _label(key: Oid, index_from: int) -> str:
    part = key[index_from:] or key
    return ".".join(map(str, part))


def decode_table(table: Table, walks: Walks) -> tuple[list[Row], str | None]:
    """Rows in index order, and a note when some rows lack a column other rows have (half a table)."""
    rows: dict[Oid, Row] = {}
    seen: dict[str, set[Oid]] = {}
    dropped: set[Oid] = set()
    for col in table.columns:
        column = walks.get(col.oid) or {}
        n = len(col.suffix)
        if col.drop is not None:  # a row filter, not a reading
            dropped.update(index[: len(index) - n] for index, raw in column.items()
                           if raw in col.drop and index[len(index) - n:] == col.suffix)
            continue
        if col.fallback is not None:  # the same object in another table, for the rows the first one lacks
            column = {**(walks.get(col.fallback) or {}), **column}
        keys = seen.setdefault(col.field, set())
        for index, raw in column.items():
            if n:
                if index[-n:] != col.suffix:
                    continue
                key = index[:-n]
            else:
                key = index
            decimals = walks.get(col.decimals, {}).get(index) if col.decimals else None
            prefix = walks.get(col.si_prefix, {}).get(index) if col.si_prefix else None
            unit = walks.get(col.fahrenheit, {}).get(index) if col.fahrenheit else None
            row = rows.get(key)
            if row is None:
                row = rows[key] = Row(index=_label(key, table.index_from))
            row.values[col.field] = convert(col, raw, decimals, prefix, unit in col.fahrenheit_when)
            keys.add(key)
    for key in dropped:
        rows.pop(key, None)
        for keys in seen.values():
            keys.discard(key)
    if len({row.index for row in rows.values()}) < len(rows):  # trimmed labels collide: keep the full index
        for key, row in rows.items():
            row.index = _label(key, 0)
    for row in rows.values():
        if row.values.get("status") not in (None, "ok"):  # sensor not installed, unavailable, failed: no readings
            row.values = {f: v for f, v in row.values.items() if not isinstance(v, int | float)}
    if table.typed is not None:
        t = table.typed
        for row in rows.values():
            value, quantity = row.values.pop(t.value, None), row.values.pop(t.field, None)
            if isinstance(quantity, str) and isinstance(value, int | float):
                scaled = value * t.scale.get(quantity, 1.0)
                lo, hi = BOUNDS.get(quantity, (-math.inf, math.inf))
                if math.isfinite(scaled) and lo <= scaled <= hi:
                    row.values[quantity] = tidy(scaled)
    note = None
    all_keys = set(rows)
    short = {f: len(all_keys - k) for f, k in seen.items() if k and len(k) < len(all_keys)}
    if short:
        note = "; ".join(f"{f} missing on {n} of {len(all_keys)} rows" for f, n in sorted(short.items()))
    return [rows[k] for k in sorted(rows)], note


def decode(
    profile: Profile,
    device: str,
    *,
    identity: Mapping[Oid, Raw],
    scalars: Mapping[Oid, Raw],
    walks: Walks,
    sys_name: str | None = None,
    values: int = 0,
) -> SnmpReading:
    ident: dict[str, Any] = {c.field: convert(c, identity.get(c.oid)) for c in profile.identity}
    r = SnmpReading(
        device=device,
        driver=profile.name,
        device_class=profile.device_class,
        make=ident.get("make") or profile.make or None,
        model=ident.get("model"),
        serial=ident.get("serial"),
        name=ident.get("name") or sys_name,
        firmware=ident.get("firmware"),
        values=values,
    )
    for col in profile.scalars:
        r.scalars[col.field] = convert(col, scalars.get(col.oid))
    for table in profile.tables:
        rows, note = decode_table(table, walks)
        r.tables.setdefault(table.kind, []).extend(rows)
        if note:
            r.incomplete[table.name or table.kind] = note
    device_rating = r.scalars.get("rated_current_a")
    for kind in ("phases", "banks", "inputs"):  # load against the rating, where the MIB gives no ratio
        for row in r.rows(kind):
            amps, rated = row.num("current_a"), row.num("rated_current_a")
            if rated is None and kind == "phases" and isinstance(device_rating, int | float):
                rated = device_rating  # a per-phase rating for the whole device (APC, Schleifenbauer)
            if amps is None or rated is None or rated <= 0 or row.num("load_ratio") is not None:
                continue
            ratio = amps / rated  # a hostile rating (1e-300 A) must not make an infinite load
            lo, hi = BOUNDS["load_ratio"]
            if math.isfinite(ratio) and lo <= ratio <= hi:
                row.values["load_ratio"] = round(ratio, 4)
    return r
