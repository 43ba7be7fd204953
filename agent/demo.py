"""``farmwatch demo``: a simulated site (simsite) and the agent polling it, in one process, in the foreground.

The simulated miners listen on their own loopback addresses (127.x.y.z:4028), so the agent talks to them over
real sockets exactly as it talks to a site. A few miners carry faults (hung, refusing, sleeping, a pulled
board, a dead fan) so the demo shows what those look like in the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import sys
from collections.abc import Callable

from collectors.asic.http import WebCredentials
from collectors.asic.poll import MinerSession
from collectors.nvml import NvmlCollector
from collectors.snmp.demo import start_demo_snmp
from simsite import SimSite
from simsite.addresses import addresses
from simsite.fleet import MIXED_MIX
from simsite.gpus import demo_host

from .daemon import Agent
from .scheduler import MinerGroup
from .sitemap import Location

log = logging.getLogger("farmwatch.demo")

class DemoSiteMap:
    """The demo's site map: where each simulated miner sits and which PDU outlet feeds it, by IP."""

    def __init__(self, by_ip: dict[str, dict[str, str]]) -> None:
        self.by_ip = by_ip

    def locate(self, *, ip: str | None = None, mac: str | None = None, serial: str | None = None) -> Location | None:
        row = self.by_ip.get(ip or "")
        return Location(**{k: row.get(k) for k in ("container", "rack", "shelf", "slot", "pdu", "outlet")}) if row else None


DEMO_FAULTS = {
    "hang": 0.004,
    "refuse": 0.004,
    "malformed": 0.003,
    "sleeping": 0.01,
    "missing_board": 0.01,
    "dead_fan": 0.01,
}


def after(ip: str) -> str:
    """The usable simulated address after ``ip`` (skipping .0 and .255)."""
    return addresses(ip, 2)[1]


async def run_demo(
    *,
    miners: int = 1000,
    seed: int = 1,
    listen: str = ":10428",
    interval: float = 15.0,
    base_ip: str = "127.20.0.1",
    duration: float | None = None,
    on_site: Callable[[SimSite], None] | None = None,
) -> None:
    """``on_site`` is called with the simulated site before it starts (tests read its request log)."""
    site = SimSite.build(count=miners, seed=seed, base_ip=base_ip, faults=DEMO_FAULTS, mix=MIXED_MIX)
    if on_site is not None:
        on_site(site)
    await site.start()
    # The simulated web firmwares keep their documented default passwords: the demo opts in to them.
    web = WebCredentials(use_default_password=True)
    sessions = [MinerSession(host=m.ip, port=m.port, credentials=web) for m in site.miners]
    timeout = min(10.0, interval * 0.6)
    group = MinerGroup(name="demo", sessions=sessions, interval=interval, timeout=timeout)
    # A GPU server of the AI hall next to the miners: 8 simulated H100s behind the real NVML collector code.
    gpus = NvmlCollector(interval=interval, nvml=demo_host(seed))
    # PDUs feeding the miners (outlet power follows each miner's load), a UPS and a switch, over real SNMP. The
    # simulated agents are snmpsim, a development dependency: an install without it runs the rest of the demo.
    snmp_sim = snmp = None
    if importlib.util.find_spec("snmpsim") is not None:
        # The PDUs, UPS and switch take the addresses right after the miners, so they follow --base-ip and two
        # demos on different bases can share a host (a fixed 127.30.0.x made the second one fail to bind).
        snmp_sim, snmp = await start_demo_snmp(site.miners, interval=interval, base_ip=after(site.miners[-1].ip))
    else:
        print("farmwatch demo: snmpsim is not installed (pip install 'farmwatch[dev]'); no simulated PDUs",
              file=sys.stderr)
    agent = Agent(site="demo", groups=[group], listen=listen, collectors=[gpus, *([snmp] if snmp else [])],
                  sitemap=DemoSiteMap(snmp_sim.locations if snmp_sim else {}))
    if snmp is not None:
        snmp.miner_store = agent.store
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.start()
        assert agent.bound is not None
        host, port = agent.bound
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        print(
            f"farmwatch demo: {miners} simulated miners on {site.miners[0].ip}..{site.miners[-1].ip} port 4028\n"
            f"  metrics:  curl http://{shown}:{port}/metrics\n"
            f"  status:   http://{shown}:{port}/\n"
            f"  one miner: farmwatch poll {site.miners[0].ip}\n"
            f"  GPUs:     8 simulated H100 (farmwatch_gpu_* series)\n"
            + (f"  power:    {len(snmp_sim.pdus)} simulated PDUs, a UPS and a switch over SNMP on "
               f"{snmp_sim.pdus[0].ip}.. (farmwatch_pdu_*, farmwatch_miner_power_watts{{source=\"pdu\"}})\n"
               if snmp_sim else "")
            + f"  polling every {interval:.0f}s; first full cycle within {interval + timeout:.0f}s. Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        await agent.stop()
        if snmp_sim is not None:
            await snmp_sim.stop()
        await site.stop()
