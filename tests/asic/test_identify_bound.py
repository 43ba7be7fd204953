"""Identification is bounded in flight (issue 16, memory): a fleet's first cycle identifies every miner, and however
high the group's concurrency, no more than ``identify.IDENTIFY_LIMIT`` identifications hold their probe sockets and
replies at once — observed at the miners' end, over real loopback sockets. Waiting for a slot is the agent's own
queue, not the device's time: a miner that answers promptly is never reported as a timeout because of it."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.scheduler import Scheduler
from collectors.asic import identify
from collectors.asic.collector import AsicCollector
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from collectors.asic.store import MinerStore
from simsite import SimSite

IDENTIFY = "version+devdetails+stats"  # the RPC probe's joined request (identify.IDENTIFY_COMMANDS)


class CountingMiners:
    """Real Antminer replies (simsite renders them) from our own listeners, which count the identification
    probes being answered at once; each is held ``hold`` seconds, as a slow miner would."""

    def __init__(self, site: SimSite, hold: float) -> None:
        self.site = site
        self.hold = hold
        self.in_flight = 0
        self.most = 0
        self.identified: list[str] = []
        self.servers: list[asyncio.Server] = []

    async def start(self) -> None:
        for m in self.site.miners:
            self.servers.append(await asyncio.start_server(
                lambda r, w, m=m: self.serve(m, r, w), m.ip, m.port))  # type: ignore[misc]

    async def serve(self, m: object, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = b""
        try:
            while True:  # a cgminer request is one JSON object, not terminated: read until it parses
                piece = await reader.read(4096)
                if not piece:
                    return
                raw += piece
                try:
                    command = json.loads(raw.rstrip(b"\0"))["command"]
                    break
                except ValueError:
                    continue
            if command == IDENTIFY:
                self.identified.append(m.ip)  # type: ignore[attr-defined]
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
                try:
                    await asyncio.sleep(self.hold)
                finally:
                    self.in_flight -= 1
            writer.write(self.site.render(m, raw))  # type: ignore[arg-type]
            await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        for s in self.servers:
            s.close()
        for s in self.servers:
            await s.wait_closed()


async def first_cycle(monkeypatch: pytest.MonkeyPatch, *, miners: int, limit: int, hold: float,
                      timeout: float) -> tuple[CountingMiners, MinerStore]:
    monkeypatch.setattr(identify, "IDENTIFY_LIMIT", limit)
    site = SimSite.build(count=miners, seed=5, base_ip="127.121.40.1", mix={"antminer": 1.0}, latency_ms=(0, 0))
    fleet = CountingMiners(site, hold)
    await fleet.start()
    try:
        group = MinerGroup(name="g", sessions=[MinerSession(host=m.ip, port=m.port) for m in site.miners],
                           interval=60.0, timeout=timeout, concurrency=miners, per_subnet=miners)
        store = AsicCollector([group]).store
        await Scheduler([group]).run_cycle(group)
    finally:
        await fleet.stop()
    return fleet, store


async def test_identifications_in_flight_never_exceed_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    fleet, store = await first_cycle(monkeypatch, miners=40, limit=5, hold=0.1, timeout=10.0)
    assert sorted(fleet.identified) == sorted(m.ip for m in fleet.site.miners)  # each identified once
    assert fleet.most == 5  # the bound, reached: 40 allowed by the group's concurrency
    readings = [d.reading for d in store.devices.values()]
    assert len(readings) == 40 and all(r is not None and r.driver == "antminer" for r in readings)


async def test_waiting_for_a_slot_does_not_spend_the_devices_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # 60 miners, 4 at a time, 0.2 s each: the last wait ~3 s for a slot, past a 2 s timeout were it counted.
    fleet, store = await first_cycle(monkeypatch, miners=60, limit=4, hold=0.2, timeout=2.0)
    assert fleet.most <= 4
    down = {d: s.error_reason for d, s in store.devices.items() if not s.up}
    assert down == {}
    assert all(s.up for s in store.devices.values()) and len(store.devices) == 60
