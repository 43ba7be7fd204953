"""Conformance: stock Antminer and Hiveon RPC captures in ../shared/fixtures/asic (values from SOURCES.md).

Single captures go through the antminer parser for the fields they carry; the S19 Pro capture set is served by
a ReplayMiner on loopback and polled with automatic identification. Web-CGI captures (``*-cgi.json``,
``get_system_info``) belong to the web driver and are not read here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import _bmminer as bm
from collectors.asic.drivers import antminer
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.asic.reading import MinerReading
from collectors.errors import ParseError
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

DEV = "192.0.2.1:4028"
S19 = "antminer_s19pro-49.0.1.3"
approx = pytest.approx


def reply(name: str) -> dict[str, Any]:
    return rpc.decode_reply(fixture(name))


def stats_only(name: str) -> MinerReading:
    return finalize(antminer.parse({"stats": reply(name)}, DEV))


def rates(r: MinerReading) -> list[float | None]:
    return [b.hashrate_ths for b in r.boards]


def test_s19pro_stats() -> None:
    r = stats_only(f"{S19}_stats.json")
    assert r.model == "S19 Pro" and r.firmware == "stock"
    assert r.hashrate_ths == approx(110.56689)
    assert r.expected_hashrate_ths == approx(110.0)
    assert rates(r) == [approx(37.6033), approx(35.53622), approx(37.42738)]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(110.5669, abs=1e-4)
    assert [b.chips for b in r.boards] == [114, 114, 114]  # chain_acn4 = 0 is not a fourth board
    assert (r.boards[0].temp_c, r.boards[0].chip_temp_c) == (73.0, 78.0)
    assert r.fans_rpm == [6000, 5880, 5040, 5040]
    assert r.uptime_s == 50474
    assert r.power_w is None


def test_s19pro_summary_never_uses_average() -> None:
    summary = reply(f"{S19}_summary.json")
    r = antminer.parse({"summary": summary}, DEV)
    assert r.hashrate_ths == approx(110.56689)  # GHS 5s, not GHS av 111834.85 nor GHS 30m
    assert r.uptime_s == 50474
    assert r.power_w is None  # no power key on stock S19 RPC


def test_s19pro_pools() -> None:
    r = antminer.parse({"stats": reply(f"{S19}_stats.json"), "pools": reply(f"{S19}_pools.json")}, DEV)
    assert len(r.pools) == 3
    assert {p.url for p in r.pools} == {"stratum+tcp://btc.global.luxor.tech:700"}
    assert {p.user for p in r.pools} == {"satokierepair.H04YK"}
    p0 = r.pools[0]
    assert (p0.index, p0.active, p0.status, p0.accepted, p0.rejected, p0.stale) == (
        0,
        True,
        "alive",
        4057,
        11,
        1,
    )


def test_s19pro_version_and_useless_devs() -> None:
    ident = bm.identity(reply(f"{S19}_version.json"))
    assert ident["type"] == "Antminer S19 Pro"
    assert ident["compile_time"] == "Tue Dec  6 16:12:30 CST 2022"  # double space kept
    base = {"stats": reply(f"{S19}_stats.json")}
    with_devs = {**base, "devs": reply(f"{S19}_devs.json")}
    assert antminer.parse(with_devs, DEV).boards == antminer.parse(base, DEV).boards  # BTM_SOC devs ignored


async def test_s19pro_set_over_loopback() -> None:
    async with ReplayMiner(fixture_set(S19), description="cgminer 1.0.0") as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.make, r.model, r.algorithm, r.firmware) == (
        "antminer",
        "Antminer",
        "S19 Pro",
        "sha256",
        "stock",
    )
    assert r.firmware_version == "Tue Dec  6 16:12:30 CST 2022"
    assert r.hashrate_ths == approx(110.56689)
    assert r.expected_hashrate_ths == approx(110.0)
    assert rates(r) == [approx(37.6033), approx(35.53622), approx(37.42738)]
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(114, 114)] * 3
    assert [b.temp_c for b in r.boards] == [73.0, 66.0, 64.0]
    assert [b.chip_temp_c for b in r.boards] == [78.0, 71.0, 69.0]
    assert r.fans_rpm == [6000, 5880, 5040, 5040]
    assert len(r.pools) == 3 and r.pools[0].accepted == 4057
    assert r.mac is None and r.serial is None
    assert (r.power_w, r.power_source, r.efficiency_jth) == (None, None, None)
    assert r.uptime_s == 50474
    assert r.state == "hashing"
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
    assert commands[-1] == "summary+stats+pools"  # one joined request per cycle
    assert not any("devdetails" in c for c in commands[1:])  # never required ("Access denied" on stock)


def test_s17plus_sleeping() -> None:
    r = stats_only("antminer_s17plus-2020-sleeping_stats.json")
    assert r.model == "S17+"
    assert r.sleeping and r.state == "sleeping"
    assert r.hashrate_ths == 0.0
    assert r.expected_hashrate_ths is None  # total_rateideal 0.0 is not an expectation
    assert [b.chips for b in r.boards] == [0, 0, 0]  # padded from the model, no alarm while asleep
    assert r.fans_rpm == [0, 0, 0, 0]  # asleep, every slot 0: the model's 4 fans are stopped (known)


def test_dr5_blake256() -> None:
    raw = fixture("antminer_dr5-cgminer-2018_stats.txt")
    assert raw.endswith(b"\x00") and b"}{" in raw
    r = stats_only("antminer_dr5-cgminer-2018_stats.txt")
    assert (r.model, r.algorithm) == ("DR5", "blake256")
    assert r.hashrate_ths == approx(35.56822)
    assert [b.chips for b in r.boards] == [72, 72, 72]
    assert sum(rates(r)) == approx(35.5682, abs=1e-4)  # type: ignore[arg-type]
    assert (r.boards[0].temp_c, r.boards[0].chip_temp_c) == (
        62.0,
        69.0,
    )  # hottest of in/out pcb and chip pairs
    assert r.fans_rpm == [3600, 3600]
    assert r.uptime_s == 1185031


def test_s9k_stats() -> None:
    r = stats_only("antminer_s9k-bmminer-2019_stats.txt")
    assert r.model == "S9k"
    assert r.hashrate_ths == approx(12.99584)
    assert [b.chips for b in r.boards] == [60, 60, 60]
    assert rates(r) == [approx(4.37593), approx(4.52985), approx(4.09006)]
    assert r.fans_rpm == [6480, 6480]
    assert [b.chip_temp_c for b in r.boards] == [87.0, 84.0, 90.0]
    assert [b.temp_c for b in r.boards] == [63.0, 62.0, 62.0]
    assert r.expected_hashrate_ths == approx(14.0)
    assert r.uptime_s == 283975
    assert r.power_w is None


def test_s9k_version_with_trailing_garbage() -> None:
    raw = fixture("antminer_s9k-cgminer4.9.0_version.txt")
    ident = bm.identity(rpc.decode_reply(raw))
    assert ident["type"] == "Antminer S9k"
    assert ident["compile_time"] == "Sun Sep 29 15:25:10 CST 2019"
    assert ident["miner"] == "13.10.1.3"
    with pytest.raises(ParseError):  # a version reply alone carries no telemetry
        antminer.parse({"version": rpc.decode_reply(raw)}, DEV)


def test_s9se_stats() -> None:
    r = stats_only("antminer_s9se-bmminer-2019_stats.txt")
    assert r.model == "S9 SE"
    assert r.hashrate_ths == approx(15.6566)
    assert [b.chips for b in r.boards] == [60, 60, 60]
    assert rates(r) == [approx(5.12358), approx(5.05761), approx(5.47541)]
    assert sum(rates(r)) == approx(15.6566, abs=1e-4)  # type: ignore[arg-type]
    assert r.fans_rpm == [1920, 1920]
    assert [b.temp_c for b in r.boards] == [60.0, 61.0, 62.0]
    assert [b.chip_temp_c for b in r.boards] == [79.0, 79.0, 79.0]
    assert r.expected_hashrate_ths == approx(16.0)
    assert r.uptime_s == 356805
    assert r.power_w is None and r.state == "hashing"


def test_t15_stats() -> None:
    r = stats_only("antminer_t15-cgminer_stats.json")
    assert r.model == "T15"
    assert r.hashrate_ths == approx(21.61578)
    assert [b.chips for b in r.boards] == [60, 60, 60]
    assert rates(r) == [approx(8.04819), approx(6.57489), approx(6.99269)]
    assert r.fans_rpm == [2880, 2880]
    assert r.expected_hashrate_ths == approx(21.0)
    assert r.uptime_s == 13263


def test_z9mini_equihash_units() -> None:
    raw = fixture("antminer_z9mini-cgminer-2018_stats.txt")
    with pytest.raises(ValueError):
        json.loads(raw)  # `}{` join and NUL: the transport's repair is needed
    r = stats_only("antminer_z9mini-cgminer-2018_stats.txt")
    assert (r.model, r.algorithm) == ("Z9-Mini", "equihash")
    # "GHS 5s":"15.82" is kSol/s on Equihash bmminer (see _bmminer.ALGORITHM_RATE_UNIT): 15 820 Sol/s
    assert r.hashrate_ths == approx(15.82e-9)
    assert [b.chips for b in r.boards] == [4, 4, 4]
    assert rates(r) == [approx(5.07e-9), approx(5.14e-9), approx(5.61e-9)]
    assert r.fans_rpm == [4200]
    assert [b.temp_c for b in r.boards] == [54.0, 53.0, 56.0]
    assert [b.chip_temp_c for b in r.boards] == [69.0, 68.0, 71.0]
    assert r.uptime_s == 1246310


def test_hiveon_s9() -> None:
    r = stats_only("hiveon_s9_stats.json")
    assert (r.driver, r.model, r.firmware) == ("antminer", "S9", "hiveon")
    assert [b.index for b in r.boards] == [0, 1, 2]  # chains 6..8
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert rates(r) == [approx(3.91164), approx(3.9137), approx(3.95605)]
    assert r.hashrate_ths == approx(11.7814)
    assert r.fans_rpm == [3840, 4920]  # fan5, fan6
    assert [b.temp_c for b in r.boards] == [59.0, 50.0, 57.0]
    assert [b.chip_temp_c for b in r.boards] == [74.0, 65.0, 72.0]
    assert r.power_w is None  # chain_power "34.65 (AB)" is not watts
    assert r.uptime_s == 69


async def test_hiveon_over_loopback_identifies_as_antminer() -> None:
    served = {"stats": fixture("hiveon_s9_stats.json")}
    async with ReplayMiner(served, description="bmminer 1.0.0") as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.firmware, r.model, r.state) == ("antminer", "hiveon", "S9", "hashing")
    assert r.pools == []  # pools refused by this replay: absent, not an error
