"""Conformance: cgminer-API vendors without a stock-Antminer lineage — Innosilicon, Sealminer, Hammer, MinerVa,
iBeLink — and the generic cgminer reader, on the captures in ../shared/fixtures/asic (values from SOURCES.md).
Multi-file devices are served on loopback by the replay server and polled through the real drivers, forced and
identified automatically; single files go through the parsers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import cgminer, hammer, innosilicon, sealminer
from collectors.asic.http import PlainSecret, WebCredentials, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures
from tests.support.replay_btminer import sent_commands
from tests.support.replay_web import ReplayWeb

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")
approx = pytest.approx
_net = iter(range(2, 250))

A9 = "innosilicon_a9-a9-1.1.0"
A9_OLD = "innosilicon_a9-sgminer4.4.2-2018"
T1 = "innosilicon_t1-dragonmint-cgminer4.10.0_stats.json"
SEAL = "sealminer_a2-2025091001"
HAMMER = "hammer_d10-2023.05.28"
MINERVA = "minerva_mv8-cgminer4.10.0"
IBELINK = "ibelink_bm-n1max-cgminer5.4.8"
# Written here (not a capture): the version reply every cgminer 5.x answers, which the iBeLink set lacks.
CGMINER_VERSION = (b'{"STATUS":[{"STATUS":"S","When":1626315828,"Code":22,"Msg":"CGMiner versions",'
                   b'"Description":"cgminer 5.4.8"}],"VERSION":[{"CGMiner":"5.4.8","API":"3.7"}],"id":1}')


def ip() -> str:
    return f"127.71.{next(_net)}.1"


async def poll_at(host: str, port: int = 4028, driver: str | None = None,
                  credentials: WebCredentials | None = None) -> Any:
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials)
    try:
        return await poll(session, deadline=asyncio.get_running_loop().time() + 10)
    finally:
        await close_session()


async def served(replies: dict[str, bytes], driver: str | None, **kw: Any) -> tuple[Any, ReplayMiner]:
    async with ReplayMiner(replies, host=ip(), port=4028, **kw) as miner:
        r = await poll_at(miner.host, driver=driver)
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS
    return r, miner


# --- Innosilicon --------------------------------------------------------------------------------------------
def check_a9(r: Any) -> None:
    assert (r.make, r.model, r.algorithm) == ("Innosilicon", "Innosilicon A9", "equihash")
    # "MHS 5s"/"MHS 1m" 51451.63 are Sol/s on the A9: 51.45 kSol/s, in TH/s of Equihash's unit.
    assert r.hashrate_ths == approx(51451.63e-12)
    assert r.expected_hashrate_ths == approx(50e3 * 1e-12)  # nameplate 50 kSol/s
    assert [b.chips for b in r.boards] == [12, 12, 12] and [b.expected_chips for b in r.boards] == [12] * 3
    assert [b.temp_c for b in r.boards] == [62, 64, 60] and [b.chip_temp_c for b in r.boards] == [71, 72, 67]
    assert all(b.hashrate_ths is None for b in r.boards)  # per-chain "MHS av": an average, in another unit
    assert r.fans_rpm == []  # "Fan duty" 35 is a percentage: no RPM anywhere
    assert [(p.url.rsplit("/", 1)[-1], p.active, p.accepted, p.rejected) for p in r.pools] == [
        ("americas.equihash.mining-dutch.nl:6663", True, 5128, 26), ("solo-zen.2miners.com:7070", False, 0, 0),
        ("us1.zhash.pro:8059", False, 0, 0)]
    assert r.uptime_s == 48768 and r.firmware_version == "a9-1.1.0" and r.state == "hashing"


async def test_innosilicon_a9_forced_and_identified() -> None:
    for driver in ("innosilicon", None):
        r, _ = await served(fixture_set(A9), driver, description="innominer a9-1.1.0")
        assert r.driver == "innosilicon"
        check_a9(r)


async def test_innosilicon_a9_sgminer_2018_shape() -> None:
    """STATS0..STATS3 and POOL0..POOL1 as top-level sections; only "MHS av" figures, so no current hashrate."""
    r, _ = await served(fixture_set(A9_OLD), "innosilicon", description="sgminer 4.4.2")
    assert [b.chips for b in r.boards] == [12, 12, 12]  # STATS3 is an empty slot, not a board
    assert [b.temp_c for b in r.boards] == [47, 48, 45]
    assert r.hashrate_ths is None and any("since-boot average" in n for n in r.notes)
    assert r.state == "unknown"
    assert [(p.url, p.accepted, p.rejected, p.stale) for p in r.pools] == [
        ("stratum+tcp://zcl.suprnova.cc:4042", 2113, 27, 1), ("stratum+tcp://zcl.suprnova.cc:4043", 3, 2, 1)]
    # Identified automatically, sgminer without a vendor string is read by the generic reader, same boards.
    auto, _ = await served(fixture_set(A9_OLD), None, description="sgminer 4.4.2")
    assert auto.driver == "cgminer" and [b.chips for b in auto.boards] == [12, 12, 12]
    assert auto.hashrate_ths is None and cgminer.NOTE in auto.notes


def test_innosilicon_t1_dragonmint_stats() -> None:
    r = finalize(innosilicon.parse({"stats": rpc.decode_reply(fixture(T1))}, "d"))
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert [b.temp_c for b in r.boards] == [72, 74, 71] and [b.chip_temp_c for b in r.boards] == [84, 87, 82]
    # Only since-boot "MHS av" (3 x 5370624 MH/s = 16.1 TH/s): never reported as the current hashrate.
    assert r.hashrate_ths is None and r.state == "unknown" and r.notes
    assert r.uptime_s == 204725


# --- Sealminer ----------------------------------------------------------------------------------------------
def check_seal(r: Any) -> None:
    assert (r.driver, r.make, r.model, r.algorithm) == ("sealminer", "Sealminer", "Sealminer A2", "sha256")
    assert r.hashrate_ths == approx(220.3155, abs=1e-4)  # stats MHS(1m); never the 368.5 TH/s "MHS 5s" outlier
    assert r.expected_hashrate_ths == approx(221.6635, abs=1e-4)  # MHS(Ideal)
    assert (r.power_w, r.power_source, r.power_limit_w) == (3504.0, "reported", 3500.0)
    assert r.efficiency_jth == approx(15.90, abs=0.01)
    assert [b.hashrate_ths for b in r.boards] == approx([73.9058, 73.6266, 72.8464], abs=1e-4)
    assert [b.chips for b in r.boards] == [153] * 3 and [b.temp_c for b in r.boards] == [70, 70, 70]
    assert r.fans_rpm == [3723, 3723, 3753, 3723]  # not the PSU fan (4408)
    assert r.mac == "50:D4:48:4B:86:78" and r.firmware_version == "2025091001"
    assert [(p.url, p.user, p.accepted, p.rejected, p.active) for p in r.pools] == [
        ("stratum+tcp://stratum.braiins.com:3333", "Dow_Mining.SealMinerA2", 322, 1, True)]
    assert r.uptime_s == 2481 and r.state == "hashing"


async def test_sealminer_rpc_forced_and_identified() -> None:
    for driver in ("sealminer", None):
        r, _ = await served(fixture_set(SEAL), driver, description="bdminer 4.11.1")
        check_seal(r)


async def test_sealminer_web_identity_with_credentials() -> None:
    host = ip()
    web_routes = {"/cgi-bin/get_system_info.php": fixture(f"{SEAL}_get_system_info.json"),
                  "/cgi-bin/miner_psu_status.php": fixture(f"{SEAL}_miner_psu_status.json")}
    async with ReplayMiner(fixture_set(SEAL), host=host, port=4028, description="bdminer 4.11.1"), ReplayWeb(
            web_routes, login={"/cgi-bin/login.php": b'{"status":"ok"}'}, host=host, port=80) as srv:
        r = await poll_at(host, credentials=WebCredentials(password=PlainSecret("site-password")))
    check_seal(r)
    assert r.serial == "S127200252001850"  # crtl_sn (sic)
    # Identification's GET /, the login, then one read (stats already carries the PSU's power).
    assert [r for r in srv.requests if r[1] != "/"] == [("POST", "/cgi-bin/login.php"),
                                                        ("GET", "/cgi-bin/get_system_info.php")]


def test_sealminer_psu_endpoint_gives_power_when_stats_has_none() -> None:
    replies: dict[str, Any] = {k: rpc.decode_reply(v) for k, v in fixture_set(SEAL).items()
                               if k in ("summary", "pools")}
    replies["web:psu"] = json.loads(fixture(f"{SEAL}_miner_psu_status.json"))
    r = finalize(sealminer.parse(replies, "d"))
    assert (r.power_w, r.power_source) == (3504.0, "reported")
    assert r.hashrate_ths == approx(197.5997, abs=1e-4)  # no stats: summary MHS 1m, not MHS 5s 368.48


# --- Hammer -------------------------------------------------------------------------------------------------
def check_hammer(r: Any) -> None:
    assert (r.driver, r.make, r.model, r.algorithm) == ("hammer", "Hammer", "Hammer D10", "scrypt")
    assert r.hashrate_ths == approx(4885.0813e-6)  # summary "MHS 5s" string, MH/s of Scrypt
    assert [b.hashrate_ths for b in r.boards] == approx([1578.2742e-6, 1594.3646e-6, 1513.8498e-6])
    assert [b.chips for b in r.boards] == [108, 108, 108] and len(r.boards) == 3
    # temp1..temp3 are printed four times each: every value read, not the last one only.
    assert [b.temp_c for b in r.boards] == [21, 23, 20] and [b.chip_temp_c for b in r.boards] == [45, 42, 40]
    assert r.fans_rpm == [4650, 4500, 3870, 3930]
    assert r.power_w is None and r.expected_hashrate_ths is None
    assert r.uptime_s == 119134 and r.firmware_version == "2023-05-28 17-20-35 CST" and r.state == "hashing"


async def test_hammer_d10_forced_and_identified() -> None:
    for driver in ("hammer", None):
        r, _ = await served(fixture_set(HAMMER), driver, description="ccminer 2.3.3")
        check_hammer(r)


def test_hammer_duplicate_keys_are_all_kept() -> None:
    stats = hammer.decode_keeping_duplicates(fixture(f"{HAMMER}_stats.json"))
    dups = stats["STATS"][1][hammer.DUPLICATES]
    assert dups["temp1"] == [21, 42, 21, 45] and dups["temp3"] == [18, 39, 20, 40]


async def test_hammer_web_identity() -> None:
    host = ip()
    async with ReplayMiner(fixture_set(HAMMER), host=host, port=4028, description="ccminer 2.3.3"), ReplayWeb(
            {"/cgi-bin/get_system_info.cgi": fixture(f"{HAMMER}_get_system_info-cgi.json")},
            digest=("antMiner Configuration", "root", "root"), host=host, port=80) as srv:
        r = await poll_at(host, driver="hammer", credentials=WebCredentials(use_default_password=True))
    check_hammer(r)
    assert r.hostname == "Hammer"
    assert all(m == "GET" for m, _p in srv.requests)


# --- MinerVa ------------------------------------------------------------------------------------------------
def check_minerva(r: Any, driver: str) -> None:
    assert r.driver == driver
    assert r.hashrate_ths == approx(90.8827, abs=1e-4)  # summary MHS 1m, not MHS 5s 87.24 nor MHS av 90.75
    assert [b.hashrate_ths for b in r.boards] == approx([22.7297, 23.2253, 22.5286, 22.3981], abs=1e-4)
    assert [b.chips for b in r.boards] == [102] * 4
    assert [b.temp_c for b in r.boards] == [85.87, 84.14, 83.13, 86.86]
    assert r.fans_rpm == [3090, 3330]  # two fans, repeated on every chain entry: not eight
    assert [(p.url, p.accepted, p.rejected, p.active) for p in r.pools] == [
        ("stratum+tcp://btc-us.f2pool.com:3333", 489, 1, True)]
    assert r.uptime_s == 10336 and r.power_w is None and r.state == "hashing"


async def test_minerva_mv8_forced_identified_and_generic() -> None:
    for driver in ("minerva", None):  # identified by its chains' Name "C12"
        r, _ = await served(fixture_set(MINERVA), driver)
        check_minerva(r, "minerva")
        assert (r.make, r.model) == ("MinerVa", "MinerVa MV8") and r.mac == "1C:C0:E1:02:06:1A"  # summary Netid
        assert [b.expected_chips for b in r.boards] == [102] * 4
    # The generic reader on the same replies reads the same values, and says it is the generic reader.
    generic, _ = await served(fixture_set(MINERVA), "cgminer")
    check_minerva(generic, "cgminer")
    assert cgminer.NOTE in generic.notes and generic.algorithm == "unknown"


# --- iBeLink ------------------------------------------------------------------------------------------------
def check_ibelink(r: Any) -> None:
    assert (r.driver, r.make, r.model, r.algorithm) == ("ibelink", "iBeLink", "iBeLink BM-N1Max", "eaglesong")
    assert r.hashrate_ths == approx(10.6015, abs=1e-4)
    assert [b.hashrate_ths for b in r.boards] == approx([3.7311, 3.4246, 3.4458], abs=1e-4)
    assert [b.chips for b in r.boards] == [144] * 3
    assert [b.temp_c for b in r.boards] == [57.75, 58.25, 57.62]  # summary Temp1..3; devs Temperature is 0.00
    assert r.fans_rpm == []  # PWM values, not RPM
    assert r.mac == "10:01:29:1B:02:06"
    assert [(p.accepted, p.rejected, p.active) for p in r.pools] == [(53438, 957, True), (0, 0, False)]
    assert r.uptime_s == 20576 and r.state == "hashing"


async def test_ibelink_forced_and_identified_by_its_devs() -> None:
    replies = {**fixture_set(IBELINK), "version": CGMINER_VERSION}
    for driver in ("ibelink", None):
        r, _ = await served(replies, driver, description="cgminer 5.4.8")
        check_ibelink(r)


def test_ibelink_unsigned_64_bit_masks_decode_exactly() -> None:
    devs = rpc.decode_reply(fixture(f"{IBELINK}_devs.json"))["DEVS"]
    assert devs[1]["Active"] == 12440731282391493698 and devs[2]["Active"] == 15925053910352440067
