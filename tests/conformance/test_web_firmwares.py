"""Conformance: web-CGI, REST, API 3, ePIC, Goldshell, Bitaxe, IceRiver, Auradine and Elphapex captures in
../shared/fixtures/asic (values from SOURCES.md). Single captures go through the parsers; sets are served on
loopback by replay servers (HTTP on port 80 / 4028 / 8080, API 3 on 4433 of a private 127.x address) and polled
through the real drivers, which must send nothing but reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from collectors.asic import api3
from collectors.asic.drivers import _antminer_web as aw
from collectors.asic.drivers import _braiins_rest as braiins_rest
from collectors.asic.drivers import auradine, bitaxe, braiins, epic, goldshell, iceriver, whatsminer
from collectors.asic.http import WebCredentials, check_read_only, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures
from tests.support.replay_web import ReplayApi3, ReplayWeb

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")
approx = pytest.approx
DEV = "192.0.2.9:80"
DEFAULTS = WebCredentials(use_default_password=True)
_net = iter(range(2, 250))


def j(name: str) -> Any:
    return json.loads(fixture(name))


def ip() -> str:
    return f"127.66.{next(_net)}.1"


async def poll_at(host: str, port: int, driver: str | None = None) -> Any:
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=DEFAULTS)
    try:
        return await poll(session, deadline=asyncio.get_running_loop().time() + 10)
    finally:
        await close_session()


# --- Antminer web CGI ---------------------------------------------------------------------------------------
def test_s19proplus_stats_cgi() -> None:
    r = finalize(aw.parse_stats(j("antminer_s19proplus-2023_stats-cgi.json"), DEV, "antminer"))
    assert r.model == "S19Pro+" and r.make == "Antminer"
    assert r.hashrate_ths == approx(121.05623)
    assert r.expected_hashrate_ths == approx(120.0)
    assert r.fans_rpm == [3270, 3420, 3510, 3510]
    assert [b.chips for b in r.boards] == [120, 120, 120]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(121.0562, abs=1e-4)
    assert [(b.temp_c, b.chip_temp_c) for b in r.boards] == [(58, 63), (61, 66), (58, 63)]
    assert r.uptime_s == 17065


def test_system_info_cgi_identity() -> None:
    s21 = aw.identity(j("antminer_s21-2025_get_system_info.json"))
    assert s21 == {"model": "S21", "mac": None, "serial": "THQING0BDJAB024NF", "hostname": "Antminer",
                   "firmware_version": "FR-1.12(251009-S21)"}  # "3M" is not hex: no MAC rather than a wrong one
    s9 = aw.identity(j("antminer_s9se-2019_get_system_info-cgi.json"))
    assert (s9["model"], s9["mac"], s9["firmware_version"]) == ("S9 SE", "1A:94:E4:C6:4A:8E",
                                                                "Wed Sep 18 15:51:07 CST 2019")


def test_old_get_miner_status_cgi() -> None:
    r = aw.parse_old_status(j("antminer_s9se-2019_get_miner_status-cgi.json"), DEV, "antminer", "S9 SE")
    assert r.hashrate_ths == approx(16.36027)
    assert [b.chips for b in r.boards] == [60, 60, 60]
    assert [b.hashrate_ths for b in r.boards] == [approx(6.33301), approx(5.62934), approx(4.39792)]
    assert [b.chip_temp_c for b in r.boards] == [57, 55, 64]
    assert r.fans_rpm == [4680, 5160]
    assert r.pools[0].url == "stratum+tcp://sha256.poolbinance.com:443" and r.pools[0].accepted == 8


def test_elphapex_stats_and_summary_cgi() -> None:
    r = aw.parse_stats(j("elphapex_dg1-v1_stats-cgi.json"), DEV, "antminer")
    assert (r.make, r.model, r.algorithm) == ("Elphapex", "DG-Home1", "scrypt")
    assert r.hashrate_ths == 0.0 and r.expected_hashrate_ths == approx(3003.75e-6)
    assert r.fans_rpm == [420, 420, 420, 1020]
    assert [b.chips for b in r.boards] == [0, 0, 0, 120]
    assert r.boards[3].chip_temp_c == approx(25.687) and r.boards[0].chip_temp_c is None
    errors = aw.summary_errors(j("elphapex_dg1-v1_summary-cgi.json"))
    assert [e.message.split(":")[0] for e in errors] == ["rate", "network"]


async def test_antminer_web_over_loopback_when_rpc_is_closed() -> None:
    host = ip()
    routes = {
        aw.SYSTEM_INFO: fixture("antminer_s21-2025_get_system_info.json"),
        aw.STATS: fixture("antminer_s19proplus-2023_stats-cgi.json"),
        aw.SUMMARY: fixture("elphapex_dg1-v1_summary-cgi.json"),
    }
    async with ReplayWeb(routes, digest=("antMiner Configuration", "root", "root"), host=host, port=80) as srv:
        r = await poll_at(host, 4028, "antminer")  # nothing listens on 4028: the web CGI answers instead
    assert r.hashrate_ths == approx(121.05623) and r.serial == "THQING0BDJAB024NF" and r.model == "S19Pro+"
    assert all(m == "GET" for m, _p in srv.requests)
    assert {p for _m, p in srv.requests} <= set(routes) | {aw.POOLS, aw.MINER_CONF}


async def test_antminer_rpc_plus_web_identity() -> None:
    host = ip()
    rpc_set = fixture_set("antminer_s19pro-49.0.1.3")
    async with ReplayMiner(rpc_set, host=host, port=4028), ReplayWeb(
        {aw.SYSTEM_INFO: fixture("antminer_s9se-2019_get_system_info-cgi.json")},
        digest=("antMiner Configuration", "root", "root"), host=host, port=80,
    ) as web:
        r = await poll_at(host, 4028)
    assert r.driver == "antminer" and r.hashrate_ths == approx(110.56689) and r.mac == "1A:94:E4:C6:4A:8E"
    assert r.model == "S19 Pro"  # the RPC's model wins; the web adds identity
    assert {p for _m, p in web.requests} <= {"/", aw.SYSTEM_INFO}


# --- Braiins OS+ REST ---------------------------------------------------------------------------------------
BOS = "braiins_bosplus-25.07-s19xp_api-v1-"


def bos_replies() -> dict[str, Any]:
    names = {"miner/stats": "miner-stats", "miner/hw/hashboards": "miner-hw-hashboards",
             "cooling/state": "cooling-state", "pools/": "pools", "miner/errors": "miner-errors",
             "miner/details": "miner-details", "performance/tuner-state": "performance-tuner-state"}
    return {f"rest:{k}": j(f"{BOS}{v}.json") for k, v in names.items()}


def test_braiins_rest() -> None:
    replies = bos_replies()
    r = finalize(braiins.parse(replies, DEV))
    assert (r.model, r.firmware, r.firmware_version) == ("S19 XP", "braiins", "2025-08-06-0-3881c51d-25.07-plus")
    assert r.mac == "02:EE:DA:A9:B6:4A" and r.serial is None and r.uptime_s == 69685
    assert r.hashrate_ths == approx(144.00907569)  # last_1m (the ~1-minute figure: docs/architecture.md)
    assert r.expected_hashrate_ths == approx(142.8766, abs=1e-4)
    assert (r.power_w, r.power_source, r.power_limit_w) == (3137, "estimated", 3031)
    assert r.fans_rpm == [5904, 5874, 5874, 5904]
    assert [b.chips for b in r.boards] == [110, 110, 110]
    assert [b.temp_c for b in r.boards] == [55.5, 52.0, 54.0] and [b.chip_temp_c for b in r.boards] == [70.5, 67, 69]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(144.1645, abs=1e-3)
    assert [(p.active, p.accepted, p.rejected) for p in r.pools] == [(True, 10460, 18), (False, 4, 0)]
    # miner/errors is a history (8 entries, some stamped 2015 before NTP): without the miner's clock none of it
    # can be told to be current, so errors are unknown, not 8 current faults
    assert r.errors is None
    log = braiins_rest.error_log(replies["rest:miner/errors"])
    assert len(log) == 8 and "mine.ocean.xyz" in log[2][1].message
    assert not r.sleeping  # miner/details status 2 = MINER_STATUS_NORMAL


@pytest.mark.parametrize("status", [3, "MINER_STATUS_PAUSED"])
def test_braiins_rest_paused(status: object) -> None:
    replies = bos_replies()
    replies["rest:miner/details"] = {**replies["rest:miner/details"], "status": status}
    assert finalize(braiins.parse(replies, DEV)).sleeping


async def test_braiins_rest_over_loopback() -> None:
    host = ip()
    routes = {f"/api/v1/{k[5:]}": json.dumps(v).encode() for k, v in bos_replies().items()}
    routes["/api/v1/version/"] = fixture(f"{BOS}version.json")
    async with ReplayWeb(routes, login={"/api/v1/auth/login": b'{"token":"t0k","timeout_s":3600}'},
                         host=host, port=80) as srv:
        r = await poll_at(host, 4028, "braiins")
    assert r.hashrate_ths == approx(144.00907569) and r.mac == "02:EE:DA:A9:B6:4A"
    for method, path in srv.requests:
        check_read_only(method, f"http://{host}{path}")


# --- Whatsminer API 3 ---------------------------------------------------------------------------------------
W3 = "whatsminer_m60s-apiv3-fw20251209_"


def w3_replies(info: str = "get.device.info") -> dict[str, Any]:
    return {
        whatsminer.V3_INFO: j(f"{W3}{info}.json"),
        whatsminer.V3_SUMMARY: j(f"{W3}get.miner.status-summary.json"),
        whatsminer.V3_EDEVS: j(f"{W3}get.miner.status-edevs.json"),
        whatsminer.V3_POOLS: j(f"{W3}get.miner.status-pools.json"),
    }


def test_whatsminer_api3() -> None:
    r = finalize(whatsminer.parse(w3_replies(), DEV))
    assert (r.model, r.firmware_version, r.mac) == ("M60S VK40", "20251209.16.Rel2", "CE:02:01:00:8C:36")
    assert r.serial == "BTM3CS40HD24083100000000000000000" and r.hostname == "WhatsMiner"
    assert r.hashrate_ths == approx(171.2)  # hash-1min
    assert r.expected_hashrate_ths == approx(181.051)
    assert (r.power_w, r.power_source, r.power_limit_w) == (3156.0, "reported", 3600)
    assert r.fans_rpm == [5400, 5280] and r.uptime_s == 50000
    assert [b.hashrate_ths for b in r.boards] == [57.2, 57.0, 57.1] and [b.chips for b in r.boards] == [75] * 3
    assert [b.temp_c for b in r.boards] == [41.1, 40.1, 41.5] and [b.chip_temp_c for b in r.boards] == [80, 82, 81]
    assert [(p.index, p.active, p.accepted) for p in r.pools] == [(0, True, None), (1, False, None), (2, False, None)]
    errs = whatsminer.parse(w3_replies("get.device.info-with-errors"), DEV).errors
    assert [e.code for e in errs] == [264, 265, 266, 267, 270] and "watch dog" in errs[3].message


def test_api3_framing_and_read_only() -> None:
    frame = api3.frame("get.miner.status", "summary")
    assert frame[:4] == len(frame[4:]).to_bytes(4, "little")
    body = fixture(f"{W3}get.miner.status-summary.json")
    assert api3.decode(len(body).to_bytes(4, "little") + body)["msg"]["summary"]["elapsed"] == 50000
    with pytest.raises(ValueError):
        api3.frame("set.miner.power_off")


async def test_whatsminer_api3_over_loopback_chosen_by_firmware_date() -> None:
    host = ip()
    version = b'{"STATUS":"S","When":1,"Code":131,"Msg":{"api_ver":"3.0.2","fw_ver":"20251209.16.Rel2"},"Description":""}'
    api3_replies = {"get.device.info": fixture(f"{W3}get.device.info.json")}
    for part in ("summary", "edevs", "pools"):
        api3_replies[f"get.miner.status.{part}"] = fixture(f"{W3}get.miner.status-{part}.json")
    async with ReplayMiner({"get_version": version, "version": b'{"STATUS":[{"STATUS":"S","Description":"btminer"}]}'},
                           host=host, port=4028), ReplayApi3(api3_replies, host=host, port=4433) as srv:
        r = await poll_at(host, 4028)
    assert r.driver == "whatsminer" and r.hashrate_ths == approx(171.2) and r.model == "M60S VK40"
    assert all(str(q["cmd"]).startswith("get.") for q in srv.requests)


# --- ePIC, Goldshell, Bitaxe, IceRiver, Auradine -------------------------------------------------------------
def test_epic_2_0_6_summary() -> None:
    r = epic.parse({"summary": j("epic_epicminer-v2.0.6-sia_summary.json")}, DEV)
    # LastAverageMHs (the last hour's average), never Session "Average MHs" (1.8289, SOURCES.md's value: since
    # the session started 8.7 days earlier).
    assert r.hashrate_ths == approx(1.8153812670691558)
    assert r.power_w == approx(843.637, abs=1e-3) and r.power_source == "reported"
    assert [b.temp_c for b in r.boards] == [59, 62, 56] and [b.hashrate_ths for b in r.boards] == [None] * 3
    assert r.fans_rpm == []  # "Fans Speed": 50 is a duty %, not RPM
    assert (r.uptime_s, r.pools[0].accepted, r.pools[0].rejected) == (749962, 195336, 165)
    assert r.pools[0].url == "stratum+tcp://sc.luxor.tech:700" and r.hostname == "epicminer43003a"


@pytest.mark.parametrize("chunked", [False, True])
async def test_epic_over_loopback_identified_by_http_on_4028(chunked: bool) -> None:
    host = ip()
    caps = b'{"Model":"BlockMiner 520i","Default Hashrate":125.0}'
    async with ReplayWeb({"/summary": fixture("epic_epicminer-v2.0.6-sia_summary.json"), "/capabilities": caps},
                         host=host, port=4028, chunked=chunked):
        r = await poll_at(host, 4028)
    assert r.driver == "epic" and r.model == "BlockMiner 520i" and r.expected_hashrate_ths == 125.0


def test_goldshell_ck5() -> None:
    r = goldshell.parse({"devs": j("goldshell_ck5_mcb-cgminer.json"), "pools": j("goldshell_ck5_mcb-pools.json")}, DEV)
    assert r.hashrate_ths == approx(12.452062364)
    assert len(r.boards) == 4 and r.boards[0].temp_c == 83.0
    assert r.fans_rpm == [2940, 2940, 2940, 2940]
    assert [(p.url, p.active) for p in r.pools] == [("stratum+tcp://us-ckb.2miners.com:6464", True),
                                                    ("stratum+tcp://ckb.f2pool.com:4300", False)]


async def test_goldshell_over_loopback_with_jwt() -> None:
    host = ip()
    routes = {"/user/login": b'{"JWT Token":"jwt1"}', "/mcb/cgminer": fixture("goldshell_ck5_mcb-cgminer.json"),
              "/mcb/pools": fixture("goldshell_ck5_mcb-pools.json"), "/mcb/status": b'{"model":"Goldshell-CK5"}'}
    async with ReplayWeb(routes, host=host, port=80) as srv:
        r = await poll_at(host, 80, "goldshell")
    assert r.hashrate_ths == approx(12.452062364) and r.model == "CK5" and r.algorithm == "eaglesong"
    assert all(m == "GET" for m, _p in srv.requests)


def test_bitaxe_system_info() -> None:
    r = finalize(bitaxe.parse({"system/info": j("bitaxe_bm1366-v2.6.0_api-system-info.json")}, DEV))
    assert r.hashrate_ths == approx(2.37275) and r.power_w == 58.35 and r.efficiency_jth == approx(24.592, abs=1e-3)
    assert (r.boards[0].chip_temp_c, r.boards[0].temp_c, r.boards[0].chips) == (58.0, 45, 1)
    assert r.fans_rpm == [5515] and r.uptime_s == 212115 and r.model == "BM1366"
    assert r.mac == "C0:FA:38:6A:6E:B2"
    assert r.pools[0].url == "stratum+tcp://public-pool.io:21496"
    assert (r.pools[0].accepted, r.pools[0].rejected) == (19739, 6)


def test_iceriver_userpanel() -> None:
    r = iceriver.parse({"userpanel": j("iceriver_ks5l_userpanel-post4.json")}, DEV)
    assert r.hashrate_ths == approx(15.011) and r.model == "KS5L" and r.algorithm == "kheavyhash"
    assert [b.chips for b in r.boards] == [18, 18, 18]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(15.012, abs=1e-3)
    assert [b.temp_c for b in r.boards] == [63, 61, 67]
    assert r.fans_rpm == [5900, 5900, 5900, 5855] and r.uptime_s == 102542
    assert [(p.status, p.accepted) for p in r.pools] == [("alive", 7225), ("dead", 0), ("dead", 0)]
    assert r.power_w is None and r.mac is None  # masked by the publisher


async def test_iceriver_over_loopback_with_cookie_login() -> None:
    host = ip()
    async with ReplayWeb({"/user/userpanel": fixture("iceriver_ks5l_userpanel-post4.json")},
                         login={"/user/loginpost": b'{"error":0}'}, host=host, port=80) as srv:
        r = await poll_at(host, 80, "iceriver")
    assert r.hashrate_ths == approx(15.011)
    assert [m for m, _p in srv.requests] == ["POST", "POST"]
    for method, path in srv.requests:
        check_read_only(method, f"http://{host}{path}")


AURA = "auradine_fluxos-v1"


def test_auradine() -> None:
    replies = {k: json.loads(v) for k, v in fixture_set(AURA).items()}
    r = finalize(auradine.parse(replies, DEV))
    assert r.hashrate_ths == approx(10.25684455)  # MHS 1m (the ~1-minute figure: docs/architecture.md; MHS 5s is 20.6)
    assert [b.hashrate_ths for b in r.boards] == [approx(6.8), approx(6.9), approx(7.0)]
    assert [b.chip_temp_c for b in r.boards] == [approx(45.8273, abs=1e-3), approx(48.2209, abs=1e-3),
                                                 approx(51.4123, abs=1e-3)]
    assert (r.power_w, r.power_limit_w, r.expected_hashrate_ths) == (58.94, 2000, 160)
    assert r.fans_rpm == [7080, 7020, 7100, 7020] and not r.sleeping
    assert [p.status for p in r.pools] == ["alive", "dead", "dead"] and r.uptime_s == 56696


async def test_auradine_over_loopback_rpc_and_8080() -> None:
    host = ip()
    sets = fixture_set(AURA)
    rpc_part = {k: v for k, v in sets.items() if k in ("summary", "devs", "pools", "version")}
    web_part = {f"/{k}": v for k, v in sets.items() if k in ("psu", "fan", "mode", "temperature")}
    async with ReplayMiner(rpc_part, host=host, port=4028, description="GCMiner-0.5"), ReplayWeb(
        web_part, login={"/token": b'{"Token":[{"Token":"abc"}]}'}, host=host, port=8080
    ) as web:
        r = await poll_at(host, 4028)
    assert r.driver == "auradine" and r.power_w == 58.94 and r.fans_rpm == [7080, 7020, 7100, 7020]
    assert ("POST", "/token") in web.requests and all(m == "GET" for m, p in web.requests if p != "/token")
