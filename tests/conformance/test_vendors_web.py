"""Conformance: the web-API vendors without a cgminer lineage — Elphapex DG1+ (Bitmain-style CGI, Digest),
Bitfury B8 (OpenMiner HTTP API, bearer token), Ebang (web UI JSON, session cookie) — on the captures in
../shared/fixtures/asic (values from SOURCES.md). Each set is served on loopback by the replay web server and
polled through the real driver, which must send nothing but logins and reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from collectors.asic.drivers import _antminer_web as aw
from collectors.asic.drivers import bitfury, ebang, elphapex
from collectors.asic.http import PlainSecret, WebCredentials, check_read_only, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from tests.support.replay import fixture, have_fixtures
from tests.support.replay_web import ReplayWeb

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")
approx = pytest.approx
_net = iter(range(2, 250))
PASSWORD = WebCredentials(password=PlainSecret("site-password"))

DG1P = "elphapex_dg1plus-1.0.2"
B8_HASHING = "bitfury_b8-1.3.7-hashing_api-om-miner-stat-agg.json"
B8_OFF = "bitfury_b8-1.3.7-notconfigured_api-om-miner-stat-agg.json"
EBANG = "ebang_dwm-btc1000-soft9.1.0.32"


def ip() -> str:
    return f"127.72.{next(_net)}.1"


def j(name: str) -> Any:
    return json.loads(fixture(name))


async def poll_at(host: str, port: int, driver: str | None,
                  credentials: WebCredentials = PASSWORD) -> Any:
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials)
    try:
        return await poll(session, deadline=asyncio.get_running_loop().time() + 10)
    finally:
        await close_session()


def only_reads(srv: ReplayWeb) -> None:
    for method, path in srv.requests:
        check_read_only(method, f"http://h{path}")  # raises on anything but a read or a login


# --- Elphapex DG1+ ------------------------------------------------------------------------------------------
def check_dg1plus(r: Any) -> None:
    assert (r.driver, r.make, r.model, r.algorithm) == ("elphapex", "Elphapex", "Elphapex DG1+", "scrypt")
    assert r.hashrate_ths == approx(11531.88e-6)  # rate_5s MH/s -> TH/s of Scrypt; not rate_avg 14199.04
    assert r.expected_hashrate_ths == approx(14229e-6)
    assert [b.chips for b in r.boards] == [204] * 4 and [b.expected_chips for b in r.boards] == [204] * 4
    # Per-chain "hashrate", not rate_real (whose sum is rate_avg, an average).
    assert [b.hashrate_ths for b in r.boards] == approx([3278.6e-6, 3491.84e-6, 3408.7e-6, 3463.68e-6])
    assert [b.temp_c for b in r.boards] == [67, 67, 67, 67]  # temp_pcb [47,46,67,66] on every chain, as given
    assert r.boards[0].chip_temp_c == approx(50.5)  # "47125","50500","","" milli-degrees; "" is no sensor
    assert r.fans_rpm == [5340, 5400, 5400, 5400]
    assert r.uptime_s == 357352 and r.power_w is None and r.state == "degraded"  # 11.5 of 14.2 GH/s: < 90 %


async def test_elphapex_dg1plus_over_digest_web() -> None:
    host = ip()
    routes = {aw.STATS: fixture(f"{DG1P}_stats-cgi.json"), aw.SUMMARY: fixture(f"{DG1P}_summary-cgi.json"),
              aw.POOLS: fixture(f"{DG1P}_pools-cgi.json"), aw.SYSTEM_INFO: fixture(f"{DG1P}_get_system_info-cgi.json")}
    async with ReplayWeb(routes, digest=("Daoge", "root", "root"), host=host, port=80) as srv:
        r = await poll_at(host, 80, "elphapex", WebCredentials(use_default_password=True))
        auto = await poll_at(host, 80, None, WebCredentials(use_default_password=True))  # by the realm
    for reading in (r, auto):
        check_dg1plus(reading)
    assert r.errors == []  # summary status rate/network/fans/temp all "s"
    assert (r.firmware_version, r.hostname) == ("DG1+_SW_V1.0.2", "DG1+")
    # "Unreachable" is a dead pool; no active flag on this firmware: the Alive one is the working pool.
    assert [(p.status, p.accepted, p.rejected, p.active) for p in r.pools] == [
        ("dead", 798704, 3320, False), ("alive", 604803, 2492, True), ("dead", 691522, 3076, False)]
    assert all(m == "GET" for m, _p in srv.requests)


async def test_elphapex_missing_pools_page_leaves_the_rest() -> None:
    host = ip()
    routes = {aw.STATS: fixture(f"{DG1P}_stats-cgi.json"), aw.SYSTEM_INFO: fixture(f"{DG1P}_get_system_info-cgi.json")}
    async with ReplayWeb(routes, digest=("Daoge", "root", "root"), host=host, port=80):
        r = await poll_at(host, 80, "elphapex", WebCredentials(use_default_password=True))
    check_dg1plus(r)
    assert r.pools == [] and r.errors is None
    assert any(aw.POOLS in n for n in r.notes) and any(aw.SUMMARY in n for n in r.notes)


def test_elphapex_miner_conf_names_the_scrypt_pools() -> None:
    conf = j(f"{DG1P}_get_miner_conf-cgi.json")
    assert conf["algo"] == "ltc" and not aw.sleeping(conf)  # fc-work-mode 0: no sleep flag on this firmware
    assert [p["url"].rsplit(":", 1)[-1] for p in conf["pools"]] == ["3333", "443", "25"]


# --- Bitfury B8 ---------------------------------------------------------------------------------------------
async def test_bitfury_b8_hashing_over_its_api() -> None:
    host = ip()
    async with ReplayWeb({bitfury.AGG: fixture(B8_HASHING)}, login={bitfury.LOGIN: b'{"token":"t-1"}'},
                         host=host, port=80) as srv:
        r = await poll_at(host, 80, "bitfury")
    assert (r.make, r.model, r.firmware_version) == ("Bitfury", "Bitfury B8", "1.3.7")
    assert r.hashrate_ths == approx(48.4455)  # intervals["30"].bySol, not the session total 48395.4
    assert sum(b.hashrate_ths for b in r.boards) == approx(48.4455)
    assert [b.hashrate_ths for b in r.boards] == approx([8.0428, 7.8042, 7.7442, 8.7944, 7.5973, 8.4626])
    assert [b.chips for b in r.boards] == [96] * 6
    assert [b.temp_c for b in r.boards] == [59, 57, 57, 58, 55, 56]
    assert (r.power_w, r.power_source) == (5421.2, "reported")
    assert r.efficiency_jth == approx(111.9, abs=0.05)
    assert r.fans_rpm == [5886, 5921, 5886, 5921, 6030, 5993]
    assert r.mac == "16:BF:01:7F:AA:28" and r.uptime_s == 4029
    assert [(p.url, p.accepted, p.rejected) for p in r.pools] == [
        ("stratum+tcp://ca.stratum.slushpool.com:3333", 896, 0)]
    assert r.errors and "board 1" in r.errors[0].message  # errorRate 18.5 % vs ~1 % elsewhere
    assert r.state == "hashing"
    only_reads(srv)
    assert ("POST", bitfury.LOGIN) in srv.requests


async def test_bitfury_b8_powered_down() -> None:
    host = ip()
    async with ReplayWeb({bitfury.AGG: fixture(B8_OFF)}, login={bitfury.LOGIN: b'{"token":"t-1"}'},
                         host=host, port=80):
        r = await poll_at(host, 80, "bitfury")
    assert r.hashrate_ths == 0.0 and r.state == "not_hashing"
    assert r.boards == [] and r.power_w is None  # psuW "0.0" is no reading, not 0 W
    assert r.fans_rpm == [6143, 6067, 6067, 6030, 6067, 6105] and r.uptime_s == 817
    assert r.model is None and r.notes


def test_bitfury_parser_needs_master() -> None:
    from collectors.errors import ParseError
    with pytest.raises(ParseError):
        bitfury.parse({"agg": {"slots": []}}, "d")


# --- Ebang --------------------------------------------------------------------------------------------------
def ebang_routes() -> dict[str, bytes]:
    return {ebang.PAGES["status"]: fixture(f"{EBANG}_cgminer-status.json"),
            ebang.PAGES["alarm"]: fixture(f"{EBANG}_alarm-getalarmloop.json"),
            ebang.PAGES["system"]: fixture(f"{EBANG}_status-getsystemstatus.json"),
            ebang.PAGES["pools"]: fixture(f"{EBANG}_cgminer-getval.json")}


async def test_ebang_over_its_web_ui() -> None:
    host = ip()
    async with ReplayWeb({}, login={ebang.LOGIN: b"{}", **{p: b for p, b in ebang_routes().items()}},
                         host=host, port=80) as srv:
        r = await poll_at(host, 80, "ebang")
    assert (r.make, r.model, r.firmware_version) == ("Ebang", "Ebang DWM_BTC1000", "soft_v9.1.0.32")
    assert r.hashrate_ths == approx(12.44)  # fivesecfigure "12.44T"; not averfigure 12.28T
    assert r.expected_hashrate_ths == approx(12.526698)  # calValue GH/s
    assert r.fans_rpm == [5520, 5640]
    assert [(b.index, b.temp_c) for b in r.boards] == [(0, 60), (1, 58)]  # device3temp 0: no board
    assert r.uptime_s == 443197  # worktime "123:6:37"
    assert r.errors == []  # every alarm 0
    assert [(p.url, p.user, p.active, p.accepted, p.rejected) for p in r.pools] == [
        ("stratum+tcp://aaa.com:3001", "111", True, 2033, 265),
        ("stratum+tcp://yyy.com:1883", None, False, None, None),
        ("stratum+tcp://btc.ss.poolin.com:25", None, False, None, None)]
    assert r.state == "hashing"
    only_reads(srv)
    assert all(m == "POST" for m, p in srv.requests if p != "/")


def test_ebang_rate_units() -> None:
    assert ebang.rate_ths("12.44T") == approx(12.44)
    assert ebang.rate_ths("980.5G") == approx(0.9805)
    assert ebang.rate_ths("") is None and ebang.rate_ths(None) is None
    r = finalize(ebang.parse({"status": j(f"{EBANG}_cgminer-status.json")}, "d"))
    assert r.hashrate_ths == approx(12.44) and r.errors is None and r.boards == []


def test_elphapex_dg1_v1_through_the_elphapex_parser() -> None:
    """The batch-1 DG1 capture (starting up) read by the dedicated driver gives what the Antminer web path gave."""
    r = finalize(elphapex.parse({"stats": j("elphapex_dg1-v1_stats-cgi.json"),
                                 "summary": j("elphapex_dg1-v1_summary-cgi.json")}, "d"))
    assert (r.make, r.model, r.algorithm) == ("Elphapex", "Elphapex DG-Home1", "scrypt")
    assert r.hashrate_ths == 0.0 and r.expected_hashrate_ths == approx(3003.75e-6)
    assert [b.chips for b in r.boards] == [0, 0, 0, 120] and r.boards[3].chip_temp_c == approx(25.687)
    assert r.fans_rpm == [420, 420, 420, 1020]
    assert [e.message.split(":")[0] for e in r.errors or []] == ["rate", "network"]
    assert r.state == "not_hashing"
