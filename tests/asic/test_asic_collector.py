"""The miners are a collector like SNMP and NVML (docs/architecture.md, "One miner reading, socket to /metrics"):
built from ``miners:`` through the collector registry, split by shard, each group a timer of the agent's one
scheduler, and their health reported as every collector's is (``farmwatch_collector_success{collector="asic"}``).
Over real sockets on loopback against the simulated site."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from agent.collector_setup import collectors_from_config
from agent.config import load_config
from agent.runtime import agent_from_config
from collectors.asic.collector import AsicCollector
from collectors.registry import kinds
from simsite import SimSite


def write_config(tmp_path: Path, targets: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(f"""\
        site: s
        listen: "127.0.0.1:10428"  # not bound: the test drives cycles without the server
        gpus: {{enabled: false}}
        miners:
          - targets: [{targets}]
            interval: 30s
            timeout: 3s
          - targets: [127.219.9.1]
            interval: 45s
    """))
    return path


def test_the_miner_collector_is_built_from_the_registry_and_split_by_shard(tmp_path: Path) -> None:
    assert kinds()["asic"].section == "miners"
    cfg = load_config(write_config(tmp_path, "127.219.0.1-127.219.0.60"))
    built = collectors_from_config(cfg)
    miners = [c for c in built if isinstance(c, AsicCollector)]
    assert len(miners) == 1 and [g.name for g in miners[0].groups] == ["miners[0]", "miners[1]"]
    assert [g.interval for g in miners[0].groups] == [30.0, 45.0]
    assert len(miners[0].groups[0].sessions) == 60
    halves = [next(c for c in collectors_from_config(cfg, (i, 2)) if isinstance(c, AsicCollector)) for i in range(2)]
    hosts = [{s.host for g in h.groups for s in g.sessions} for h in halves]
    assert hosts[0].isdisjoint(hosts[1]) and len(hosts[0] | hosts[1]) == 61 and hosts[0] and hosts[1]


async def test_each_miner_group_is_a_timer_of_the_one_scheduler_and_reports_collector_health(tmp_path: Path) -> None:
    site = SimSite.build(count=4, seed=5, base_ip="127.219.0.1", latency_ms=(1.0, 2.0))
    async with site:
        agent = agent_from_config(write_config(tmp_path, f"{site.miners[0].ip}-{site.miners[-1].ip}"))
        try:
            names = [t.name for t in agent._timers()]
            assert names == ["miners[0]", "miners[1]"]  # no other loop polls miners
            before = agent.rendered().text.decode()
            assert 'farmwatch_collector_success{collector="asic"}' not in before  # unknown before a cycle, not 0
            for group in agent.groups:
                await agent.scheduler.run_cycle(group)
            text = agent.rendered().text.decode()
        finally:
            await agent.stop()
    assert 'farmwatch_collector_success{collector="asic"} 1' in text
    assert 'farmwatch_collector_family_errors_total{collector="asic"} 0' in text
    assert re.search(r'^farmwatch_cycles_total\{collector="asic",group="miners\[0\]"\} 1$', text, re.M)
    assert re.search(r'^farmwatch_devices_up\{collector="asic",group="miners\[0\]"\} 4$', text, re.M)
    assert re.search(r'^farmwatch_devices_up\{collector="asic",group="miners\[1\]"\} 0$', text, re.M)
    assert len(re.findall(r'^farmwatch_miner_up\{device="[^"]+"\} 1$', text, re.M)) == 4
