"""A collector whose own cycle fails is visible (docs/architecture.md, "Health"): `farmwatch_collector_success`
goes to 0 at once, a failure to build its metric families is counted, and `/healthz` answers 503 once the
failure persists (three in a row), then 200 again after one good cycle. Over the agent's real HTTP server on
loopback; the collector is the agent's own collector loop driving a collector that has a bug on demand."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import aiohttp
import pytest

from agent.daemon import Agent
from collectors.collector import FAILED_IN_A_ROW, CycleStats
from collectors.families import Families

pytestmark = pytest.mark.asyncio


class Flaky:
    """A collector with a bug that can be switched on: its cycle raises, or building its families raises."""

    name = "flaky"
    interval = 0.05
    timeout = 0.05

    def __init__(self) -> None:
        self.stats = CycleStats()
        self.cycle_fails = False
        self.families_fail = False

    async def run_cycle(self) -> None:
        if self.cycle_fails:
            raise RuntimeError("a bug in the cycle")

    def families(self, fams: Families) -> None:
        if self.families_fail:
            raise KeyError("a bug in the families")
        fams.get("farmwatch_flaky_value", "gauge", "A value of the flaky collector.").add("", 1)

    async def close(self) -> None:
        pass


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):  # bounded: 20 s; a cycle takes 0.05 s
        if check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never: {what}")


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as r:
        return r.status, await r.text()


def success(body: str) -> str | None:
    m = re.search(r'^farmwatch_collector_success\{collector="flaky"\} (\S+)$', body, re.M)
    return m.group(1) if m else None


async def test_a_failing_collector_is_visible_in_metrics_and_turns_healthz_red_when_it_persists() -> None:
    c = Flaky()
    agent = Agent(site="t", groups=[], listen="127.0.0.1:0", collectors=[c])
    await agent.start()
    try:
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        async with aiohttp.ClientSession() as http:
            await until(lambda: c.stats.cycles >= 2, "two good cycles")
            status, body = await fetch(http, f"{base}/metrics")
            assert success(body) == "1"
            assert 'farmwatch_collector_family_errors_total{collector="flaky"} 0' in body
            assert (await fetch(http, f"{base}/healthz"))[0] == 200

            # The cycle breaks: at once 0 in /metrics; /healthz stays green until it persists.
            c.cycle_fails = True
            await until(lambda: c.stats.cycles_failed_in_a_row >= 1, "a failed cycle")
            await until(lambda: c.stats.cycles_failed_in_a_row >= FAILED_IN_A_ROW, "failure that persists")
            status, body = await fetch(http, f"{base}/metrics")
            assert success(body) == "0"
            status, text = await fetch(http, f"{base}/healthz")
            assert status == 503
            assert "flaky: cycle failed: RuntimeError" in text

            # Fixed: one good cycle is enough to be green and 1 again.
            c.cycle_fails = False
            await until(lambda: c.stats.cycles_failed_in_a_row == 0, "a good cycle")
            await until(lambda: c.stats.families_failed_in_a_row == 0 and c.stats.last_cycle_ok is True, "rendered")
            status, body = await fetch(http, f"{base}/metrics")
            assert success(body) == "1"
            assert (await fetch(http, f"{base}/healthz"))[0] == 200

            # Its families break: counted, its series gone, success 0, red once it persists.
            c.families_fail = True
            await until(lambda: c.stats.families_failed_in_a_row >= FAILED_IN_A_ROW, "families failing")
            status, body = await fetch(http, f"{base}/metrics")
            assert success(body) == "0"
            errors = re.search(r'^farmwatch_collector_family_errors_total\{collector="flaky"\} (\d+)', body, re.M)
            assert errors and int(errors.group(1)) >= FAILED_IN_A_ROW
            status, text = await fetch(http, f"{base}/healthz")
            assert status == 503
            assert "building its metric families failed: KeyError" in text
    finally:
        await agent.stop()


async def test_before_its_first_cycle_a_collector_has_no_success_series() -> None:
    """Unknown is not failed: no `farmwatch_collector_success` until a cycle ran (never a 0 at start-up)."""
    c = Flaky()
    agent = Agent(site="t", groups=[], listen="127.0.0.1:0", collectors=[c])
    names = {f.name for f in agent._families()}
    assert "farmwatch_collector_success" not in names
    assert "farmwatch_collector_family_errors" in names
