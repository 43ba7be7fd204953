"""Whatsminer API 1.x/2.x captures in ../shared/fixtures/asic/ (values from SOURCES.md). API 3 (``get.*`` on
4433) captures are a later issue and are not read here."""

from __future__ import annotations

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import whatsminer
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from tests.support.replay import FIXTURES, fixture, fixture_set, have_fixtures
from tests.support.replay_btminer import JOIN_REJECTED, BtminerReplay, sent_commands

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

API2 = "whatsminer_api2.0.5-fw20230803"
# The capture sets carry no devdetails reply; identification reads devdetails, so the loopback device gets the
# documented btminer shape (Driver "bitmicro") with an empty Model: the model stays unknown, as it would be.
DEVDETAILS = (
    b'{"STATUS":[{"STATUS":"S","When":1,"Code":69,"Msg":"Device Details","Description":"cgminer 4.9.2"}],'
    b'"DEVDETAILS":[{"DEVDETAILS":0,"Name":"SM","ID":0,"Driver":"bitmicro","Kernel":"","Model":""}],"id":1}'
)


def reply(name: str) -> rpc.Reply:
    return rpc.decode_reply(fixture(name))


def summary_only(**fields: object) -> rpc.Reply:
    return {"STATUS": [{"STATUS": "S"}], "SUMMARY": [dict(fields)]}


def test_api3_captures_are_left_for_later() -> None:
    api3 = sorted(p.name for p in FIXTURES.glob("whatsminer_*_get.*"))
    assert api3, "expected the API 3 captures to exist"
    assert all(".miner." in n or ".device." in n for n in api3)


def test_m20s_summary() -> None:
    r = finalize(whatsminer.parse({"summary": reply("whatsminer_m20s-20200917_summary.json")}, "d"))
    assert r.hashrate_ths == pytest.approx(67.2664, abs=1e-4)
    assert (r.power_w, r.power_source, r.power_limit_w) == (3491.0, "reported", 3500.0)
    assert r.efficiency_jth == pytest.approx(51.9, abs=0.05)
    assert r.expected_hashrate_ths == pytest.approx(67.051)
    assert r.fans_rpm == [4950, 4920]
    assert r.mac == "C4:11:04:01:3C:75"
    assert r.firmware_version == "20200917.22.REL"  # the invalid \' escape repaired, quotes stripped
    assert r.uptime_s == 66295 and r.errors == []


def test_m20s_devs() -> None:
    r = whatsminer.parse(
        {"summary": summary_only(Elapsed=1), "devs": reply("whatsminer_m20s-20200917_devs.json")}, "d"
    )
    assert [b.index for b in r.boards] == [0, 1, 2]
    assert [b.hashrate_ths for b in r.boards] == pytest.approx([22.0797, 23.4709, 21.7103], abs=1e-4)
    assert sum(b.hashrate_ths or 0 for b in r.boards) == pytest.approx(67.2609, abs=1e-4)
    assert [b.chips for b in r.boards] == [111, 111, 111]
    assert [b.temp_c for b in r.boards] == [71.5, 68.5, 72.0]
    assert [b.chip_temp_c for b in r.boards] == [87.7, 84.5, 87.2]  # hottest chip (Chip Temp Max)


def test_m31s_summary() -> None:
    r = finalize(whatsminer.parse({"summary": reply("whatsminer_m31s-20200512_summary.json")}, "d"))
    assert r.hashrate_ths == pytest.approx(85.1635, abs=1e-4)
    assert (r.power_w, r.power_limit_w) == (3230.0, 3600.0)
    assert r.efficiency_jth == pytest.approx(37.9, abs=0.05)
    assert r.expected_hashrate_ths == pytest.approx(86.472)
    assert r.fans_rpm == [2370, 2430]
    assert [e.code for e in r.errors] == [205]  # current code; factory history 202/2310 is not a fault
    assert r.mac == "C6:02:14:00:1F:B3" and r.firmware_version == "20200512.13.REL"


def test_m31s_sleeping_status() -> None:
    status = reply("whatsminer_m31s-20210109-sleeping_status.json")
    assert rpc.status_of(status)[0] == "S"  # flat STATUS string
    r = finalize(whatsminer.parse({"summary": summary_only(**{"MHS 1m": 0.0}), "status": status}, "d"))
    assert r.sleeping and r.state == "sleeping"
    assert r.firmware_version == "20210109.22.REL"


def test_multicommand_error_is_what_the_loopback_device_answers() -> None:
    captured = reply("whatsminer_m31s-20200512_cmd-multicommand-error.json")
    mimic = rpc.decode_reply(JOIN_REJECTED % b"cgminer 4.9.2")
    assert rpc.status_of(captured) == rpc.status_of(mimic) == ("E", "Missing JSON 'command'")
    assert captured["STATUS"][0]["Code"] == mimic["STATUS"][0]["Code"] == 24


