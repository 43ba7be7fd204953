"""What a PDU's own shard can say about the power domains its PDUs belong to.

Joins that span devices (outlet power to the miner it feeds, rack sums, domain loads) are recording rules in
``rules/power.rules.yml``: they read per-device series, so they come out the same whether one agent polls the site
or n shards do, and whichever shard polls the PDU (docs/power.md). What needs a PDU's reading and the domain file
together is exported here, by the one agent that polls that PDU: the power and per-phase current of every whole
PDU named in a domain, and the outlets of every GPU server, as members of that domain and of its ancestors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.power_domains import PowerDomain, ancestors

from ..families import Families, labels
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


def domain_member_families(fams: Families, readings: Mapping[str, SnmpReading],
                           domains: Sequence[PowerDomain]) -> None:
    """``farmwatch_power_domain_member_power_watts`` and ``..._member_phase_current_amperes`` for the PDU and
    GPU-server members this agent measures; a member it cannot measure (a PDU down, an outlet missing) has none,
    and the rules count it in ``farmwatch_power_domain_unmeasured_members``."""
    if not domains:
        return
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
