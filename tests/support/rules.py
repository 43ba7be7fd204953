"""The shipped rules and dashboards on a real Prometheus: the rule files as tests load them (alerts with their
`for:` windows cut to seconds), a Prometheus that scrapes agents with them and answers the rules and alerts API,
every dashboard query with its Grafana variables filled in, and a PDU phase loaded over its rating.

Shared by the rules integration, power shards, demo dashboards and alerts end-to-end tests, and by the agent's
curtailment, energy and pool tests that read their results through the rules."""

from __future__ import annotations

import json
import re
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from collectors.snmp.demo import DemoSnmp
from simsite.snmp import SimPdu
from tests.support.prom import Prometheus

REPO = Path(__file__).resolve().parents[2]
# The rule files a site's Prometheus loads (the alerts come from fast_alerts).
RULE_FILES = ("farmwatch.rules.yml", "power.rules.yml", "pools.rules.yml", "energy.rules.yml")
# What the dashboards' variables stand for in the checks: All (".*", as Grafana's allValue) and a rate window.
VARIABLES = {"$__rate_interval": "15s", "$site": ".*", "$container": ".*", "$rack": ".*", "$model": ".*"}

Key = tuple[str, str, str]  # alert name, what it is about (device, GPU, pool URL, rack), detail (phase, XID)


class RulesPrometheus(Prometheus):
    """A Prometheus scraping ``targets`` (agents, labelled ``site="it"``) every second and evaluating
    ``rule_files`` every second."""

    def __init__(self, workdir: Path, targets: str | list[str], rule_files: list[Path],
                 scrape_timeout: str | None = None) -> None:
        job: dict[str, Any] = {"job_name": "farmwatch"}
        if scrape_timeout is not None:
            job["scrape_timeout"] = scrape_timeout
        job["static_configs"] = [{"targets": [targets] if isinstance(targets, str) else targets,
                                  "labels": {"site": "it"}}]
        super().__init__(workdir, {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [job],
        })

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self) -> list[dict[str, Any]]:
        return [a for a in self.get("/api/v1/alerts")["alerts"] if a["state"] == "firing"]

    def firing(self) -> set[Key]:
        return {key(a["labels"]) for a in self.alerts()}

    def rules(self) -> list[dict[str, Any]]:
        return [r for g in self.get("/api/v1/rules")["groups"] for r in g["rules"]]


def key(lab: dict[str, str]) -> Key:
    subject = lab.get("device") or lab.get("gpu") or lab.get("url") or lab.get("pdu") or lab.get("rack") or ""
    detail = " ".join(f"{k} {lab[k]}" for k in ("phase", "xid") if k in lab)
    return lab["alertname"], subject, detail


def rule_errors(prom: RulesPrometheus) -> list[str]:
    """Every rule whose last evaluation was not healthy, with its error."""
    return [f"{r['name']}: {r.get('lastError')}" for r in prom.rules() if r["health"] != "ok"]


def fast_alerts(tmp_path: Path, for_: str = "3s") -> Path:
    """rules/farmwatch.alerts.yml with every `for:` window cut to ``for_``, written under ``tmp_path``."""
    doc = yaml.safe_load((REPO / "rules" / "farmwatch.alerts.yml").read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def dashboards() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((REPO / "dashboards").glob("*.json")):
        yield path.name, json.loads(path.read_text())


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in items:
        yield p
        yield from panels(p.get("panels", []))  # rows, collapsed or not


def substitute(expr: str, device: str) -> str:
    for name, value in sorted({**VARIABLES, "$device": device}.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)
    # "$1" is label_replace's capture group, not a Grafana variable (those start with a letter, "_" or "{").
    assert not re.search(r"\$[A-Za-z_{]", expr), f"a dashboard variable the test does not know: {expr}"
    return expr


def dashboard_queries(device: str) -> list[tuple[str, str, str]]:
    """(dashboard, panel title, query) of every panel target, for the miner ``device``."""
    return [(name, p["title"], substitute(t["expr"], device))
            for name, dash in dashboards() for p in panels(dash["panels"]) for t in p.get("targets", [])]


def variable_queries(device: str) -> list[tuple[str, str, str, str]]:
    """(dashboard, variable, series selector, label) of every ``label_values(selector, label)`` variable."""
    out = []
    for name, dash in dashboards():
        for v in dash.get("templating", {}).get("list", []):
            if v["type"] != "query":
                continue
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q)
            assert m, f"{name}: variable {v['name']}: not a label_values query: {q}"
            out.append((name, v["name"], substitute(m.group(1), device), m.group(2)))
    return out


def overload(handle: DemoSnmp, pdu: SimPdu, share: float) -> None:
    """Load the PDU's phase 1 (outlets 1, 4, ...) to ``share`` of its rating; the others keep their loads."""
    target = share * pdu.rated_current_a * pdu.voltage_v
    factor = target / pdu.phase_watts()[0]
    pdu.loads_w = [w * factor if i % pdu.phases == 0 else w for i, w in enumerate(pdu.loads_w)]
    pdu.noise = False  # outlet power as plain values, so that snmpsim serves the new ones (SnmpSim.update)
    handle.sim.update(pdu)

