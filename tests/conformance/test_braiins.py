"""Conformance: Braiins OS legacy RPC captures in ../shared/fixtures/asic (values from SOURCES.md).

The bmminer-era bOS (2019) and BOSminer+ 0.8.0 (S17) capture sets are served by a ReplayMiner and polled with
automatic identification; each capture is also parsed on its own. GraphQL and REST captures belong to a later
driver and are not read here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import braiins
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.errors import ParseError
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

DEV = "192.0.2.2:4028"
BOS2019 = "braiins_bos-2019-s9-bmminer"
S17 = "braiins_bosplus-0.8.0-s17"
S17_DESC = "BOSminer bosminer-plus-am2-s17 0.8.0-feaec278"
approx = pytest.approx


def reply(name: str) -> dict[str, Any]:
    return rpc.decode_reply(fixture(name))


def s17_joined() -> dict[str, dict[str, Any]]:
    """The ``temps+devdetails+fans+devs`` capture, one reply per command (each section is [reply])."""
    joined = reply(f"{S17}_temps+devdetails+fans+devs.txt")
    assert set(joined) == {"temps", "devdetails", "fans", "devs", "id"}
    return {k: v[0] for k, v in joined.items() if k != "id"}


def test_bos2019_stats_chains_6_to_8() -> None:
    r = finalize(braiins.parse({"stats": reply(f"{BOS2019}_stats.txt")}, DEV))
    assert (r.driver, r.model, r.firmware) == ("braiins", "S9", "braiins")
    assert r.firmware_version == "bOS_am1-s9-20190124-0_d3cc7c87"
    assert [b.index for b in r.boards] == [0, 1, 2]
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert [b.hashrate_ths for b in r.boards] == [approx(4.52428), approx(4.67916), approx(4.55058)]
    assert r.hashrate_ths == approx(13.75403)  # stats GHS 5s: no summary here
    assert r.fans_rpm == [5040, 3600]  # fan5, fan6
    assert [b.temp_c for b in r.boards] == [59.0, 54.0, 55.0]
    assert [b.chip_temp_c for b in r.boards] == [75.0, 71.0, 74.0]
    assert r.expected_hashrate_ths == approx(13.75569)
    assert r.uptime_s == 1738925


def test_bos2019_summary_prefers_one_minute() -> None:
    r = braiins.parse({"summary": reply(f"{BOS2019}_summary.json")}, DEV)
    # "Hashrate1m" 14179.42 GH/s is bOS's 1-minute figure; GHS 5s 13759.68 is the fallback, GHS av never
    assert r.hashrate_ths == approx(14.179421609)
    assert r.uptime_s == 1465981
    assert r.model == "S9"  # from the description "bmminer bOS_am1-s9-..."


async def test_bos2019_set_over_loopback() -> None:
    served = fixture_set(BOS2019)
    assert set(served) == {"stats", "summary"}
    async with ReplayMiner(served, description="bmminer bOS_am1-s9-20190124-0_d3cc7c87") as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.model, r.firmware) == ("braiins", "S9", "braiins")
    assert r.hashrate_ths == approx(14.179421609)
    assert r.expected_hashrate_ths == approx(13.75569)
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert r.fans_rpm == [5040, 3600]
    assert r.power_w is None and r.mac is None
    assert r.state == "hashing"
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))


def test_bosplus_s17_joined_reply() -> None:
    r = finalize(braiins.parse(s17_joined(), DEV))
    assert (r.model, r.firmware, r.firmware_version) == ("S17", "braiins", "0.8.0-feaec278")
    assert [b.index for b in r.boards] == [0, 1, 2]  # IDs 1..3
    assert [b.hashrate_ths for b in r.boards] == [
        approx(22.03907188),
        approx(22.08043113),
        approx(21.85413113),
    ]
    assert r.hashrate_ths == approx(65.9736, abs=1e-4)  # no summary: sum of devs MHS 1m
    assert r.expected_hashrate_ths == approx(66.1382, abs=1e-4)  # sum of Nominal MHS
    assert r.fans_rpm == [6000, 0, 5520, 5520]  # fan 1 dead stays 0
    assert [(b.temp_c, b.chip_temp_c) for b in r.boards] == [
        (67.25, 97.875),
        (64.5625, 98.0),
        (48.6875, 81.125),
    ]
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(48, 48)] * 3
    assert r.power_w is None  # no tunerstatus in this capture


def test_bosplus_temps_two_of_three() -> None:
    replies = {**s17_joined(), "temps": reply(f"{S17}_temps.txt")}
    r = braiins.parse(replies, DEV)
    assert [(b.temp_c, b.chip_temp_c) for b in r.boards] == [
        (39.5625, 51.1875),
        (38.5625, 52.0625),
        (None, None),
    ]


def test_bosplus_stats_has_no_board_data() -> None:
    stats = reply(f"{S17}_stats.txt")
    with pytest.raises(ParseError):
        braiins.parse({"stats": stats}, DEV)
    base = s17_joined()
    assert braiins.parse({**base, "stats": stats}, DEV).boards == braiins.parse(base, DEV).boards


async def test_bosplus_s17_set_over_loopback() -> None:
    served: dict[str, bytes] = {k: json.dumps(v).encode() for k, v in s17_joined().items()}
    served["stats"] = fixture_set(S17)["stats"]
    async with ReplayMiner(served, description=S17_DESC) as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.model, r.firmware_version, r.state) == ("braiins", "S17", "0.8.0-feaec278", "hashing")
    assert r.hashrate_ths == approx(65.9736, abs=1e-4)
    assert r.expected_hashrate_ths == approx(66.1382, abs=1e-4)
    assert r.fans_rpm == [6000, 0, 5520, 5520]
    assert [b.chips for b in r.boards] == [48, 48, 48]
    assert r.pools == []
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
    assert commands[-1] == "summary+devs+devdetails+temps+fans+tunerstatus+pools+stats"


# --- open Braiins OS (BOSminer 0.2.0, August 2020) on an S9, two minutes after start --------------------------
BOS2020 = "braiins_bos-2020aug-s9"


async def test_bos_2020_s9_just_started_over_loopback() -> None:
    served = fixture_set(BOS2020)
    assert set(served) == {"summary", "fans", "temps", "pools", "version"}
    async with ReplayMiner(served, description="BOSminer 0.2.0-d360818") as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.firmware, r.firmware_version) == ("braiins", "braiins", "0.2.0-d360818")
    assert r.model is None  # version has no Type, devdetails was not captured: not invented
    # MHS 1m, not MHS av 16.70 (warm-up artefact) nor the 5m/15m/24h windows that mostly predate the start
    assert r.hashrate_ths == approx(14.19494584)
    assert r.uptime_s == 92
    # FANS 0..3 read 1560/1560/0/0: the two trailing zero headers of an unknown model are not two dead fans
    assert r.fans_rpm == [1560, 1560]
    assert r.notes[0] == "model unknown: fan headers reading 0 after the last spinning fan are not reported"
    # the commands this BOSminer does not have (devs, devdetails, tunerstatus, stats) are noted, not fatal
    assert {n.split(" ")[0] for n in r.notes[1:]} == {"devs", "devdetails", "tunerstatus", "stats"}
    assert [b.index for b in r.boards] == [0, 1, 2]  # TEMPS IDs 6..8
    assert [b.temp_c for b in r.boards] == [53.0, 46.0, 52.0]
    assert [b.chip_temp_c for b in r.boards] == [None, None, None]  # Chip 0.0 = sensor not read
    assert [(p.url, p.status, p.active, p.accepted, p.rejected) for p in r.pools] == [
        ("stratum+tcp://stratum.antpool.com:3333", "alive", True, 68, 2),
        ("stratum+tcp://stratum.slushpool.com:3333", "dead", False, 0, 0)]
    assert r.pools[1].user == "!non-existent-user!"
    assert r.state == "hashing"


def test_bos_2020_fans_with_the_model_known_keep_a_dead_slot() -> None:
    """With devdetails naming the model, its fan count decides: an S9 has two slots."""
    fans = reply(f"{BOS2020}_fans.json")
    fans["FANS"][1]["RPM"] = 0
    details = {"STATUS": [{"STATUS": "S"}], "DEVDETAILS": [{"ID": 6, "Model": "Antminer S9", "Chips": 63}]}
    r = finalize(braiins.parse({"summary": reply(f"{BOS2020}_summary.json"), "fans": fans, "devdetails": details}, DEV))
    assert r.model == "S9" and r.fans_rpm == [1560, 0]
