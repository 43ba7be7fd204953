"""`farmwatch demo` shows the whole product: every Grafana panel query has data on it (issue 17, part 3).

The demo as `make demo` runs it (``agent.demo.run_demo``: the simulated site with its faults, site map, PDUs, UPS,
power domains, economics and GPUs), smaller and faster; a real Prometheus (Debian's package) scrapes it with
every recording rule loaded, and each query of each dashboard panel, with the dashboards' variables set to All,
must return at least one series. No query is exempt: the demo's faults (hung, refusing and malformed miners, a
pulled board, a dead fan, sleepers) give the down and sick panels their rows.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agent.daemon import Agent
from agent.demo import DRILL_DELAY_S, run_demo, started
from tests.support.prom import PROMETHEUS, eventually
from tests.support.rules import (
    REPO,
    RULE_FILES,
    RulesPrometheus,
    dashboard_queries,
    variable_queries,
)

pytestmark = [pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed"),
              pytest.mark.slow]

# Queries that may legitimately be empty on the demo, with the reason. None: the demo declares a curtailment
# drill on rack R01 (agent/demo.py), so the Curtailment row has data too, and its feed names its energy source.
EXEMPT: dict[str, str] = {}


async def test_every_dashboard_panel_has_data_on_the_demo(tmp_path: Path) -> None:
    got: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(run_demo(miners=240, seed=2, listen="127.0.0.1:0", interval=4.0,
                                        base_ip="127.150.0.1", snmp_base_ip="127.150.2.1", snmp_port=16171,
                                        on_agent=got.set_result))
    prom: RulesPrometheus | None = None
    try:
        agent = await started(demo, got)
        assert agent.bound is not None
        rules = [REPO / "rules" / f for f in (*RULE_FILES, "curtailment.rules.yml")]  # the demo has a drill
        prom = await asyncio.to_thread(RulesPrometheus, tmp_path, f"127.0.0.1:{agent.bound[1]}", rules)
        p = prom
        await eventually(lambda: p.query("site:farmwatch_miner_margin_usd_per_day:sum"), 90)
        await eventually(lambda: p.query('farmwatch_miner_power_watts{source="pdu"}'), 60)
        await eventually(lambda: p.query("farmwatch_miner_error_info"), 60)
        # 10 PDUs, a UPS and a switch, each read at least once (on a loaded machine one may miss a deadline now and
        # then: the panel checks below allow for that)
        await eventually(lambda: p.query("count(max_over_time(farmwatch_snmp_up[2m]) == 1) == 12"), 90)
        device = (await eventually(lambda: p.query(
            'farmwatch_miner_uptime_seconds and on(device) farmwatch_miner_board_chips '
            'and on(device) farmwatch_miner_fan_speed_rpm and on(device) farmwatch_miner_power_watts '
            'and on(device) farmwatch_miner_state{state="hashing"} == 1'), 60))[0]["metric"]["device"]
        # The demo's curtailment drill (agent/demo.py) starts DRILL_DELAY_S after the agent: its sleepers measured.
        await eventually(lambda: p.query("window:farmwatch_curtailment_sleeping_power_watts:sum"), DRILL_DELAY_S + 60)
        await asyncio.sleep(4)  # a few scrapes for the rate() and increase() windows
        # On a loaded test machine an SNMP poll can miss its deadline for a cycle (its series then go stale): a
        # query counts as empty only when it stays empty for 30 s.
        empty = []
        pending = [(name, title, q) for name, title, q in dashboard_queries(device) if f"{name}: {title}" not in EXEMPT]
        end = time.monotonic() + 30
        while pending and time.monotonic() < end:
            pending = [x for x in pending if not await asyncio.to_thread(p.query, x[2])]
            if pending:
                await asyncio.sleep(1)
        empty = [f"{name}: {title}: {q}" for name, title, q in pending]
        for name, var, selector, label in variable_queries(device):
            if not await asyncio.to_thread(p.get, f"/api/v1/label/{label}/values", **{"match[]": selector}):
                empty.append(f"{name}: variable {var}")
        assert empty == [], f"{len(empty)} dashboard queries without data on the demo:\n" + "\n".join(empty)

        # The new Site overview tables carry the floor view's answers: where the sick miners are and why.
        attention = next(q for name, title, q in dashboard_queries(device) if title == "Needs attention")
        rows = await asyncio.to_thread(p.query, attention)
        problems = {r["metric"]["problem"] for r in rows}
        assert any(t.startswith("down: ") for t in problems), problems
        assert any(t.startswith("fan ") and t.endswith(" stopped") for t in problems), problems
        assert any(t.startswith("board ") and t.endswith(" missing") for t in problems), problems
        assert all(r["metric"].get("rack") and r["metric"].get("slot") for r in rows)
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
