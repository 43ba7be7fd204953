"""Every ``farmwatch_power_domain_*`` family, written here and nowhere else.

The sums (rack power, domain load, headroom) are recording rules in ``rules/power.rules.yml``, so that they come
out the same whether one agent polls the site or n shards do, and whichever shard polls a PDU (docs/power.md).
Each agent exports what it can say on its own: the domain file's facts (identical on every shard), the miner
members it polls (on the miner's shard), and the power of the PDU and GPU-server members it measures (on the
PDU's shard): the power and per-phase current of every whole PDU named in a domain, and the outlets of every GPU
server, as members of that domain and of its ancestors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from ..families import Families, labels
from ..snmp.reading import SnmpReading
from .domains import PowerDomain, ancestors, energy_sources, member_keys
from .meters import pdu_index


class MinerIdentity(Protocol):
    @property
    def mac(self) -> str | None: ...
    @property
    def serial(self) -> str | None: ...


class MinerKeys(Protocol):
    """What the join reads of a miner the agent polls (``collectors.asic.store.DeviceState``)."""

    @property
    def device(self) -> str: ...
    @property
    def identity(self) -> MinerIdentity: ...


def power_domain_families(fams: Families, domains: Sequence[PowerDomain], miners: Iterable[MinerKeys],
                          meters: Mapping[str, SnmpReading]) -> None:
    """The domains' facts, the miner members among ``miners`` and the measured PDU and GPU-server members among
    ``meters`` (the power-measuring devices' readings, by device); nothing without domains."""
    if not domains:
        return
    _domain_facts(fams, domains, miners)
    _measured_members(fams, domains, meters)


def _miner_keys(miners: Iterable[MinerKeys]) -> dict[str, str]:
    """ip, ip:port, MAC, serial (upper case) -> miner ``device``, as the site map and domain file may name it."""
    out: dict[str, str] = {}
    for dev in miners:
        out[dev.device] = dev.device
        out.setdefault(dev.device.rsplit(":", 1)[0], dev.device)
        for ident in (dev.identity.mac, dev.identity.serial):
            if ident:
                out.setdefault(ident.upper(), dev.device)
    return out


def _domain_facts(fams: Families, domains: Sequence[PowerDomain], miners: Iterable[MinerKeys]) -> None:
    """Domain facts from the file and the miner members this agent polls."""
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
    keys = _miner_keys(miners)
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


def _measured_members(fams: Families, domains: Sequence[PowerDomain], readings: Mapping[str, SnmpReading]) -> None:
    """``farmwatch_power_domain_member_power_watts`` and ``..._member_phase_current_amperes`` for the PDU and
    GPU-server members this agent measures; a member it cannot measure (a PDU down, an outlet missing) has none,
    and the rules count it in ``farmwatch_power_domain_unmeasured_members``."""
    pdus = pdu_index(readings)
    up = ancestors(domains)
    power = fams.get("farmwatch_power_domain_member_power_watts", "gauge",
                     "Measured power of one PDU or GPU-server member of the domain (the agent polling that PDU).")
    amps = fams.get("farmwatch_power_domain_member_phase_current_amperes", "gauge",
                    "Measured current per phase of one whole-PDU member of the domain.")
    for d in domains:
        for name in d.pdus:
            r = pdus.get(name)
            if r is None or r.power_w is None:
                continue
            phases = [(row.index, a) for row in r.rows("phases") if (a := row.num("current_a")) is not None]
            for a_name in up[d.name]:
                power.add(labels((("domain", a_name), ("member", f"pdu:{name}"))), r.power_w)
                for phase, current in phases:
                    amps.add(labels((("domain", a_name), ("member", f"pdu:{name}"), ("phase", phase))), current)
        for server in d.gpu_servers:
            r = pdus.get(server.pdu)
            outlets = r.outlet_power() if r is not None else {}
            found = [outlets[o] for o in server.outlets if o in outlets]
            if len(found) < len(server.outlets):
                continue  # a partial sum would read as the server's whole load: unmeasured instead
            for a_name in up[d.name]:
                power.add(labels((("domain", a_name), ("member", f"gpu:{server.name}"))), round(sum(found), 3))
