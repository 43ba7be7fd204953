"""Avalon captures in ../shared/fixtures/asic/ (values from SOURCES.md)."""

from __future__ import annotations

import json

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import avalon
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures
from tests.support.replay_btminer import sent_commands

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

A1047 = "avalon_1047-cgminer4.11.1_summary+stats+pools.json"
Q = "avalon_q-25052801-idle"


def reply(name: str) -> rpc.Reply:
    return rpc.decode_reply(fixture(name))


def joined_sections(name: str) -> dict[str, rpc.Reply]:
    """A captured ``a+b+c`` reply split into per-command replies, as the transport does."""
    whole = reply(name)
    return {k: v[0] for k, v in whole.items() if isinstance(v, list) and v and isinstance(v[0], dict)}


def test_1047_joined_reply() -> None:
    r = finalize(avalon.parse(joined_sections(A1047), "d"))
    assert r.model == "Avalon 1047"
    assert r.hashrate_ths == pytest.approx(28.1344, abs=1e-4)  # MHS 1m, not MHS av 25.54
    assert [b.hashrate_ths for b in r.boards[:2]] == pytest.approx([12.36261, 12.81216])
    assert sum(b.hashrate_ths or 0 for b in r.boards) == pytest.approx(25.1748, abs=1e-4)
    assert r.expected_hashrate_ths == pytest.approx(37.47098)
    assert r.fans_rpm == [2896, 2927]
    assert [b.chip_temp_c for b in r.boards[:2]] == [61.0, 64.0]  # MTmax
    assert r.power_w is None  # PS[0 0 0 0 0 0], POW_I2C[FAILED]
    assert r.power_limit_w == 2220.0
    assert len(r.pools) == 3 and r.pools[0].active and r.pools[0].accepted == 5
    # "Hash Board: 2" on a three-board model: the third slot is reported missing.
    assert len(r.boards) == 3 and r.boards[2].chips == 0 and r.state == "degraded"
    assert r.uptime_s == 155


async def test_1047_device_over_loopback() -> None:
    sections = joined_sections(A1047)
    replies = {k: json.dumps(v).encode() for k, v in sections.items()}
    async with ReplayMiner(replies, description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "avalon" and r.model == "Avalon 1047"
    assert r.hashrate_ths == pytest.approx(28.1344, abs=1e-4)
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS


def test_1246_stats() -> None:
    r = finalize(avalon.parse({"stats": reply("avalon_1246-21072802_stats.json")}, "d"))
    assert r.model == "Avalon 1246" and r.firmware_version == "21072802_4ec6bb0"
    assert [b.hashrate_ths for b in r.boards] == pytest.approx([26.90701, 26.02506, 26.72456])
    assert sum(b.hashrate_ths or 0 for b in r.boards) == pytest.approx(79.6566, abs=1e-4)
    assert r.hashrate_ths == pytest.approx(81.07268)  # no summary here: GHSspd
    assert r.expected_hashrate_ths == pytest.approx(83.92304)
    assert r.fans_rpm == [5344, 5392, 5349, 5309]
    assert [b.chip_temp_c for b in r.boards] == [77.0, 77.0, 76.0]
    assert [b.chips for b in r.boards] == [120, 120, 120] and [b.expected_chips for b in r.boards] == [
        120
    ] * 3
    # No WALLPOWER on this firmware: the PSU block's watts (PS[4]), reported; MPO is the limit.
    assert (r.power_w, r.power_source, r.power_limit_w) == (3189.0, "reported", 3200.0)
    assert r.uptime_s == 24684 and r.state == "hashing" and r.errors == []


def test_mini3_text_api() -> None:
    version = reply("avalon_mini3-25011701_version-textapi.txt")
    details = reply("avalon_mini3-25011701_devdetails-textapi.txt")
    assert details["DEVDETAILS"][0]["Model"] == "" and details["DEVDETAILS"][0]["Name"] == "AVALON"
    mods = avalon.modules(None)
    assert avalon.model_name(version["VERSION"][0], mods) == "Avalon Mini 3"
    r = avalon.parse({"version": version, "summary": {"SUMMARY": [{"MHS 1m": 1.0}]}}, "d")
    assert (r.model, r.mac, r.firmware_version) == ("Avalon Mini 3", "E0:E1:A9:3E:2C:7D", "25011701_3f53b19")


def test_q_files_one_by_one() -> None:
    s = avalon.parse({"summary": reply(f"{Q}_summary.json")}, "d")
    assert s.hashrate_ths == 0.0 and s.uptime_s == 37714  # MHS 1m 0.0; MHS av 44.54 TH/s is lifetime
    lite = finalize(avalon.parse({"litestats": reply(f"{Q}_litestats.json")}, "d"))
    assert lite.state == "sleeping" and lite.hashrate_ths == 0.0 and lite.fans_rpm == [0, 0]
    assert lite.expected_hashrate_ths == pytest.approx(55.03279)
    st = finalize(avalon.parse({"stats": reply(f"{Q}_stats.json")}, "d"))
    assert st.model == "Avalon Q" and st.sleeping and st.power_limit_w == 800.0
    assert [b.chips for b in st.boards] == [160]  # HBinfo PVT_T0
    assert st.power_w is None  # PS[4] is 0 while soft-off
    v = avalon.parse(
        {
            "version": reply(f"{Q}_version.json"),
            "summary": {"SUMMARY": [{}]},
            "stats": reply(f"{Q}_stats.json"),
        },
        "d",
    )
    assert (v.model, v.mac, v.firmware_version) == ("Avalon Q", "AA:BB:CC:DD:EE:FF", "25052801_14a19a2")
    dv = avalon.parse({"devs": reply(f"{Q}_devs.json"), "stats": reply(f"{Q}_stats.json")}, "d")
    assert dv.hashrate_ths == 0.0  # devs MHS 1m; Temperature 0.0 is not a reading
    assert reply(f"{Q}_devdetails.json")["DEVDETAILS"][0]["Model"] == ""
    p = avalon.parse({"pools": reply(f"{Q}_pools.json"), "stats": reply(f"{Q}_stats.json")}, "d")
    assert [(x.status, x.active, x.accepted, x.rejected, x.stale) for x in p.pools] == [
        ("alive", True, 890, 2, 0)
    ]


async def test_q_idle_device_over_loopback() -> None:
    async with ReplayMiner(fixture_set(Q), description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "avalon" and (r.make, r.model) == ("AvalonMiner", "Avalon Q")
    assert r.mac == "AA:BB:CC:DD:EE:FF" and r.firmware_version == "25052801_14a19a2"
    assert r.state == "sleeping" and r.hashrate_ths == 0.0
    assert r.expected_hashrate_ths == pytest.approx(55.03279)
    assert r.fans_rpm == [0, 0] and r.power_w is None and r.power_limit_w == 800.0
    assert len(r.boards) == 1 and r.boards[0].chips == 160 and r.boards[0].hashrate_ths == 0.0
    assert r.boards[0].temp_c == 27.0
    assert [(p.accepted, p.rejected, p.stale) for p in r.pools] == [(890, 2, 0)]
    assert r.uptime_s == 37714
    sent = sent_commands(miner.requests)
    assert set(sent) <= rpc.READ_COMMANDS and "ascset" not in sent


def test_ascset_write_reply_is_a_protocol_fact_never_sent() -> None:
    status, msg = rpc.status_of(reply("avalon_q_ascset-softoff.json"))
    assert status == "I" and "success" in msg
    with pytest.raises(ValueError):
        rpc.request("ascset", "0,softoff")
