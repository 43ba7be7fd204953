"""Regression guard for issue 16's CPU budgets, small enough for ``make test``: fails when farmwatch's CPU per miner
per steady cycle, or per SNMP value, doubles relative to a bare client doing the same network work in the same run.

Not a timed test: both sides are this process's CPU time (``time.process_time``; the simulators run in their own
processes), interleaved, each the best of several runs, so a loaded machine slows both alike and the ratio holds.
The budgets are twice the ratios measured when they were set (README "Performance"); bench/cycle.py and
bench/snmp.py print the full numbers.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from collectors.snmp import ber
from collectors.snmp.client import Auth
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.poll import SnmpDevice
from collectors.snmp.profile import profiles
from simsite.addresses import addresses
from simsite.snmp import SimPdu, SnmpSim

ROOT = Path(__file__).resolve().parents[2]
RUNS = 5
# Ratios measured when set (2026-12-05, 2 shared cores, load ~7, three runs), times two. Miners: steady cycle +
# render against connect/summary/read/close on asyncio's loop, 6.4-6.6. SNMP: a poll cycle against sending the same
# number of GETBULKs and reading the replies undecoded, 1.4-2.2 (pysnmp's pyasn1 path, before, was ~16).
MINER_BUDGET = 13.0
SNMP_BUDGET = 4.5


async def _best_cpu(work: Callable[[], Awaitable[object]]) -> float:
    cpu0 = time.process_time()
    await work()
    return time.process_time() - cpu0


async def _bare_miners(ips: list[str]) -> None:
    async def one(ip: str) -> None:
        try:
            reader, writer = await asyncio.open_connection(ip, 4028)
            writer.write(b'{"command":"summary"}')
            await reader.read()
            writer.close()
        except OSError:
            pass
    await asyncio.gather(*(one(ip) for ip in ips))


async def test_cpu_per_miner_stays_within_twice_todays_ratio_to_a_bare_client() -> None:
    count = 80
    sim = subprocess.Popen([sys.executable, "-m", "simsite", "--count", str(count), "--seed", "16",
                            "--base-ip", "127.203.0.1", "--latency-ms", "0.2", "0.5", "--variants", "no_join=0.3"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert sim.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, sim.stdout.readline)
        assert line.startswith(b"simsite:"), line
        ips = addresses("127.203.0.1", count)
        group = MinerGroup(name="guard", sessions=[MinerSession(host=ip, port=4028) for ip in ips], interval=60.0,
                           timeout=10.0, concurrency=200, per_subnet=256)
        agent = Agent(site="guard", groups=[group], listen="127.0.0.1:0")
        await agent.scheduler.run_cycle(group)  # identification: not what is guarded
        up, _ = agent.store.counts()
        assert up >= count * 0.9

        async def farmwatch() -> None:
            await agent.scheduler.run_cycle(group)
            agent._render()

        fw, bare = [], []
        for _ in range(RUNS):
            fw.append(await _best_cpu(farmwatch))
            bare.append(await _best_cpu(lambda: _bare_miners(ips)))
    finally:
        sim.terminate()
        sim.wait(30)
    ratio = min(fw) / min(bare)
    print(f"miners: {min(fw) / count * 1e3:.3f} ms/miner, bare {min(bare) / count * 1e3:.3f} ms/miner, "
          f"ratio {ratio:.2f} (budget {MINER_BUDGET})")
    assert ratio < MINER_BUDGET


class _Bare(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: asyncio.Future[None] | None = None

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(None)


async def test_cpu_per_snmp_value_stays_within_twice_todays_ratio_to_a_bare_client() -> None:
    pdus = [SimPdu(ip=ip, name=f"guard-pdu-{i}", port=16191, loads_w=[100.0 + o for o in range(48)], noise=False)
            for i, ip in enumerate(addresses("127.204.0.1", 8))]
    snmpsim = SnmpSim(pdus)
    await snmpsim.start(timeout=120)
    loop = asyncio.get_running_loop()
    transport, bare_proto = await loop.create_datagram_endpoint(_Bare, local_addr=("127.0.0.1", 0))
    collector = SnmpCollector([SnmpDevice(host=p.ip, port=16191, auth=Auth(community=p.name), timeout=30.0,
                                          interval=0.0) for p in pdus], interval=60.0, concurrency=8)
    try:
        await collector.run_cycle()  # identification
        for d in collector.devices:
            if d.target is not None:
                d.target.requests = 0
        await collector.run_cycle()  # one steady cycle: how many requests it takes
        values = sum(r.values for r in collector.readings().values())
        requests = sum(d.target.requests for d in collector.devices if d.target is not None)
        assert collector.stats.devices_up == len(pdus) and values > 0

        columns = tuple(o for t in profiles()["apc"].tables for o in t.walk_oids())

        async def bare() -> None:
            # The same number of GETBULK round trips, sequential per PDU as farmwatch's are, replies not decoded.
            per_pdu = requests // len(pdus)

            async def one(p: SimPdu) -> None:
                wire = ber.encode_request(1, p.name.encode(), ber.GETBULK, 1, columns, 50 // len(columns))
                for _ in range(per_pdu):
                    bare_proto.waiting = loop.create_future()
                    transport.sendto(wire, (p.ip, 16191))
                    await asyncio.wait_for(bare_proto.waiting, 10)
            for p in pdus:
                await one(p)

        fw, base = [], []
        for _ in range(RUNS):
            fw.append(await _best_cpu(collector.run_cycle))
            base.append(await _best_cpu(bare))
        values = sum(r.values for r in collector.readings().values())
    finally:
        transport.close()
        await collector.close()
        await snmpsim.stop()
    ratio = min(fw) / min(base)
    print(f"snmp: {min(fw) / values * 1e6:.1f} us/value, bare {min(base) / values * 1e6:.1f} us/value, "
          f"ratio {ratio:.2f} (budget {SNMP_BUDGET})")
    assert ratio < SNMP_BUDGET
