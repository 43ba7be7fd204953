"""The agent against a simulated site over real loopback sockets: what it reports, how faults stay contained,
what it serves over HTTP, and that it only ever sends reads."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from agent.daemon import Agent
from collectors.asic.rpc import READ_COMMANDS
from simsite import SimSite
from tests.support.simulated import make_agent

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def site() -> AsyncIterator[SimSite]:
    s = SimSite.build(count=60, seed=5, base_ip="127.41.0.1", latency_ms=(1.0, 3.0))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def sent_commands(site: SimSite) -> set[str]:
    return {c for r in site.requests for c in r.commands}


async def test_every_miner_read_and_matches_the_simulated_truth(site: SimSite) -> None:
    agent, group = make_agent(site)
    await agent.scheduler.run_cycle(group)
    firmwares = set()
    for m in site.miners:
        state = agent.store.devices[f"{m.ip}:{m.port}"]
        assert state.up, (m.firmware, state.error_reason, state.error_message)
        r = state.reading
        assert r is not None
        truth = m.truth()
        firmwares.add(r.driver)
        assert r.driver == m.firmware
        assert r.hashrate_ths == pytest.approx(truth["hashrate_ths"], rel=0.02)
        assert len(r.boards) == len(truth["boards"])
        assert [b.chips for b in r.boards] == [b["chips"] for b in truth["boards"]]
        assert r.fans_rpm == truth["fans_rpm"]
        assert r.state == truth["state"]
        assert len(r.pools) == len(truth["pools"])
        if truth.get("power_w") is not None:
            assert r.power_w == pytest.approx(truth["power_w"], rel=0.02)
        else:
            assert r.power_w is None
    assert len(firmwares) >= 5  # the default fleet is mixed
    assert sent_commands(site) <= READ_COMMANDS


@pytest.mark.parametrize(
    "fault, reason",
    [("hang", "timeout"), ("refuse", "refused"), ("reset", "reset"), ("truncated", "parse"),
     ("malformed", None), ("huge", "protocol")],
)
async def test_a_broken_miner_is_down_with_a_reason_and_touches_nobody_else(
    site: SimSite, fault: str, reason: str | None
) -> None:
    agent, group = make_agent(site, timeout=1.0)
    await agent.scheduler.run_cycle(group)  # identify everyone first
    victim = site.miners[3]
    site.set_fault(victim.ip, fault)
    t0 = time.monotonic()
    await agent.scheduler.run_cycle(group)
    assert time.monotonic() - t0 < 1.0 + 0.8  # the cycle ends at the deadline, not after the hung miner
    bad = agent.store.devices[f"{victim.ip}:{victim.port}"]
    assert not bad.up and bad.reading is None
    if reason is not None:
        assert bad.error_reason == reason, bad.error_message
    else:
        assert bad.error_reason in ("parse", "protocol")
    others = [d for dev, d in agent.store.devices.items() if dev != f"{victim.ip}:{victim.port}"]
    assert all(d.up for d in others)
    site.set_fault(victim.ip, None)
    bad.next_attempt = 0.0
    await agent.scheduler.run_cycle(group)
    assert agent.store.devices[f"{victim.ip}:{victim.port}"].up


async def test_http_endpoints_serve_the_cached_cycle(site: SimSite) -> None:
    agent, group = make_agent(site)
    await agent.start()
    try:
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
            headers = {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"}
            for _ in range(200):  # the first cycle runs in the background; its render follows it (bounded: 20 s)
                async with http.get(f"{base}/metrics", headers=headers) as r:
                    assert r.status == 200
                    assert r.headers["Content-Encoding"] == "gzip"
                    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
                    body = gzip.decompress(await r.read()).decode()
                if "farmwatch_miner_up{" in body:
                    break
                await asyncio.sleep(0.1)
            assert group.stats.cycles >= 1
            assert body.endswith("# EOF\n")
            for m in site.miners:
                assert f'farmwatch_miner_up{{device="{m.ip}:{m.port}"}} 1' in body
                assert f'farmwatch_miner_hashrate_hashes_per_second{{device="{m.ip}:{m.port}"}}' in body
            async with http.get(f"{base}/metrics", headers={"Accept-Encoding": "identity"}) as r:
                assert "Content-Encoding" not in r.headers
                text = await r.text()
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                assert "# EOF" not in text
            if shutil.which("promtool"):
                proc = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                                      timeout=60)
                assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), (
                    proc.stdout.decode() + proc.stderr.decode())
            async with http.get(f"{base}/", headers={"Accept-Encoding": "identity"}) as r:  # no auto_decompress
                page = await r.text()
                assert "miners up" in page and f"{len(site.miners)}" in page
    finally:
        await agent.stop()


async def test_down_miner_loses_value_series_but_keeps_identity(site: SimSite) -> None:
    agent, group = make_agent(site, timeout=1.0)
    await agent.scheduler.run_cycle(group)
    victim = site.miners[0]
    device = f"{victim.ip}:{victim.port}"
    site.set_fault(victim.ip, "refuse")
    await agent.scheduler.run_cycle(group)
    text = agent.rendered().text.decode()
    lines = [ln for ln in text.splitlines() if f'device="{device}"' in ln]
    names = {ln.split("{")[0] for ln in lines}
    assert names == {"farmwatch_miner_up", "farmwatch_miner_last_success_timestamp_seconds",
                     "farmwatch_miner_error_info", "farmwatch_miner_info"}
    info = next(ln for ln in lines if ln.startswith("farmwatch_miner_info"))
    assert f'model="{agent.store.devices[device].identity.model}"' in info


async def test_poll_json_contract_over_the_cli(site: SimSite) -> None:
    m = site.miners[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "poll", f"{m.ip}:{m.port}", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    doc = json.loads(out)
    for key in ("device", "driver", "make", "model", "algorithm", "firmware", "firmware_version", "mac",
                "serial", "hostname", "state", "hashrate_ths", "expected_hashrate_ths", "power_w",
                "power_source", "efficiency_jth", "fans_rpm", "boards", "pools", "uptime_s", "errors"):
        assert key in doc
    assert doc["device"] == f"{m.ip}:{m.port}"
    assert doc["hashrate_ths"] > 0


async def test_sleeping_pulled_board_and_dead_fan_are_reported_as_such() -> None:
    site = SimSite.build(count=120, seed=9, base_ip="127.44.0.1", latency_ms=(1.0, 3.0),
                         faults={"sleeping": 0.15, "missing_board": 0.15, "dead_fan": 0.15})
    async with site:
        agent, group = make_agent(site)
        await agent.scheduler.run_cycle(group)
        seen = set()
        for m in site.miners:
            r = agent.store.devices[f"{m.ip}:{m.port}"].reading
            assert r is not None
            truth = m.truth()
            assert r.state == truth["state"], (m.firmware, m.model, m.fault)
            if m.fault in ("missing_board", "dead_fan"):
                seen.add(m.fault)
                assert [b.chips for b in r.boards] == [b["chips"] for b in truth["boards"]], m.firmware
                assert r.fans_rpm == truth["fans_rpm"], m.firmware
            if m.fault == "missing_board":
                assert r.state == "degraded" and 0 in [b.chips for b in r.boards]
            if m.fault == "dead_fan":
                assert 0 in r.fans_rpm
            if m.fault == "sleeping":
                seen.add("sleeping")
                assert r.state == "sleeping"
        assert seen == {"sleeping", "missing_board", "dead_fan"}


def _series(agent: Agent, device: str) -> dict[str, float]:
    """Every sample of ``device`` in the exposition /metrics serves now, by name and labels."""
    out = {}
    for line in agent.rendered().text.decode().splitlines():
        if f'device="{device}"' in line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


@pytest.mark.parametrize("fault, reason", [("hang", "timeout"), ("malformed", None), ("refuse", "refused")])
async def test_stale_values_are_never_served_as_current(site: SimSite, fault: str, reason: str | None) -> None:
    """Through failure, backoff and recovery: while a miner does not answer, none of its value series is served
    (not the last good value either); `up` 0, its last success time (unchanged) and the reason stay visible."""
    agent, group = make_agent(site, timeout=1.0)
    victim = site.miners[2]
    device = f"{victim.ip}:{victim.port}"
    value_names = ("farmwatch_miner_hashrate_hashes_per_second", "farmwatch_miner_fan_speed_rpm",
                   "farmwatch_miner_board_chips", "farmwatch_miner_pool_accepted_shares_total",
                   "farmwatch_miner_uptime_seconds", "farmwatch_miner_state")
    await agent.scheduler.run_cycle(group)
    good = _series(agent, device)
    assert all(any(k.startswith(n) for k in good) for n in value_names), sorted(good)
    last_ok = good[f'farmwatch_miner_last_success_timestamp_seconds{{device="{device}"}}']
    site.set_fault(victim.ip, fault)
    for _cycle in range(4):  # failing, then backing off (skipped cycles must not bring values back either)
        site.advance()
        await agent.scheduler.run_cycle(group)
        now = _series(agent, device)
        kept = {k.split("{")[0] for k in now}
        assert kept <= {"farmwatch_miner_up", "farmwatch_miner_last_success_timestamp_seconds",
                        "farmwatch_miner_error_info", "farmwatch_miner_info"}, sorted(kept)
        assert now[f'farmwatch_miner_up{{device="{device}"}}'] == 0
        assert now[f'farmwatch_miner_last_success_timestamp_seconds{{device="{device}"}}'] == last_ok
        errors = [k for k in now if k.startswith("farmwatch_miner_error_info")]
        assert len(errors) == 1
        if reason is not None:  # the same reason on every failing cycle, re-identification included
            assert f'reason="{reason}"' in errors[0]
        # Everyone else keeps fresh values.
        other = f"{site.miners[0].ip}:{site.miners[0].port}"
        assert f'farmwatch_miner_hashrate_hashes_per_second{{device="{other}"}}' in _series(agent, other)
    site.set_fault(victim.ip, None)
    agent.store.devices[device].next_attempt = 0.0  # end the backoff now rather than wait it out
    site.advance()
    await agent.scheduler.run_cycle(group)
    back = _series(agent, device)
    assert back[f'farmwatch_miner_up{{device="{device}"}}'] == 1
    assert back[f'farmwatch_miner_last_success_timestamp_seconds{{device="{device}"}}'] > last_ok
    assert not [k for k in back if k.startswith("farmwatch_miner_error_info")]
    assert f'farmwatch_miner_hashrate_hashes_per_second{{device="{device}"}}' in back



class _StopsTheAgentCollector:
    """A collector whose second cycle asks the agent to stop and returns at once: the cancel then lands just as
    the cycle finishes, the moment where Python 3.11's asyncio.wait_for swallows a cancel."""

    name = "stopper"
    interval = 0.05
    timeout = 5.0

    def __init__(self) -> None:
        from collectors.collector import CycleStats

        self.stats = CycleStats()
        self.agent: Agent | None = None
        self.stop_task: asyncio.Task[None] | None = None
        self.closed = False

    async def run_cycle(self) -> None:
        if self.stats.cycles == 1 and self.agent is not None:
            self.stop_task = asyncio.create_task(self.agent.stop())

    def families(self, fams: object) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


async def test_stop_landing_as_a_collector_cycle_ends_still_stops_the_agent() -> None:
    stopper = _StopsTheAgentCollector()
    agent = Agent(site="test", groups=[], listen="127.0.0.1:0", collectors=[stopper])
    stopper.agent = agent
    await agent.start()
    for _ in range(100):  # bounded: 5 s
        if stopper.stop_task is not None:
            break
        await asyncio.sleep(0.05)
    assert stopper.stop_task is not None
    await asyncio.wait_for(stopper.stop_task, 15)
    assert stopper.closed
    assert stopper.stats.cycles == 2  # no cycle ran after the stop
