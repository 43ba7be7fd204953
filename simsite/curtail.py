"""A scripted curtailment on the simulated site: miners go to sleep (or refuse, or wake early) at set times and
their PDU outlets measure it, with the truth a settlement record must match.

The script is what a demand-response controller and the miners did; farmwatch only watches. Each step puts one
miner to sleep (its outlet then draws ``residual_w``: a sleeping miner is not at 0 W, and one at 300 W is a
finding) or wakes it (its outlet back at its full load). The PDUs must serve plain values (``noise=False``) so
the outlet power is exactly the script's; :meth:`truth` computes from the same loads and times what the meters
saw: baseline, mean load after the ramp, shed, time to target, the miners that never slept or woke early.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from .site import SimSite
from .snmp import SimPdu, SnmpSim


@dataclass(frozen=True, slots=True)
class Step:
    at: float  # seconds after the window's start
    ip: str
    action: str  # sleep | wake
    residual_w: float = 25.0  # outlet draw while asleep


@dataclass
class ScriptedCurtailment:
    site: SimSite
    sim: SnmpSim
    pdus: dict[str, SimPdu]  # by name
    locations: dict[str, dict[str, str]]  # miner ip -> {pdu, outlet}
    scope: list[str]  # the miner IPs the window covers
    full_w: dict[str, float] = field(default_factory=dict)
    events: list[tuple[float, str, float]] = field(default_factory=list)  # (time, ip, outlet watts)

    def __post_init__(self) -> None:
        for pdu in self.pdus.values():
            pdu.noise = False
            self.sim.update(pdu)
        for ip in self.scope:
            self.full_w[ip] = self._outlet(ip)

    def _where(self, ip: str) -> tuple[SimPdu, int]:
        loc = self.locations[ip]
        return self.pdus[loc["pdu"]], int(loc["outlet"]) - 1

    def _outlet(self, ip: str) -> float:
        pdu, i = self._where(ip)
        return float(pdu.loads_w[i])

    def apply(self, step: Step) -> None:
        pdu, i = self._where(step.ip)
        watts = step.residual_w if step.action == "sleep" else self.full_w[step.ip]
        self.site.set_fault(step.ip, "sleeping" if step.action == "sleep" else None)
        pdu.loads_w[i] = watts
        self.sim.update(pdu)
        self.events.append((time.time(), step.ip, watts))

    async def run(self, start: float, steps: list[Step]) -> None:
        for step in sorted(steps, key=lambda s: s.at):
            delay = start + step.at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.apply(step)

    def load_at(self, t: float) -> float:
        load = dict(self.full_w)
        for when, ip, watts in self.events:
            if when <= t:
                load[ip] = watts
        return sum(load.values())

    def truth(self, start: float, end: float, ramp: float, target_w: float, residual_w: float) -> dict[str, Any]:
        """What the meters saw, from the script's own loads and times (mean load by integration)."""
        edges = sorted({start + ramp, end, *(t for t, _ip, _w in self.events if start + ramp < t < end)})
        during = sum(self.load_at(a) * (b - a) for a, b in itertools.pairwise(edges)) / (end - start - ramp)
        baseline = sum(self.full_w.values())
        reached = next((t - start for t in [start, *sorted(t for t, _i, _w in self.events)]
                        if start <= t < end and self.load_at(t) <= target_w), None)
        slept = {ip for _t, ip, w in self.events if w != self.full_w[ip]}
        woke = {ip for t, ip, w in self.events if w == self.full_w[ip] and ip in slept and t < end}
        heavy = {ip for _t, ip, w in self.events if w != self.full_w[ip] and w > residual_w}
        return {"baseline_kw": baseline / 1000.0, "during_kw": during / 1000.0,
                "shed_kw": (baseline - during) / 1000.0, "time_to_target_s": reached,
                "did_not_sleep": sorted(set(self.scope) - slept), "woke_early": sorted(woke),
                "residual": sorted(heavy)}
