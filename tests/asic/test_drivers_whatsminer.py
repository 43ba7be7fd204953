"""Whatsminer API 1.x/2.x driver: the parser on hand-written replies (shapes from research/asic.md), and one poll
over loopback against a btminer-like server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import whatsminer
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.errors import ParseError
from tests.support.replay_btminer import BtminerReplay, sent_commands


def cg(section: str, entries: list[dict[str, Any]], code: int = 11) -> bytes:
    status = {"STATUS": "S", "When": 1700000000, "Code": code, "Msg": section, "Description": "cgminer 4.9.2"}
    return json.dumps({"STATUS": [status], section: entries, "id": 1}).encode() + b"\x00"


def flat(msg: dict[str, Any], description: str = "") -> bytes:
    return json.dumps(
        {"STATUS": "S", "When": 1700000000, "Code": 131, "Msg": msg, "Description": description}
    ).encode()


SUMMARY_FIELDS: dict[str, Any] = {
    "Elapsed": 4000,
    "MHS av": 99000000.0,
    "MHS 5s": 92800000.0,
    "MHS 1m": 77900000.0,
    "Factory GHS": 86000,
    "Power": 3300,
    "Power_RT": 3310,
    "Power Limit": 3600,
    "Fan Speed In": 4800,
    "Fan Speed Out": 0,
    "Env Temp": 25.0,
    "MAC": "c4:11:04:aa:bb:cc",
    "Firmware Version": "'20210322.22.REL'",
    "Uptime": 4100,
    "Error Code Count": 0,
}


def devs(n: int = 3) -> bytes:
    return cg(
        "DEVS",
        [
            {
                "ASC": i,
                "Slot": i,
                "ID": i,
                "MHS av": 33000000.0,
                "MHS 1m": 26000000.0 + i,
                "Effective Chips": 111 - i,
                "Temperature": 70.0 + i,
                "Chip Temp Max": 85.0 + i,
                "Chip Temp Avg": 78.0,
                "Status": "Alive",
            }
            for i in range(n)
        ],
        code=9,
    )


def parsed(**raw: bytes) -> dict[str, rpc.Reply]:
    return {command: rpc.decode_reply(body) for command, body in raw.items()}


def test_summary_units_and_current_hashrate() -> None:
    r = whatsminer.parse(parsed(summary=cg("SUMMARY", [SUMMARY_FIELDS]), devs=devs()), "10.0.0.1:4028")
    assert r.hashrate_ths == pytest.approx(77.9)  # MHS 1m, not the spiky 5 s nor the since-boot average
    assert r.expected_hashrate_ths == pytest.approx(86.0)  # Factory GHS is GH/s
    assert (r.power_w, r.power_source, r.power_limit_w) == (3300.0, "reported", 3600.0)
    assert r.fans_rpm == [4800, 0]  # a dead outlet fan stays a 0 in its slot
    assert r.mac == "C4:11:04:AA:BB:CC"
    assert r.firmware_version == "20210322.22.REL"
    assert r.uptime_s == 4000  # miner Elapsed, not the OS Uptime
    assert [b.index for b in r.boards] == [0, 1, 2]
    assert r.boards[2].chips == 109 and r.boards[2].temp_c == 72.0 and r.boards[2].chip_temp_c == 87.0
    assert r.boards[0].hashrate_ths == pytest.approx(26.0)
    assert r.errors == [] and not r.sleeping


def test_quoted_firmware_version_with_backslash_escape() -> None:
    raw = (
        b'{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary","Description":"cgminer 4.9.2"}],'
        b'"SUMMARY":[{"Elapsed":5,"MHS 1m":1000000.0,"Firmware Version":"\\\'20200917.22.REL\\\'"}],"id":1}\x00'
    )
    r = whatsminer.parse(parsed(summary=raw), "d")
    assert r.firmware_version == "20200917.22.REL"


def test_missing_power_key_is_unknown_not_zero() -> None:
    fields = {k: v for k, v in SUMMARY_FIELDS.items() if k not in ("Power", "Power_RT", "Power Limit", "MAC")}
    r = finalize(whatsminer.parse(parsed(summary=cg("SUMMARY", [fields])), "d"))
    assert r.power_w is None and r.power_source is None and r.efficiency_jth is None
    assert r.power_limit_w is None and r.mac is None


def test_fallbacks_when_there_is_no_one_minute_figure() -> None:
    fields = {k: v for k, v in SUMMARY_FIELDS.items() if k not in ("MHS 1m", "MHS 5s")}
    fields["HS RT"] = 124500000.0
    r = whatsminer.parse(parsed(summary=cg("SUMMARY", [fields])), "d")
    assert r.hashrate_ths == pytest.approx(124.5)
    nan = b'{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"MHS 1m":NaN,"MHS 5s":50000000.0,"MHS av":1.0}],"id":1}'
    assert whatsminer.parse(parsed(summary=nan), "d").hashrate_ths == pytest.approx(50.0)
    nothing = b'{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"MHS av":99000000.0,"Power":NaN}],"id":1}'
    r = whatsminer.parse(parsed(summary=nothing), "d")
    assert r.hashrate_ths is None and r.power_w is None  # the lifetime average is never the current rate


def test_btmineroff_is_sleeping_and_not_an_alarm() -> None:
    fields = dict(SUMMARY_FIELDS, **{"MHS 1m": 0.0, "MHS 5s": 0.0, "Fan Speed In": 0})
    replies = parsed(
        summary=cg("SUMMARY", [fields]),
        status=flat({"btmineroff": "true", "Firmware Version": "'20210109.22.REL'"}, "whatsminer v1.3"),
    )
    r = finalize(whatsminer.parse(replies, "d"))
    assert r.sleeping and r.state == "sleeping"
    api2 = parsed(summary=cg("SUMMARY", [fields]), status=flat({"mineroff": "false", "power_mode": "low"}))
    assert finalize(whatsminer.parse(api2, "d")).state == "not_hashing"


def test_error_codes_are_the_keys() -> None:
    errors = flat({"error_code": [{"218": "2024-06-15 10:30:00"}, {"110": "2024-06-15 09:15:00"}]})
    r = whatsminer.parse(parsed(summary=cg("SUMMARY", [SUMMARY_FIELDS]), get_error_code=errors), "d")
    assert [e.code for e in r.errors] == [218, 110]
    assert "2024-06-15 10:30:00" in r.errors[0].message
    as_dict = flat({"error_code": {"531": "2024-01-01 00:00:00"}})
    assert [
        e.code
        for e in whatsminer.parse(
            parsed(summary=cg("SUMMARY", [SUMMARY_FIELDS]), get_error_code=as_dict), "d"
        ).errors
    ] == [531]
    # Old firmware: no get_error_code; current codes in the summary, factory history ignored.
    old = dict(SUMMARY_FIELDS, **{"Error Code 0": 205, "Factory Error Code 0": 202, "Error Code Count": 1})
    assert [e.code for e in whatsminer.parse(parsed(summary=cg("SUMMARY", [old])), "d").errors] == [205]


def test_identity_from_btminer_flat_reads_and_model_names() -> None:
    replies = parsed(
        summary=cg("SUMMARY", [{k: v for k, v in SUMMARY_FIELDS.items() if k != "MAC"}]),
        devdetails=cg(
            "DEVDETAILS", [{"DEVDETAILS": 0, "Name": "SM", "Driver": "bitmicro", "Model": "M50S_VH75"}]
        ),
        get_version=flat({"api_ver": "2.0.5", "fw_ver": "20230803.11.REL", "platform": "H616"}),
        get_miner_info=flat({"mac": "d4:01:02:03:04:05", "hostname": "rack1-m50s", "minersn": "HTM3X12345"}),
    )
    r = finalize(whatsminer.parse(replies, "d"))
    assert (r.make, r.model) == ("Whatsminer", "M50S VH75")
    assert r.firmware_version == "20230803.11.REL"  # get_version wins: its date selects API 3 later
    assert (r.mac, r.hostname, r.serial) == ("D4:01:02:03:04:05", "rack1-m50s", "HTM3X12345")
    # The model table falls back from the chip bin to the family: 3 board slots, 2 fans.
    # No devs reply: three board slots whose chips are unknown (null), not three missing boards.
    assert [b.chips for b in r.boards] == [None] * 3 and r.state == "hashing"
    assert whatsminer.clean_model("M20S.V10") == "M20S V10"
    assert whatsminer.clean_model("WhatsMiner M30S++_VG30") == "M30S++ VG30"
    assert whatsminer.clean_model("") is None


def test_missing_board_is_padded_from_the_model() -> None:
    replies = parsed(
        summary=cg("SUMMARY", [SUMMARY_FIELDS]),
        devs=devs(2),
        devdetails=cg("DEVDETAILS", [{"Model": "M30S+_VE40"}]),
    )
    r = finalize(whatsminer.parse(replies, "d"))
    assert [b.chips for b in r.boards] == [111, 110, 0]
    assert r.state == "degraded"


def test_summary_is_required() -> None:
    with pytest.raises(ParseError):
        whatsminer.parse(parsed(devs=devs()), "d")


async def test_poll_over_loopback_identifies_and_reads_only() -> None:
    replies = {
        "summary": cg("SUMMARY", [SUMMARY_FIELDS]),
        "devs": devs(),
        "pools": cg(
            "POOLS",
            [
                {
                    "POOL": 1,
                    "URL": "stratum+tcp://a:3333",
                    "User": "w",
                    "Status": "Alive",
                    "Stratum Active": True,
                    "Accepted": 7,
                    "Rejected": 1,
                }
            ],
            code=7,
        ),
        "devdetails": cg(
            "DEVDETAILS", [{"DEVDETAILS": 0, "Name": "SM", "Driver": "bitmicro", "Model": "M30S_V50"}]
        ),
        "get_version": flat({"api_ver": "1.4.0", "fw_ver": "20210322.22.REL"}),
        "get_miner_info": flat({"mac": "C4:11:04:AA:BB:CC", "hostname": "WhatsMiner"}),
        "status": flat({"btmineroff": "false", "Firmware Version": "'20210322.22.REL'"}, "whatsminer v1.3"),
        "get_error_code": flat({"error_code": []}),
    }
    async with BtminerReplay(replies) as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "whatsminer" and r.model == "M30S V50" and r.state == "hashing"
    assert r.pools[0].index == 1 and r.pools[0].accepted == 7
    sent = sent_commands(miner.requests)
    assert set(sent) <= rpc.READ_COMMANDS
    assert {"get_error_code", "get_version", "get_miner_info", "summary"} <= set(sent)
    assert "status" not in sent  # hashing now (5 s rate above 0): not switched off, not asked
