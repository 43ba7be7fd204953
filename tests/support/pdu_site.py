"""A small site metered at its outlets, for tests that follow the miners' power into Prometheus: simulated miners,
the SNMP demo's APC PDUs feeding them outlet by outlet (real SNMP, snmpsim on loopback), one agent polling both
with the PDUs' site map, and a real Prometheus scraping that agent with the rules a test names.

    metered = await pdu_site("c", count=12, seed=23, base_ip="127.181.0.1", snmp_ip="127.181.1.1")
    ...  # faults, loads, windows, power domains: everything the agent must see from its first cycle
    try:
        p = await metered.scrape(tmp_path / "prom", rules)  # starts the agent, then Prometheus
        ...
    finally:
        await metered.stop()  # Prometheus first, the simulated site last"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.daemon import Agent
from agent.demo import DemoSiteMap
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.demo import DemoSnmp, start_demo_snmp
from simsite import SimSite
from tests.support.rules import RulesPrometheus, free_udp_port


@dataclass
class PduSite:
    site: SimSite
    handle: DemoSnmp  # the PDUs (``handle.pdus``), their snmpsim (``handle.sim``) and the miners' outlets
    snmp: SnmpCollector
    rows: dict[str, dict[str, str]]  # the agent's site map: miner ip -> container, rack, pdu, outlet, shelf, slot
    agent: Agent  # built, not started: a test sets what the agent must have from its first cycle
    prom: RulesPrometheus | None = None

    @property
    def device(self) -> dict[str, str]:
        """miner ip -> its ``device`` label."""
        return {m.ip: f"{m.ip}:{m.port}" for m in self.site.miners}

    async def scrape(self, workdir: Path, rule_files: list[Path]) -> RulesPrometheus:
        """Start the agent, then a Prometheus scraping it every second with ``rule_files``."""
        await self.agent.start()
        assert self.agent.bound is not None
        self.prom = await asyncio.to_thread(RulesPrometheus, workdir, f"127.0.0.1:{self.agent.bound[1]}", rule_files)
        return self.prom

    async def stop(self) -> None:
        if self.prom is not None:
            await asyncio.to_thread(self.prom.stop)
        await self.agent.stop()
        await self.handle.stop()
        await self.site.stop()


async def pdu_site(name: str, *, count: int, seed: int, base_ip: str, snmp_ip: str,
                   outlets_per_pdu: int = 6) -> PduSite:
    """``count`` simulated miners from ``base_ip``, one PDU per ``outlets_per_pdu`` of them from ``snmp_ip``
    (SNMP polled every second), both started, and an agent named ``name`` polling the miners every second, with
    shelf 1 and the outlet as slot in its site map; the agent is built, not started."""
    site = SimSite.build(count=count, seed=seed, base_ip=base_ip, latency_ms=(1.0, 2.0))
    await site.start()
    handle, snmp = await start_demo_snmp(site.miners, base_ip=snmp_ip, port=free_udp_port(snmp_ip),
                                         outlets_per_pdu=outlets_per_pdu, interval=1.0)
    rows = {ip: {**loc, "shelf": "1", "slot": loc["outlet"]} for ip, loc in handle.locations.items()}
    group = MinerGroup(name=name, sessions=[MinerSession(host=m.ip, port=m.port) for m in site.miners],
                       interval=1.0, timeout=0.8)
    agent = Agent(site=name, groups=[group], listen="127.0.0.1:0", sitemap=DemoSiteMap(rows), collectors=[snmp])
    return PduSite(site, handle, snmp, rows, agent)


# For the tests that build their agent from a site.yaml, as `farmwatch run` does.


def write_sitemap(d: Path, rows: Mapping[str, Mapping[str, str]]) -> str:
    """``rows`` (miner ip -> container, rack, pdu, outlet) as the site-map CSV in ``d``; its name for site.yaml."""
    (d / "sitemap.csv").write_text("ip,container,rack,pdu,outlet\n" + "".join(
        f"{ip},{r['container']},{r['rack']},{r['pdu']},{r['outlet']}\n" for ip, r in rows.items()))
    return "sitemap.csv"


def snmp_groups(d: Path, devices: list[tuple[str, str]], *, interval: str, timeout: str,
                retries: int) -> list[dict[str, Any]]:
    """site.yaml's ``snmp:`` groups, one per (target, community), each community in its own secret file in ``d``."""
    groups = []
    for target, community in devices:
        (d / f"{community}.secret").write_text(community + "\n")
        groups.append({"targets": [target], "community_file": f"{community}.secret", "interval": interval,
                       "timeout": timeout, "retries": retries})
    return groups
