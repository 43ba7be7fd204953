"""The documented multi-site topology, run for real: two simulated sites, each with its own agent and its own
Prometheus (deploy/multisite/site-prometheus.yml: rules evaluated at the site), and a central Prometheus
federating both (deploy/multisite/central-prometheus.yml). Five real processes on loopback; only the addresses
and intervals of the example configs are changed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite
from tests.support.prom import PROMETHEUS, Prometheus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="needs Debian's prometheus package (make system-deps)")


def site_config(site: str, agent_port: int) -> dict[str, Any]:
    cfg = yaml.safe_load((ROOT / "deploy/multisite/site-prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s", external_labels={"site": site})
    cfg["rule_files"] = [str((ROOT / "deploy/multisite" / p).resolve()) for p in cfg["rule_files"]]
    cfg.pop("alerting")
    job = cfg["scrape_configs"][0]
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": [f"127.0.0.1:{agent_port}"], "labels": {"site": site}}]
    return cfg


def central_config(sites: dict[str, int]) -> dict[str, Any]:
    cfg = yaml.safe_load((ROOT / "deploy/multisite/central-prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    job = cfg["scrape_configs"][0]
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"], "labels": {"site": site}} for site, port in sites.items()]
    return cfg


async def wait_for(check: Any, timeout: float = 90.0) -> Any:
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = check()
            if last:
                return last
        except OSError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"not reached in {timeout:.0f}s; last: {last!r}")


@pytest.mark.slow
async def test_central_prometheus_federates_two_sites_each_scraping_its_own_agent(tmp_path: Path) -> None:
    sims = {
        "site-a": SimSite.build(count=4, seed=41, base_ip="127.51.0.1", latency_ms=(1.0, 2.0)),
        "site-b": SimSite.build(count=3, seed=42, base_ip="127.52.0.1", latency_ms=(1.0, 2.0)),
    }
    agents: dict[str, Agent] = {}
    proms: list[Prometheus] = []
    try:
        for name, sim in sims.items():
            await sim.start()
            group = MinerGroup(name="miners[0]", sessions=[MinerSession(host=m.ip, port=m.port) for m in sim.miners],
                               interval=2.0, timeout=1.5)
            agents[name] = Agent(site=name, groups=[group], listen="127.0.0.1:0")
            await agents[name].start()
        site_proms = {}
        for name, agent in agents.items():
            assert agent.bound is not None
            site_proms[name] = Prometheus(tmp_path / name, site_config(name, agent.bound[1]))
        proms.extend(site_proms.values())
        central = Prometheus(tmp_path / "central", central_config({n: p.port for n, p in site_proms.items()}))
        proms.append(central)

        def up_by_site() -> dict[str, float]:
            res = central.query("sum by (site) (farmwatch_miner_up)")
            return {r["metric"]["site"]: float(r["value"][1]) for r in res}

        assert await wait_for(lambda: up_by_site() == {"site-a": 4.0, "site-b": 3.0})
        # Recording rules evaluated at each site arrive centrally with the site's label ...
        def recorded() -> list[dict[str, Any]]:
            res = central.query("site:farmwatch_miner_hashrate_hashes_per_second:sum > 0")
            return res if {r["metric"]["site"] for r in res} == {"site-a", "site-b"} else []

        assert await wait_for(recorded)
        # ... the raw per-miner value series stay at the site (not in the federation match[]).
        assert central.query("farmwatch_miner_hashrate_hashes_per_second") == []
        assert len(site_proms["site-a"].query("farmwatch_miner_hashrate_hashes_per_second")) == 4
        # Each agent's own identity, with its site, is central too.
        info = central.query("farmwatch_agent_info")
        assert {r["metric"]["site"] for r in info} == {"site-a", "site-b"}
    finally:
        for p in proms:
            p.stop()
        for agent in agents.values():
            await agent.stop()
        for sim in sims.values():
            await sim.stop()
