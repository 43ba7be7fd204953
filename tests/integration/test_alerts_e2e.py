"""Issue 18's alerts end to end: a scripted simulated site, the agent, a real Prometheus with the rules and
alerts, and a real Alertmanager (Debian's prometheus-alertmanager with deploy/alertmanager.yml, inhibitions
included). What a NOC sees in Alertmanager is checked, by name and labels, while the faults last and after they
are gone.

The site: eight simulated miners on two simulated APC PDUs (rack R01: six, R02: two). The site allows the
simulator's pool hosts for account farm31 (the seed's) only; one miner of R02 is pointed at a foreign pool
(FarmwatchUnknownPool) and the other has every pool dead while it hashes (FarmwatchMinerHashingWithoutPool). A
curtailment window on R01 is POSTed to the agent's API with a bearer token; five of its miners sleep, one refuses
(MinerAwakeDuringCurtailment), so the rack stays above its target (CurtailmentTargetMissed). Then the pools are
put right and the window ends: every one of the four leaves Alertmanager.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import load_config
from agent.curtailment_api import ApiWindows
from simsite.curtail import ScriptedCurtailment, Step
from tests.support.alertmanager import ALERTMANAGER, Alertmanager
from tests.support.pdu_site import pdu_site
from tests.support.prom import PROMETHEUS, Prometheus, eventually
from tests.support.rules import REPO, fast_alerts

pytestmark = [pytest.mark.skipif(PROMETHEUS is None or ALERTMANAGER is None,
                                 reason="Debian packages prometheus and prometheus-alertmanager not installed"),
              pytest.mark.slow]
HOSTS = ["stratum+tcp://btc.global.luxor.tech:700", "ss.antpool.com:3333", "stratum.braiins.com:3333",
         "stratum+tcp://btc.f2pool.com:1314", "sha256.poolbinance.com"]
NAMES = ("CurtailmentTargetMissed", "MinerAwakeDuringCurtailment", "FarmwatchUnknownPool",
         "FarmwatchMinerHashingWithoutPool")


def prom_alerts(port: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5) as r:
        return list(json.load(r)["data"]["alerts"])


def post(url: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.load(r)


async def test_curtailment_and_pool_alerts_reach_alertmanager_and_clear(tmp_path: Path) -> None:
    metered = await pdu_site("e2e", count=8, seed=31, base_ip="127.198.0.1", snmp_ip="127.198.1.1")
    site, handle, rows, agent = metered.site, metered.handle, metered.rows, metered.agent
    rack = [m for m in site.miners if rows[m.ip]["rack"] == "R01"]
    foreign, orphan = [m for m in site.miners if rows[m.ip]["rack"] == "R02"]
    dev = {m.ip: f"{m.ip}:{m.port}" for m in site.miners}
    own_url = foreign.pool_specs[0].url
    foreign.pool_specs[0] = dataclasses.replace(foreign.pool_specs[0], url="stratum+tcp://evil.example:3333")
    own_pools = list(orphan.pool_specs)
    orphan.pool_specs[:] = [dataclasses.replace(p, alive=False) for p in own_pools]
    for m in (foreign, orphan):
        m.invalidate()
    # The config the agent runs with: the allowed pools and the API's token (the miners and PDUs come from the
    # simulated site's own map, as in tests/agent/test_curtailment.py).
    (tmp_path / "token").write_text("drill-token\n")
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "e2e", "miners": [{"targets": ["127.0.0.1"]}],
        "pools": {"allowed": [{"url": h, "user": "farm31.*"} for h in HOSTS]},
        "curtailment": {"api_token_file": "token"}}))
    agent.config = load_config(tmp_path / "site.yaml")
    agent.curtailment_api = ApiWindows(tmp_path / "state")
    (tmp_path / "state").mkdir()
    script = ScriptedCurtailment(site, handle.sim, {p.name: p for p in handle.pdus}, handle.locations,
                                 [m.ip for m in rack])
    refuser, sleepers = rack[0], rack[1:]
    am = prom = None
    try:
        await agent.start()
        assert agent.bound is not None
        am = await asyncio.to_thread(Alertmanager, tmp_path / "am")
        rules = [REPO / "rules" / f for f in ("farmwatch.rules.yml", "power.rules.yml", "curtailment.rules.yml",
                                              "pools.rules.yml")]
        prom = await asyncio.to_thread(Prometheus, tmp_path / "prom", {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in [*rules, fast_alerts(tmp_path)]],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am.port}"]}]}]},
            "scrape_configs": [{"job_name": "farmwatch", "static_configs": [
                {"targets": [f"127.0.0.1:{agent.bound[1]}"], "labels": {"site": "e2e"}}]}]})
        p, a = prom, am
        await eventually(lambda: len(p.query('farmwatch_miner_power_watts{source="pdu"}')) == 8, 30)

        # The window, declared the way a demand-response controller would: R01 down to what five sleeping
        # miners and half the refuser draw, which the refuser's full load keeps it above.
        start = time.time() + 8.0
        target_w = 5 * 25.0 + script.full_w[refuser.ip] / 2
        status, window = await asyncio.to_thread(
            post, f"http://127.0.0.1:{agent.bound[1]}/api/v1/curtailment", "drill-token",
            {"id": "drill-am", "start": start, "end": start + 40, "scope": {"rack": "R01"},
             "target_kw": target_w / 1000.0, "ramp": "4s", "baseline": "5s"})
        assert status == 201 and window["origin"] == "api"
        await script.run(start, [Step(1.0, m.ip, "sleep", 25.0) for m in sleepers])

        def held() -> dict[tuple[str, str], dict[str, Any]]:
            return {(x["labels"]["alertname"], x["labels"].get("device", x["labels"].get("window", ""))): x
                    for x in a.alerts() if x["labels"]["alertname"] in NAMES}

        want = {("CurtailmentTargetMissed", "drill-am"), ("MinerAwakeDuringCurtailment", dev[refuser.ip]),
                ("FarmwatchUnknownPool", dev[foreign.ip]), ("FarmwatchMinerHashingWithoutPool", dev[orphan.ip])}
        seen: dict[str, Any] = {}

        def all_four() -> dict[tuple[str, str], dict[str, Any]] | None:
            seen["am"] = sorted(h := held())
            seen["prometheus"] = sorted((x["labels"]["alertname"], x["state"]) for x in prom_alerts(p.port))
            return h if h.keys() == want else None

        try:
            got = await eventually(all_four, max(5.0, start + 38 - time.time()))
        except AssertionError:
            raise AssertionError(f"want {sorted(want)}; seen {seen}") from None
        assert time.time() < start + 40, "the curtailment alerts must be seen while the window is on"
        # What the NOC sees: who, where, how bad; and nothing of it muted by the inhibitions.
        assert all(x["status"]["state"] == "active" for x in got.values()), got
        missed = got[("CurtailmentTargetMissed", "drill-am")]["labels"]
        assert (missed["severity"], missed["site"], missed["window"]) == ("critical", "e2e", "drill-am")
        awake = got[("MinerAwakeDuringCurtailment", dev[refuser.ip])]["labels"]
        assert (awake["severity"], awake["window"], awake["rack"], awake["container"], awake["pdu"]) == \
            ("warning", "drill-am", "R01", "C1", rows[refuser.ip]["pdu"])
        assert awake["model"].endswith(refuser.model)  # "Avalon 1466": the make and model the miner reports
        hijack = got[("FarmwatchUnknownPool", dev[foreign.ip])]["labels"]
        assert (hijack["severity"], hijack["url"], hijack["rack"]) == ("critical", "stratum+tcp://evil.example:3333",
                                                                        "R02")
        nopool = got[("FarmwatchMinerHashingWithoutPool", dev[orphan.ip])]["labels"]
        assert (nopool["severity"], nopool["rack"]) == ("critical", "R02")
        # No other miner of the site is named by these alerts (the sleepers did their part).
        assert not {d for _n, d in held()} & {dev[m.ip] for m in sleepers}

        # Put right: the pools come back, the window ends. Every alert leaves Alertmanager.
        foreign.pool_specs[0] = dataclasses.replace(foreign.pool_specs[0], url=own_url)
        orphan.pool_specs[:] = own_pools
        for m in (foreign, orphan):
            m.invalidate()
        await eventually(lambda: not {k for k in held() if k[0].startswith("Farmwatch")}, 30)
        assert {k[0] for k in held()} == {"CurtailmentTargetMissed", "MinerAwakeDuringCurtailment"}  # still on
        await asyncio.sleep(max(0.0, start + 40 - time.time()))
        await eventually(lambda: not held(), 30)
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        if am is not None:
            await asyncio.to_thread(am.stop)
        await metered.stop()
