"""Shared by the SNMP recording tests: one collector cycle over devices, and what /metrics would show."""

from __future__ import annotations

from agent.collector import CycleStats
from agent.exposition import Families, render
from collectors.snmp.client import Auth
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.poll import SnmpDevice


async def scrape(devices: dict[str, str], port: int) -> tuple[CycleStats, str]:
    """Poll ``community -> ip`` once through the real collector; its cycle stats and exposition text."""
    c = SnmpCollector([SnmpDevice(host=ip, port=port, auth=Auth(community=name), timeout=6.0)
                       for name, ip in devices.items()], interval=60.0)
    try:
        await c.run_cycle()
        fams = Families()
        c.families(fams)
        return c.stats, render(fams).text.decode()
    finally:
        await c.close()
