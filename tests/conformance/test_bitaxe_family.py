"""Conformance, batch 2: Bitaxe-family identity. ``/api/system/asic`` (the 2025 Supra capture) names the device
model ("Supra"), which is not the ASIC chip ("BM1368"); an AxeOS without that endpoint (404, the v2.6.0
capture's firmware) keeps the rest of the reading and says what it could not read."""

from __future__ import annotations

import asyncio
import json

import pytest

from collectors.asic.drivers import bitaxe
from collectors.asic.http import close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from collectors.asic.reading import MinerReading
from tests.support.replay import fixture, have_fixtures
from tests.support.replay_web import ReplayWeb

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

SUPRA_ASIC = "bitaxe_supra-bm1368-2025aug_api-system-asic.json"
ULTRA_INFO = "bitaxe_bm1366-v2.6.0_api-system-info.json"
_net = iter(range(2, 250))


def host() -> str:
    return f"127.113.{next(_net)}.1"


async def poll_web(addr: str) -> MinerReading:
    session = MinerSession(host=addr, port=80, driver_name="bitaxe")
    try:
        loop = asyncio.get_running_loop()
        return await poll(session, deadline=loop.time() + 5)
    finally:
        await close_session()


def test_supra_asic_endpoint_names_the_device() -> None:
    asic = json.loads(fixture(SUPRA_ASIC))
    assert (asic["ASICModel"], asic["deviceModel"], asic["asicCount"]) == ("BM1368", "Supra", 1)
    info = {"hashRate": 650.0, "ASICModel": "BM1368", "asicCount": 1, "fanrpm": 4100}
    r = finalize(bitaxe.parse({"system/info": info, "system/asic": asic}, "d"))
    assert (r.make, r.model) == ("Bitaxe", "Supra")
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(1, 1)]  # model facts found by device model
    assert r.fans_rpm == [4100]


async def test_supra_over_loopback_reads_the_asic_endpoint() -> None:
    addr = host()
    info = json.dumps({"hashRate": 650.0, "ASICModel": "BM1368", "asicCount": 1, "power": 14.2,
                       "fanrpm": 4100, "temp": 55.0, "vrTemp": 48, "uptimeSeconds": 77}).encode()
    async with ReplayWeb({"/api/system/info": info, "/api/system/asic": fixture(SUPRA_ASIC)},
                         host=addr, port=80) as srv:
        r = await poll_web(addr)
    assert (r.model, r.hashrate_ths, r.missing, r.notes) == ("Supra", pytest.approx(0.65), [], [])
    assert all(m == "GET" for m, _p in srv.requests)


async def test_axeos_without_asic_endpoint_keeps_the_reading_with_a_note() -> None:
    addr = host()
    async with ReplayWeb({"/api/system/info": fixture(ULTRA_INFO)}, host=addr, port=80):
        r = await poll_web(addr)
    assert r.hashrate_ths == pytest.approx(2.37275) and r.power_w == 58.35
    assert r.model == "BM1366"  # no device model named: the chip, not a guess
    assert [(n.part, n.reason) for n in r.missing] == [("identity (/api/system/asic)", "protocol")]
    assert r.state == "hashing"
