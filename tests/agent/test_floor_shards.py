"""The floor view of one shard of a sharded site: what it says about outlet power it does not read.

A shard polls only its own PDUs (docs/power.md), so for a miner fed by another shard's PDU this agent has no
outlet reading. The technician must not take that for "the outlet draws nothing" or "the PDU is broken": the row
says the outlet is read by another shard, the summary says its PDU figures are this shard's only, and the outlets
it does read show their watts. Real loopback: simulated miners, simulated PDUs over real SNMP, an agent built from
a site.yaml with `shard: 0/2` the way `farmwatch run` builds it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from agent.runtime import agent_from_config
from agent.targets import Target, shard_of
from collectors.snmp.demo import start_demo_snmp
from simsite import SimSite
from simsite.addresses import addresses
from simsite.snmp import community_of
from tests.support.pdu_site import snmp_groups, write_sitemap
from tests.support.rules import free_udp_port


async def test_a_shard_says_which_outlets_another_shard_reads(tmp_path: Path) -> None:
    site = SimSite.build(count=12, seed=41, base_ip="127.168.0.1", latency_ms=(1.0, 2.0))
    await site.start()
    snmp_ip = "127.168.1.1"
    pdu_ips = addresses(snmp_ip, 2)  # start_demo_snmp's two PDUs (12 miners, 6 a PDU)
    port = next(p for p in (free_udp_port(snmp_ip) for _ in range(64))
                if {shard_of(Target(ip, p), 2) for ip in pdu_ips} == {0, 1})
    handle, _ = await start_demo_snmp(site.miners, base_ip=snmp_ip, port=port, outlets_per_pdu=6, interval=1.0)
    for pdu in handle.pdus:
        pdu.noise = False
    handle.sim.update(*handle.pdus)
    ours = {p.name: shard_of(Target(p.ip, port), 2) == 0 for p in handle.pdus}
    mine = [m for m in site.miners if shard_of(Target(m.ip, m.port), 2) == 0]
    fed = {handle.locations[m.ip]["pdu"] for m in mine}
    assert fed == set(ours), "shard 0 must have miners on both PDUs for the test to mean anything"

    snmp = snmp_groups(tmp_path, [(f"{d.ip}:{port}", community_of(d)) for d in handle.pdus], interval="1s",
                       timeout="800ms", retries=1)
    cfg: dict[str, Any] = {"site": "shards", "sitemap": write_sitemap(tmp_path, handle.locations), "shard": "0/2",
                           "snmp": snmp,
                           "miners": [{"targets": [m.ip for m in site.miners], "interval": "1s", "timeout": "800ms"}]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(cfg))
    agent = agent_from_config(tmp_path / "site.yaml", listen="127.0.0.1:0")
    try:
        await agent.start()
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        async with aiohttp.ClientSession() as http:
            rows: dict[str, dict[str, Any]] = {}
            end = time.monotonic() + 60
            while time.monotonic() < end:  # until every PDU of this shard was read and every miner polled
                async with http.get(f"{base}/api/v1/miners") as r:
                    rows = {m["device"]: m for m in (await r.json())["miners"]}
                if len(rows) == len(mine) and all(
                        m["location"]["pdu"] in ours and (m["outlet_power_w"] is not None or not ours[m["location"]["pdu"]])
                        for m in rows.values()):
                    break
                await asyncio.sleep(0.5)
            assert {f"{m.ip}:{m.port}" for m in mine} == set(rows)
            loads = {(p.name, str(o)): w for p in handle.pdus for o, w in enumerate(p.loads_w, start=1)}
            elsewhere = []
            for device, row in rows.items():
                pdu, outlet = row["location"]["pdu"], row["location"]["outlet"]
                if ours[pdu]:
                    assert row["outlet_power_w"] == loads[(pdu, outlet)] and row["outlet_on_other_shard"] is False
                else:  # not 0 W, not "PDU down": another shard reads it
                    assert row["outlet_power_w"] is None and row["outlet_on_other_shard"] is True
                    elsewhere.append(device)
            assert elsewhere
            async with http.get(f"{base}/api/v1/summary") as r:
                summary = await r.json()
            assert summary["shard"] == "0/2" and summary["outlets_on_other_shards"] == len(elsewhere)
            async with http.get(f"{base}/") as r:
                page = await r.text()
            assert f"this shard's PDUs only: {len(elsewhere)} miners' outlets are read by other shards" in page
            async with http.get(f"{base}/miner/{elsewhere[0]}") as r:
                assert "its PDU is polled by another shard" in await r.text()
    finally:
        await agent.stop()
        await handle.stop()
        await site.stop()
