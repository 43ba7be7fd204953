"""The site map: where each miner physically is (container, rack, shelf, slot) and which PDU outlet feeds it.

A CSV file (identity columns ``mac``, ``serial`` and/or ``ip``, then location columns) or a YAML list of
mappings with the same keys, chosen by extension. Lookups try MAC, then serial, then IP: DHCP moves IPs, while a
MAC or serial stays with the machine.

A row is identified by the first of its ``mac``, ``serial``, ``ip`` that is filled in, in that order; the others on
that row are notes for people and are not matched (``farmwatch scan --write-sitemap`` writes all three, plus
``model`` and ``state``, so a technician can find the machine: a row matched by IP while it has a MAC would put
the location on whatever miner DHCP gives that address next). Helper columns (:data:`HELPER_COLUMNS`) are
accepted and ignored; any other column is a typo until proven otherwise.
"""

from __future__ import annotations

import csv
import difflib
import io
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .yamlread import ConfigError, Problem, YamlReader, compose_yaml, is_null, read_text

IDENTITY_COLUMNS = ("mac", "serial", "ip")
LOCATION_COLUMNS = ("container", "rack", "shelf", "slot", "pdu", "outlet")
# Columns for the people who fill the map in (what scan wrote): read past, never matched or exported.
HELPER_COLUMNS = ("model", "make", "driver", "firmware", "hostname", "state", "note")
_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX12 = re.compile(r"[0-9A-Fa-f]{12}")


@dataclass(frozen=True, slots=True)
class Location:
    container: str | None = None
    rack: str | None = None
    shelf: str | None = None
    slot: str | None = None
    pdu: str | None = None
    outlet: str | None = None

    def labels(self) -> dict[str, str]:
        """Label values for ``farmwatch_miner_info``: every column present, "" where unknown."""
        return {name: getattr(self, name) or "" for name in LOCATION_COLUMNS}


@dataclass(frozen=True)
class SiteMap:
    by_mac: dict[str, Location] = field(default_factory=dict)
    by_serial: dict[str, Location] = field(default_factory=dict)
    by_ip: dict[str, Location] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_mac) + len(self.by_serial) + len(self.by_ip)

    def __repr__(self) -> str:  # a site map has thousands of rows; logs want its size
        return f"SiteMap(mac={len(self.by_mac)}, serial={len(self.by_serial)}, ip={len(self.by_ip)})"

    def locate(
        self, *, ip: str | None = None, mac: str | None = None, serial: str | None = None
    ) -> Location | None:
        """The first match by MAC, then serial, then IP; values are normalised as when loading."""
        mac_key = normalize_mac(mac) if mac else None
        if mac_key is not None and mac_key in self.by_mac:
            return self.by_mac[mac_key]
        if serial and serial.strip().upper() in self.by_serial:
            return self.by_serial[serial.strip().upper()]
        ip_key = _normalize_ip(ip) if ip else None
        if ip_key is not None:
            return self.by_ip.get(ip_key)
        return None


def normalize_mac(text: str) -> str | None:
    """``aa-bb-cc-dd-ee-ff``, ``aabb.ccdd.eeff`` and the like to ``AA:BB:CC:DD:EE:FF``; None when not a MAC."""
    digits = _MAC_SEPARATORS.sub("", text)
    if not _HEX12.fullmatch(digits):
        return None
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _normalize_ip(text: str) -> str | None:
    try:
        return ipaddress.ip_address(text.strip()).compressed
    except ValueError:
        return None


class _Builder:
    """Collects entries and problems for one file, whatever its format."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.index: dict[str, dict[str, Location]] = {name: {} for name in IDENTITY_COLUMNS}
        self.first_line: dict[tuple[str, str], int] = {}

    def add(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))

    def entry(self, line: int, key: str, kind: str, raw: str, location: Location) -> None:
        value: str | None
        if not raw:
            self.add(line, key, "is empty")
            return
        if kind == "mac":
            value = normalize_mac(raw)
            if value is None:
                self.add(line, key, f'"{raw[:40]}" is not a MAC address (use AA:BB:CC:DD:EE:FF)')
        elif kind == "ip":
            value = _normalize_ip(raw)
            if value is None:
                self.add(line, key, f'"{raw[:40]}" is not an IP address')
        else:
            value = raw.upper()  # serials are matched without regard to case
        if value is None:
            return
        first = self.first_line.setdefault((kind, value), line)
        if first != line:
            self.add(line, key, f"duplicate {kind} {value} (first on line {first})")
            return
        self.index[kind][value] = location

    def result(self) -> tuple[SiteMap, list[Problem]]:
        sitemap = SiteMap(by_mac=self.index["mac"], by_serial=self.index["serial"], by_ip=self.index["ip"])
        return sitemap, self.problems


def _column_hint(name: str) -> str:
    known = (*IDENTITY_COLUMNS, *LOCATION_COLUMNS)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on, without blank rows and ``#`` comment rows."""
    reader = csv.reader(io.StringIO(text))
    line = 1
    for row in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        yield start, [cell.strip() for cell in row]


