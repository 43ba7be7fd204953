"""Conformance: LuxOS captures in ../shared/fixtures/asic (values from SOURCES.md).

Each capture is parsed with the set's ``stats`` (the parser needs summary or stats), checking the fields that
capture carries; the whole set is then served by a ReplayMiner and polled with automatic identification.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import luxos
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.asic.reading import MinerReading
from collectors.errors import ParseError
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

DEV = "192.0.2.3:4028"
SET = "luxos_s19kpro-2025.4.8"
DESC = "LUXminer 2025.4.8.220305-57b389c7"
approx = pytest.approx


def reply(command: str) -> dict[str, Any]:
    return rpc.decode_reply(fixture(f"{SET}_{command}.json"))


def with_stats(*commands: str) -> MinerReading:
    replies = {"stats": reply("stats"), **{c: reply(c) for c in commands}}
    return finalize(luxos.parse(replies, DEV))


def test_summary() -> None:
    r = luxos.parse({"summary": reply("summary")}, DEV)
    assert r.hashrate_ths == approx(60.82948)  # GHS 1m; GHS 5s 59.7561 is the fallback; GHS av never
    assert r.uptime_s == 3453


def test_stats_sums_chains_and_ignores_wrong_totals() -> None:
    r = with_stats()
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(77, 77)] * 3  # total_acn says 4
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(56.9179, abs=1e-4)  # "total rate" says 18.97
    assert r.hashrate_ths == approx(59.75606)  # stats GHS 5s when summary is absent
    assert r.expected_hashrate_ths == approx(61.9542)  # profile ideal, not NameplateTHS 121.8
    assert r.fans_rpm == [1920, 1920, 2340, 2340]  # stats slot order when `fans` is absent
    assert r.boards[0].chip_temp_c == 47.0  # temp_chip1 "47-34-34-47"


def test_devs_unsorted_by_id() -> None:
    r = with_stats("devs")
    assert [b.hashrate_ths for b in r.boards] == [approx(20.0765415), approx(20.1178833), approx(20.6350644)]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(60.8295, abs=1e-4)


def test_fans_by_name() -> None:
    # list order 1920 (FAN4), 1920 (FAN2), 2340 (FAN1), 2340 (FAN3) -> physical FAN1..FAN4
    assert with_stats("fans").fans_rpm == [2340, 1920, 2340, 1920]


def test_power_not_psu_is_estimated() -> None:
    r = with_stats("power")
    assert (r.power_w, r.power_source) == (1051.0, "estimated")
    with pytest.raises(ParseError):
        luxos.parse({"power": reply("power")}, DEV)


def test_config_identity() -> None:
    r = with_stats("config")
    assert r.model == "S19k Pro"
    assert r.mac == "62:F7:5E:B7:10:46"
    assert r.serial == "JYZZB0UBDJABF06RB"
    assert r.hostname == "UrlacherS19k"


def test_version() -> None:
    r = with_stats("version")
    assert r.firmware_version == "2025.4.8.220305"
    assert r.model == "S19k Pro"


def test_temps_match_stats() -> None:
    replies = {"stats": reply("stats"), "temps": reply("temps")}
    data = luxos.parse(replies, DEV)
    assert [b.temp_c for b in data.boards] == [47.0, 47.0, 47.0]


def test_pools_two_groups_two_active() -> None:
    r = with_stats("pools")
    assert len(r.pools) == 4
    active = [(p.index, p.accepted) for p in r.pools if p.active]
    assert active == [(0, 724), (2, 759)]
    assert [p.status for p in r.pools] == ["alive", "dead", "alive", "dead"]


def test_profiles_not_needed() -> None:
    assert with_stats("profiles").boards == with_stats().boards


async def test_set_over_loopback() -> None:
    served = fixture_set(SET)
    async with ReplayMiner(served, description=DESC) as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.make, r.model, r.firmware, r.firmware_version) == (
        "luxos",
        "Antminer",
        "S19k Pro",
        "luxos",
        "2025.4.8.220305",
    )
    assert r.hashrate_ths == approx(60.82948)
    assert r.expected_hashrate_ths == approx(61.9542)
    assert [b.hashrate_ths for b in r.boards] == [approx(20.0765415), approx(20.1178833), approx(20.6350644)]
    assert [(b.chips, b.expected_chips, b.temp_c) for b in r.boards] == [(77, 77, 47.0)] * 3
    assert r.fans_rpm == [2340, 1920, 2340, 1920]
    assert (r.power_w, r.power_source) == (1051.0, "estimated")
    assert r.efficiency_jth == approx(1051 / 60.82948, abs=1e-3)
    assert (r.mac, r.serial) == ("62:F7:5E:B7:10:46", "JYZZB0UBDJABF06RB")
    assert len(r.pools) == 4 and r.pools[0].accepted == 724
    assert r.uptime_s == 3453
    assert r.state == "hashing"
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
    assert commands[-1] == "summary+stats+devs+pools+power+fans+config"
    assert "version" in commands  # identity, read once and cached
