"""SNMP profiles: one YAML file per MIB in ``profiles/`` saying which OIDs to read and how to scale them.

A profile names its device ``class`` (pdu, ups, sensor, switch: the metric prefix), how it is recognised
(``match.sysobjectid`` prefixes, or ``match.probe``: an OID that answers), ``identity`` and ``scalars`` (GETs)
and ``tables`` (columns walked together). A column maps one OID to one reading field in base units:
``scale`` multiplies, ``decimals``/``si_prefix`` name a column of the same row holding a power of ten
(Raritan, ENTITY-SENSOR), ``suffix`` keeps only rows whose index ends with it (sensor-type-keyed tables),
``map`` turns codes into values, ``counter: 32`` marks a Counter32 the collector keeps monotonic across wraps,
``fallback`` names a second column read for the rows the first lacks (the same object in another table). A row whose
``status`` column maps to anything but ``ok`` keeps no readings (the agent says the sensor is absent or failed).
``first: true`` (identity and scalars) reads the first value under the column OID instead of a fixed instance:
the first row, for agents whose own row is not row 1.
``fahrenheit: {oid, when}`` names a column of the same row whose raw value (one of ``when``) says the reading is
in degrees Fahrenheit (Sentry3's global tempHumidSensorTempScale): it is converted to Celsius.
``absent`` lists raw values the MIB defines as "no reading" (Sentry4's -410 for a temperature probe that is not
there), read as no value; ``drop`` makes a column a row filter: rows where it holds one of the listed raw values are
left out of the table (Eaton's inputPowerTable "total" row among the phases), and the column itself is not a reading.
``match`` takes ``sysobjectid`` prefixes and/or a ``probe`` OID; with both, the probe must also answer (one
vendor's enterprise number shared by its PDUs and UPSes). A table is named by its key; ``kind`` (default: the key) lets several tables fill one kind (Geist's own sensor and
its remote probes are both ``sensors``). ``index_from`` trims the row label to the index parts from that position
(Sentry4 ``{unit}.{cord}.{outlet}`` -> ``outlet``); where trimming would give two rows of a table the same label (a
dual-cord or linked PDU), every row of that table keeps its full index instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).with_name("profiles")
CLASSES = ("pdu", "ups", "sensor", "switch")
TABLE_KINDS = ("inputs", "phases", "banks", "outlets", "sensors", "ports")
Oid = tuple[int, ...]


def parse_oid(text: object) -> Oid:
    parts = str(text).strip().strip(".").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a numeric OID")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    oid: Oid
    text: bool = False
    scale: float = 1.0
    suffix: Oid = ()
    decimals: Oid | None = None
    si_prefix: Oid | None = None
    map: dict[int, Any] | None = None
    default: Any = None
    counter: int = 0  # 32 or 64: a counter of that width (wraps are undone by the collector)
    fallback: Oid | None = None  # read for the rows ``oid`` lacks
    absent: frozenset[int] = frozenset()  # raw values that mean "no reading"
    drop: frozenset[int] | None = None  # a row filter: rows holding one of these raw values are left out
    fahrenheit: Oid | None = None  # a column of the same row saying the value is in degrees F ...
    fahrenheit_when: frozenset[int] = frozenset()  # ... when it holds one of these raw values
    first: bool = False  # identity/scalar: the first value under ``oid`` (GETNEXT), not ``oid`` itself


@dataclass(frozen=True, slots=True)
class Typed:
    """ENTITY-SENSOR style: the value column's quantity is named per row by another (mapped) column."""

    value: str
    field: str
    scale: dict[str, float]


@dataclass(frozen=True, slots=True)
class Table:
    kind: str
    columns: tuple[Column, ...]
    index_from: int = 0  # the row index label joins the OID index parts from this position
    typed: Typed | None = None
    name: str = ""  # the profile's key for the table (``kind`` unless several tables share one)

    def walk_oids(self) -> list[Oid]:
        """Every column to walk (value columns and their decimals/prefix helpers), once each, in order."""
        seen: dict[Oid, None] = {}
        for c in self.columns:
            seen[c.oid] = None
            for extra in (c.fallback, c.decimals, c.si_prefix, c.fahrenheit):
                if extra is not None:
                    seen[extra] = None
        return list(seen)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    device_class: str
    make: str
    sysobjectid: tuple[Oid, ...] = ()
    probe: Oid | None = None
    identity: tuple[Column, ...] = ()
    scalars: tuple[Column, ...] = ()
    tables: tuple[Table, ...] = field(default=())

    def table(self, kind: str) -> Table | None:
        return next((t for t in self.tables if t.kind == kind), None)


