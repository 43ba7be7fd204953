"""Pools guarded (issue 18.3): ``pools:`` in site.yaml in both forms, the agent's verdict per pool, and the
alerts and fleet-wide share of hashrate on a simulated site scraped by a real Prometheus.

The site: six simulated miners whose pools are the simulator's public pool hosts, worker ``farm23.wNNNNN``. The
config allows those hosts for the account ``farm23`` only. One miner is then pointed at a foreign pool, another
keeps its pool but mines as someone else's worker: exactly those two raise FarmwatchUnknownPool, and the share of
the site's hashrate on the foreign pool equals that miner's share of the simulated hashrate.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
import yaml

from agent.config import check_config
from agent.floor.problems import reading_problems
from agent.runtime import agent_from_config
from collectors.asic.metrics import pool_families
from collectors.asic.pools import AllowedPool, PoolPolicy, pool_key
from collectors.asic.reading import MinerReading, Pool
from collectors.families import Families
from simsite import SimSite
from tests.support.prom import PROMETHEUS, eventually, free_port
from tests.support.rules import REPO, RulesPrometheus, fast_alerts

HOSTS = ["stratum+tcp://btc.global.luxor.tech:700", "ss.antpool.com:3333", "stratum.braiins.com:3333",
         "stratum+tcp://btc.f2pool.com:1314", "sha256.poolbinance.com"]


def policy(*entries: tuple[str, str | None]) -> PoolPolicy:
    return PoolPolicy(tuple(AllowedPool(u, pool_key(u) or "", user) for u, user in entries))


def test_a_pool_and_worker_are_judged_by_host_port_and_worker_glob() -> None:
    p = policy(("stratum+tcp://pool.example:3333", "acct.*"), ("backup.example", None))
    assert p.allows("stratum+tcp://Pool.Example:3333/x", "ACCT.w1") is True  # case of host and worker ignored
    assert p.allows("stratum+tcp://pool.example:3333", "thief.w1") is False
    assert p.allows("stratum+tcp://acct.w9@pool.example:3333", None) is True  # worker from the URL
    assert p.allows("stratum+tcp://pool.example:3333", None) is None  # worker unknown: cannot be told
    assert p.allows("stratum+tcp://pool.example:4444", "acct.w1") is False  # another port
    assert p.allows("stratum+ssl://backup.example:443", None) is True  # host without port, any worker
    assert p.allows("stratum+tcp://evil.example:3333", "acct.w1") is False


def test_floor_names_the_foreign_pool_or_the_foreign_worker() -> None:
    p = policy(("stratum+tcp://pool.example:3333", "acct.*"))
    r = MinerReading(device="d", driver="antminer", state="hashing", pools=[
        Pool("stratum+tcp://pool.example:3333", "thief.x", "alive", index=0, active=True),
        Pool("stratum+tcp://evil.example:3333", "acct.w1", "alive", index=1, active=False)])
    got = [(x.text, x.severity) for x in reading_problems(r, 4, p)]
    assert got == [("unknown worker thief.x on pool.example:3333", "fault"), ("unknown pool evil.example:3333", "fault")]


def test_metrics_say_allowed_share_and_fee_pools() -> None:
    r = MinerReading(device="10.0.0.1:4028", driver="vnish", state="hashing", hashrate_ths=100.0, pools=[
        Pool("stratum+tcp://pool.example:3333", "acct.w1", "alive", index=0, active=True),
        Pool("stratum+tcp://evil.example:3333", None, "alive", index=1, active=False)],
        fee_pools=[Pool("DevFee", "DevFee", index=2)])
    fams = Families()
    pool_families(fams, r.device, r, policy(("pool.example:3333", "acct.*"), ("evil.example:3333", "acct.*")))
    text = "".join(f.body() for f in fams)
    assert 'farmwatch_miner_pool_allowed{device="10.0.0.1:4028",pool="0"} 1\n' in text
    assert 'farmwatch_miner_pool_allowed{device="10.0.0.1:4028",pool="1"}' not in text  # worker unknown: no sample
    assert ('farmwatch_miner_pool_hashrate_share{device="10.0.0.1:4028",pool="0",pool_host="pool.example",'
            'account="acct"} 1\n') in text
    assert 'farmwatch_miner_fee_pool_info{device="10.0.0.1:4028",pool_host="devfee",user="DevFee"} 1\n' in text
    fams = Families()
    pool_families(fams, r.device, r, PoolPolicy())  # no pools: in the config: nothing judged
    assert "pool_allowed" not in "".join(f.body() for f in fams)


def test_both_forms_load_and_a_bad_entry_names_file_line_key(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text('site: s\nminers:\n  - targets: ["10.0.0.1"]\npools:\n  allowed:\n'
                    '    - {url: "stratum+tcp://pool.example:3333", user: "acct.*"}\n'
                    '    - url: backup.example\n'
                    '    - {user: "acct.*"}\n'
                    '    - {url: "bad url/", user: "x"}\n')
    problems = [str(p) for p in check_config(path, check_secrets=False)]
    assert len(problems) == 2, problems
    assert "site.yaml:8" in problems[0] and "pools.allowed[2]" in problems[0] and "missing url" in problems[0]
    assert "site.yaml:9" in problems[1] and "pools.allowed[3].url" in problems[1]
    path.write_text('site: s\nminers:\n  - targets: ["10.0.0.1"]\npools: {allow: []}\n')
    problems = [str(p) for p in check_config(path, check_secrets=False)]
    assert problems and "pools" in problems[0] and "allow" in problems[0], problems


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed")
async def test_a_hijacked_miner_pages_and_the_pool_view_shows_where_the_hashrate_goes(tmp_path: Path) -> None:
    site = SimSite.build(count=6, seed=23, base_ip="127.182.0.1", latency_ms=(1.0, 2.0))
    await site.start()
    foreign, stranger = site.miners[1], site.miners[4]
    foreign.pool_specs[0] = dataclasses.replace(foreign.pool_specs[0], url="stratum+tcp://evil.example:3333")
    stranger.pool_specs[0] = dataclasses.replace(stranger.pool_specs[0], user="thief.rig1")
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "guard", "listen": f"127.0.0.1:{free_port()}", "gpus": {"enabled": False},
        "pools": {"allowed": [{"url": h, "user": "farm23.*"} for h in HOSTS]},
        "miners": [{"targets": [m.ip for m in site.miners], "timeout": "0.8s", "interval": "1s"}]}))
    agent = agent_from_config(tmp_path / "site.yaml")
    prom = None
    try:
        await agent.start()
        assert agent.bound is not None
        rules = [REPO / "rules" / "pools.rules.yml", fast_alerts(tmp_path)]
        prom = await asyncio.to_thread(RulesPrometheus, tmp_path / "prom", f"127.0.0.1:{agent.bound[1]}", rules)
        p = prom

        def unknown() -> set[str]:
            return {a["labels"]["device"] for a in p.alerts() if a["labels"]["alertname"] == "FarmwatchUnknownPool"}

        want = {f"{foreign.ip}:{foreign.port}", f"{stranger.ip}:{stranger.port}"}
        await eventually(lambda: unknown() == want, 60)
        alert = next(a for a in p.alerts() if a["labels"]["alertname"] == "FarmwatchUnknownPool"
                     and a["labels"]["device"] == f"{foreign.ip}:{foreign.port}")
        assert alert["labels"]["url"] == "stratum+tcp://evil.example:3333"
        assert alert["labels"]["severity"] == "critical"
        # The share of the site's hashrate on the foreign pool: that miner's part of what the hashing miners do.
        ratio = await eventually(lambda: p.query('pool:farmwatch_miner_hashrate:ratio{pool_host="evil.example"}'))
        rates = {s["metric"]["device"]: float(s["value"][1]) for s in p.query(
            "farmwatch_miner_hashrate_hashes_per_second and on(device) farmwatch_miner_pool_hashrate_share")}
        assert float(ratio[0]["value"][1]) == pytest.approx(rates[f"{foreign.ip}:{foreign.port}"] / sum(rates.values()),
                                                            rel=0.02)
        assert ratio[0]["metric"]["account"] == foreign.pool_specs[0].user.split(".")[0]
        thief = p.query('pool:farmwatch_miners:count{account="thief"}')
        assert [float(s["value"][1]) for s in thief] == [1.0]
        # Nothing else pages on this healthy site.
        assert {a["labels"]["alertname"] for a in p.alerts()} <= {"FarmwatchUnknownPool", "FarmwatchPoolDead"}
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        await agent.stop()
        await site.stop()
