"""Discovery over real loopback sockets: the sweep, identification of every firmware, the files the scan
writes for the daemon, and the daemon-side rediscovery that follows a miner to a new address by its MAC."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent.config import load_config
from agent.scan.discovery import Discovery
from agent.scan.output import sitemap_csv, table, targets_yaml
from agent.scan.sweep import primary_port, scan, sweep
from agent.sitemap import load_sitemap
from collectors.asic.group import MinerGroup
from collectors.asic.http import WebCredentials
from collectors.asic.store import MinerStore
from simsite import SimSite
from simsite.fleet import MIXED_MIX

DEFAULTS = WebCredentials(use_default_password=True)


async def test_sweep_finds_only_open_ports() -> None:
    site = SimSite.build(count=4, seed=3, base_ip="127.93.1.1", mix={"auradine": 1.0}, latency_ms=(0.0, 0.0))
    await site.start()
    try:
        found = await sweep([f"127.93.1.{i}" for i in range(1, 10)], timeout=0.5)
    finally:
        await site.stop()
    assert found == {f"127.93.1.{i}": [4028, 8080] for i in range(1, 5)}
    assert primary_port([80, 8080]) == 80 and primary_port([4433]) == 4028 and primary_port([80, 4028]) == 4028


async def test_scan_identifies_every_firmware_and_writes_daemon_files(tmp_path: Path) -> None:
    site = SimSite.build(count=45, seed=4, base_ip="127.93.2.1", mix=MIXED_MIX, latency_ms=(0.0, 0.0))
    await site.start()
    try:
        rows = await scan(["127.93.2.0/24"], credentials=DEFAULTS, show_progress=False)
    finally:
        await site.stop()
    assert len(rows) == 45 and all(r.driver and not r.error for r in rows)
    truth = {m.ip: m.truth() for m in site.miners}
    for r in rows:
        assert r.driver == truth[r.ip]["driver"]
        assert r.port == site.miner(r.ip).port
        if truth[r.ip]["mac"]:
            assert r.mac == truth[r.ip]["mac"]
    assert "127.93.2.1:" in table(rows)
    site_yaml = tmp_path / "site.yaml"
    site_yaml.write_text("site: t\n" + targets_yaml(rows, ["127.93.2.0/24"]))
    cfg = load_config(site_yaml)
    assert sum(len(g.targets) for g in cfg.miners) == 45
    csv = tmp_path / "sitemap.csv"
    csv.write_text(sitemap_csv(rows))
    assert "\nmac,serial,ip,container,rack,shelf,slot,pdu,outlet,model,state\n" in csv.read_text()
    assert len(load_sitemap(csv)) == 45  # a row for every miner, with or without a MAC


async def test_discovery_adds_new_miners_and_follows_a_move_by_mac() -> None:
    group = MinerGroup(name="g", sessions=[])
    store = MinerStore()
    disc = Discovery(groups=[group], ranges=[["127.93.3.0/24", "127.93.4.0/24"]], credentials=[DEFAULTS],
                     store=store)
    a = SimSite.build(count=3, seed=5, base_ip="127.93.3.1", mix={"whatsminer": 1.0}, latency_ms=(0.0, 0.0))
    await a.start()
    try:
        await disc.run_cycle()
    finally:
        await a.stop()
    assert sorted(s.host for s in group.sessions) == ["127.93.3.1", "127.93.3.2", "127.93.3.3"]
    for s in group.sessions:  # as the scheduler leaves them after a cycle
        store.ensure(s.device).up = True
    # DHCP hands the same machines new addresses: same seed, same MACs, another /24.
    b = SimSite.build(count=3, seed=5, base_ip="127.93.4.1", mix={"whatsminer": 1.0}, latency_ms=(0.0, 0.0))
    await b.start()
    try:
        await disc.run_cycle()
    finally:
        await b.stop()
        await disc.close()
    assert sorted(s.host for s in group.sessions) == ["127.93.4.1", "127.93.4.2", "127.93.4.3"]
    assert disc.moved == 3 and disc.added == 6 and disc.stats.cycles == 2
    # Nothing stays behind under the old addresses (it would be served as current): the state moved along.
    assert sorted(store.devices) == sorted(s.device for s in group.sessions)
    assert all(d.up for d in store.devices.values())
    assert all(s.driver is not None and s.driver.name == "whatsminer" for s in group.sessions)


def test_targets_yaml_shape() -> None:
    from agent.scan.sweep import Found

    text = targets_yaml([Found("10.0.0.1", 80, [80], driver="bitaxe"), Found("10.0.0.2", 4028, [4028])], ["x"])
    assert text.endswith(textwrap.dedent('''\
        miners:
          - driver: bitaxe
            targets:
              - "10.0.0.1:80"  # unreadable, bitaxe
        # Answered on a miner port but not identified as a miner farmwatch reads (not polled; move one
        # into a group above if it is a miner):
        #   - "10.0.0.2"  # open 4028: no reply
        '''))
