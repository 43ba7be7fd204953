"""A real Prometheus scrapes the agent polling a simulated site: what the NOC would query is there, and a
miner that dies loses its value series in Prometheus instead of flat-lining at its last value."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite
from tests.support.prom import PROMETHEUS, Prometheus, eventually, scrape_config

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed")


async def test_prometheus_scrapes_the_agent(tmp_path: Path) -> None:
    site = SimSite.build(count=30, seed=11, base_ip="127.42.0.1", latency_ms=(1.0, 3.0),
                         faults={"sleeping": 0.1})
    await site.start()
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="it", sessions=sessions, interval=1.0, timeout=0.8)
    agent = Agent(site="it", groups=[group], listen="127.0.0.1:0")
    await agent.start()
    assert agent.bound is not None
    prom = await asyncio.to_thread(Prometheus, tmp_path, scrape_config([f"127.0.0.1:{agent.bound[1]}"]))
    try:
        await eventually(lambda: len(prom.query("farmwatch_miner_up == 1")) == 30, timeout=40)
        target = prom.targets()[0]
        assert target["health"] == "up", target
        sleeping = prom.query('farmwatch_miner_state{state="sleeping"} == 1')
        assert len(sleeping) == sum(1 for m in site.miners if m.truth()["state"] == "sleeping") > 0
        total = prom.query("sum(farmwatch_miner_hashrate_hashes_per_second)")
        expected = sum(m.truth()["hashrate_ths"] for m in site.miners) * 1e12
        assert float(total[0]["value"][1]) == pytest.approx(expected, rel=0.05)
        joined = prom.query("farmwatch_miner_hashrate_hashes_per_second * on(device) group_left(model) farmwatch_miner_info")
        assert all(s["metric"].get("model") for s in joined)

        victim = site.miners[2]
        device = f"{victim.ip}:{victim.port}"
        site.set_fault(victim.ip, "refuse")
        await eventually(lambda: prom.query(f'farmwatch_miner_up{{device="{device}"}} == 0'), timeout=40)
        await eventually(lambda: prom.query(f'farmwatch_miner_error_info{{device="{device}",reason="refused"}}'),
                         timeout=40)
        # Gone, not stale: no hashrate sample for the dead miner in the latest scrape.
        assert prom.query(f'farmwatch_miner_hashrate_hashes_per_second{{device="{device}"}}') == []
    finally:
        await asyncio.to_thread(prom.stop)
        await agent.stop()
        await site.stop()
