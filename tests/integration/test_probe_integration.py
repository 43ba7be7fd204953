"""Probe mode the exporter way, for real: the shipped deploy/multisite/probe-prometheus.yml (only addresses and
intervals changed) on a real Prometheus, its target list from the agent's /sd, every device scraped through
/probe. A simulated site of six miners, two PDUs feeding them outlet by outlet, a UPS and a switch over real SNMP;
the agent built from a site.yaml with a site map.

Each device must be its own target: one `up` per miner and per SNMP device, `instance` = the device; the probed
miners carry their site-map location on farmwatch_miner_info; the power rules join outlets to miners as with
/metrics. Before: `instance` stayed the agent's address (devices collapsed into one `up` per agent), /sd listed
no SNMP device and /probe output had no location.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.runtime import agent_from_config
from collectors.snmp.demo import start_demo_snmp
from simsite import SimSite
from simsite.snmp import community_of
from tests.support.pdu_site import snmp_groups, write_sitemap
from tests.support.prom import PROMETHEUS, Prometheus, eventually
from tests.support.rules import REPO, free_udp_port

pytestmark = [pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed"),
              pytest.mark.slow]

EXAMPLE = REPO / "deploy" / "multisite" / "probe-prometheus.yml"


def probe_config(agent: str) -> dict[str, Any]:
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["global"].update(scrape_interval="2s", evaluation_interval="1s")
    cfg["rule_files"] = [str((EXAMPLE.parent / p).resolve()) for p in cfg["rule_files"]]
    job = cfg["scrape_configs"][0]
    job["scrape_timeout"] = "2s"
    job["http_sd_configs"][0].update(url=f"http://{agent}/sd", refresh_interval="1s")
    for rule in job["relabel_configs"]:
        if rule.get("target_label") == "__address__":
            rule["replacement"] = agent
    return cfg


async def test_probe_example_gives_every_device_its_own_up_and_location(tmp_path: Path) -> None:
    site = SimSite.build(count=6, seed=7, base_ip="127.47.0.1", latency_ms=(1.0, 2.0))
    await site.start()
    snmp_ip = "127.47.1.1"
    port = free_udp_port(snmp_ip)
    handle, _ = await start_demo_snmp(site.miners, base_ip=snmp_ip, port=port, outlets_per_pdu=3, interval=1.0)
    snmp = [(f"{d.ip}:{port}", community_of(d)) for d in handle.sim.devices]
    rows = {m.ip: {**handle.locations[m.ip], "rack": f"R{i // 3 + 1}"} for i, m in enumerate(site.miners)}
    groups = snmp_groups(tmp_path, snmp, interval="2s", timeout="900ms", retries=0)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "probe-site", "sitemap": write_sitemap(tmp_path, rows), "snmp": groups,
        "miners": [{"targets": [m.ip for m in site.miners], "interval": "2s", "timeout": "900ms"}]}))
    agent = agent_from_config(tmp_path / "site.yaml", listen="127.0.0.1:0")
    prom: Prometheus | None = None
    try:
        await agent.start()
        assert agent.bound is not None
        address = f"127.0.0.1:{agent.bound[1]}"
        prom = await asyncio.to_thread(Prometheus, tmp_path / "prom", probe_config(address))
        p = prom
        miners = {f"{m.ip}:{m.port}" for m in site.miners}
        devices = miners | {t for t, _ in snmp}
        # One `up` per device, each its own instance, all read.
        await eventually(lambda: {s["metric"]["instance"] for s in p.query("up == 1")} == devices)
        ups = p.query('up{job="farmwatch-probe"}')
        assert len(ups) == len(devices) == 10
        assert all(s["metric"]["site"] == "probe-site" for s in ups)
        # Miners: identity and the site map's location from /probe itself; series keyed by their own instance.
        info = await eventually(lambda: [s["metric"] for s in p.query('farmwatch_miner_info{rack!=""}')
                                         if s["metric"]["instance"] == s["metric"]["device"]] or None)
        await eventually(lambda: len(p.query('farmwatch_miner_info{rack!="", pdu!="", outlet!=""}')) == 6)
        info = [s["metric"] for s in p.query("farmwatch_miner_info")]
        assert {(i["device"], i["rack"], i["pdu"], i["outlet"]) for i in info} == {
            (f"{ip}:4028", r["rack"], r["pdu"], r["outlet"]) for ip, r in rows.items()}
        # SNMP devices: probed with module=snmp, read, with their identity.
        await eventually(lambda: {s["metric"]["instance"] for s in p.query("farmwatch_snmp_up == 1")}
                         == {t for t, _ in snmp})
        assert {s["metric"]["class"] for s in p.query("farmwatch_snmp_device_info")} == {"pdu", "ups", "switch"}
        # The power rules work on probed series: each miner gets its outlet's measured power.
        await eventually(lambda: len(p.query('farmwatch_miner_power_watts{source="pdu"}')) == 6)
        await eventually(lambda: len(p.query("farmwatch_rack_power_watts")) == 2)
        # module=snmp reaches the snmp: targets only: a miner's address, or a PDU on another port, is 403.
        for target in (site.miners[0].ip, f"{snmp_ip}:161", "127.0.0.1"):
            url = f"http://{address}/probe?" + urllib.parse.urlencode({"target": target, "module": "snmp"})
            with pytest.raises(urllib.error.HTTPError) as denied:
                await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
            assert denied.value.code == 403
    finally:
        if prom is not None:
            await asyncio.to_thread(prom.stop)
        await agent.stop()
        await handle.stop()
        await site.stop()
