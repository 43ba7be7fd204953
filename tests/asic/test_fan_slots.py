"""Issue 13, class 1: every driver keeps a fan slot in its place. A slot the firmware does not report between
reported ones is unknown (null), 0 is a stopped fan, and "10" sorts after "9" (bytes through the parsers)."""

from __future__ import annotations

import json

from collectors.asic import rpc
from collectors.asic.drivers import _antminer_web as web
from collectors.asic.drivers import _bmminer as bm
from collectors.asic.drivers import avalon, bitaxe, epic, luxos
from collectors.asic.normalize import finalize
from collectors.asic.units import by_slot
from tests.asic.test_drivers_cgminer_family import lux_replies


def test_by_slot_keeps_places_and_numeric_order() -> None:
    assert by_slot({1: 3000, 3: 0}) == [3000, None, 0]
    assert by_slot({n: n * 100 for n in range(1, 11)})[-2:] == [900, 1000]
    assert by_slot({}) == []


def test_bmminer_absent_fan_key_between_listed_slots() -> None:
    # fan1, fan3, fan4 listed; fan2 not: four slots, the second unknown (not cut at the gap, not shifted).
    assert bm.fans({"fan_num": 4, "fan1": 5400, "fan3": 5520, "fan4": 0}, 4) == [5400, None, 5520, 0]
    # Only fan5/fan6 listed (a build that prints the S9's slots alone): the two fans, not four unknowns first.
    assert bm.fans({"fan_num": 2, "fan5": 3840, "fan6": 4920}, 2) == [3840, 4920]


def test_avalon_numbered_fans_with_a_gap_and_the_single_fan_of_old_modules() -> None:
    mods = avalon.modules({"STATS": [{"MM ID0": "Ver[1246-83-21072802_x] Fan1[5340] Fan3[5310] Fan4[0] MGHS[1 1 1]"}]})
    assert mods[0].fans() == [5340, None, 5310, 0]
    old = avalon.modules({"STATS": [{"MM ID1": "Ver[7411706-3162860] DNA[01] Fan[2550] GHSmm[6836.48]"}]})
    assert old[0].fans() == [2550]


def test_epic_fans_in_slot_order_past_nine() -> None:
    fans = {f"Fans Speed {n}": 3000 + n for n in range(11)}
    shuffled = dict(sorted(fans.items()))  # "Fans Speed 10" sorts between 1 and 2 as text
    r = epic.parse({"summary": {"Session": {}, "HBs": [], "Fans Rpm": shuffled}}, "d")
    assert r.fans_rpm == [3000 + n for n in range(11)]


def test_luxos_fans_by_name_with_a_missing_fan() -> None:
    replies = lux_replies()
    replies["fans"] = rpc.decode_reply(json.dumps({"STATUS": [{"STATUS": "S"}], "FANS": [
        {"FAN": "FAN3", "ID": 1, "RPM": 1900}, {"FAN": "FAN1", "ID": 0, "RPM": 2300},
        {"FAN": "FAN4", "ID": 2, "RPM": 0}]}).encode())
    r = finalize(luxos.parse(replies, "d"))
    assert r.fans_rpm == [2300, None, 1900, 0]


def test_bitaxe_second_fan_under_its_own_key() -> None:
    info = {"hashRate": 1200.0, "ASICModel": "BM1370", "asicCount": 1, "fanrpm": 5100, "fan2rpm": 4980}
    assert bitaxe.parse({"system/info": info}, "d").fans_rpm == [5100, 4980]
    info.pop("fan2rpm")
    assert bitaxe.parse({"system/info": info}, "d").fans_rpm == [5100]


def test_old_antminer_web_stopped_fan_keeps_its_slot() -> None:
    status = {"summary": {"ghs5s": "16360.27", "elapsed": "100"}, "pools": [], "devs": [
        {"index": "1", "chain_acn": "60", "fan": "4680", "temp": "60",
         "freq": "fan_num=2,fan1=4680,fan2=0,fan3=0,fan4=0,chain_rate1=6333.01,temp2_1=57,"},
        {"index": "2", "chain_acn": "60", "fan": "0", "temp": "58"},
        {"index": "3", "chain_acn": "60", "fan": "0", "temp": "59"}]}
    r = web.parse_old_status(status, "d", "antminer", "S9 SE")
    assert r.fans_rpm == [4680, 0]  # the S9 SE's second fan reads stopped: a dead fan, not a missing slot
