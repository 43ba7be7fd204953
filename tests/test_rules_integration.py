"""The rules and dashboards against a real Prometheus scraping the agent on a simulated site.

Prometheus (Debian's package) loads farmwatch.rules.yml and a copy of farmwatch.alerts.yml whose `for:` windows
are cut to seconds. Every dashboard query that the miner collector can feed must return data; then a miner is
killed, a board pulled and a fan stopped, and exactly the matching alerts must fire, each on its own miner.
Panels that need PDUs, UPSes or GPUs (which the simulated site does not have) are only checked to parse.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.collector import CycleStats
from agent.config import EconomicsConfig
from agent.daemon import Agent
from agent.economics import economics_families
from agent.exposition import Families
from agent.scheduler import MinerGroup
from agent.sitemap import Location
from collectors.asic.poll import MinerSession
from simsite import SimSite
from tests.prom import PROMETHEUS, Prometheus, free_port

pytestmark = [pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed"),
              pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
NOT_SIMULATED = re.compile(r"farmwatch_(pdu|ups|gpu|power_domain)_|source=\"pdu\"")


@dataclass
class EconomicsCollector:
    """Stands in for the daemon's economics export: the configured prices as the agent's own series."""

    economics: EconomicsConfig
    name: str = "economics"
    interval: float = 1.0
    timeout: float = 0.5
    stats: CycleStats = field(default_factory=CycleStats)

    async def run_cycle(self) -> None:
        return None

    def families(self, fams: Families) -> None:
        economics_families(fams, self.economics)

    async def close(self) -> None:
        return None


class Plan:
    """Site map of the test: 2 containers x 2 racks x 2 shelves x 3 slots, one PDU per rack."""

    def __init__(self, ips: list[str]) -> None:
        self.by_ip: dict[str, Location] = {}
        for i, ip in enumerate(ips):
            c, r, rest = i // 12, (i // 6) % 2, i % 6
            self.by_ip[ip] = Location(container=f"C{c + 1}", rack=f"R{r + 1}", shelf=str(rest // 3 + 1),
                                      slot=str(rest % 3 + 1), pdu=f"pdu-c{c + 1}-r{r + 1}", outlet=str(rest + 1))

    def locate(self, *, ip: str | None = None, mac: str | None = None, serial: str | None = None) -> Location | None:
        return self.by_ip.get(ip or "")


class RulesPrometheus(Prometheus):
    def __init__(self, workdir: Path, target: str, rule_files: list[Path]) -> None:
        assert PROMETHEUS is not None
        self.port = free_port()
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": "farmwatch",
                                "static_configs": [{"targets": [target], "labels": {"site": "it"}}]}],
        }))
        self.log = (workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self._wait_ready(60)

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def firing(self) -> set[tuple[str, str]]:
        out = set()
        for a in self.get("/api/v1/alerts")["alerts"]:
            if a["state"] == "firing":
                lab = a["labels"]
                out.add((lab["alertname"], lab.get("device") or lab.get("url") or lab.get("rack") or ""))
        return out


def fast_alerts(tmp_path: Path) -> Path:
    doc = yaml.safe_load((REPO / "rules" / "farmwatch.alerts.yml").read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "3s"
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def dashboard_queries() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted((REPO / "dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        for p in dash["panels"]:
            for t in p.get("targets", []):
                out.append((path.name, p["title"], t["expr"]))
    return out


async def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        last = await asyncio.to_thread(check)
        if last:
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"condition not met in {timeout}s; last value {last!r}")


async def settle(prom: RulesPrometheus, expected: set[tuple[str, str]], timeout: float) -> None:
    """Wait until exactly ``expected`` fires; on failure, say what fired instead."""
    end = time.monotonic() + timeout
    got: set[tuple[str, str]] = set()
    while time.monotonic() < end:
        got = await asyncio.to_thread(prom.firing)
        if got == expected:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"firing {sorted(got)}, expected {sorted(expected)}")


async def test_rules_and_dashboards_on_a_simulated_site(tmp_path: Path) -> None:
    site = SimSite.build(count=24, seed=23, base_ip="127.44.0.1", latency_ms=(1.0, 3.0))
    await site.start()
    plan = Plan([m.ip for m in site.miners])
    group = MinerGroup(name="it", sessions=[MinerSession(host=m.ip, port=m.port) for m in site.miners],
                       interval=1.0, timeout=0.8)
    econ = EconomicsCollector(EconomicsConfig(hashprice_usd_per_th_day=0.05, energy_price_usd_per_kwh=0.06,
                                              site_power_limit_watts=10_000_000))
    agent = Agent(site="it", groups=[group], listen="127.0.0.1:0", sitemap=plan, collectors=[econ])
    await agent.start()
    assert agent.bound is not None
    rules = [REPO / "rules" / "farmwatch.rules.yml", fast_alerts(tmp_path)]
    prom = await asyncio.to_thread(RulesPrometheus, tmp_path, f"127.0.0.1:{agent.bound[1]}", rules)
    try:
        await eventually(lambda: len(prom.query('farmwatch_miner_info{rack!=""} * on(instance, device) '
                                                'group_left() farmwatch_miner_up == 1')) == 24)
        await eventually(lambda: prom.query("site:farmwatch_miner_margin_usd_per_day:sum"))

        # A miner that reports everything the miner-detail dashboard shows.
        full = ("farmwatch_miner_uptime_seconds and on(device) farmwatch_miner_power_watts "
                "and on(device) farmwatch_miner_pool_up and on(device) farmwatch_miner_board_chips "
                "and on(device) farmwatch_miner_fan_speed_rpm and on(device) farmwatch_miner_board_temperature_celsius "
                "and on(device) farmwatch_miner_state{state=\"hashing\"}")
        device = (await eventually(lambda: prom.query(full)))[0]["metric"]["device"]
        await asyncio.sleep(3)  # a few scrapes for rate() windows

        # Every dashboard query parses; every one the simulated site can feed returns data.
        empty = []
        for name, title, expr in dashboard_queries():
            q = (expr.replace("$__rate_interval", "15s").replace("$device", device)
                 .replace("$site", ".*").replace("$container", ".*").replace("$rack", ".*").replace("$model", ".*"))
            await asyncio.to_thread(prom.get, "/api/v1/format_query", query=q)
            if not NOT_SIMULATED.search(q) and not await asyncio.to_thread(prom.query, q):
                empty.append(f"{name}: {title}: {q}")
        assert empty == [], "dashboard queries without data:\n" + "\n".join(empty)

        # Pools that no miner sees alive are the only thing a healthy simulated site alerts on.
        urls: dict[str, set[str]] = {}
        for m in site.miners:
            for p in m.truth()["pools"]:
                urls.setdefault(p["url"], set()).add(p["status"])
        baseline = {("FarmwatchPoolDead", url) for url, states in urls.items() if "alive" not in states}
        await settle(prom, baseline, 20)

        # Victims: miners of known models that report boards and fans, not the detail-dashboard miner.
        fans = {s["metric"]["device"] for s in prom.query("farmwatch_miner_expected_fans > 0 and on(device) "
                                                          "count by (device) (farmwatch_miner_fan_speed_rpm)")}
        boards = {s["metric"]["device"] for s in prom.query("farmwatch_miner_expected_boards > 1 and on(device) "
                                                            "count by (device) (farmwatch_miner_board_chips)")}
        by_device = {f"{m.ip}:{m.port}": m for m in site.miners}
        candidates = sorted((fans & boards) - {device})
        assert len(candidates) >= 3, candidates
        dead, pulled, stopped = (by_device[d] for d in candidates[:3])
        site.set_fault(dead.ip, "refuse")
        site.set_fault(pulled.ip, "missing_board")
        site.set_fault(stopped.ip, "dead_fan")
        expected = baseline | {
            ("FarmwatchMinerDown", f"{dead.ip}:{dead.port}"),
            ("FarmwatchMinerHashboardMissing", f"{pulled.ip}:{pulled.port}"),
            ("FarmwatchMinerFanDead", f"{stopped.ip}:{stopped.port}"),
        }
        await settle(prom, expected, 40)
        await asyncio.sleep(3)
        assert prom.firing() == expected
        # The alerts carry the site map location that Alertmanager's inhibition and technicians use.
        down = [a for a in prom.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == "FarmwatchMinerDown"]
        loc = plan.by_ip[dead.ip]
        assert {k: down[0]["labels"][k] for k in ("container", "rack", "shelf", "slot", "pdu")} == {
            "container": loc.container, "rack": loc.rack, "shelf": loc.shelf, "slot": loc.slot, "pdu": loc.pdu}
    finally:
        await asyncio.to_thread(prom.stop)
        await agent.stop()
        await site.stop()
