"""Energy accounted by power source (issue 18.2).

The power_domains file's `source` and `price_usd_per_kwh`, the source roots (a breaker under a feed is not counted
twice), the agent's integrated energy counter (gaps not bridged), and end to end: six simulated miners on two APC
PDUs, one PDU on a grid feed and one on a solar feed, one miner asleep, scraped by a real Prometheus with the rules;
`farmwatch report energy` gives kWh by source, rack and model, hashing vs curtailed, equal to the PDUs' loads
integrated over the period, and the rules price each source at its own price.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.energy import EnergyMeters
from agent.power_domains import read_power_domains
from collectors.asic.reading import MinerReading
from collectors.asic.store import DeviceState
from collectors.families import Families
from collectors.power.domains import PowerDomain, energy_sources
from tests.support.pdu_site import pdu_site
from tests.support.prom import PROMETHEUS, eventually
from tests.support.rules import REPO, RulesPrometheus


def test_sources_and_prices_read_and_roots_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "domains.yaml"
    path.write_text("domains:\n"
                    "  - {name: feed-A, budget_kw: 400, source: grid, price_usd_per_kwh: 0.06}\n"
                    "  - {name: breaker-A1, parent: feed-A, budget_kw: 100, source: grid}\n"
                    "  - {name: solar, budget_kw: 50, source: solar, price_usd_per_kwh: 0}\n"
                    "  - {name: bad, budget_kw: 5, price_usd_per_kwh: -1}\n")
    domains, problems = read_power_domains(path)
    assert [str(p) for p in problems] == [f"{path}:5: domains[3].price_usd_per_kwh: expected a price per kWh, at least 0"]
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    domains, problems = read_power_domains(path)
    assert problems == []
    assert energy_sources(domains) == {"feed-A": ("grid", 0.06), "solar": ("solar", 0.0)}


def _dev(at: float, watts: float | None, up: bool = True) -> DeviceState:
    return DeviceState(device="10.0.0.1:4028", up=up, polled=True, last_success=at,
                       reading=MinerReading(device="10.0.0.1:4028", driver="x", power_w=watts, power_source="reported"))


def test_the_integrated_counter_adds_trapezoids_and_never_bridges_a_gap() -> None:
    meters = EnergyMeters()
    for at, w in ((1000.0, 3000.0), (1060.0, 3200.0), (1060.0, 3200.0), (1120.0, 3200.0)):
        meters.update([_dev(at, w)])
    meters.update([_dev(1120.0 + 3600.0, 0.0)])  # an hour unseen: not integrated
    meters.update([_dev(1120.0 + 3660.0, 100.0)])
    fams = Families()
    meters.families(fams, [_dev(0, 1.0)])
    body = "".join(f.body() for f in fams)
    assert body == ('farmwatch_miner_energy_joules_total{device="10.0.0.1:4028",method="integrated"} '
                    f"{3100 * 60 + 3200 * 60 + 50 * 60}\n")
    fams = Families()
    meters.families(fams, [_dev(0, 1.0, up=False)])
    assert "".join(f.body() for f in fams) == ""  # a down miner keeps only its health series


def report(prom: RulesPrometheus, t_from: float, t_to: float) -> list[dict[str, object]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["report", "energy", "--prometheus", f"http://127.0.0.1:{prom.port}", "--from", str(t_from),
                   "--to", str(t_to), "--step", "1s", "--bucket", "20s", "--format", "json"])
    assert rc == 0
    return list(json.loads(out.getvalue()))


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed")
@pytest.mark.slow
async def test_energy_by_source_rack_and_state_equals_the_pdus_loads(tmp_path: Path) -> None:
    metered = await pdu_site("e", count=6, seed=29, base_ip="127.183.0.1", snmp_ip="127.183.1.1", outlets_per_pdu=3)
    site, handle, agent = metered.site, metered.handle, metered.agent
    asleep = site.miners[4]
    site.set_fault(asleep.ip, "sleeping")
    for pdu in handle.pdus:  # plain values: the outlets measure exactly these loads
        pdu.noise = False
    handle.pdus[1].loads_w[1] = 25.0  # the sleeping miner's outlet
    handle.sim.update(*handle.pdus)
    grid, solar = handle.pdus
    agent.power_domains = (
        PowerDomain(name="feed-grid", budget_w=1e6, pdus=(grid.name,), source="grid", price_usd_per_kwh=0.06),
        PowerDomain(name="feed-solar", budget_w=1e6, pdus=(solar.name,), source="solar", price_usd_per_kwh=0.02))
    try:
        rules = [REPO / "rules" / f for f in ("farmwatch.rules.yml", "power.rules.yml", "energy.rules.yml")]
        p = await metered.scrape(tmp_path / "prom", rules)
        await eventually(lambda: len(p.query('device:farmwatch_miner_power_watts:preferred{source="pdu"}')) == 6, 40)
        await eventually(lambda: len(p.query("farmwatch_miner_energy_source_info")) == 6, 20)
        t0 = float(int(time.time()))
        await asyncio.sleep(t0 + 21 - time.time())
        got = report(p, t0, t0 + 20)
        by = {(r["by"], r["key"]): r for r in got}
        kwh = 20.0 / 3600.0 / 1000.0  # one watt for the period, in kWh
        g, s = sum(grid.loads_w) * kwh, sum(solar.loads_w) * kwh
        # Twenty one-second samples or twenty-one, as the subquery aligns: the split and the ratios hold.
        scale = by[("source", "grid")]["total_kwh"] / g
        assert 0.94 <= scale <= 1.06, (by, g)
        # On a loaded machine a scrape can land one step late, so one outlet's one-second sample may be missing
        # from one source's window (1 of 3 outlets x 20 samples = 1/60): the ratio holds to within that.
        assert by[("source", "solar")]["total_kwh"] == pytest.approx(s * scale, rel=1 / 60)
        # Curtailed = the outlet's power at the instants the miner's own poll said sleeping: two series from two
        # collectors on one-second cycles, so the join may miss one of the twenty instants (1/20).
        assert by[("source", "solar")]["curtailed_kwh"] == pytest.approx(25.0 * kwh * scale, rel=1 / 20)
        assert by[("source", "grid")]["curtailed_kwh"] == 0 and by[("source", "grid")]["idle_kwh"] == 0
        assert by[("rack", "C1/R01")]["total_kwh"] == by[("source", "grid")]["total_kwh"]
        assert sum(r["total_kwh"] for r in got if r["by"] == "model") == pytest.approx(
            (g + s) * scale, rel=1 / 60)  # type: ignore[misc]
        # Each source's cost at its own price (USD per day at the current draw).
        cost = {x["metric"]["source"]: float(x["value"][1])
                for x in p.query("source:farmwatch_miner_power_cost_usd_per_day:sum")}
        assert cost["grid"] == pytest.approx(sum(grid.loads_w) / 1000 * 24 * 0.06, rel=1e-6)
        assert cost["solar"] == pytest.approx(sum(solar.loads_w) / 1000 * 24 * 0.02, rel=1e-6)
    finally:
        await metered.stop()
