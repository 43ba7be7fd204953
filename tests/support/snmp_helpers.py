"""Shared by the SNMP tests that serve recordings with snmpsim on loopback: recordings written as text, every
device served and read once the way `farmwatch poll snmp://COMMUNITY@IP:PORT` reads it (snmpsim picks the
recording by the community), one collector cycle over devices, and what /metrics would show."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent.exposition import render
from collectors.collector import CycleStats
from collectors.families import Families
from collectors.snmp.client import Auth, Engine
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.poll import SnmpDevice, poll
from collectors.snmp.reading import Row, SnmpReading
from simsite.snmp import SnmpSim


def snmprec(text: str) -> str:
    """``OID|tag|value`` lines (blank lines and ``#`` comments dropped), sorted by OID as snmpsim expects."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return "\n".join(sorted(lines, key=lambda ln: tuple(int(p) for p in ln.split("|")[0].split(".")))) + "\n"


@asynccontextmanager
async def served(devices: list[object], v3: tuple[str, str, str] | None = None) -> AsyncIterator[Engine]:
    """``devices`` served by snmpsim for as long as the block runs, and the SNMP engine to read them with."""
    sim = SnmpSim(devices, v3=v3)
    await sim.start()
    engine = Engine()
    try:
        yield engine
    finally:
        engine.close()
        await sim.stop()


async def read(engine: Engine, ip: str, port: int, community: str, timeout: float = 6.0) -> SnmpReading:
    """One poll of the device at ``ip:port``, its profile found from its sysObjectID (none forced)."""
    dev = SnmpDevice(host=ip, port=port, auth=Auth(community=community), timeout=timeout)
    return await poll(engine, dev, deadline=asyncio.get_running_loop().time() + timeout)


def rows(r: SnmpReading, kind: str) -> dict[str, Row]:
    """A reading's rows of one table kind (phases, outlets, ...) by their index."""
    return {row.index: row for row in r.rows(kind)}


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
