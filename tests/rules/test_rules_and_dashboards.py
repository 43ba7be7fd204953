"""Rules, dashboards and deploy examples, checked offline: promtool check/test rules (a unit test per alert,
firing and quiet), promtool check config and amtool check-config on deploy/, and the dashboards' structure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
DASHBOARDS = REPO / "dashboards"
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) not installed")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool (Debian package prometheus-alertmanager) not installed")
RULE_FILES = [RULES / "farmwatch.rules.yml", RULES / "farmwatch.alerts.yml", RULES / "power.rules.yml",
              RULES / "pools.rules.yml", RULES / "curtailment.rules.yml",
              RULES / "energy.rules.yml"]


def run(*cmd: str | Path) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load((RULES / "farmwatch.alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


@needs_promtool
def test_promtool_check_rules() -> None:
    assert "SUCCESS" in run(PROMTOOL, "check", "rules", *RULE_FILES)  # type: ignore[arg-type]


@needs_promtool
def test_promtool_test_rules() -> None:
    out = run(PROMTOOL, "test", "rules", *sorted(RULES.glob("tests/*.yml")))  # type: ignore[arg-type]
    assert "FAILED" not in out


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULES.glob("tests/*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {a["alert"] for a in alerts()}
    assert names - firing == set(), "alerts without a firing test"
    assert names - quiet == set(), "alerts without a quiet test"


def test_alerts_carry_severity_annotations_and_a_runbook_section() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
    for a in alerts():
        assert a["labels"]["severity"] in ("critical", "warning"), a["alert"]
        assert "for" in a, a["alert"]
        ann = a["annotations"]
        assert ann["summary"].endswith(".") and ann["description"], a["alert"]
        assert ann["runbook_url"] == f"docs/runbook.md#{a['alert'].lower()}", a["alert"]
        assert a["alert"].lower() in anchors, f"runbook has no section for {a['alert']}"


def test_critical_xid_alert_and_collector_agree() -> None:
    """The collector exports an explicit 0 for every XID the alert watches: increase() misses a first event
    on a series that appears with it."""
    from collectors.nvml.xid import ALERTING

    (rule,) = [a for a in alerts() if a["alert"] == "FarmwatchGpuXidCritical"]
    m = re.search(r'xid=~"([0-9|]+)"', rule["expr"])
    assert m, rule["expr"]
    assert {int(x) for x in m.group(1).split("|")} == ALERTING


@needs_promtool
def test_deploy_prometheus_config_loads_the_rules() -> None:
    out = run(PROMTOOL, "check", "config", REPO / "deploy" / "prometheus.yml")  # type: ignore[arg-type]
    assert "farmwatch.alerts.yml" in out and "SUCCESS" in out


@needs_amtool
def test_deploy_alertmanager_config() -> None:
    assert "SUCCESS" in run(AMTOOL, "check-config", REPO / "deploy" / "alertmanager.yml")  # type: ignore[arg-type]
    # Critical alerts page, the rest go to the ticket queue.
    out = run(AMTOOL, "config", "routes", "test", f"--config.file={REPO / 'deploy' / 'alertmanager.yml'}",  # type: ignore[arg-type]
              "severity=critical", "alertname=FarmwatchPduFeedLost")
    assert out.splitlines()[0].strip() == "pager"


# --- dashboards ---------------------------------------------------------------------------------------------
def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dash["panels"] if p["type"] != "row"]


def test_dashboards_are_generated_from_their_source() -> None:
    proc = subprocess.run([sys.executable, str(DASHBOARDS / "generate.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_dashboards_follow_the_conventions() -> None:
    files = dashboard_files()
    assert {p.name for p in files} == {"site-overview.json", "miner-detail.json", "rack-map.json", "power.json",
                                       "gpu-hall.json"}
    uids = set()
    for path in files:
        dash = json.loads(path.read_text())
        assert "__inputs" not in dash and dash["uid"] not in uids
        uids.add(dash["uid"])
        names = [v["name"] for v in dash["templating"]["list"]]
        assert names[:5] == ["datasource", "site", "container", "rack", "model"], path.name
        assert dash["templating"]["list"][0] == {**dash["templating"]["list"][0], "type": "datasource",
                                                 "query": "prometheus", "label": "Data source"}
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids))
        for p in panels(dash):
            where = f"{path.name}: {p['title']}"
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert p["fieldConfig"]["defaults"].get("unit"), where
            refs = [t["refId"] for t in p["targets"]]
            assert refs and len(refs) == len(set(refs)), where
            assert all(t["datasource"]["uid"] == "${datasource}" and t["expr"] for t in p["targets"]), where


def test_rack_map_is_a_grid_by_position() -> None:
    dash = json.loads((DASHBOARDS / "rack-map.json").read_text())
    rows = [p for p in dash["panels"] if p["type"] == "row"]
    assert rows and rows[0]["repeat"] == "rack"
    grids = [p for p in panels(dash) if any(t["id"] == "groupingToMatrix" for t in p.get("transformations", []))]
    assert len(grids) == 3
    for p in grids:
        assert p["transformations"][0]["options"] == {"columnField": "slot", "rowField": "shelf", "valueField": "Value"}


def test_provisioning_files() -> None:
    dash = yaml.safe_load((DASHBOARDS / "provisioning" / "dashboards" / "farmwatch.yml").read_text())
    assert dash["apiVersion"] == 1 and dash["providers"][0]["type"] == "file"
    ds = yaml.safe_load((DASHBOARDS / "provisioning" / "datasources" / "farmwatch.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus" and ds["datasources"][0]["uid"]