def _column(name: str, spec: Any, where: str) -> Column:
    if not isinstance(spec, dict) or "oid" not in spec:
        raise ValueError(f"{where}: a column needs a mapping with oid")
    unknown = set(spec) - {"oid", "type", "scale", "suffix", "decimals", "si_prefix", "map", "default", "counter",
                           "fallback", "absent", "drop", "fahrenheit", "first"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    suffix = spec.get("suffix")
    return Column(
        field=name,
        oid=parse_oid(spec["oid"]),
        text=spec.get("type") == "text",
        scale=float(spec.get("scale", 1.0)),
        suffix=tuple(int(x) for x in str(suffix).split(".")) if suffix is not None else (),
        decimals=parse_oid(spec["decimals"]) if "decimals" in spec else None,
        si_prefix=parse_oid(spec["si_prefix"]) if "si_prefix" in spec else None,
        map={int(k): v for k, v in spec["map"].items()} if "map" in spec else None,
        default=spec.get("default"),
        counter=int(spec.get("counter", 0)),
        fallback=parse_oid(spec["fallback"]) if "fallback" in spec else None,
        absent=frozenset(_ints(spec.get("absent", ()), f"{where}.absent")),
        drop=frozenset(_ints(spec["drop"], f"{where}.drop")) if "drop" in spec else None,
        fahrenheit=parse_oid(spec["fahrenheit"]["oid"]) if "fahrenheit" in spec else None,
        fahrenheit_when=frozenset(_ints(spec["fahrenheit"]["when"], f"{where}.fahrenheit.when"))
        if "fahrenheit" in spec else frozenset(),
        first=bool(spec.get("first", False)),
    )


def _ints(values: Any, where: str) -> list[int]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{where}: expected a list of integers")
    return list(values)


def _table(key: str, spec: Any, where: str) -> Table:
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping of columns")
    kind = spec.get("kind", key)
    if kind not in TABLE_KINDS:
        raise ValueError(f"{where}: unknown table kind {kind!r} (known: {', '.join(TABLE_KINDS)})")
    typed = None
    columns = []
    for name, col in spec.items():
        if name in ("index_from", "kind"):
            continue
        if name == "typed":
            typed = Typed(value=col["value"], field=col["field"], scale=dict(col.get("scale", {})))
            continue
        columns.append(_column(name, col, f"{where}.{name}"))
    if typed is not None and not {typed.value, typed.field} <= {c.field for c in columns}:
        raise ValueError(f"{where}.typed: names columns the table lacks")
    return Table(kind=kind, columns=tuple(columns), index_from=int(spec.get("index_from", 0)), typed=typed, name=key)


def parse_profile(data: Any, where: str) -> Profile:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a profile is a mapping")
    if data.get("class") not in CLASSES:
        raise ValueError(f"{where}: class must be one of {', '.join(CLASSES)}")
    match = data.get("match") or {}
    return Profile(
        name=str(data["profile"]),
        device_class=data["class"],
        make=str(data.get("make") or ""),
        sysobjectid=tuple(parse_oid(x) for x in match.get("sysobjectid", ())),
        probe=parse_oid(match["probe"]) if "probe" in match else None,
        identity=tuple(_column(k, v, f"{where}.identity.{k}") for k, v in (data.get("identity") or {}).items()),
        scalars=tuple(_column(k, v, f"{where}.scalars.{k}") for k, v in (data.get("scalars") or {}).items()),
        tables=tuple(_table(k, v, f"{where}.tables.{k}") for k, v in (data.get("tables") or {}).items()),
    )


@cache
def profiles() -> dict[str, Profile]:
    """Every profile shipped in ``profiles/``, by name."""
    out: dict[str, Profile] = {}
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        profile = parse_profile(yaml.safe_load(path.read_text()), path.name)
        if profile.name in out:
            raise ValueError(f"{path.name}: profile {profile.name!r} defined twice")
        out[profile.name] = profile
    return out


# Standard MIBs that identify a class of device by answering (only UPSes implement the UPS-MIB and XUPS-MIB),
# tried in order when no sysObjectID matches. IF-MIB and ENTITY-SENSOR are not here: PDUs, UPSes and sensors
# answer them too; they are chosen by sysObjectID (network vendors' enterprise numbers) or by `profile:`.
PROBE_ORDER = ("ups", "xups")


def candidates(object_id: Oid | None) -> list[Profile]:
    """Profiles whose sysObjectID prefixes match ``object_id``, longest prefix first."""
    if not object_id:
        return []
    found = [(len(prefix), p.name, p) for p in profiles().values() for prefix in p.sysobjectid
             if object_id[: len(prefix)] == prefix]
    return [p for _, _, p in sorted(found, key=lambda x: (-x[0], x[1]))]


def match_sysobjectid(object_id: Oid | None) -> Profile | None:
    """The profile with the longest sysObjectID prefix of ``object_id`` (ignoring ``match.probe``)."""
    found = candidates(object_id)
    return found[0] if found else None
