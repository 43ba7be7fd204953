"""Conformance: VNish captures in ../shared/fixtures/asic (values from SOURCES.md): the 0.9.2 RPC stats, and the
1.2.7 S21 Pro set (RPC on a ReplayMiner, REST on a ReplayWeb beside it)."""

from __future__ import annotations

import asyncio
import json

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import vnish
from collectors.asic.http import WebCredentials, check_read_only, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll, poll_once
from tests.support.replay import ReplayMiner, fixture, have_fixtures
from tests.support.replay_web import ReplayWeb

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


# --- VNish 1.2.7 on an S21 Pro (auto-tuning), RPC and REST --------------------------------------------------
V127 = "vnish_s21pro-1.2.7_"


def rpc_set() -> dict[str, bytes]:
    return {"summary": fixture(f"{V127}summary.json"), "stats": fixture(f"{V127}stats.json"),
            "pools": fixture(f"{V127}pools.json"), "devdetails": fixture(f"{V127}devdetails.json"),
            "version": fixture(f"{V127}version-invalid-command.json")}


def check_127(r: object) -> None:
    assert (r.driver, r.make, r.model, r.firmware, r.firmware_version) == (  # type: ignore[attr-defined]
        "vnish", "Antminer", "S21 Pro", "vnish", "1.2.7")
    assert r.hashrate_ths == approx(173.87094)  # type: ignore[attr-defined]
    assert r.expected_hashrate_ths == approx(196.51717)  # type: ignore[attr-defined]
    boards = r.boards  # type: ignore[attr-defined]
    assert [b.hashrate_ths for b in boards] == [approx(60.79719), approx(57.766645), approx(55.3071)]
    assert [(b.chips, b.expected_chips) for b in boards] == [(65, 65)] * 3
    assert [b.temp_c for b in boards] == [50, 49, 49] and [b.chip_temp_c for b in boards] == [65, 64, 64]
    pools = r.pools  # type: ignore[attr-defined]
    # the DevFee pool (mining at the same time) is not one of the user's pools
    assert [(p.url, p.active, p.accepted, p.rejected) for p in pools] == [
        ("stratum.braiins.com:3333", True, 1599, 9), ("stratum.braiins.com:3333", False, 0, 0)]
    assert r.power_w == 2583  # type: ignore[attr-defined]


async def test_vnish_127_rpc_over_loopback_version_refused() -> None:
    """1.2.7 answers ``version`` with "Invalid command": identified from stats' Type, read from the rest."""
    assert rpc.decode_reply(fixture(f"{V127}version-invalid-command.json"))["STATUS"][0]["Msg"] == "Invalid command"
    async with ReplayMiner(rpc_set(), description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port)
    check_127(r)
    assert r.fans_rpm == [5850, 5850, 5940, 5940]
    assert r.power_source == "estimated"  # the RPC cannot tell whether the PSU meters it
    assert r.uptime_s == 4423 and r.mac is None
    assert r.state == "degraded"  # auto-tuning at 88.5 % of the preset's nominal: hashing, under 90 %
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))


def test_vnish_127_devdetails_has_no_model() -> None:
    d = rpc.decode_reply(fixture(f"{V127}devdetails.json"))["DEVDETAILS"][0]
    assert (d["Name"], d["Driver"], d["Model"]) == ("BTM_S21PRO", "bitmain_s21pro_drv", "")
    r = vnish.parse({k: rpc.decode_reply(v) for k, v in rpc_set().items()}, "192.0.2.4:4028")
    assert r.model == "S21 Pro"  # from stats Type, not the empty devdetails Model


def rest_routes() -> dict[str, bytes]:
    return {f"/api/v1/{p}": fixture(f"{V127}api-v1-{p.replace('/', '-')}.json")
            for p in ("summary", "info", "perf-summary", "settings", "autotune/presets")}


async def test_vnish_127_rest_over_loopback() -> None:
    host = "127.68.1.1"
    web = ReplayWeb(rest_routes(), login={"/api/v1/unlock": b'{"token":"vn-1"}'}, host=host, port=80)
    async with web, ReplayMiner(rpc_set(), host=host, port=4028, description="cgminer 4.11.1"):
        session = MinerSession(host=host, port=4028, credentials=WebCredentials(use_default_password=True))
        try:
            r = await poll(session, deadline=asyncio.get_running_loop().time() + 10)
        finally:
            await close_session()
    check_127(r)
    assert r.fans_rpm == [5880, 5880, 5940, 5940]  # the web's own sample
    assert r.power_source == "reported"  # psu_power_metering true
    assert r.efficiency_jth == approx(14.856, abs=1e-3)
    assert (r.mac, r.hostname, r.serial) == ("02:95:23:B3:E0:79", "Antminer", None)  # serial "N/A"
    assert r.uptime_s == 6900  # system uptime "1:55"
    # the active preset (2800 W, lowered by the preset switcher), not the configured 3160 in settings
    assert r.power_limit_w == 2800
    assert r.state == "degraded" and not r.sleeping
    assert r.notes == [] and r.errors == []  # every chain "mining"
    paths = {p for _m, p in web.requests}
    assert "/api/v1/settings" not in paths and "/api/v1/autotune/presets" not in paths
    for method, path in web.requests:
        check_read_only(method, f"http://{host}{path}")


async def test_vnish_127_rest_without_perf_summary_reads_the_rest() -> None:
    host = "127.68.1.2"
    routes = {p: b for p, b in rest_routes().items() if p != "/api/v1/perf-summary"}
    async with ReplayWeb(routes, login={"/api/v1/unlock": b'{"token":"vn-1"}'}, host=host, port=80):
        session = MinerSession(host=host, port=80, driver_name="vnish",
                               credentials=WebCredentials(use_default_password=True))
        try:
            r = await poll(session, deadline=asyncio.get_running_loop().time() + 10)
        finally:
            await close_session()
    assert r.hashrate_ths == approx(173.87094) and r.power_limit_w is None and r.mac == "02:95:23:B3:E0:79"
    assert len(r.notes) == 1 and r.notes[0].startswith("perf-summary not read (protocol): GET ") and "HTTP 404" in r.notes[0]


def test_vnish_127_configuration_replies_are_not_telemetry() -> None:
    settings = json.loads(fixture(f"{V127}api-v1-settings.json"))
    presets = json.loads(fixture(f"{V127}api-v1-autotune-presets.json"))
    assert settings["miner"]["overclock"]["preset"] == "3160" and len(presets) == 26
    replies = {"rest:summary": json.loads(fixture(f"{V127}api-v1-summary.json")),
               "rest:info": json.loads(fixture(f"{V127}api-v1-info.json")),
               "rest:perf-summary": json.loads(fixture(f"{V127}api-v1-perf-summary.json"))}
    assert vnish.parse(replies, "192.0.2.4:80").power_limit_w == 2800
    del replies["rest:perf-summary"]  # optional: without it the limit is unknown, the rest is read
    r = vnish.parse(replies, "192.0.2.4:80")
    assert r.power_limit_w is None and r.hashrate_ths == approx(173.87094)


@pytest.mark.parametrize(("text", "seconds"), [("1:55", 6900), ("5 min", 300), ("3 days, 2:10", 267000),
                                               ("1 day, 4 min", 86640), (42, 42), ("soon", None), ("", None)])
def test_vnish_uptime_words(text: object, seconds: int | None) -> None:
    assert vnish.uptime_text(text) == seconds
