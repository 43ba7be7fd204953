"""A group's cycle polls through at most ``concurrency`` workers (collectors/asic/group.py): never more polls in
flight than that, every due device still polled once, and where a /24's own limit binds, the /24s are taken in
turn, so devices of a small /24 are not held behind every device of a large one. Over real loopback sockets."""

from __future__ import annotations

import asyncio
import time

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite


async def test_never_more_polls_in_flight_than_the_group_concurrency_and_every_device_polled() -> None:
    hosts = [f"127.98.0.{i}" for i in range(1, 41)]
    open_now = peak = 0
    seen: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        try:
            await reader.read(200)
            seen.append(writer.get_extra_info("sockname")[0])
            await asyncio.sleep(0.05)
            writer.write(b'{"STATUS":[{"STATUS":"E","Msg":"Invalid command"}],"id":1}\x00')
            await writer.drain()
        finally:
            open_now -= 1
            writer.close()

    servers = [await asyncio.start_server(answer, h, 4028) for h in hosts]
    try:
        sessions = [MinerSession(host=h, port=4028, driver_name="cgminer") for h in hosts]
        group = MinerGroup(name="w", sessions=sessions, interval=60, timeout=5, concurrency=6, per_subnet=64)
        agent = Agent(site="w", groups=[group], listen="127.0.0.1:0")
        await agent.scheduler.run_cycle(group)
    finally:
        for s in servers:
            s.close()
            await s.wait_closed()
    assert 1 <= peak <= 6
    assert set(seen) == set(hosts)  # every device was asked (and answered "Invalid command": not a miner)
    assert all(agent.store.get(s.device).polled for s in sessions)  # type: ignore[union-attr]


async def test_a_small_subnet_is_not_held_behind_a_large_one_whose_limit_binds() -> None:
    big = SimSite.build(count=12, seed=3, base_ip="127.98.1.1", latency_ms=(40.0, 40.0))
    small = SimSite.build(count=3, seed=4, base_ip="127.98.2.1", latency_ms=(40.0, 40.0))
    async with big, small:
        # The big /24 first in config order; its own limit (2) binds, the group's (4) too.
        sessions = [MinerSession(host=m.ip, port=m.port) for m in (*big.miners, *small.miners)]
        group = MinerGroup(name="s", sessions=sessions, interval=60, timeout=5, concurrency=4, per_subnet=2)
        agent = Agent(site="s", groups=[group], listen="127.0.0.1:0")
        await agent.scheduler.run_cycle(group)  # identification
        started = time.time()
        await agent.scheduler.run_cycle(group)
    done = {s.host: agent.store.get(s.device).last_success for s in sessions}  # type: ignore[union-attr]
    assert all(t is not None and t >= started for t in done.values())
    small_last = max(done[m.ip] for m in small.miners)  # type: ignore[type-var]
    big_last = max(done[m.ip] for m in big.miners)  # type: ignore[type-var]
    # Taken in turn, the small /24 is read in the first rounds; queued behind the big one, it would be last.
    assert small_last < big_last
    assert sorted(done.values()).index(small_last) < 9  # type: ignore[arg-type]
