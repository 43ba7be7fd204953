"""Parsers of the cgminer-family drivers (antminer, braiins, luxos, vnish) on hand-written replies.

Every reply below is written here from the documented formats (cgminer API-README, research/asic.md), quirks
included: string numbers, dash lists with negatives, chains 6..8, ``}{`` joins with a NUL, sleeping, missing
boards, dead fans, NaN, E replies. Nothing here needs ../shared.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import _bmminer as bm
from collectors.asic.drivers import antminer, braiins, get, luxos, registry, vnish
from collectors.asic.normalize import finalize
from collectors.asic.poll import match_driver, poll_once
from collectors.errors import ParseError
from tests.support.replay import ReplayMiner

DEV = "10.0.0.9:4028"


def status(msg: str, desc: str = "cgminer 1.0.0", letter: str = "S", code: int = 70) -> str:
    return f'"STATUS":[{{"STATUS":"{letter}","When":1700000000,"Code":{code},"Msg":"{msg}","Description":"{desc}"}}]'


def decode(text: str) -> dict[str, Any]:
    return rpc.decode_reply(text.encode())


def E(msg: str = "Invalid command", desc: str = "cgminer 1.0.0") -> dict[str, Any]:
    return decode("{" + status(msg, desc, letter="E", code=14) + ',"id":1}')


# --- stock Antminer, X19 generation: numbers, chains 1..4, temp_pcb dash lists --------------------------------

X19_VERSION = (
    "{"
    + status("CGMiner versions", code=22)
    + ',"VERSION":[{"BMMiner":"1.0.0","API":"3.1","Miner":"49.0.1.3",'
    '"CompileTime":"Mon Jan  2 10:00:00 CST 2023","Type":"Antminer S19 Pro"}],"id":1}'
)
X19_SUMMARY = (
    "{" + status("Summary", code=11) + ',"SUMMARY":[{"Elapsed":7200,"GHS 5s":104500.5,"GHS av":111000.0,'
    '"GHS 30m":108000.0,"Accepted":10,"Rejected":1,"Stale":0}],"id":1}'
)


def x19_stats(**over: Any) -> str:
    data: dict[str, Any] = {
        "STATS": 0,
        "ID": "BTM_SOC0",
        "Elapsed": 7200,
        "GHS 5s": 104500.5,
        "GHS av": 111000.0,
        "Mode": 2,
        "rate_unit": "GH",
        "total_rateideal": 110000.0,
        "total rate": 1.0,
        "fan_num": 3,
        "fan1": 6000,
        "fan2": 0,
        "fan3": 5100,
        "fan4": 5040,
        "chain_acn1": 114,
        "chain_acn2": 0,
        "chain_acn3": 114,
        "chain_acn4": 0,
        "chain_rate1": "52300.10",
        "chain_rate2": "",
        "chain_rate3": "52200.40",
        "chain_rate4": "",
        "temp_pcb1": "2--1-20-22",
        "temp_pcb2": "0-0-0-0",
        "temp_pcb3": "61-44-60-59",
        "temp_pcb4": "0-0-0-0",
        "temp_chip1": "-5-70-68-66",
        "temp_chip2": "0-0-0-0",
        "temp_chip3": "77-50-69-70",
        "temp_chip4": "0-0-0-0",
        "temp1": 22,
        "temp2_1": 70,
    }
    data.update(over)
    info = {
        "BMMiner": "1.0.0",
        "Miner": "49.0.1.3",
        "CompileTime": "Mon Jan  2 10:00:00 CST 2023",
        "Type": "Antminer S19 Pro",
    }
    return (
        "{" + status("CGMiner stats") + ',"STATS":[' + json.dumps(info) + "," + json.dumps(data) + '],"id":1}'
    )


X19_POOLS = (
    "{" + status("2 Pool(s)", code=7) + ',"POOLS":['
    '{"POOL":0,"URL":"stratum+tcp://pool.example:3333","Status":"Alive","Stratum Active":true,"User":"w.1",'
    '"Accepted":10,"Rejected":1,"Stale":0,"Last Share Time":"0:00:04","Pool Stale%%":0.0},'
    '{"POOL":1,"URL":"stratum+tcp://backup.example:3333","Status":"Dead","Stratum Active":false,"User":"w.1",'
    '"Accepted":0,"Rejected":0,"Stale":0,"Last Share Time":"0"}],"id":1}'
)


def x19_replies(**over: Any) -> dict[str, dict[str, Any]]:
    return {
        "version": decode(X19_VERSION),
        "summary": decode(X19_SUMMARY),
        "stats": decode(x19_stats(**over)),
        "pools": decode(X19_POOLS),
    }


def test_antminer_x19_missing_board_dead_fan_negative_temps() -> None:
    r = finalize(antminer.parse(x19_replies(), DEV))
    assert (r.driver, r.make, r.model, r.firmware) == ("antminer", "Antminer", "S19 Pro", "stock")
    assert r.firmware_version == "Mon Jan  2 10:00:00 CST 2023"
    assert r.hashrate_ths == pytest.approx(104.5005)
    assert r.expected_hashrate_ths == pytest.approx(110.0)
    assert [b.index for b in r.boards] == [0, 1, 2]
    b0, b1, b2 = r.boards
    assert (b0.chips, b0.hashrate_ths, b0.temp_c, b0.chip_temp_c) == (114, pytest.approx(52.3001), 22.0, 70.0)
    assert (b1.chips, b1.hashrate_ths, b1.temp_c, b1.chip_temp_c) == (0, None, None, None)
    assert (b2.temp_c, b2.chip_temp_c, b2.expected_chips) == (61.0, 77.0, 114)
    assert r.fans_rpm == [6000, 0, 5100, 5040]  # fan2 dead: stays 0 in its slot
    assert r.state == "degraded"  # a board is missing
    assert r.power_w is None and r.power_source is None and r.efficiency_jth is None
    assert r.uptime_s == 7200
    assert [(p.url, p.status, p.accepted, p.active) for p in r.pools] == [
        ("stratum+tcp://pool.example:3333", "alive", 10, True),
        ("stratum+tcp://backup.example:3333", "dead", 0, False),
    ]


def test_dash_list_negatives() -> None:
    assert bm.chain_temps({"temp_pcb1": "2--1-20-22", "temp_chip1": "-3--5"}, 1) == (22.0, -3.0)


def test_antminer_prefers_one_minute_figure_and_never_average() -> None:
    replies = x19_replies()
    replies["summary"] = decode(
        "{"
        + status("Summary")
        + ',"SUMMARY":[{"Elapsed":5,"GHS 5s":90000,"GHS 1m":101000.0,"GHS av":1}],"id":1}'
    )
    assert antminer.parse(replies, DEV).hashrate_ths == pytest.approx(101.0)
    replies["summary"] = decode(
        "{" + status("Summary") + ',"SUMMARY":[{"Elapsed":5,"GHS av":111000}],"id":1}'
    )
    # summary without a current figure: stats "GHS 5s"; GHS av is never used
    assert antminer.parse(replies, DEV).hashrate_ths == pytest.approx(104.5005)


def test_antminer_nan_is_unknown_not_zero() -> None:
    replies = x19_replies(**{"GHS 5s": float("nan"), "total_rateideal": float("inf")})
    replies["summary"] = decode(
        "{" + status("Summary") + ',"SUMMARY":[{"Elapsed":60,"GHS 5s":NaN,"GHS av":100.0}],"id":1}'
    )
    r = finalize(antminer.parse(replies, DEV))
    assert r.hashrate_ths is None
    assert r.state == "unknown"
    assert r.expected_hashrate_ths == 110.0  # unknown from the firmware -> the model's nameplate


def test_antminer_e_replies_are_absent_and_required_sections_raise() -> None:
    replies = x19_replies()
    replies["pools"] = E("Access denied")
    del replies["summary"]
    r = antminer.parse(replies, DEV)
    assert r.pools == [] and r.hashrate_ths == pytest.approx(104.5005)
    with pytest.raises(ParseError, match="neither summary nor stats"):
        antminer.parse({"version": decode(X19_VERSION), "stats": E()}, DEV)
    with pytest.raises(ParseError):
        antminer.parse({}, DEV)


def test_antminer_unknown_rate_unit_is_parse_error() -> None:
    with pytest.raises(ParseError, match="rate_unit"):
        antminer.parse(x19_replies(rate_unit="furlongs"), DEV)


def test_antminer_sleep_mode_254() -> None:
    r = finalize(antminer.parse(x19_replies(**{"Mode": 254, "GHS 5s": "0.00"}), DEV))
    assert r.sleeping and r.state == "sleeping"


def test_antminer_all_zero_stats_is_asleep_and_raises_no_board_or_fan_alarm() -> None:
    zero: dict[str, Any] = {f"chain_acn{n}": 0 for n in range(1, 5)}
    zero.update({f"chain_rate{n}": "" for n in range(1, 5)})
    zero.update({f"fan{n}": 0 for n in range(1, 5)})
    zero.update({"GHS 5s": "0.00", "fan_num": 0, "total_rateideal": 0.0, "Mode": 2})
    replies = x19_replies(**zero)
    replies["summary"] = decode(
        "{" + status("Summary") + ',"SUMMARY":[{"Elapsed":300,"GHS 5s":"0.00"}],"id":1}'
    )
    r = finalize(antminer.parse(replies, DEV))
    assert r.state == "sleeping"
    assert r.fans_rpm == [0, 0, 0, 0]  # the model's fans, stopped (as LuxOS and Avalon report them asleep)
    assert r.expected_hashrate_ths is None  # no nameplate expectation for a sleeping miner
    assert [b.chips for b in r.boards] == [0, 0, 0]


def test_zero_hashrate_with_fans_running_is_not_hashing() -> None:
    zero: dict[str, Any] = {f"chain_acn{n}": 0 for n in range(1, 5)}
    zero.update({"GHS 5s": 0, "chain_rate1": "", "chain_rate3": ""})
    replies = x19_replies(**zero)
    replies["summary"] = decode("{" + status("Summary") + ',"SUMMARY":[{"Elapsed":300,"GHS 5s":0}],"id":1}')
    r = finalize(antminer.parse(replies, DEV))
    assert not r.sleeping and r.state == "not_hashing"


# --- stock S9 / Hiveon: string numbers, `}{` join, NUL, chains 6..8, fans 5/6, chain_power --------------------

HIVEON_STATS = (
    '{"STATUS":[{"STATUS":"S","When":1,"Code":70,"Msg":"BMMiner stats","Description":"bmminer 1.0.0"}],'
    '"STATS":[{"BMMiner":"2.0.0 rwglr","Miner":"30.0.1.3","CompileTime":"Wed Jan  1 00:00:00 UTC 2020",'
    '"Type":"Antminer S9 Hiveon"}{"STATS":0,"ID":"BC50","Elapsed":4000,"GHS 5s":"12001.50","GHS av":11000.0,'
    '"fan_num":2,"fan1":0,"fan2":0,"fan3":0,"fan4":0,"fan5":0,"fan6":4800,"fan7":0,"fan8":0,'
    '"temp6":60,"temp7":0,"temp8":58,"temp2_6":75,"temp2_7":0,"temp2_8":73,'
    '"total_rateideal":12000.00,"chain_acn5":0,"chain_acn6":63,"chain_acn7":0,"chain_acn8":63,'
    '"chain_rate5":"","chain_rate6":"6000.70","chain_rate7":"","chain_rate8":"6000.80",'
    '"chain_power6":11.55,"chain_power8":11.55,"chain_power":"23.10 (AB)"}],"id":1}\x00'
)


def test_hiveon_chains_6_to_8_missing_middle_board_and_dead_first_fan() -> None:
    r = finalize(antminer.parse({"stats": decode(HIVEON_STATS)}, DEV))
    assert (r.model, r.firmware) == ("S9", "hiveon")
    assert r.hashrate_ths == pytest.approx(12.0015)
    assert r.expected_hashrate_ths == pytest.approx(12.0)
    assert [(b.index, b.chips, b.hashrate_ths) for b in r.boards] == [
        (0, 63, pytest.approx(6.0007)),
        (1, 0, None),
        (2, 63, pytest.approx(6.0008)),
    ]
    assert (r.boards[0].temp_c, r.boards[0].chip_temp_c) == (60.0, 75.0)
    assert r.fans_rpm == [0, 4800]  # slots fan5/fan6: fan5 dead
    assert r.power_w is None  # chain_power is not watts
    assert r.state == "degraded"
    assert r.uptime_s == 4000


def test_fan_window_alignment() -> None:
    s9 = {"fan_num": 2, **{f"fan{n}": 0 for n in range(1, 9)}, "fan5": 3840, "fan6": 4920}
    assert bm.fans(s9, 2) == [3840, 4920]
    assert bm.fans({**s9, "fan6": 0}, 2) == [3840, 0]
    stock = {"fan_num": 2, **{f"fan{n}": 0 for n in range(1, 9)}, "fan1": 6480, "fan2": 6480}
    assert bm.fans(stock, 2) == [6480, 6480]
    assert bm.fans(stock, None) == [6480, 6480]
    x19 = {"fan_num": 3, "fan1": 0, "fan2": 5000, "fan3": 5000, "fan4": 5000}
    assert bm.fans(x19, 4) == [0, 5000, 5000, 5000]
    assert bm.fans({"fan_num": 0, "fan1": 0, "fan2": 0}, 4) == []


def test_non_sha256_units() -> None:
    def stats(type_: str, extra: str = "") -> dict[str, Any]:
        return decode(
            "{" + status("CGMiner stats") + f',"STATS":[{{"Type":"{type_}"}},{{"Elapsed":9,"GHS 5s":"15.82",'
            f'"chain_acn1":4,"chain_rate1":"15.82"{extra}}}],"id":1}}'
        )

    z9 = antminer.parse({"stats": stats("Antminer Z9-Mini")}, DEV)
    assert z9.algorithm == "equihash" and z9.hashrate_ths == pytest.approx(15.82e-9)  # kSol/s
    l3 = antminer.parse({"stats": stats("Antminer L3+")}, DEV)
    assert l3.algorithm == "scrypt" and l3.hashrate_ths == pytest.approx(15.82e-6)  # MH/s under "GHS"
    l7 = antminer.parse({"stats": stats("Antminer L7", ',"rate_unit":"MH"')}, DEV)
    assert l7.algorithm == "scrypt" and l7.hashrate_ths == pytest.approx(15.82e-6)  # rate_unit wins
    dr5 = antminer.parse({"stats": stats("Antminer DR5")}, DEV)
    assert dr5.algorithm == "blake256" and dr5.hashrate_ths == pytest.approx(0.01582)


def test_version_alone_gives_identity_only() -> None:
    raw = (
        b'{"STATUS":[{"STATUS":"S","Code":22,"Msg":"CGMiner versions","Description":"cgminer 4.9.0"}],'
        b'"VERSION":[{"CGMiner":"4.9.0","Type":"Antminer S9k","CompileTime":"Sun Sep  1 00:00:00 CST 2019"}],'
        b'"id":1}"}'
    )
    ident = bm.identity(rpc.decode_reply(raw))
    assert ident["type"] == "Antminer S9k"
    with pytest.raises(ParseError):
        antminer.parse({"version": rpc.decode_reply(raw)}, DEV)


# --- VNish --------------------------------------------------------------------------------------------------

VNISH_STATS = (
    "{" + status("CGMiner stats", desc="cgminer 4.11.1") + ',"STATS":[{"Cgminer":"4.11.1","Miner":"19.1",'
    '"Type":"Antminer S17 (vnish 1.2.0-beta)"},{"Elapsed":100,"GHS 5s":60000.5,"fan_num":0,"fan1":0,"fan2":0,'
    '"fan3":0,"fan4":0,"chain_acn1":48,"chain_acn2":48,"chain_acn3":48,"chain_rate1":20000.1,'
    '"chain_rate2":20000.2,"chain_rate3":20000.2,"temp_pcb1":"55-41-55-40","temp_chip1":"74-57-75-59",'
    '"total_rateideal":60000.0,"build_version":"1.2.0-beta"}],"id":1}\x00'
)


def test_vnish_model_version_and_immersion_fans() -> None:
    r = finalize(vnish.parse({"stats": decode(VNISH_STATS)}, DEV))
    assert (r.driver, r.model, r.firmware, r.firmware_version) == ("vnish", "S17", "vnish", "1.2.0-beta")
    assert r.hashrate_ths == pytest.approx(60.0005)
    assert [b.chips for b in r.boards] == [48, 48, 48]
    assert r.boards[0].hashrate_ths == pytest.approx(20.0001)
    assert (r.boards[0].temp_c, r.boards[0].chip_temp_c) == (55.0, 75.0)
    assert r.fans_rpm == []  # fan_num 0: fans not reported, not four dead fans
    assert r.state == "hashing"
    assert vnish.split_type("Antminer S19j Pro (Vnish 1.2.6)") == ("S19j Pro", "1.2.6")


# --- LuxOS --------------------------------------------------------------------------------------------------

LUX = "LUXminer 2025.1.1.000000-abcdef01"


def lux_replies(
    psu: str = "false", shutdown: str = "false", curtail: str = "None"
) -> dict[str, dict[str, Any]]:
    def dev(i: int, mhs: float) -> str:
        return (
            f'{{"ASC":{i},"ID":{i},"MHS 1m":{mhs},"MHS 5s":1.0,"MHS av":2.0,"Nominal MHS":21000000.0,'
            f'"IsUserShutdown":{shutdown},"Temperature":50.0}}'
        )

    return {
        "summary": decode(
            "{" + status("Summary", LUX) + ',"SUMMARY":[{"Elapsed":3600,"GHS 5s":59000.0,'
            '"GHS 1m":61000.0,"GHS av":50000.0}],"id":1}'
        ),
        "stats": decode(
            "{" + status("LUXminer stats", LUX) + ',"STATS":[{"Miner":"2025.1.1.000000",'
            '"Type":"Antminer S19k Pro"},{"Elapsed":3600,"GHS 5s":59000.0,"rate_unit":"GH",'
            '"total rate":19000.0,"total_acn":4,"total_rateideal":63000.0,'
            '"chain_acn1":77,"chain_acn2":77,"chain_acn3":77,"chain_acn4":0,'
            '"chain_rate1":"19000.1","chain_rate2":"19000.2","chain_rate3":"19000.3","chain_rate4":"0",'
            '"temp_pcb1":"48-34-34-48","temp_chip1":"60-40-40-60","temp_pcb3":"0-0-0-0",'
            '"fan_num":4,"fan1":1900,"fan2":1900,"fan3":2300,"fan4":2300}],"id":1}'
        ),
        "devs": decode(
            "{"
            + status("3 ASC(s)", LUX)
            + ',"DEVS":['
            + dev(2, 20300000.0)
            + ","
            + dev(0, 20100000.0)
            + ","
            + dev(1, 20200000.0)
            + '],"id":1}'
        ),
        "fans": decode(
            "{" + status("4 Fan(s)", LUX) + ',"FANS":[{"FAN":"FAN4","ID":0,"RPM":1900},'
            '{"FAN":"FAN2","ID":1,"RPM":1901},{"FAN":"FAN1","ID":2,"RPM":2300},'
            '{"FAN":"FAN3","ID":3,"RPM":0}],"id":1}'
        ),
        "power": decode(
            "{" + status("Power usage", LUX) + f',"POWER":[{{"Watts":1100,"PSU":{psu}}}],"id":1}}'
        ),
        "temps": decode(
            "{" + status("3 Temp(s)", LUX) + ',"TEMPS":[{"ID":2,"TEMP":2,"TopLeft":49.0,'
            '"TopRight":35.0,"BottomLeft":47.5,"BottomRight":34.0}],"id":1}'
        ),
        "pools": decode(
            "{" + status("2 Pool(s)", LUX) + ',"POOLS":[{"POOL":0,"GROUP":0,"URL":"stratum+tcp://a:1",'
            '"Status":"Alive","Stratum Active":true,"Accepted":7},{"POOL":1,"GROUP":1,'
            '"URL":"stratum+tcp://b:1","Status":"Alive","Stratum Active":true,"Accepted":8}],"id":1}'
        ),
        "config": decode(
            "{" + status("LUXminer config", LUX) + ',"CONFIG":[{"Model":"Antminer S19k Pro",'
            '"MACAddr":"62:f7:5e:00:10:4a","SerialNumber":"SN123","Hostname":"rack1-s19k",'
            f'"NameplateTHS":121.8,"Profile":"290MHz","CurtailMode":"{curtail}"}}],"id":1}}'
        ),
        "version": decode(
            "{" + status("LUXminer versions", LUX) + ',"VERSION":[{"LUXminer":"2025.1.1.000000-abc",'
            '"Miner":"2025.1.1.000000","API":"3.7","Type":"Antminer S19k Pro"}],"id":1}'
        ),
    }


def test_luxos_reading() -> None:
    r = finalize(luxos.parse(lux_replies(), DEV))
    assert (r.driver, r.model, r.firmware, r.firmware_version) == (
        "luxos",
        "S19k Pro",
        "luxos",
        "2025.1.1.000000",
    )
    assert (r.mac, r.serial, r.hostname) == ("62:F7:5E:00:10:4A", "SN123", "rack1-s19k")
    assert r.hashrate_ths == pytest.approx(61.0)  # GHS 1m
    assert r.expected_hashrate_ths == pytest.approx(63.0)  # profile ideal, not the nameplate 121.8
    # devs are listed 2, 0, 1: each board gets its own 1-minute rate; chips from stats
    assert [(b.index, b.chips, round(b.hashrate_ths or 0, 1)) for b in r.boards] == [
        (0, 77, 20.1),
        (1, 77, 20.2),
        (2, 77, 20.3),
    ]
    assert (r.boards[0].temp_c, r.boards[0].chip_temp_c) == (48.0, 60.0)
    assert r.boards[2].temp_c == 49.0  # stats had only zeros; temps' hottest corner fills it
    assert r.fans_rpm == [2300, 1901, 0, 1900]  # by FAN name; FAN3 dead stays 0
    assert (r.power_w, r.power_source) == (1100.0, "estimated")
    assert r.efficiency_jth == pytest.approx(1100 / 61.0, abs=1e-3)
    assert [p.active for p in r.pools] == [True, True]  # one active pool per group
    assert r.state == "hashing"


def test_luxos_psu_power_is_reported_and_curtail_is_sleep() -> None:
    assert luxos.parse(lux_replies(psu="true"), DEV).power_source == "reported"
    assert finalize(luxos.parse(lux_replies(curtail="Sleep"), DEV)).state == "sleeping"
    assert finalize(luxos.parse(lux_replies(shutdown="true"), DEV)).state == "sleeping"


def test_luxos_without_optional_commands_uses_stats() -> None:
    replies = lux_replies()
    for c in ("devs", "fans", "power", "config", "temps"):
        replies[c] = E()
    r = luxos.parse(replies, DEV)
    assert r.fans_rpm == [1900, 1900, 2300, 2300]
    assert r.boards[0].hashrate_ths == pytest.approx(19.0001)
    assert r.power_w is None and r.mac is None and r.model == "S19k Pro"


# --- Braiins OS ---------------------------------------------------------------------------------------------

BOS = "BOSminer bosminer-plus-am1-s9 0.9.0-0123abcd"


def bos_join() -> dict[str, dict[str, Any]]:
    """A joined reply the way api.c builds it: each section an array of one reply; tunerstatus refused."""

    def dev(i: int, mhs: float | None) -> str:
        rate = "null" if mhs is None else str(mhs)
        return (
            f'{{"ASC":{i - 6},"ID":{i},"MHS 1m":{rate},"MHS 5s":4000000.0,"MHS av":4500000.0,'
            f'"Nominal MHS":4600000.0,"Device Elapsed":500}}'
        )

    text = (
        '{"summary":[{' + status("Summary", BOS, code=11) + ',"SUMMARY":[{"Elapsed":500,"MHS 5s":12900000.0,'
        '"MHS 1m":13200000.0,"MHS av":14000000.0}],"id":1}],'
        '"devs":[{'
        + status("3 ASC(s)", BOS, code=9)
        + ',"DEVS":['
        + dev(6, 4400000.0)
        + ","
        + dev(7, 4400000.0)
        + ","
        + dev(8, 4400000.0)
        + '],"id":1}],'
        '"devdetails":[{' + status("Device Details", BOS, code=69) + ',"DEVDETAILS":['
        '{"ID":6,"Model":"Antminer S9","Chips":63,"Frequency":650000000},'
        '{"ID":7,"Model":"Antminer S9","Chips":61},{"ID":8,"Model":"Antminer S9","Chips":63}],"id":1}],'
        '"temps":[{' + status("3 Temp(s)", BOS, code=201) + ',"TEMPS":[{"ID":6,"Board":60.5,"Chip":80.25},'
        '{"ID":7,"Board":61.0,"Chip":0.0},{"ID":8,"Board":59.0,"Chip":79.0}],"id":1}],'
        '"fans":[{' + status("2 Fan(s)", BOS, code=202) + ',"FANS":[{"ID":1,"RPM":0,"Speed":100},'
        '{"ID":0,"RPM":4800,"Speed":100}],"id":1}],'
        '"tunerstatus":[{' + status("Invalid command", BOS, letter="E", code=14) + ',"id":1}],'
        '"pools":[{' + status("1 Pool(s)", BOS, code=7) + ',"POOLS":[{"POOL":0,"URL":"stratum2+tcp://p:3336",'
        '"Status":"Alive","Stratum Active":true,"Accepted":12,"Rejected":0,"Stale":0}],"id":1}],"id":1}\x00'
    )
    joined = rpc.decode_reply(text.encode())
    return {k: v[0] for k, v in joined.items() if k != "id" and rpc.status_of(v[0])[0] not in ("E", "F")}


def test_braiins_bosminer_reading() -> None:
    replies = bos_join()
    assert "tunerstatus" not in replies
    r = finalize(braiins.parse(replies, DEV))
    assert (r.driver, r.model, r.firmware, r.firmware_version) == (
        "braiins",
        "S9",
        "braiins",
        "0.9.0-0123abcd",
    )
    assert r.hashrate_ths == pytest.approx(13.2)  # MHS 1m in MH/s
    assert r.expected_hashrate_ths == pytest.approx(13.8)  # sum of Nominal MHS
    assert [(b.index, b.chips, b.expected_chips) for b in r.boards] == [(0, 63, 63), (1, 61, 63), (2, 63, 63)]
    assert r.boards[1].chip_temp_c is None and r.boards[1].temp_c == 61.0  # Chip 0.0 = no reading
    assert r.boards[0].hashrate_ths == pytest.approx(4.4)
    assert r.fans_rpm == [4800, 0]  # by ID; fan 1 dead
    assert r.power_w is None and r.power_source is None
    assert r.uptime_s == 500
    assert r.pools[0].url == "stratum2+tcp://p:3336"


def test_braiins_tuner_power_is_estimated() -> None:
    replies = bos_join()
    replies["tunerstatus"] = decode(
        "{"
        + status("Tuner", BOS)
        + ',"TUNERSTATUS":[{"PowerLimit":1400,"ApproximateMinerPowerConsumption":1312,'
        '"ApproximateChainPowerConsumption":1200,"TunerChainStatus":[]}],"id":1}'
    )
    r = finalize(braiins.parse(replies, DEV))
    assert (r.power_w, r.power_source, r.power_limit_w) == (1312.0, "estimated", 1400.0)
    assert r.efficiency_jth == pytest.approx(1312 / 13.2, abs=1e-3)


def test_braiins_without_summary_sums_devs_and_needs_something() -> None:
    replies = bos_join()
    del replies["summary"]
    r = braiins.parse(replies, DEV)
    assert r.hashrate_ths == pytest.approx(13.2)
    assert r.firmware_version == "0.9.0-0123abcd"  # from any reply's description
    with pytest.raises(ParseError, match="neither summary"):
        braiins.parse({"fans": replies["fans"]}, DEV)


def test_braiins_bmminer_era() -> None:
    stats = (
        '{"STATUS":[{"STATUS":"S","Code":70,"Msg":"BMMiner stats","Description":"bmminer bOS_am1-s9-20190101-0_ab"}],'
        '"STATS":[{"BMMiner":"bOS_am1-s9-20190101-0_ab","Miner":"bOS_am1-s9-20190101-0_ab","CompileTime":"",'
        '"Type":"braiins-am1-s9"},{"STATS":1,"Elapsed":99,"GHS 5s":"13000.00","fan_num":2,"fan5":5000,"fan6":3700,'
        '"chain_acn6":63,"chain_acn7":63,"chain_acn8":63,"chain_rate6":"4300.00","chain_rate7":"4400.00",'
        '"chain_rate8":"4300.00","temp6":59.0,"temp2_6":75.0,"total_rateideal":13000.0}],"id":1}\x00'
    )
    summary = (
        '{"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary","Description":"bmminer bOS_am1-s9-20190101-0_ab"}],'
        '"SUMMARY":[{"Elapsed":99,"GHS 5s":"13000.00","GHS av":13100.0,"Hashrate1m":13500.0}],"id":1}'
    )
    r = finalize(braiins.parse({"stats": decode(stats), "summary": decode(summary)}, DEV))
    assert (r.model, r.firmware, r.firmware_version) == ("S9", "braiins", "bOS_am1-s9-20190101-0_ab")
    assert r.hashrate_ths == pytest.approx(13.5)  # bOS "Hashrate1m" (GH/s)
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert r.fans_rpm == [5000, 3700]
    only_summary = braiins.parse({"summary": decode(summary)}, DEV)
    assert only_summary.model == "S9" and only_summary.hashrate_ths == pytest.approx(13.5)


# --- registry and identification ----------------------------------------------------------------------------


def test_registry_and_declarations() -> None:
    names = set(registry())
    assert {"antminer", "braiins", "luxos", "vnish"} <= names
    for name in ("antminer", "braiins", "luxos", "vnish"):
        d = get(name)
        assert all(c in rpc.READ_COMMANDS for c in d.commands + d.identity_commands)
        assert "version" in d.identity_commands and "version" not in d.commands
        assert "devdetails" not in d.commands or name == "braiins"
    assert get("antminer").custom is False
    assert all(get(n).custom for n in ("braiins", "luxos", "vnish"))


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ({"version": X19_VERSION, "devdetails": None}, "antminer"),
        ({"stats": HIVEON_STATS}, "antminer"),
        ({"stats": VNISH_STATS}, "vnish"),
        ({"version": "{" + status("v", LUX) + ',"VERSION":[{"Type":"Antminer S19k Pro"}],"id":1}'}, "luxos"),
        (
            {"devdetails": "{" + status("d", BOS) + ',"DEVDETAILS":[{"Model":"Antminer S9"}],"id":1}'},
            "braiins",
        ),
        (
            {
                "stats": '{"STATUS":[{"STATUS":"S","Description":"bmminer bOS_am1-s9-x"}],'
                '"STATS":[{"Type":"braiins-am1-s9"}],"id":1}'
            },
            "braiins",
        ),
    ],
)
def test_identification(replies: dict[str, str | None], expected: str) -> None:
    decoded = {k: (decode(v) if v else E("Access denied")) for k, v in replies.items()}
    found = match_driver(decoded)
    assert found is not None and found.name == expected


# --- one poll over loopback on hand-written bytes -------------------------------------------------------------


def _commands(requests: list[bytes]) -> list[str]:
    return [str(json.loads(r)["command"]) for r in requests]


async def test_poll_antminer_over_loopback() -> None:
    served = {
        "version": X19_VERSION.encode() + b"\x00",
        "summary": X19_SUMMARY.encode(),
        "stats": x19_stats().encode(),
        "pools": X19_POOLS.encode(),
        "devdetails": ("{" + status("Access denied", letter="E", code=45) + ',"id":1}').encode(),
    }
    async with ReplayMiner(served, description="cgminer 1.0.0") as miner:
        r = await poll_once(miner.host, miner.port)
    assert r.driver == "antminer" and r.model == "S19 Pro" and r.state == "degraded"
    assert r.hashrate_ths == pytest.approx(104.5005) and len(r.pools) == 2
    commands = _commands(miner.requests)
    assert commands[-1] == "summary+stats+pools"
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))


async def test_poll_luxos_over_loopback() -> None:
    served = {k: json.dumps(v).encode() for k, v in lux_replies().items()}
    async with ReplayMiner(served, description=LUX) as miner:
        r = await poll_once(miner.host, miner.port)
    assert r.driver == "luxos" and r.mac == "62:F7:5E:00:10:4A" and r.power_w == 1100.0
    assert _commands(miner.requests)[-1] == "summary+stats+devs+pools+power+fans+config"


def test_braiins_paused_by_the_operator_is_sleeping_not_broken() -> None:
    from collectors.asic.drivers import braiins
    from collectors.asic.normalize import finalize

    st = '{"STATUS":"S","When":1,"Code":%d,"Msg":"x","Description":"BOSminer bosminer-plus-am2-s19 0.9.0"}'
    replies = {
        "summary": json.loads('{"STATUS":[%s],"SUMMARY":[{"Elapsed":100,"MHS 1m":0.0,"MHS 5s":0.0}]}' % (st % 11)),
        "devs": json.loads('{"STATUS":[%s],"DEVS":[{"ID":1,"MHS 1m":0.0,"Nominal MHS":31000.0}]}' % (st % 9)),
        "tunerstatus": json.loads(
            '{"STATUS":[%s],"TUNERSTATUS":[{"PowerLimit":3250,"ApproximateMinerPowerConsumption":120,'
            '"TunerChainStatus":[{"HashchainIndex":0,"Status":"Paused"},{"HashchainIndex":1,"Status":"Paused"}]}]}'
            % (st % 0)
        ),
    }
    reading = finalize(braiins.parse(replies, "10.0.0.9:4028"))
    assert reading.state == "sleeping"
    replies["tunerstatus"]["TUNERSTATUS"][0]["TunerChainStatus"][1]["Status"] = "Stable"
    assert finalize(braiins.parse(replies, "10.0.0.9:4028")).state == "not_hashing"
