"""Every join in the shipped rules and dashboards carries `site`: one central Prometheus (remote_write, or one for
several sites) evaluates them over sites whose agents and miners share addresses, and a join on `instance, device`
alone then matches across sites ("many-to-many matching", or one site's miner priced with another's). The behaviour
is tested under promtool in rules/tests/central.test.yml; this keeps new rules from dropping `site` again."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JOIN = re.compile(r"\b(on|ignoring)\s*\(([^)]*)\)")
# `up` has no site of its own where the scrape config sets none, while farmwatch_agent_info always carries the
# agent's: FarmwatchAgentDown joins the two on the scrape's job and instance only.
EXEMPT = {"up == 0 and on(job, instance) last_over_time(farmwatch_agent_info[1d])"}


def exprs() -> list[tuple[str, str]]:
    import yaml

    out = []
    for path in sorted((ROOT / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out.append((f"{path.name}: {rule.get('record') or rule.get('alert')}", rule["expr"]))
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        stack = list(json.loads(path.read_text())["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            out += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])]
    return out


def test_every_join_names_site() -> None:
    missing = []
    for where, expr in exprs():
        if " ".join(expr.split()) in EXEMPT:
            continue
        for kind, labels in JOIN.findall(expr):
            names = {x.strip() for x in labels.split(",") if x.strip()}
            if kind == "on" and names and "site" not in names:
                missing.append(f"{where}: on({labels})")
    assert missing == []
