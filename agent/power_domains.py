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

Problems are reported with file, line and key like the rest of the config.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .exposition import Families, labels
from .store import MinerStore
from .yamlread import ConfigError, Problem, YamlReader, compose_yaml, read_text

_DOMAIN_KEYS = ("name", "parent", "budget_kw", "budget_amps", "voltage", "phases", "pdus", "racks", "miners",
                "gpu_servers", "source", "price_usd_per_kwh")
_GPU_KEYS = ("name", "pdu", "outlets")


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


# --- exposition: what each agent can say about the domains on its own ------------------------------------------
# The sums (rack power, domain load, headroom) are recording rules in rules/power.rules.yml, so that they come out
# the same whether one agent polls the site or n shards do (docs/power.md). Each agent exports the domain file's
# facts (identical on every shard) and the members it can resolve from what it polls itself: the PDUs' members on
# the PDU's shard (collectors/snmp/power.py), the miners' on the miner's shard (here).

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


def _miner_keys(store: MinerStore) -> dict[str, str]:
    """ip, ip:port, MAC, serial (upper case) -> miner ``device``, as the site map and domain file may name it."""
    out: dict[str, str] = {}
    for dev in store.devices.values():
        out[dev.device] = dev.device
        out.setdefault(dev.device.rsplit(":", 1)[0], dev.device)
        for ident in (dev.identity.mac, dev.identity.serial):
            if ident:
                out.setdefault(ident.upper(), dev.device)
    return out


def domain_families(fams: Families, domains: Sequence[PowerDomain], store: MinerStore | None) -> None:
    """Domain facts from the file and the miner members this agent polls (see the comment above)."""
    if not domains:
        return
    g = fams.get
    info = g("farmwatch_power_domain", "info", "A power domain (feed, breaker, PDU) and its parent (value 1).")
    budget_f = g("farmwatch_power_domain_budget_watts", "gauge", "Power budget of the domain.")
    amps_b = g("farmwatch_power_domain_phase_budget_amperes", "gauge", "Current budget per phase.")
    count_f = g("farmwatch_power_domain_members", "gauge", "Members of the domain and of its child domains in the "
                "power_domains file (the rules subtract those measured: farmwatch_power_domain_unmeasured_members).")
    rack_f = g("farmwatch_power_domain_rack_member", "info", "A rack that counts in the domain (value 1; the "
               "domain's own and its children's); its power is summed by the rules.")
    miner_f = g("farmwatch_power_domain_miner_member", "info", "A miner this agent polls that counts in the domain "
                "(value 1), with the key the file names it by and its device.")
    up = ancestors(domains)
    members: dict[str, set[str]] = {d.name: set() for d in domains}
    keys = _miner_keys(store) if store is not None else {}
    for d in domains:
        info.add(labels((("domain", d.name), ("parent", d.parent or ""))), 1)
        if d.budget_w is not None:
            budget_f.add(labels((("domain", d.name),)), d.budget_w)
        if d.budget_amps is not None:
            for p in range(1, d.phases + 1):
                amps_b.add(labels((("domain", d.name), ("phase", str(p)))), d.budget_amps)
        for a in up[d.name]:
            members[a].update(member_keys(d))
            for container, rack in d.racks:
                rack_f.add(labels((("domain", a), ("member", f"rack:{container}/{rack}" if container else f"rack:{rack}"),
                                   ("container", container), ("rack", rack))), 1)
            for m in d.miners:
                device = keys.get(m) or keys.get(m.upper())
                if device is not None:
                    miner_f.add(labels((("domain", a), ("member", f"miner:{m}"), ("device", device))), 1)
    for name, keyset in members.items():
        count_f.add(labels((("domain", name),)), len(keyset))
    roots = energy_sources(domains)
    if roots:
        src = g("farmwatch_power_domain_source", "info", "The energy source of a source-root domain (value 1): a "
                "domain that names its source and has no ancestor that does; energy by source sums these.")
        price = g("farmwatch_power_domain_energy_price_usd_per_kilowatt_hour", "gauge",
                  "Price of the source-root domain's energy (power_domains file), USD per kWh.")
        for name, (source, usd) in roots.items():
            src.add(labels((("domain", name), ("source", source))), 1)
            if usd is not None:
                price.add(labels((("domain", name),)), usd)
