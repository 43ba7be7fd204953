"""Avalon driver: the MM bracket-string parser and the reading, on hand-written replies in the documented shapes
(research/asic.md "Avalon"), plus one poll over loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.asic import rpc
from collectors.asic.drivers import avalon
from collectors.asic.normalize import finalize
from collectors.asic.poll import match_driver, poll_once
from tests.support.replay import ReplayMiner
from tests.support.replay_btminer import sent_commands


def cg(section: str, entries: list[dict[str, Any]], code: int = 11) -> bytes:
    status = {
        "STATUS": "S",
        "When": 1700000000,
        "Code": code,
        "Msg": section,
        "Description": "cgminer 4.11.1",
    }
    return json.dumps({"STATUS": [status], section: entries, "id": 1}).encode() + b"\x00"


def pvt(n: int, base: int = 60) -> str:
    return " ".join(f"{base + i % 7:3d}" for i in range(n))


MM_3_BOARDS = (
    "Ver[1246-83-21072802_4ec6bb0_211fc46] DNA[02010000cbd2fd6d] NETFAIL[0 0 0 0] "
    "SYSTEMSTATU[Work: In Work, Hash Board: 3 ] Elapsed[5000] HW[12] Temp[30] TMax[77] TAvg[65] "
    "Fan1[5344] Fan2[5392] Fan3[0] Fan4[5309] FanR[72%] PS[0 1214 1316 242 3189 1320 3504] "
    "GHSspd[81072.68] GHSmm[83923.04] GHSavg[79656.63] MGHS[26907.01 26025.06 26724.56] MTmax[77 -273 76] "
    f"PVT_T0[{pvt(120)}] PVT_T1[{pvt(120)}] PVT_T2[{pvt(118)}  -273  -273] "
    "ATAOPTS0[--avalon10-freq 376:396:416:436 --avalon10-voltage-level 46 ] POW_I2C[OK] FACOPTS0[] "
    "SoftOFF[0] ECHU[0 0 0] ECMM[0] MPO[3200] WORKMODE[1]"
)


def test_bracket_parser_values_with_spaces_commas_and_nesting() -> None:
    got = avalon.parse_brackets(
        "Ver[1047-2005] SYSTEMSTATU[Work: In Work, Hash Board: 2 ] ATAOPTS0[--freq 562:587 --level 36 ] "
        "FACOPTS0[] X[a [b c] d] Nonce Mask[25] Tail[unterminated"
    )
    assert got["Ver"] == "1047-2005"
    assert got["SYSTEMSTATU"] == "Work: In Work, Hash Board: 2"
    assert got["ATAOPTS0"] == "--freq 562:587 --level 36"
    assert got["FACOPTS0"] == ""
    assert got["X"] == "a [b c] d"
    assert got["Nonce Mask"] == "25"
    assert got["Tail"] == "unterminated"


def test_wrapped_summary_and_hbinfo_blocks() -> None:
    mm = avalon.parse_mm("'STATS':{Ver[Q-25052801_14a19a2] SoftOFF[4] MGHS[44499.41] Fan1[0]}")
    assert mm["Ver"] == "Q-25052801_14a19a2" and mm["SoftOFF"] == "4" and mm["Fan1"] == "0"
    hb = avalon.split_blocks("'HB0':{PVT_T0[1 2 3] MW0[4 5 6]} 'HB1':{PVT_T0[7 8]}")
    assert set(hb) == {"HB0", "HB1"} and avalon.parse_brackets(hb["HB1"])["PVT_T0"] == "7 8"
    assert avalon.numbers("1 nan -273 inf x 2.5") == [1.0, None, -273.0, None, None, 2.5]


def test_three_boards_ps_power_and_no_sensor_temperatures() -> None:
    stats = cg(
        "STATS", [{"STATS": 0, "ID": "AVA100", "Elapsed": 5000, "MM ID0": MM_3_BOARDS, "MM Count": 1}], 70
    )
    summary = cg(
        "SUMMARY", [{"Elapsed": 4990, "MHS av": 79000000.0, "MHS 5s": 81000000.0, "MHS 1m": 80500000.0}]
    )
    version = cg("VERSION", [{"PROD": "AvalonMiner 1246", "MODEL": "1246", "MAC": "b4a2eb001122"}], 22)
    r = finalize(
        avalon.parse(
            {
                "stats": rpc.decode_reply(stats),
                "summary": rpc.decode_reply(summary),
                "version": rpc.decode_reply(version),
            },
            "d",
        )
    )
    assert (r.make, r.model) == ("AvalonMiner", "Avalon 1246")
    assert r.mac == "B4:A2:EB:00:11:22"
    assert r.hashrate_ths == pytest.approx(80.5)  # summary MHS 1m
    assert r.expected_hashrate_ths == pytest.approx(83.92304)  # GHSmm is the nominal
    assert (r.power_w, r.power_source, r.power_limit_w) == (3189.0, "reported", 3200.0)
    assert r.fans_rpm == [5344, 5392, 0, 5309]
    assert [b.hashrate_ths for b in r.boards] == pytest.approx([26.90701, 26.02506, 26.72456])
    assert [b.chips for b in r.boards] == [120, 120, 118]  # -273 chip sensors are not chips
    assert r.boards[1].chip_temp_c == 66.0  # MTmax -273 -> hottest of the board's own chip sensors
    assert r.boards[0].chip_temp_c == 77.0
    assert r.firmware_version == "21072802_4ec6bb0"
    assert r.state == "hashing" and r.uptime_s == 4990


def test_wallpower_wins_and_failed_psu_block_is_unknown() -> None:
    mm = "Ver[1566-x] MGHS[1 2 3] WALLPOWER[3480] PS[0 1200 1300 240 3300 0 0] GHSmm[185000]"
    assert avalon.modules({"STATS": [{"MM ID0": mm}]})[0].power() == 3480.0
    failed = "Ver[1047-x] MGHS[1 2] PS[0 0 0 0 0 0] POW_I2C[FAILED]"
    r = avalon.parse({"stats": {"STATS": [{"MM ID0": failed}]}}, "d")
    assert r.power_w is None and r.power_source is None
    err = "Ver[1246-x] MGHS[1 2 3] PS[3 1200 1300 240 3300 0 0]"
    assert avalon.parse({"stats": {"STATS": [{"MM ID0": err}]}}, "d").power_w is None


def test_softoff_idle_is_sleeping_and_lifetime_average_is_not_hashrate() -> None:
    mm = (
        "'STATS':{Ver[Q-25052801_14a19a2] SYSTEMSTATU[Work: In Idle, Hash Board: 1] ITemp[26] HBITemp[27] "
        "HBOTemp[28] TMax[0] Fan1[0] Fan2[0] Fan3[0] Fan4[0] PS[0 1222 4 0 0 2245 146] GHSspd[0.00] "
        "GHSmm[55032.79] GHSavg[44499.41] MGHS[44499.41] SoftOFF[4] MPO[800] Nonce Mask[25]}"
    )
    summary = {"SUMMARY": [{"MHS av": 44539601.86, "MHS 1m": 0.0, "MHS 5s": 0.0, "Elapsed": 37714}]}
    version = {"VERSION": [{"PROD": "Avalon Q", "MODEL": "Q", "MAC": "AA:BB:CC:DD:EE:FF"}]}
    r = finalize(
        avalon.parse(
            {"stats": {"STATS": [{"MM ID0:Summary": mm}]}, "summary": summary, "version": version}, "d"
        )
    )
    assert r.model == "Avalon Q" and r.state == "sleeping"
    assert r.hashrate_ths == 0.0 and r.boards[0].hashrate_ths == 0.0
    assert r.power_w is None  # PS[4] is 0 while off: unknown, not 0 and not PS[5]
    assert r.fans_rpm == [0, 0]  # trimmed to the Q's two fan slots; no alarm while sleeping
    assert r.boards[0].temp_c == 28.0
    softoff_only = "Ver[1246-x] SYSTEMSTATU[Work: In Work, Hash Board: 3] SoftOFF[1] MGHS[0 0 0]"
    assert avalon.parse({"stats": {"STATS": [{"MM ID0": softoff_only}]}}, "d").sleeping


def test_several_modules_and_nan_values() -> None:
    entry = {
        "MM ID0": "Ver[1246-a] MGHS[10000 nan] MTmax[70 71] Fan1[4000] PS[0 1 1 1 1500 0 0] GHSmm[30000] "
        "GHSspd[20000] SoftOFF[0]",
        "MM ID1": "Ver[1246-a] MGHS[11000 12000] MTmax[72 -273] Fan1[4100] PS[0 1 1 1 1600 0 0] GHSmm[30000] "
        "GHSspd[23000] SoftOFF[0]",
    }
    r = avalon.parse({"stats": {"STATS": [entry]}}, "d")
    assert [b.index for b in r.boards] == [0, 1, 2, 3]
    assert [b.hashrate_ths for b in r.boards] == [10.0, None, 11.0, 12.0]
    assert r.boards[3].chip_temp_c is None
    assert r.fans_rpm == [4000, 4100]
    assert r.power_w == 3100.0 and r.expected_hashrate_ths == pytest.approx(60.0)
    assert r.hashrate_ths == pytest.approx(43.0)  # no summary: the modules' 5 s figures
    assert not r.sleeping


def test_model_names() -> None:
    assert avalon.model_name({"PROD": "Avalon Mini3", "MODEL": "Mini3"}, []) == "Avalon Mini 3"
    assert avalon.model_name({"PROD": "Avalon Nano3s", "MODEL": ""}, []) == "Avalon Nano 3S"
    assert avalon.model_name({"PROD": "AvalonMiner 1566"}, []) == "Avalon 1566"
    mods = avalon.modules({"STATS": [{"MM ID0": "Ver[1047-20051101_85dc6f0_0332654] MGHS[1 2]"}]})
    assert avalon.model_name({}, mods) == "Avalon 1047"


def test_text_api_version_reply() -> None:
    raw = (
        b"STATUS=S,When=1742265580,Code=22,Msg=CGMiner versions,Description=cgminer 4.11.1|VERSION,"
        b"CGMiner=4.11.1,API=3.7,PROD=Avalon Mini3,MODEL=Mini3,LVERSION=25011701_3f53b19,MAC=e0e1a93e2c7d|"
    )
    stats = {"STATS": [{"MM ID0": "Ver[Mini3-25011701_3f53b19] MGHS[37000] GHSmm[37500] SoftOFF[0]"}]}
    r = finalize(avalon.parse({"version": rpc.decode_reply(raw), "stats": stats}, "d"))
    assert (r.model, r.mac, r.firmware_version) == ("Avalon Mini 3", "E0:E1:A9:3E:2C:7D", "25011701_3f53b19")


def test_signature_does_not_claim_other_firmware() -> None:
    antminer = {
        "version": {"STATUS": [{"Description": "cgminer 4.9.0"}], "VERSION": [{"Type": "Antminer S9"}]}
    }
    driver = match_driver(antminer)
    assert driver is None or driver.name != "avalon"
    plain = {"version": {"STATUS": [{"Description": "cgminer 4.11.1"}], "VERSION": [{"CGMiner": "4.11.1"}]}}
    driver = match_driver(plain)
    assert driver is None or driver.name != "avalon"
    assert avalon.DRIVER.priority >= max(d.priority for d in _stock_drivers())


def _stock_drivers() -> list[Any]:
    from collectors.asic.drivers import registry

    # The generic cgminer reader has no signature: it is the fallback after every match, not a rival stock driver.
    return [d for d in registry().values() if not d.custom and d.signatures]


async def test_poll_over_loopback() -> None:
    stats = cg("STATS", [{"STATS": 0, "ID": "AVA100", "Elapsed": 5000, "MM ID0": MM_3_BOARDS}], 70)
    replies = {
        "version": cg("VERSION", [{"PROD": "AvalonMiner 1246", "MODEL": "1246", "MAC": "b4a2eb001122"}], 22),
        "devdetails": cg(
            "DEVDETAILS", [{"DEVDETAILS": 0, "Name": "AVALON", "ID": 0, "Driver": "avalon", "Model": ""}], 69
        ),
        "stats": stats,
        "summary": cg("SUMMARY", [{"Elapsed": 4990, "MHS 1m": 80500000.0, "MHS av": 1.0}]),
        "pools": cg(
            "POOLS",
            [
                {
                    "POOL": 0,
                    "URL": "stratum+tcp://p:3333",
                    "User": "u",
                    "Status": "Alive",
                    "Stratum Active": True,
                    "Accepted": 3,
                    "Rejected": 0,
                    "Stale": 0,
                }
            ],
            7,
        ),
    }
    async with ReplayMiner(replies, description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "avalon" and r.model == "Avalon 1246" and r.state == "hashing"
    assert r.pools[0].accepted == 3 and r.power_w == 3189.0
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS


_BRACKET_TEXT = st.lists(st.sampled_from(["Ver", " Fan1", "[", "]", " ", "'STATS':{", "}", "PVT_T0", "45 46",
                                          "Work: In Work,", "x", "\t", ",", ":", '"']), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_BRACKET_TEXT)
def test_bracket_strings_read_the_same_by_the_one_pass_reading_and_the_walk(text: str) -> None:
    """parse_brackets() reads a string whose brackets all pair up without nesting in one regex pass, and hands
    anything else (nested, unterminated, stray brackets) to the bracket walk: both give the same dict."""
    assert avalon.parse_brackets(text) == avalon._walk_brackets(text)


def test_nested_and_unterminated_brackets_take_the_walk() -> None:
    assert avalon.parse_brackets("A[x[y]z] B[1]") == {"A": "x[y]z", "B": "1"}
    assert avalon.parse_brackets("Ver[1] PS[0 1 2") == {"Ver": "1", "PS": "0 1 2"}
    assert avalon.parse_brackets("x] A[1]") == {"x] A": "1"}