def test_unknown_model_2019_summary_without_power() -> None:
    r = finalize(
        whatsminer.parse({"summary": reply("whatsminer_unknown-model-cgminer4.9.2_summary.txt")}, "d")
    )
    assert r.hashrate_ths == pytest.approx(34.1789, abs=1e-4)
    assert r.fans_rpm == [6360, 6390]
    assert r.power_w is None and r.power_source is None and r.efficiency_jth is None
    assert r.mac is None and r.expected_hashrate_ths is None
    assert r.uptime_s == 1092753 and r.errors == []


def test_api2_files_one_by_one() -> None:
    s = whatsminer.parse({"summary": reply(f"{API2}_summary.json")}, "d")
    assert s.hashrate_ths == pytest.approx(124.5)  # no MHS 1m/5s: HS RT, never MHS av (125.0)
    assert s.expected_hashrate_ths == pytest.approx(126.0)
    assert (s.power_w, s.power_limit_w, s.fans_rpm) == (3200.0, 3300.0, [5400, 5280])
    assert s.mac == "D4:01:02:03:04:05"
    d = whatsminer.parse({"summary": summary_only(Elapsed=1), "devs": reply(f"{API2}_devs.json")}, "d")
    # Only MHS av (since boot) exists per board: SOURCES.md's 41.5/41.8/41.7 are averages, not current rates.
    assert [b.hashrate_ths for b in d.boards] == [None, None, None]
    assert [b.chips for b in d.boards] == [135, 135, 135]
    assert [b.temp_c for b in d.boards] == [65.0, 66.0, 67.0]
    p = whatsminer.parse({"summary": summary_only(Elapsed=1), "pools": reply(f"{API2}_pools.json")}, "d")
    assert [x.index for x in p.pools] == [1, 2, 3] and p.pools[0].active and p.pools[0].accepted == 5412
    assert p.pools[0].stale is None  # no Stale key: unknown
    v = whatsminer.parse(
        {"summary": summary_only(Elapsed=1), "get_version": reply(f"{API2}_get_version.json")}, "d"
    )
    assert v.firmware_version == "20230803.11.REL"
    i = whatsminer.parse(
        {"summary": summary_only(Elapsed=1), "get_miner_info": reply(f"{API2}_get_miner_info.json")}, "d"
    )
    assert (i.hostname, i.mac) == ("WhatsMiner", "D4:01:02:03:04:05")
    st = whatsminer.parse({"summary": summary_only(Elapsed=1), "status": reply(f"{API2}_status.json")}, "d")
    assert not st.sleeping and st.firmware_version == "20240624.18.REL"
    e = whatsminer.parse(
        {"summary": summary_only(Elapsed=1), "get_error_code": reply(f"{API2}_get_error_code.json")}, "d"
    )
    assert e.errors == []
    ee = reply(f"{API2}_get_error_code_with_errors.json")
    assert [
        x.code
        for x in whatsminer.parse({"summary": summary_only(Elapsed=1), "get_error_code": ee}, "d").errors
    ] == [
        218,
        110,
    ]
    assert reply(f"{API2}_get_psu.json")["Msg"]["fan_speed"] == "6000"  # decodes; not part of the reading


@pytest.mark.parametrize("errors_file", ["get_error_code", "get_error_code_with_errors"])
async def test_api2_device_over_loopback(errors_file: str) -> None:
    replies = fixture_set(API2)
    replies["get_error_code"] = replies.pop(errors_file)
    replies.pop("get_error_code_with_errors", None)
    replies["devdetails"] = DEVDETAILS
    async with BtminerReplay(replies) as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "whatsminer" and r.make == "Whatsminer" and r.model is None
    assert (
        r.firmware_version == "20230803.11.REL"
        and r.mac == "D4:01:02:03:04:05"
        and r.hostname == "WhatsMiner"
    )
    assert r.hashrate_ths == pytest.approx(124.5) and r.expected_hashrate_ths == pytest.approx(126.0)
    assert (r.power_w, r.power_source) == (3200.0, "reported")
    assert r.efficiency_jth == pytest.approx(3200 / 124.5, abs=1e-3)
    assert r.fans_rpm == [5400, 5280] and r.uptime_s == 25000
    assert [b.chips for b in r.boards] == [135, 135, 135]
    assert len(r.pools) == 3 and r.state == "hashing"
    assert [e.code for e in r.errors] == ([] if errors_file == "get_error_code" else [218, 110])
    sent = sent_commands(miner.requests)
    assert set(sent) <= rpc.READ_COMMANDS
    # btminer commands were rejected inside the identity join and then read one per connection; status (mineroff)
    # is not asked of a miner whose summary shows it hashing now (HS RT above 0).
    assert sent.count("get_version") == 2 and sent.count("status") == 0 and sent.count("get_error_code") == 1


async def test_m20s_device_over_loopback() -> None:
    replies = fixture_set("whatsminer_m20s-20200917")
    replies["devdetails"] = DEVDETAILS
    async with BtminerReplay(replies) as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "whatsminer"
    assert r.hashrate_ths == pytest.approx(67.2664, abs=1e-4) and r.power_w == 3491.0
    assert [b.chips for b in r.boards] == [111, 111, 111] and r.pools == []
    assert r.firmware_version == "20200917.22.REL" and r.state == "hashing"
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS
