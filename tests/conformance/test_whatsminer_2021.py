"""Conformance, batch 2: the March 2021 M31S-class capture (firmware 20210109) in ../shared/fixtures/asic,
values from SOURCES.md: summary, edevs and pools, read from the files and from a loopback btminer."""

from __future__ import annotations

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import whatsminer
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.asic.reading import MinerReading
from tests.support.replay import fixture_set, have_fixtures
from tests.support.replay_btminer import BtminerReplay, sent_commands

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

M31S = "whatsminer_m31s-20210109-2021mar"


def check(r: MinerReading) -> None:
    assert r.firmware_version == "20210109.22.REL"  # "'20210109.22.REL'": embedded quotes stripped
    assert r.hashrate_ths == pytest.approx(97.87873, abs=1e-4)  # MHS 1m, not the 116.47 MHS 5s spike
    assert (r.power_w, r.power_source, r.power_limit_w) == (3496.0, "reported", 3600.0)
    assert r.efficiency_jth == pytest.approx(35.72, abs=0.01)
    assert r.expected_hashrate_ths == pytest.approx(100.999)  # Factory GHS
    assert r.fans_rpm == [3870, 3930]  # in, out; the PSU fan (Power Fanspeed) is not a miner fan
    assert r.mac == "C4:05:09:00:02:9B"
    # Current codes only: Error Code 0/1 = 206, 2320; Factory Error Code 0 = 2340 is history.
    assert r.errors is not None and [e.code for e in r.errors] == [206, 2320]
    assert r.uptime_s == 1216997  # Elapsed (the miner), not the OS Uptime
    assert [b.index for b in r.boards] == [0, 1, 2]
    assert [b.hashrate_ths for b in r.boards] == pytest.approx([30.32274, 32.63917, 33.44075], abs=1e-4)
    assert sum(b.hashrate_ths or 0 for b in r.boards) == pytest.approx(96.4027, abs=1e-4)
    assert [b.chips for b in r.boards] == [215, 215, 215]
    assert [b.temp_c for b in r.boards] == [79.5, 80.0, 79.5]
    assert [b.chip_temp_c for b in r.boards] == [94.95, 94.9, 92.9]
    assert [(p.index, p.url, p.active, p.accepted, p.rejected, p.stale) for p in r.pools] == [
        (1, "stratum+tcp://btc.luxor.tech:700", True, 457459, 518, 95)]  # numbered from 1 on this firmware
    assert r.state == "hashing"


def test_m31s_2021_files() -> None:
    files = {cmd: rpc.decode_reply(raw) for cmd, raw in fixture_set(M31S).items()}
    check(finalize(whatsminer.parse({"summary": files["summary"], "devs": files["edevs"],
                                     "pools": files["pools"]}, "d")))


async def test_m31s_2021_over_loopback() -> None:
    replies = fixture_set(M31S)
    replies["devs"] = replies.pop("edevs")  # btminer answers devs and edevs alike; the driver reads devs
    async with BtminerReplay(replies) as miner:
        r = await poll_once(miner.host, miner.port, driver="whatsminer", timeout=5)
    check(r)
    assert r.model is None  # no devdetails in the capture: the model stays unknown, and the reading says why
    assert {n.part for n in r.missing} >= {"devdetails"}
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS
