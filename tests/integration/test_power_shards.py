"""Power truth under sharding, for real: one simulated site (24 miners, four PDUs feeding them outlet by outlet, a
UPS, a switch, over real SNMP), run once by one agent and once by two shards, each agent built from a site.yaml
the way `farmwatch run` builds it (shard 0 with `--shard 0/2`, shard 1 with `shard: 1/2` in its file), each
topology scraped by its own real Prometheus (Debian's package) with the shipped rules and alerts.

Both must say the same: every PDU and UPS polled exactly once, the same per-miner PDU power, rack power, power
domain load and site power; no rule evaluation error; an overloaded PDU phase alerts once. Before the power joins
moved into rules/power.rules.yml, `--shard` polled every PDU on every shard (site PDU power doubled, alerts twice,
"multiple matches for labels" in the rack gap) and `shard:` left each shard joining only its own PDUs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.daemon import Agent
from agent.runtime import agent_from_config
from agent.targets import Target, shard_of
from collectors.snmp.demo import start_demo_snmp
from simsite import SimSite
from simsite.addresses import addresses
from simsite.snmp import community_of
from tests.support.pdu_site import snmp_groups, write_sitemap
from tests.support.prom import PROMETHEUS, Prometheus, eventually
from tests.support.rules import REPO, RulesPrometheus, fast_alerts, free_udp_port, overload, rule_errors

pytestmark = [pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed"),
              pytest.mark.slow]

def write_site(d: Path, *, miners: list[str], snmp: list[tuple[str, str]], rows: dict[str, dict[str, str]],
               domains: dict[str, Any], shard: str | None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "power.yaml").write_text(yaml.safe_dump(domains))
    groups = snmp_groups(d, snmp, interval="2s", timeout="1500ms", retries=1)
    cfg: dict[str, Any] = {"site": "it", "sitemap": write_sitemap(d, rows),
                           "power_domains": "power.yaml",
                           "miners": [{"targets": miners, "interval": "1s", "timeout": "800ms"}], "snmp": groups}
    if shard is not None:
        cfg["shard"] = shard
    (d / "site.yaml").write_text(yaml.safe_dump(cfg))
    return d / "site.yaml"


def scraped(agents: list[Agent]) -> list[str]:
    return [f"127.0.0.1:{a.bound[1]}" for a in agents if a.bound is not None]


def values(prom: Prometheus, expr: str, *keys: str) -> dict[tuple[str, ...], float]:
    return {tuple(s["metric"].get(k, "") for k in keys): round(float(s["value"][1]), 3) for s in prom.query(expr)}


def firing(prom: Prometheus, name: str) -> list[dict[str, str]]:
    return [s["metric"] for s in prom.query(f'ALERTS{{alertname="{name}",alertstate="firing"}}')]


async def test_two_shards_say_what_one_agent_says(tmp_path: Path) -> None:
    site = SimSite.build(count=24, seed=31, base_ip="127.46.0.1", latency_ms=(1.0, 2.0))
    await site.start()
    snmp_ip = "127.46.1.1"
    pdu_ips = addresses(snmp_ip, 4)  # start_demo_snmp's four PDUs (24 miners, 6 a PDU)

    def split(port: int) -> bool:  # both shards own PDUs: which do depends on host:port (a stable hash)
        return {shard_of(Target(ip, port), 2) for ip in pdu_ips} == {0, 1}

    port = next(p for p in (free_udp_port(snmp_ip) for _ in range(64)) if split(p))
    handle, _ = await start_demo_snmp(site.miners, base_ip=snmp_ip, port=port, outlets_per_pdu=6, interval=1.0)
    for pdu in handle.pdus:  # plain values: both topologies read the very same watts
        pdu.noise = False
    handle.sim.update(*handle.pdus)
    snmp = [(f"{d.ip}:{port}", community_of(d)) for d in handle.sim.devices]
    rows = {m.ip: {**handle.locations[m.ip], "container": f"C{i // 12 + 1}", "rack": f"R{i // 6 % 2 + 1}"}
            for i, m in enumerate(site.miners)}
    pdu_names = [p.name for p in handle.pdus]
    rated = sum(p.rated_current_a for p in handle.pdus[:2])
    domains = {"domains": [
        {"name": "feed-A", "budget_kw": 100},
        {"name": "breaker-1", "parent": "feed-A", "budget_amps": rated, "voltage": 230, "phases": 3,
         "pdus": pdu_names[:2]},
        {"name": "hall-2", "parent": "feed-A", "budget_kw": 40, "racks": ["C2/R1", "C2/R2"],
         "miners": [site.miners[0].ip]},
    ]}
    miners = [m.ip for m in site.miners]
    owner = {t: shard_of(Target(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])), 2) for t, _ in snmp}
    pdu_targets = {f"{p.ip}:{port}" for p in handle.pdus}
    assert {owner[t] for t in pdu_targets} == {0, 1}, "both shards must own PDUs for the test to mean anything"

    one = agent_from_config(write_site(tmp_path / "one", miners=miners, snmp=snmp, rows=rows, domains=domains,
                                       shard=None), listen="127.0.0.1:0")
    s0 = agent_from_config(write_site(tmp_path / "s0", miners=miners, snmp=snmp, rows=rows, domains=domains,
                                      shard=None), listen="127.0.0.1:0", shard=(0, 2))  # as `farmwatch run --shard 0/2`
    s1 = agent_from_config(write_site(tmp_path / "s1", miners=miners, snmp=snmp, rows=rows, domains=domains,
                                      shard="1/2"), listen="127.0.0.1:0")  # as `shard: 1/2` in site.yaml
    agents = [one, s0, s1]
    proms: list[RulesPrometheus] = []
    try:
        for a in agents:
            await a.start()
        rules = [REPO / "rules" / "farmwatch.rules.yml", REPO / "rules" / "power.rules.yml",
                 fast_alerts(tmp_path, "2s")]
        single = await asyncio.to_thread(RulesPrometheus, tmp_path / "p-one", scraped([one]), rules, "1s")
        proms.append(single)
        sharded = await asyncio.to_thread(RulesPrometheus, tmp_path / "p-two", scraped([s0, s1]), rules, "1s")
        proms.append(sharded)

        # Every miner and every SNMP device polled exactly once per topology.
        for p in proms:
            await eventually(lambda p=p: len(p.query("farmwatch_miner_up == 1")) == 24)
            await eventually(lambda p=p: len(p.query("farmwatch_snmp_up == 1")) == len(snmp), timeout=90)
            assert len(p.query("count by (device) (farmwatch_snmp_up) > 1")) == 0
            await eventually(lambda p=p: len(p.query('farmwatch_miner_power_watts{source="pdu"}')) == 24)
            await eventually(lambda p=p: len(p.query("farmwatch_rack_power_watts")) == 4)
        per_shard = sorted(float(sum(1 for t in pdu_targets if owner[t] == i)) for i in (0, 1))
        await eventually(lambda: sorted(values(sharded, "count by (instance) (farmwatch_pdu_power_watts)",
                                               "instance").values()) == per_shard)

        checks = {
            "per-miner PDU power": ('farmwatch_miner_power_watts{source="pdu"}', ("device",)),
            "rack power": ("farmwatch_rack_power_watts", ("container", "rack")),
            "domain load": ("farmwatch_power_domain_load_watts", ("domain",)),
            "domain unmeasured": ("farmwatch_power_domain_unmeasured_members", ("domain",)),
            "domain phase current": ("farmwatch_power_domain_phase_current_amperes", ("domain", "phase")),
            "site PDU power": ("sum by (site) (farmwatch_pdu_power_watts)", ("site",)),
            "site power": ("site:farmwatch_power_watts:sum", ("site",)),
            "rack gap": ("farmwatch_rack:power_gap_watts", ("container", "rack")),
        }
        # Equal once both have evaluated the same readings (the two Prometheus evaluate at their own moments, and
        # a rule group may read another's result of the previous evaluation).
        for what, (expr, keys) in checks.items():
            assert await eventually(lambda e=expr, k=keys: values(single, e, *k), timeout=20), f"{what}: no data"
            try:
                await eventually(lambda e=expr, k=keys: values(sharded, e, *k) == values(single, e, *k), timeout=30)
            except AssertionError:
                raise AssertionError(f"{what}: sharded {values(sharded, expr, *keys)} != "
                                     f"unsharded {values(single, expr, *keys)}") from None
        # The truth itself: each rack's power is its PDU's (a PDU feeds one rack of six); domain loads add up.
        racks = values(single, "farmwatch_rack_power_watts", "container", "rack")
        assert sorted(racks.values()) == sorted(round(sum(p.loads_w), 3) for p in handle.pdus)
        load = values(single, "farmwatch_power_domain_load_watts", "domain")
        assert load[("feed-A",)] == pytest.approx(load[("breaker-1",)] + load[("hall-2",)])
        assert values(single, "farmwatch_power_domain_unmeasured_members", "domain") == {
            ("feed-A",): 0.0, ("breaker-1",): 0.0, ("hall-2",): 0.0}

        # One PDU phase over its rating: one alert per topology, on that PDU and phase.
        hot = handle.pdus[1]
        overload(handle, hot, 0.95)
        for p in proms:
            await eventually(lambda p=p: firing(p, "FarmwatchPduPhaseOverloaded"), timeout=40)
            await asyncio.sleep(2)
            got = firing(p, "FarmwatchPduPhaseOverloaded")
            assert [(a["device"], a["phase"]) for a in got] == [(f"{hot.ip}:{port}", "1")]
        for expr, keys in checks.values():
            await eventually(lambda e=expr, k=keys: values(sharded, e, *k) == values(single, e, *k), timeout=20)
        for p in proms:
            assert rule_errors(p) == []
    finally:
        for p in proms:
            await asyncio.to_thread(p.stop)
        for a in agents:
            await a.stop()
        await handle.stop()
        await site.stop()
