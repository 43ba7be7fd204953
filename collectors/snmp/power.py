"""Power truth: PDU outlet watts joined to the miners and racks they feed, and load against each power domain.

The site map binds a miner to ``pdu`` (the PDU's address, ``address:port`` or name) and ``outlet`` (the PDU's own
outlet index). Where an outlet feeds exactly one miner, that miner gets ``farmwatch_miner_power_watts{source="pdu"}``;
each rack gets the sum of the distinct outlets feeding its miners (an outlet counts once, and only in a rack
when every miner on it is in that rack).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agent.exposition import Families, labels
from agent.power_domains import PowerDomain
from agent.store import MinerStore

from .reading import SnmpReading


def pdu_index(readings: Mapping[str, SnmpReading]) -> dict[str, SnmpReading]:
    """Every name a site map may use for a PDU: ``host:port``, host, and its name (sysName or own name)."""
    out: dict[str, SnmpReading] = {}
    for device, r in readings.items():
        host = device.rsplit(":", 1)[0].strip("[]")
        for key in (device, host, r.name):
            if key:
                out.setdefault(key, r)
    return out


@dataclass
class PowerView:
    """Measured power joined to the miner store, computed once per render."""

    miner_w: dict[str, float] = field(default_factory=dict)  # device -> outlet power, single-miner outlets
    rack_w: dict[tuple[str, str], float] = field(default_factory=dict)
    reported_w: dict[str, float] = field(default_factory=dict)  # device -> what the miner reports
    miners_by_key: dict[str, str] = field(default_factory=dict)  # ip, ip:port, mac, serial -> device
    rack_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # device -> (container, rack)


def build_view(store: MinerStore, readings: Mapping[str, SnmpReading]) -> PowerView:
    pdus = pdu_index(readings)
    view = PowerView()
    feeds: dict[tuple[str, str], list[str]] = defaultdict(list)  # (pdu device, outlet) -> miners
    for dev in store.devices.values():
        loc = dev.location
        view.miners_by_key[dev.device] = dev.device
        view.miners_by_key.setdefault(dev.device.rsplit(":", 1)[0], dev.device)
        for ident in (dev.identity.mac, dev.identity.serial):
            if ident:
                view.miners_by_key.setdefault(ident.upper(), dev.device)
        if loc.get("rack"):
            view.rack_of[dev.device] = (loc.get("container", ""), loc["rack"])
        r = dev.reading
        if r is not None and r.power_w is not None and r.power_source in ("reported", "estimated"):
            view.reported_w[dev.device] = r.power_w
        pdu = pdus.get(loc.get("pdu", ""))
        if pdu is not None and loc.get("outlet"):
            feeds[(pdu.device, loc["outlet"])].append(dev.device)
    for (pdu_device, outlet), miners in feeds.items():
        watts = readings[pdu_device].outlet_power().get(outlet)
        if watts is None:
            continue
        if len(miners) == 1:
            view.miner_w[miners[0]] = watts
        racks = {view.rack_of.get(m) for m in miners}
        if len(racks) == 1 and (rack := racks.pop()) is not None:
            view.rack_w[rack] = view.rack_w.get(rack, 0.0) + watts
    return view


def measured_miner_power(store: MinerStore, readings: Mapping[str, SnmpReading]) -> dict[str, float]:
    """Watts measured by the PDU outlet feeding each miner that has an outlet to itself, by miner ``device``."""
    return build_view(store, readings).miner_w


def power_families(fams: Families, store: MinerStore, readings: Mapping[str, SnmpReading],
                   domains: Iterable[PowerDomain] = ()) -> PowerView:
    """Add measured per-miner and per-rack power and the power-domain series; returns the view for reuse."""
    view = build_view(store, readings)
    g = fams.get
    miner = g("farmwatch_miner_power_watts", "gauge",
              "Power draw; source = reported (device measures), estimated (firmware estimate), pdu, nameplate.")
    for device, watts in sorted(view.miner_w.items()):
        miner.add(labels((("device", device), ("source", "pdu"))), watts)
    rack = g("farmwatch_rack_power_watts", "gauge", "Power of a rack measured at the PDU outlets feeding its "
             "miners (source=pdu).")
    for (container, name), watts in sorted(view.rack_w.items()):
        rack.add(labels((("container", container), ("rack", name), ("source", "pdu"))), watts)
    domain_families(fams, list(domains), view, readings)
    return view


@dataclass
class _Load:
    watts: float = 0.0
    phase_a: dict[str, float] = field(default_factory=dict)
    unmeasured: int = 0

    def add(self, other: _Load) -> None:
        self.watts += other.watts
        self.unmeasured += other.unmeasured
        for p, a in other.phase_a.items():
            self.phase_a[p] = self.phase_a.get(p, 0.0) + a


def _own_load(d: PowerDomain, view: PowerView, readings: Mapping[str, SnmpReading]) -> _Load:
    pdus = pdu_index(readings)
    load = _Load()
    for name in d.pdus:
        r = pdus.get(name)
        if r is None or r.power_w is None:
            load.unmeasured += 1
            continue
        load.watts += r.power_w
        for row in r.rows("phases"):
            if (amps := row.num("current_a")) is not None:
                load.phase_a[row.index] = load.phase_a.get(row.index, 0.0) + amps
    for container, rack in d.racks:
        keys = [k for k in view.rack_w if k[1] == rack and (not container or k[0] == container)]
        if not keys:
            load.unmeasured += 1
        load.watts += sum(view.rack_w[k] for k in keys)
    for key in d.miners:
        device = view.miners_by_key.get(key) or view.miners_by_key.get(key.upper())
        watts = view.miner_w.get(device or "", view.reported_w.get(device or ""))
        if watts is None:
            load.unmeasured += 1
        else:
            load.watts += watts
    for server in d.gpu_servers:
        r = pdus.get(server.pdu)
        outlets = r.outlet_power() if r is not None else {}
        found = [outlets[o] for o in server.outlets if o in outlets]
        if len(found) < len(server.outlets):
            load.unmeasured += 1
        load.watts += sum(found)
    return load


def domain_loads(domains: list[PowerDomain], view: PowerView, readings: Mapping[str, SnmpReading]) -> dict[str, _Load]:
    """Each domain's own members plus everything under its child domains."""
    own = {d.name: _own_load(d, view, readings) for d in domains}
    total = {name: _Load() for name in own}
    parents = {d.name: d.parent for d in domains}
    for name, load in own.items():
        cur: str | None = name
        for _ in range(len(domains) + 1):  # bounded: the config rejects cycles
            if cur is None or cur not in total:
                break
            total[cur].add(load)
            cur = parents.get(cur)
    return total


