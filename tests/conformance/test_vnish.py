"""Conformance: VNish RPC capture in ../shared/fixtures/asic (values from SOURCES.md)."""

from __future__ import annotations

import json

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import vnish
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from tests.conformance.server import ReplayMiner, fixture, have_fixtures

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

NAME = "vnish_s17-0.9.2-alpha_stats.txt"
approx = pytest.approx


def test_vnish_s17_stats() -> None:
    raw = fixture(NAME)
    assert raw.endswith(b"\x00")
    r = finalize(vnish.parse({"stats": rpc.decode_reply(raw)}, "192.0.2.4:4028"))
    assert (r.driver, r.make, r.model, r.firmware, r.firmware_version) == (
        "vnish",
        "Antminer",
        "S17",
        "vnish",
        "0.9.2-alpha",
    )
    assert r.hashrate_ths == approx(66.41073)
    assert [b.hashrate_ths for b in r.boards] == [approx(21.76556), approx(21.75919), approx(21.63521)]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(65.16, abs=1e-3)
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(48, 48)] * 3
    assert r.expected_hashrate_ths == approx(65.232)
    assert r.fans_rpm == []  # fan_num 0, all slots 0: not reported, not four dead fans
    assert [b.temp_c for b in r.boards] == [55.0, 57.0, 56.0]
    assert [b.chip_temp_c for b in r.boards] == [75.0, 75.0, 75.0]
    assert r.uptime_s == 63850
    assert r.power_w is None
    assert r.state == "hashing"


async def test_vnish_over_loopback_identifies_custom_firmware() -> None:
    async with ReplayMiner({"stats": fixture(NAME)}, description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port)
    assert (r.driver, r.model, r.firmware_version) == ("vnish", "S17", "0.9.2-alpha")
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
