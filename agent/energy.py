"""Energy accounted by power source (issue 18.2): which source feeds each miner, and each miner's energy counter.

- ``farmwatch_miner_energy_source_info{device,domain,source}``: the source-root domain (power_domains file,
  :func:`agent.power_domains.energy_sources`) whose PDUs, racks or miner list (its own or a child domain's) hold
  the miner; the economics rules price its power by that domain's price.
- ``farmwatch_miner_energy_joules_total{device,method="integrated"}``: the miner's own power figure (reported,
  estimated or nameplate) integrated by the agent between successive polls (trapezoids). A gap longer than
  ``MAX_GAP_S`` (the miner was down, or the agent stopped) is not bridged: energy nobody measured is not
  invented. Miners with a PDU outlet to themselves also get the outlet's own energy register, joined in
  rules/energy.rules.yml (``method="pdu_register"``), which is preferred where present.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collectors.asic.store import DeviceState
from collectors.families import Families, labels
from collectors.power.domains import PowerDomain, ancestors, energy_sources

MAX_GAP_S = 600.0


@dataclass(slots=True)
class _Meter:
    at: float
    watts: float
    joules: float = 0.0


class EnergyMeters:
    """Per-device integration of the miner's power over its successful polls."""

    def __init__(self) -> None:
        self._meters: dict[str, _Meter] = {}

    def update(self, devices: Iterable[DeviceState]) -> None:
        for dev in devices:
            r = dev.reading
            if r is None or r.power_w is None or dev.last_success is None or not dev.up:
                continue
            m = self._meters.get(dev.device)
            if m is None:
                self._meters[dev.device] = _Meter(dev.last_success, r.power_w)
                continue
            dt = dev.last_success - m.at
            if dt <= 0:
                continue
            if dt <= MAX_GAP_S:
                m.joules += (m.watts + r.power_w) / 2.0 * dt
            m.at, m.watts = dev.last_success, r.power_w

    def families(self, fams: Families, devices: Iterable[DeviceState]) -> None:
        fam = fams.get("farmwatch_miner_energy_joules", "counter", "Energy the miner drew by its own power figure, "
                       "integrated by the agent between polls (method integrated), joules since the agent started.")
        for dev in devices:
            m = self._meters.get(dev.device)
            if m is not None and dev.up:  # a down miner keeps only its health series (docs/architecture.md)
                fam.add(labels((("device", dev.device), ("method", "integrated"))), round(m.joules, 1))


def source_families(fams: Families, domains: Sequence[PowerDomain], devices: Iterable[DeviceState]) -> None:
    roots = energy_sources(domains)
    if not roots:
        return
    up = ancestors(domains)
    # every domain under a root (itself included) -> the root
    under: dict[str, str] = {}
    for d in domains:
        for a in up[d.name]:
            if a in roots:
                under[d.name] = a
    members = [(d, under[d.name]) for d in domains if d.name in under]
    info = fams.get("farmwatch_miner_energy_source", "info", "The source-root power domain feeding the miner and its "
                    "energy source (value 1).")
    for dev in devices:
        if not dev.polled:
            continue
        loc = dev.location
        for d, root in members:
            if (loc.get("pdu") and loc.get("pdu") in d.pdus) or (loc.get("container", ""), loc.get("rack", "")) in d.racks \
                    or dev.host in d.miners or dev.device in d.miners:
                info.add(labels((("device", dev.device), ("domain", root), ("source", roots[root][0]))), 1)
                break
