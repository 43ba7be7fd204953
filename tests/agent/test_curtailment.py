"""Curtailment verified against measured power (issue 18.1).

The window file and its problems; then end to end: twelve simulated miners on two APC PDUs (one outlet each, a
rack per PDU) scraped by a real Prometheus with the rules. A window on rack R01 is declared in a file the agent
watches. The script: four miners sleep 2 s after start (one still drawing 300 W), one refuses, one sleeps and
wakes early; the PDU outlets measure each change. The alerts fire on the awake miners and on the missed target
(only inside the window's scope), and `farmwatch report curtailment` over Prometheus's API equals the script's
truth: baseline exactly, shed and time to target within the measurement lag (SNMP poll + scrape + rule
evaluation), the non-compliant miners and the residual finding exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.curtailment import CurtailmentFile, parse_windows
from agent.settings import Config
from agent.yamlread import ConfigError
from dashboards.generate import CURTAILMENT_PANELS
from simsite.curtail import ScriptedCurtailment, Step
from tests.support.pdu_site import pdu_site
from tests.support.prom import PROMETHEUS, eventually
from tests.support.rules import REPO, RulesPrometheus, dashboard_queries, fast_alerts

LAG_S = 8.0  # SNMP poll (1 s) + snmpsim reload (whole-second mtime) + scrape (1 s) + two rule groups (1 s each)


def test_the_window_file_reads_every_scope_and_names_problems_by_file_line_key(tmp_path: Path) -> None:
    path = tmp_path / "curtailment.yaml"
    path.write_text("windows:\n"
                    "  - {id: a, start: 2026-12-05T14:00:00Z, end: 2026-12-05T16:00:00Z, scope: site, target_kw: 120}\n"
                    "  - {id: b, start: 1800000000, end: 1800003600, scope: {domain: feed-A}, target_kw: 0, ramp: 2m}\n"
                    "  - {id: c, start: 1800000000, end: 1800003600, scope: {rack: R1, container: C2}, target_kw: 5,"
                    " baseline: 1h}\n")
    a, b, c = parse_windows(path)
    assert (a.start, a.end, a.scope_kind, a.target_w) == (1796479200.0, 1796486400.0, "site", 120_000.0)
    assert (b.scope_kind, b.scope, b.ramp_s, b.baseline_s) == ("domain", "feed-A", 120.0, 1800.0)
    assert (c.scope_kind, c.scope, c.container, c.baseline_s) == ("rack", "R1", "C2", 3600.0)
    path.write_text("windows:\n"
                    "  - {id: a, start: 1800000000, end: 1700000000, scope: site, target_kw: 1}\n"
                    "  - {id: b, start: 2026-12-05T14:00:00, end: 1800003600, scope: {row: 1}, target_kw: -1}\n"
                    "  - {id: c, start: noon, end: 1800003600, scope: site}\n")
    with pytest.raises(ConfigError) as err:
        parse_windows(path)
    text = str(err.value)
    assert f"{path}:2: windows[0].end: must be after start" in text
    assert f"{path}:3: windows[1].target_kw" in text and "windows[1].scope" in text
    assert f"{path}:4: windows[2]: missing target_kw" in text


def test_a_broken_edit_keeps_the_windows_read_before(tmp_path: Path) -> None:
    path = tmp_path / "curtailment.yaml"
    path.write_text("windows:\n  - {id: a, start: 1800000000, end: 1800003600, scope: site, target_kw: 1}\n")
    f = CurtailmentFile(path)
    assert [w.id for w in f.windows] == ["a"] and f.ok
    path.write_text("windows:\n  - {id: a, start: [\n")
    f.refresh()
    assert [w.id for w in f.windows] == ["a"] and not f.ok


def report(prom: RulesPrometheus, t_from: float, t_to: float, *extra: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["report", "curtailment", "--prometheus", f"http://127.0.0.1:{prom.port}", "--from", str(t_from),
                   "--to", str(t_to), "--step", "1s", *extra])
    assert rc == 0
    return out.getvalue()


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed")
@pytest.mark.slow
async def test_a_scripted_curtailment_is_measured_by_the_pdus_and_settled_from_prometheus(tmp_path: Path) -> None:
    metered = await pdu_site("c", count=12, seed=23, base_ip="127.181.0.1", snmp_ip="127.181.1.1")
    site, handle, rows, agent = metered.site, metered.handle, metered.rows, metered.agent
    rack = [m for m in site.miners if rows[m.ip]["rack"] == "R01"]
    assert len(rack) == 6
    script = ScriptedCurtailment(site, handle.sim, {p.name: p for p in handle.pdus}, handle.locations,
                                 [m.ip for m in rack])
    sleepy, heavy, refuser, waker = rack[:3], rack[3], rack[4], rack[5]
    residual = 25.0
    # The target is met once the sleepers are down, and missed again when the early waker is back.
    target = sum(residual for _ in sleepy) + 300.0 + script.full_w[refuser.ip] + script.full_w[waker.ip] / 2
    start = time.time() + 30.0
    ramp, end = 10.0, start + 50.0
    (tmp_path / "curtailment.yaml").write_text(
        f"windows:\n  - {{id: drill-1, start: {start}, end: {end}, scope: {{rack: R01}}, "
        f"target_kw: {target / 1000.0}, ramp: 10s, baseline: 20s}}\n")
    agent.curtailment = CurtailmentFile(tmp_path / "curtailment.yaml")
    # The site infers windows when 40 % of its miners sleep together (curtailment: {infer_share: 0.4}).
    agent.config = Config(path=tmp_path / "site.yaml", site="c", curtailment_infer_share=0.4)
    steps = [*(Step(2.0, m.ip, "sleep", residual) for m in sleepy), Step(2.0, heavy.ip, "sleep", 300.0),
             Step(2.0, waker.ip, "sleep", residual), Step(32.0, waker.ip, "wake")]
    try:
        rules = [REPO / "rules" / f for f in ("farmwatch.rules.yml", "power.rules.yml", "curtailment.rules.yml")]
        p = await metered.scrape(tmp_path / "prom", [*rules, fast_alerts(tmp_path)])
        await eventually(lambda: len(p.query('farmwatch_miner_power_watts{source="pdu"}')) == 12, 25)
        await eventually(lambda: p.query('window:farmwatch_curtailment_load_watts:sum{window="drill-1"}'), 40)
        await script.run(start, steps)

        def curtailment_alerts() -> set[tuple[str, str]]:
            return {(a["labels"]["alertname"], a["labels"].get("device", "")) for a in p.alerts()
                    if a["labels"]["alertname"] in ("CurtailmentTargetMissed", "MinerAwakeDuringCurtailment")}

        dev = {m.ip: f"{m.ip}:{m.port}" for m in site.miners}
        await eventually(lambda: curtailment_alerts() == {
            ("MinerAwakeDuringCurtailment", dev[refuser.ip]), ("MinerAwakeDuringCurtailment", dev[waker.ip]),
            ("CurtailmentTargetMissed", "")}, max(5.0, end - time.time() - 1))
        # The power dashboard's curtailment row has data during the window.
        empty = [t for _n, t, q in dashboard_queries("") if t in CURTAILMENT_PANELS and not p.query(q)]
        assert empty == []
        await asyncio.sleep(max(0.0, end - time.time()) + 3)

        truth = script.truth(start, end, ramp, target, residual_w=100.0)
        (record,) = [r for r in json.loads(report(p, start - 60, end + 5, "--format", "json"))
                     if r["scope_kind"] != "inferred"]
        assert record["window"] == "drill-1" and record["scope_kind"] == "rack" and record["scope"] == "R01"
        assert record["miners"] == 6
        assert record["baseline_kw"] == pytest.approx(truth["baseline_kw"], abs=0.002)
        # Lag can only make the meters late: the drop is inside the ramp, the early wake costs at most
        # LAG_S of the waker's load over the measured part of the window.
        bound = LAG_S * script.full_w[waker.ip] / 1000.0 / (end - start - ramp)
        assert abs(record["shed_kw"] - truth["shed_kw"]) <= bound + 0.002, (record, truth)
        assert truth["time_to_target_s"] <= record["time_to_target_s"] <= truth["time_to_target_s"] + LAG_S
        assert record["did_not_sleep"] == [dev[ip] for ip in truth["did_not_sleep"]] == [dev[refuser.ip]]
        assert record["woke_early"] == [dev[ip] for ip in truth["woke_early"]] == [dev[waker.ip]]
        assert [r["device"] for r in record["residual"]] == [dev[ip] for ip in truth["residual"]] == [dev[heavy.ip]]
        assert record["residual"][0]["sleeping_w"] == pytest.approx(300.0, abs=1)
        assert set(record["sources_kw"]) == {"pdu"}  # every covered miner is metered at its outlet
        # The same record as CSV for the settlement file.
        csv_text = report(p, start - 60, end + 5)
        header, row, *_inferred = csv_text.strip().splitlines()
        assert header.startswith("window,scope_kind,scope,start,end,target_kw,baseline_kw")
        assert row.startswith("drill-1,rack,R01,") and dev[refuser.ip] in row
        # Nobody declared it, but five of twelve miners slept together from S+2 s to the early wake at S+32 s:
        # at the site's configured share (0.4, which the report reads from Prometheus) the same drop is a
        # site-wide inferred window; --infer-share overrides it for one report.
        assert p.query("site:farmwatch_curtailment_inferred_active")
        over = json.loads(report(p, start - 60, end + 5, "--format", "json", "--infer-share", "0.9"))
        assert [r["scope_kind"] for r in over] == ["rack"]  # five of twelve is not 90 %
        records = json.loads(report(p, start - 60, end + 5, "--format", "json", "--baseline", "20s"))
        (guess,) = [r for r in records if r["scope_kind"] == "inferred"]
        began, ended = (dt.datetime.fromisoformat(guess[k].replace("Z", "+00:00")).timestamp() for k in ("start", "end"))
        assert start + 2.0 <= began <= start + 2.0 + LAG_S and start + 32.0 <= ended <= start + 32.0 + LAG_S
        assert guess["target_kw"] is None and guess["miners"] == 12
        # Its shed: the five sleepers' full load less what they draw asleep; the meters lag the miners' own word
        # (which opens the window) by up to LAG_S of the window's ~30 s, and the window has no ramp to absorb it.
        shed = (sum(script.full_w[m.ip] for m in [*sleepy, heavy, waker]) - 3 * residual - 300.0 - residual) / 1000
        assert shed * (1 - LAG_S / 30.0) <= guess["shed_kw"] <= shed + 0.01, (guess, shed)
    finally:
        await metered.stop()
