"""Hung miners do not delay healthy ones (issue 11, finding 5): 200 addresses that accept and never answer share
a /24 with 50 healthy miners. The healthy miners are polled first (they answered last time) and what they read
is published while the hung ones still hold the cycle open, instead of at its end."""

from __future__ import annotations

import re
import time

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite


async def test_healthy_miners_are_published_while_hung_neighbours_hold_the_cycle() -> None:
    site = SimSite.build(count=250, seed=8, base_ip="127.136.0.1", latency_ms=(1.0, 2.0))
    hung, healthy = site.miners[:200], site.miners[200:]  # the healthy ones last in config order
    for m in hung:
        m.fault = "hang"
    assert len({m.ip.rsplit(".", 1)[0] for m in site.miners}) == 1  # one /24
    await site.start()
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="lan", sessions=sessions, interval=3.0, timeout=2.0, per_subnet=64)
    agent = Agent(site="hung", groups=[group], listen="127.0.0.1:0")
    published: list[tuple[bool, str]] = []  # (the cycle had ended, /metrics text) at each publication
    ended = False
    refresh = agent.refresh

    async def recording_refresh() -> None:
        await refresh()
        published.append((ended, agent.rendered().text.decode()))

    agent.refresh = recording_refresh  # type: ignore[method-assign]
    try:
        await agent.scheduler.run_cycle(group)  # identification: everyone is new
        started = time.time()
        published.clear()
        ended = False
        on_cycle = agent.scheduler.on_cycle

        async def mark_end(g: MinerGroup) -> None:
            nonlocal ended
            ended = True
            assert on_cycle is not None
            await on_cycle(g)  # type: ignore[misc]

        agent.scheduler.on_cycle = mark_end
        await agent.scheduler.run_cycle(group)
    finally:
        await site.stop()
    assert published and published[-1][0]

    def fresh(text: str) -> set[str]:
        out = set()
        for m in re.finditer(r'^farmwatch_miner_last_success_timestamp_seconds\{device="([^"]+)"\} (\S+)$', text, re.M):
            if float(m.group(2)) >= started:
                out.add(m.group(1))
        return out

    want = {f"{m.ip}:{m.port}" for m in healthy}
    during = [text for was_ended, text in published if not was_ended]
    assert during, "nothing was published before the cycle ended"
    # Published while the hung ones still held the cycle (every half interval; under load the first may come
    # before all 50 are read, a later one during the cycle has them).
    assert any(want <= fresh(text) for text in during), "no publication during the cycle has the healthy miners"
    # Polled first: most are in the very first publication, before any hung address has timed out (listed last
    # in config order, without the ordering they would wait for three waves of hung ones).
    assert len(fresh(during[0]) & want) >= len(want) // 2
    assert not fresh(during[0]) & {f"{m.ip}:{m.port}" for m in hung}
