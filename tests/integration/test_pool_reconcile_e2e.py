"""Pool-side reconciliation end to end (issue 18.3): simulated miners, a Braiins-format pool API served on
loopback (replies written here from the pool's documented format, computed from the simulated miners' own
hashrate), the agent reading both, and a real Prometheus with the rules and alerts.

Two workers of 10,000 shares an hour each: the pool credits one 2.5 % less than its miner reports (the normal
gap: quiet) and the other 20 % less (FarmwatchPoolHashrateShortfall, with the pool and worker named). The gap
records equal what the pool served against what the miners reported, to within the miners' drift.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from agent.runtime import agent_from_config
from simsite import SimSite
from tests.support.prom import PROMETHEUS, eventually, free_port
from tests.support.rules import REPO, RulesPrometheus, fast_alerts

pytestmark = [pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed"),
              pytest.mark.slow]


async def test_a_worker_the_pool_credits_far_less_pages_and_the_normal_gap_does_not(tmp_path: Path) -> None:
    site = SimSite.build(count=6, seed=37, base_ip="127.199.1.1", latency_ms=(1.0, 2.0))
    await site.start()
    # Two miners mining on exactly one active pool: each is one worker.
    single = [m for m in site.miners if sum(1 for p in m.pool_specs if p.active) == 1 and m.hashrate_ths > 0]
    fair, short = single[:2]
    credit = {next(p.user for p in m.pool_specs if p.active): (m, factor) for m, factor in ((fair, 0.975),
                                                                                            (short, 0.80))}

    async def workers(request: web.Request) -> web.Response:
        if request.headers.get("Pool-Auth-Token") != "tok":
            return web.Response(status=401)
        body = {name: {"state": "ok", "last_share": 1733380000, "hash_rate_unit": "Gh/s",
                       "hash_rate_5m": m.hashrate_ths * 1000 * f, "hash_rate_60m": m.hashrate_ths * 1000 * f,
                       "hash_rate_24h": m.hashrate_ths * 1000 * f, "shares_5m": 833, "shares_60m": 10000,
                       "shares_24h": 240000} for name, (m, f) in credit.items()}
        return web.Response(text=json.dumps({"btc": {"workers": body}}), content_type="application/json")

    app = web.Application()
    app.router.add_get("/accounts/workers/json/btc/", workers)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.199.1.200", 0).start()
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "it", "listen": f"127.0.0.1:{free_port()}", "gpus": {"enabled": False},
        "miners": [{"targets": [m.ip for m in site.miners], "interval": "1s", "timeout": "800ms"}],
        "pool_api": {"interval": "10s", "accounts": [
            {"name": "braiins", "api": "braiins", "token_file": "token",
             "url": f"http://127.199.1.200:{runner.addresses[0][1]}"}]}}))
    agent = agent_from_config(tmp_path / "site.yaml")
    prom = None
    try:
        await agent.start()
        assert agent.bound is not None
        prom = await asyncio.to_thread(RulesPrometheus, tmp_path / "prom", f"127.0.0.1:{agent.bound[1]}",
                                       [REPO / "rules" / "pools.rules.yml", fast_alerts(tmp_path)])
        p = prom

        def gaps() -> dict[str, float]:
            return {s["metric"]["worker"]: float(s["value"][1])
                    for s in p.query("worker:farmwatch_pool_hashrate_gap:ratio")}

        got = await eventually(lambda: (g := gaps()).keys() == set(credit) and g, 60)
        by = {m: name for name, (m, _f) in credit.items()}
        # The miners' hashrate drifts a little between the pool's reply and their polls.
        assert got[by[fair]] == pytest.approx(0.025, abs=0.02) and got[by[short]] == pytest.approx(0.20, abs=0.02)
        allowed = {s["metric"]["worker"]: float(s["value"][1])
                   for s in p.query("worker:farmwatch_pool_hashrate_gap_allowed:ratio")}
        assert allowed == {name: pytest.approx(0.03 + 3 / 100) for name in credit}

        def shortfall() -> set[tuple[str, str]]:
            return {(a["labels"]["pool"], a["labels"]["worker"]) for a in p.alerts()
                    if a["labels"]["alertname"] == "FarmwatchPoolHashrateShortfall"}

        assert await eventually(lambda: shortfall() == {("braiins", by[short])}, 30)
        await asyncio.sleep(5)  # and the fair worker stays quiet
        assert shortfall() == {("braiins", by[short])}
        alert = next(a for a in p.alerts() if a["labels"]["alertname"] == "FarmwatchPoolHashrateShortfall")
        assert alert["labels"]["severity"] == "warning"
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        await agent.stop()
        await runner.cleanup()
        await site.stop()