def _read_csv(text: str, out: _Builder) -> None:
    rows = _csv_rows(text)
    try:
        header_line, header = next(rows)
    except StopIteration:
        out.add(None, "", "is empty (needs a header row such as mac,container,rack,shelf,slot)")
        return
    except csv.Error as exc:
        out.add(None, "", f"is not valid CSV: {exc}")
        return
    columns = [name.lower() for name in header]
    usable: dict[int, str] = {}
    for position, name in enumerate(columns):
        if name in columns[:position]:
            out.add(header_line, name, "duplicate column")
        elif name in HELPER_COLUMNS:
            continue
        elif name not in IDENTITY_COLUMNS and name not in LOCATION_COLUMNS:
            out.add(header_line, name or f"column {position + 1}", f"unknown column{_column_hint(name)}")
        else:
            usable[position] = name
    identities = [name for name in IDENTITY_COLUMNS if name in usable.values()]
    if not identities:
        out.add(header_line, "header", "needs an identity column: mac, serial or ip")
        return
    try:
        for line, row in rows:
            if len(row) > len(columns):
                out.add(line, "row", f"has {len(row)} fields but the header has {len(columns)}")
                continue
            values = {usable[i]: cell for i, cell in enumerate(row) if i in usable}
            location = Location(**{name: values.get(name) or None for name in LOCATION_COLUMNS})
            kind = next((k for k in identities if values.get(k)), identities[0])
            out.entry(line, kind, kind, values.get(kind, ""), location)
    except csv.Error as exc:
        out.add(None, "", f"is not valid CSV: {exc}")


def _read_yaml(text: str, out: _Builder) -> None:
    root, problems = compose_yaml(text, out.file)
    out.problems.extend(problems)
    if problems:
        return
    if root is None:
        out.add(None, "", "is empty (needs a list such as - {mac: AA:BB:CC:DD:EE:FF, rack: R1})")
        return
    y = YamlReader(out.file)
    items = y.sequence(root, "")
    for i, item in enumerate(items or []):
        m = y.mapping(item, f"[{i}]", (*IDENTITY_COLUMNS, *LOCATION_COLUMNS, *HELPER_COLUMNS))
        if m is None:
            continue
        kinds = [name for name in IDENTITY_COLUMNS if name in m and not is_null(m[name])]
        if not kinds:
            y.add(item, f"[{i}]", "needs one of mac, serial or ip")
            continue
        values: dict[str, str | None] = {}
        for name in LOCATION_COLUMNS:
            node = m.get(name)
            null = node is None or (
                isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
            )
            values[name] = None if null or node is None else y.string(node, f"[{i}].{name}")
        kind = kinds[0]
        raw = y.string(m[kind], f"[{i}].{kind}")
        if raw is not None:
            out.entry(m[kind].start_mark.line + 1, f"[{i}].{kind}", kind, raw, Location(**values))
    out.problems.extend(y.problems)
    out.problems.sort(key=lambda p: p.line or 0)


def read_sitemap(path: str | os.PathLike[str]) -> tuple[SiteMap, list[Problem]]:
    """The site map and every problem in it (the map holds the entries that were valid)."""
    path = Path(path)
    out = _Builder(str(path))
    text, problems = read_text(path, str(path))
    if text is None:
        out.problems.extend(problems)
    elif path.suffix.lower() in (".yaml", ".yml"):
        _read_yaml(text, out)
    elif path.suffix.lower() == ".csv":
        _read_csv(text, out)
    else:
        out.add(None, "", "site map must be a .csv, .yaml or .yml file")
    return out.result()


def load_sitemap(path: str | os.PathLike[str]) -> SiteMap:
    """The site map; raises :class:`~agent.config.ConfigError` with every problem."""
    sitemap, problems = read_sitemap(path)
    if problems:
        raise ConfigError(problems)
    return sitemap


def check_sitemap(path: str | os.PathLike[str]) -> list[Problem]:
    return read_sitemap(path)[1]
