"""Power domains: feeds, breakers and PDUs with budgets, and what hangs on each (``power_domains:`` file).

    domains:
      - name: feed-A
        budget_kw: 400
      - name: breaker-A1
        parent: feed-A                # its load also counts in feed-A
        budget_amps: 63               # per phase; with voltage (line-to-neutral) and phases it is also watts
        voltage: 230
        phases: 3
        pdus: [10.0.20.5, pdu-rack1-01]            # whole PDUs: address, address:port or name
        racks: [C1/R01, {container: C1, rack: R02}]
        miners: [10.0.1.17, "AA:BB:CC:DD:EE:FF"]   # IP, IP:port, MAC or serial
        gpu_servers: [{name: gpu01, pdu: pdu-gpu-1, outlets: [1, 2]}]

Problems are reported with file, line and key like the rest of the config. The model the file is read into,
and the metric families of the domains, are ``collectors/power/`` (the collectors' power readings join it there).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from collectors.power.domains import GpuServer, PowerDomain

from .yamlread import ConfigError, Problem, YamlReader, compose_yaml, read_text

_DOMAIN_KEYS = ("name", "parent", "budget_kw", "budget_amps", "voltage", "phases", "pdus", "racks", "miners",
                "gpu_servers", "source", "price_usd_per_kwh")
_GPU_KEYS = ("name", "pdu", "outlets")

__all__ = ["load_power_domains", "read_power_domains"]


def _number(y: YamlReader, node: yaml.Node, key: str) -> float | None:
    value = y.scalar(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        y.add(node, key, "expected a positive number")
        return None
    return float(value)


def _strings(y: YamlReader, node: yaml.Node, key: str) -> list[str]:
    items = y.sequence(node, key) or []
    return [s for i, item in enumerate(items) if (s := y.string(item, f"{key}[{i}]")) is not None]


def _racks(y: YamlReader, node: yaml.Node, key: str) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(y.sequence(node, key) or []):
        k = f"{key}[{i}]"
        if isinstance(item, yaml.MappingNode):
            m = y.mapping(item, k, ("container", "rack")) or {}
            if "rack" not in m:
                y.add(item, f"{k}.rack", "is required")
                continue
            rack = y.string(m["rack"], f"{k}.rack")
            container = y.string(m["container"], f"{k}.container") if "container" in m else ""
            if rack is not None and container is not None:
                out.append((container, rack))
        elif (text := y.string(item, k)) is not None:
            container, _, rack = text.rpartition("/")
            out.append((container, rack))
    return out


def _gpu_servers(y: YamlReader, node: yaml.Node, key: str) -> list[GpuServer]:
    out = []
    for i, item in enumerate(y.sequence(node, key) or []):
        k = f"{key}[{i}]"
        m = y.mapping(item, k, _GPU_KEYS)
        if m is None:
            continue
        missing = [name for name in _GPU_KEYS if name not in m]
        for key_name in missing:
            y.add(item, f"{k}.{key_name}", "is required")
        if missing:
            continue
        server, pdu = y.string(m["name"], f"{k}.name"), y.string(m["pdu"], f"{k}.pdu")
        outlets = _strings(y, m["outlets"], f"{k}.outlets")
        if server and pdu and outlets:
            out.append(GpuServer(server, pdu, tuple(outlets)))
    return out


def _domain(y: YamlReader, node: yaml.Node, key: str) -> PowerDomain | None:
    m = y.mapping(node, key, _DOMAIN_KEYS)
    if m is None:
        return None
    before = len(y.problems)
    if "name" not in m:
        y.add(node, f"{key}.name", "is required")
    name = y.string(m["name"], f"{key}.name") if "name" in m else None
    parent = y.string(m["parent"], f"{key}.parent") if "parent" in m else None
    budget_kw = _number(y, m["budget_kw"], f"{key}.budget_kw") if "budget_kw" in m else None
    amps = _number(y, m["budget_amps"], f"{key}.budget_amps") if "budget_amps" in m else None
    voltage = _number(y, m["voltage"], f"{key}.voltage") if "voltage" in m else None
    phases = y.integer(m["phases"], f"{key}.phases", 1, 3) if "phases" in m else 1
    if "budget_kw" not in m and "budget_amps" not in m:
        y.add(node, key, "needs budget_kw or budget_amps")
    if "voltage" in m and "budget_amps" not in m:
        y.add(m["voltage"], f"{key}.voltage", "only applies with budget_amps")
    budget_w = budget_kw * 1000 if budget_kw is not None else None
    if budget_w is None and amps is not None and voltage is not None:
        budget_w = amps * voltage * (phases or 1)
    domain = PowerDomain(
        name=name or "",
        parent=parent,
        budget_w=budget_w,
        budget_amps=amps,
        phases=phases or 1,
        pdus=tuple(_strings(y, m["pdus"], f"{key}.pdus")) if "pdus" in m else (),
        racks=tuple(_racks(y, m["racks"], f"{key}.racks")) if "racks" in m else (),
        miners=tuple(_strings(y, m["miners"], f"{key}.miners")) if "miners" in m else (),
        gpu_servers=tuple(_gpu_servers(y, m["gpu_servers"], f"{key}.gpu_servers")) if "gpu_servers" in m else (),
        source=y.string(m["source"], f"{key}.source") if "source" in m else None,
        price_usd_per_kwh=_price(y, m["price_usd_per_kwh"], f"{key}.price_usd_per_kwh")
        if "price_usd_per_kwh" in m else None,
    )
    return domain if len(y.problems) == before else None


def _price(y: YamlReader, node: yaml.Node, key: str) -> float | None:
    value = y.scalar(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or value == float("inf"):
        y.add(node, key, "expected a price per kWh, at least 0")
        return None
    return float(value)


def read_power_domains(path: str | os.PathLike[str]) -> tuple[tuple[PowerDomain, ...], list[Problem]]:
    """The domains and every problem in the file (unknown keys, bad budgets, unknown or cyclic parents)."""
    path = Path(path)
    text, problems = read_text(path, str(path))
    if text is None:
        return (), problems
    root, problems = compose_yaml(text, str(path))
    if problems:
        return (), problems
    y = YamlReader(str(path))
    if root is None:
        y.add(None, "", "is empty (needs domains:)")
        return (), y.problems
    top = y.mapping(root, "", ("domains",)) or {}
    if "domains" not in top:
        y.add(root, "domains", "is required")
        return (), y.problems
    nodes = y.sequence(top["domains"], "domains") or []
    domains: list[PowerDomain] = []
    where: list[tuple[yaml.Node, str]] = []
    lines: dict[str, int] = {}
    for i, node in enumerate(nodes):
        d = _domain(y, node, f"domains[{i}]")
        if d is None:
            continue
        if d.name in lines:
            y.add(node, f"domains[{i}].name", f'duplicate domain "{d.name}" (first on line {lines[d.name]})')
            continue
        lines[d.name] = node.start_mark.line + 1
        domains.append(d)
        where.append((node, f"domains[{i}].parent"))
    by_name = {d.name: d for d in domains}
    for d, (node, key) in zip(domains, where, strict=True):
        if d.parent is not None and d.parent not in by_name:
            y.add(node, key, f'"{d.parent}" is not a domain in this file')
        seen, cur = {d.name}, d
        while cur.parent in by_name:
            cur = by_name[cur.parent]
            if cur.name in seen:
                y.add(node, key, f'"{d.name}" is its own ancestor')
                break
            seen.add(cur.name)
    return tuple(domains), y.problems


def load_power_domains(path: str | os.PathLike[str]) -> tuple[PowerDomain, ...]:
    domains, problems = read_power_domains(path)
    if problems:
        raise ConfigError(problems)
    return domains
