"""SNMP devices for ``farmwatch demo``: PDUs feeding the simulated miners, a UPS and a switch, plus a collector.

    handle, collector = await start_demo_snmp(site.miners)
    ...  # add collector to the Agent; handle.locations gives each miner's site-map pdu/outlet/rack
    await handle.stop()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simsite.addresses import addresses
from simsite.snmp import SimPdu, SimSwitch, SimUps, SnmpSim

from .client import Auth
from .collector import SnmpCollector
from .poll import SnmpDevice

DEMO_PORT = 16161  # unprivileged: the demo never needs root for :161


@dataclass
class DemoSnmp:
    sim: SnmpSim
    pdus: list[SimPdu]
    # miner ip -> site-map location (container, rack, pdu, outlet) the demo's miners should carry
    locations: dict[str, dict[str, str]] = field(default_factory=dict)

    async def stop(self) -> None:
        await self.sim.stop()


async def start_demo_snmp(
    miners: Sequence[Any],
    *,
    base_ip: str = "127.30.0.1",
    port: int = DEMO_PORT,
    outlets_per_pdu: int = 24,
    interval: float = 15.0,
) -> tuple[DemoSnmp, SnmpCollector]:
    """One PDU per ``outlets_per_pdu`` miners (outlet power = the miner's power), a UPS, a switch; started."""
    n_pdus = max(1, -(-len(miners) // outlets_per_pdu))
    ips = addresses(base_ip, n_pdus + 2)
    pdus: list[SimPdu] = []
    locations: dict[str, dict[str, str]] = {}
    for p in range(n_pdus):
        group = miners[p * outlets_per_pdu : (p + 1) * outlets_per_pdu]
        name = f"pdu-r{p + 1:02d}"
        pdus.append(SimPdu(ip=ips[p], name=name, port=port, loads_w=[float(m.power_w) for m in group],
                           names=[m.hostname for m in group], serial=f"5A{p:010d}"))
        for o, m in enumerate(group, start=1):
            locations[m.ip] = {"container": "C1", "rack": f"R{p + 1:02d}", "pdu": name, "outlet": str(o)}
    total = sum(sum(p.loads_w) for p in pdus)
    ups = SimUps(ip=ips[n_pdus], name="ups-1", port=port, load_w=min(total, 9000.0))
    switch = SimSwitch(ip=ips[n_pdus + 1], name="sw-1", port=port)
    sim = SnmpSim([*pdus, ups, switch])
    await sim.start()
    served: list[SimPdu | SimUps | SimSwitch] = [*pdus, ups, switch]
    devices = [SnmpDevice(host=d.ip, port=port, auth=Auth(community=d.name), timeout=min(10.0, interval * 0.6),
                          interval=interval) for d in served]
    return DemoSnmp(sim, pdus, locations), SnmpCollector(devices, interval=interval)
