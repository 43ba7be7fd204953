"""site.yaml + site map -> a running agent: groups, drivers, location on farmwatch_miner_info."""

from __future__ import annotations

from pathlib import Path

from agent.runtime import agent_from_config
from simsite import SimSite


async def test_config_and_sitemap_drive_the_agent(tmp_path: Path) -> None:
    site = SimSite.build(count=6, seed=21, base_ip="127.45.0.1", latency_ms=(1.0, 2.0))
    async with site:
        ips = [m.ip for m in site.miners]
        (tmp_path / "sitemap.csv").write_text(
            "ip,container,rack,shelf,slot\n" + "".join(f"{ip},C1,R{i // 3},{i % 3},1\n" for i, ip in enumerate(ips))
        )
        (tmp_path / "site.yaml").write_text(
            "site: test-site\n"
            'listen: "127.0.0.1:10428"\n'  # not bound: the test drives cycles without the server
            "gpus: {enabled: false}\n"
            "miners:\n"
            f'  - targets: ["{ips[0]}-{ips[-1]}"]\n'
            "    interval: 5s\n"
            "    timeout: 2s\n"
            "sitemap: sitemap.csv\n"
            "economics: {hashprice_usd_per_th_day: 0.052, energy_price_usd_per_kwh: 0.061}\n"
        )
        agent = agent_from_config(tmp_path / "site.yaml")
        assert agent.site == "test-site"
        assert [s.host for g in agent.groups for s in g.sessions] == ips
        group = agent.groups[0]
        await agent.scheduler.run_cycle(group)
        await agent._on_cycle(group)
        text = agent.rendered().text.decode()
        for i, ip in enumerate(ips):
            info = next(ln for ln in text.splitlines() if ln.startswith(f'farmwatch_miner_info{{device="{ip}:4028"'))
            assert f'container="C1",rack="R{i // 3}",shelf="{i % 3}",slot="1"' in info
        assert 'farmwatch_agent_info{site="test-site"' in text
        assert "farmwatch_hashprice_usd_per_terahash_day 0.052" in text
        assert "farmwatch_energy_price_usd_per_kilowatt_hour 0.061" in text


async def test_shard_splits_targets_exactly_once(tmp_path: Path) -> None:
    specs = '["10.9.0.0/24"]'
    seen: list[str] = []
    for i in range(3):
        (tmp_path / f"s{i}.yaml").write_text(
            f"site: s\ngpus: {{enabled: false}}\nshard: {i}/3\nminers:\n  - targets: {specs}\n"
        )
        agent = agent_from_config(tmp_path / f"s{i}.yaml")
        seen += [s.device for g in agent.groups for s in g.sessions]
    assert len(seen) == len(set(seen)) == 254


async def test_rescan_interval_adds_rediscovery_of_the_ranges(tmp_path: Path) -> None:
    site = SimSite.build(count=4, seed=22, base_ip="127.46.0.1", latency_ms=(1.0, 2.0))
    async with site:
        first, last = site.miners[0].ip, site.miners[-1].ip
        (tmp_path / "site.yaml").write_text(
            "site: s\ngpus: {enabled: false}\nrescan_interval: 1h\nminers:\n"
            f'  - targets: ["{first}", "127.46.0.0/29"]\n    timeout: 2s\n'
        )
        agent = agent_from_config(tmp_path / "site.yaml")
        discovery = next(c for c in agent.collectors if c.name == "discovery")
        group = agent.groups[0]
        group.sessions = [s for s in group.sessions if s.host == first]  # as if the others came later
        await discovery.run_cycle()
        hosts = {s.host for s in group.sessions}
        assert {m.ip for m in site.miners} <= hosts and last in hosts
        await discovery.close()