def domain_families(fams: Families, domains: list[PowerDomain], view: PowerView,
                    readings: Mapping[str, SnmpReading]) -> None:
    if not domains:
        return
    g = fams.get
    loads = domain_loads(domains, view, readings)
    info = g("farmwatch_power_domain", "info", "A power domain (feed, breaker, PDU) and its parent (value 1).")
    load_f = g("farmwatch_power_domain_load_watts", "gauge", "Measured load of the domain and its children.")
    budget_f = g("farmwatch_power_domain_budget_watts", "gauge", "Power budget of the domain.")
    head_f = g("farmwatch_power_domain_headroom_watts", "gauge", "Budget minus measured load.")
    unm = g("farmwatch_power_domain_unmeasured_members", "gauge",
            "Members with no measurement now (the load is a lower bound while this is above 0).")
    amps_f = g("farmwatch_power_domain_phase_current_amperes", "gauge", "Measured current per phase (from PDUs).")
    amps_b = g("farmwatch_power_domain_phase_budget_amperes", "gauge", "Current budget per phase.")
    amps_h = g("farmwatch_power_domain_phase_headroom_amperes", "gauge", "Per-phase budget minus measured current.")
    for d in domains:
        lab = labels((("domain", d.name),))
        load = loads[d.name]
        info.add(labels((("domain", d.name), ("parent", d.parent or ""))), 1)
        load_f.add(lab, round(load.watts, 3))
        unm.add(lab, load.unmeasured)
        if d.budget_w is not None:
            budget_f.add(lab, d.budget_w)
            head_f.add(lab, round(d.budget_w - load.watts, 3))
        phases = sorted(set(load.phase_a) | ({str(p) for p in range(1, d.phases + 1)} if d.budget_amps else set()))
        for p in phases:
            pl = labels((("domain", d.name), ("phase", p)))
            amps = load.phase_a.get(p, 0.0)
            amps_f.add(pl, round(amps, 3))
            if d.budget_amps is not None:
                amps_b.add(pl, d.budget_amps)
                amps_h.add(pl, round(d.budget_amps - amps, 3))
