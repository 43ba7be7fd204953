"""Conformance, batch 2: Avalon generations the 1047/1246/Q captures do not show (values from SOURCES.md):
an AUC controller chaining ten 741 modules (2017), a 9xx farm controller whose AUC lists stale copies of
modules (2019), and the Nano 3's plain-text version reply."""

from __future__ import annotations

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import avalon
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.asic.reading import MinerReading
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures
from tests.support.replay_btminer import sent_commands

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

A741 = "avalon_741-auc-2017"
A9XX = "avalon_9xx-2019"
NANO3 = "avalon_nano3-24071801_version-textapi.txt"


def read(prefix: str) -> MinerReading:
    replies = {cmd: rpc.decode_reply(raw) for cmd, raw in fixture_set(prefix).items()}
    return finalize(avalon.parse(replies, "d"))


def test_741_auc_chain_of_ten_modules() -> None:
    r = read(A741)
    assert (r.make, r.model) == ("AvalonMiner", "Avalon 741")  # Ver[7411706-...]: model 741, firmware 1706
    # Elapsed 118: the decaying 1-minute average still carries its zero start (42.59); the 5 s figure is current.
    assert r.hashrate_ths == pytest.approx(52.12628, abs=1e-4)
    assert r.expected_hashrate_ths == pytest.approx(68.2435, abs=1e-4)  # GHSmm of the 10 modules
    # One "Fan" per module (key without a number): ten fans, in module order.
    assert r.fans_rpm == [2550, 1440, 2700, 2580, 2430, 4440, 3900, 3150, 2760, 3810]
    assert len(r.boards) == 10  # one row per module; no per-board data on this generation
    assert all(b.chips is None and b.hashrate_ths is None for b in r.boards)  # unknown, never 0
    assert [b.chip_temp_c for b in r.boards][:5] == [89.0, 80.0, 92.0, 87.0, 88.0]  # TMax
    assert r.power_w is None and r.uptime_s == 118
    # ECHU of module 0 is [16 0 512 0]: its boards 0 and 2, named by module (the rows are modules here).
    assert r.errors is not None and [e.message for e in r.errors[:2]] == [
        "module 0 hash board 0 error bits 0x10", "module 0 hash board 2 error bits 0x200"]
    assert [(p.url, p.user, p.active, p.accepted, p.rejected) for p in r.pools] == [
        ("stratum+tcp://stratum.antpool.com:3333", "Yop yop", True, 19, 1),
        ("stratum+tcp://stratum.antpool.com:443", "Yop yop", False, 0, 0),
    ]


def test_9xx_ghost_modules_counted_once() -> None:
    r = read(A9XX)
    assert r.model == "Avalon 921"  # Ver[9211809-b4b3d00]
    assert r.hashrate_ths == pytest.approx(431.79116, abs=1e-4)  # MHS 1m of the farm controller
    # 50 MM entries, 20 distinct DNAs: the longest-running copy of each; 1101.56 TH/s if ghosts were summed.
    assert r.expected_hashrate_ths == pytest.approx(439.759, abs=1e-3)
    assert len(r.fans_rpm) == 20 and all(4320 <= f <= 6750 for f in r.fans_rpm if f is not None)
    assert len(r.boards) == 20
    assert all(b.chip_temp_c is not None and 94 <= b.chip_temp_c <= 96 for b in r.boards)
    assert r.state == "hashing" and r.uptime_s == 66007
    p = r.pools[0]
    assert (p.url, p.user, p.active, p.accepted, p.rejected, p.stale) == (
        "stratum+tcp://eu.ss.btc.com:1800", "WALLET.a2", True, 12757, 32, 781)
    assert len(r.pools) == 3


def test_nano3_text_version() -> None:
    version = rpc.decode_reply(fixture(NANO3))
    assert version["VERSION"][0]["MODEL"] == "nano3"
    r = avalon.parse({"version": version, "summary": {"SUMMARY": [{"MHS 1m": 4.0e6, "Elapsed": 900}]}}, "d")
    assert (r.model, r.firmware_version) == ("Avalon Nano 3", "24071801_42c628d")  # key VERSION, not LVERSION
    assert r.mac is None  # no MAC in this reply: unknown


@pytest.mark.parametrize("code, model", [
    ("7411706-3162860", "Avalon 741"), ("8411807-1c2e7a9", "Avalon 841"), ("9211809-b4b3d00", "Avalon 921"),
    ("1047-20051101_85dc6f0_0332654", "Avalon 1047"), ("1126pro-20061501_x", "Avalon 1126 Pro"),
    ("1246-83-21072802_4ec6bb0_211fc46", "Avalon 1246"), ("1366-86-22080101_x", "Avalon 1366"),
    ("1466-88-23050101_x", "Avalon 1466"), ("1566-89-24100101_x", "Avalon 1566"), ("Q-25052801_14a19a2", "Avalon Q"),
    ("Nano3s-24100101_x", "Avalon Nano 3S"), ("Mini3-25011701_3f53b19", "Avalon Mini 3"),
])
def test_ver_codes_of_every_generation(code: str, model: str) -> None:
    mods = avalon.modules({"STATS": [{"MM ID0": f"Ver[{code}] DNA[01] Elapsed[5] GHSmm[1000]"}]})
    assert avalon.model_name({}, mods) == model


@pytest.mark.parametrize("prefix", [A741, A9XX])
async def test_over_loopback(prefix: str) -> None:
    async with ReplayMiner(fixture_set(prefix), description="cgminer 4.10.0") as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert r.driver == "avalon" and r.model in ("Avalon 741", "Avalon 921")
    assert len(r.fans_rpm) == (10 if prefix == A741 else 20)
    assert set(sent_commands(miner.requests)) <= rpc.READ_COMMANDS
    assert [n.part for n in r.missing] == ["version"]  # not captured: answered "Invalid command", noted
    assert r.notes == ["version not read (protocol): Invalid command"]


async def test_nano3_over_loopback_text_api() -> None:
    summary = (b'STATUS=S,When=1735696980,Code=11,Msg=Summary,Description=cgminer 4.11.1|'
               b'SUMMARY,Elapsed=900,MHS 5s=4100000.00,MHS 1m=3950000.00,MHS av=3900000.00|')
    async with ReplayMiner({"version": fixture(NANO3), "summary": summary}, joins=False,
                           description="cgminer 4.11.1") as miner:
        r = await poll_once(miner.host, miner.port, driver="avalon", timeout=5)
    assert (r.model, r.firmware_version) == ("Avalon Nano 3", "24071801_42c628d")
    assert r.hashrate_ths == pytest.approx(3.95) and r.state == "hashing"


def test_auc_chain_of_mixed_models_is_named_by_most_modules() -> None:
    # An 8xx AUC chain (Foreman's 8XX case shape): one 841 module and two 821 modules.
    stats = {"STATS": [{"ID": "AV80", "MM ID1": "Ver[8411803-14b0f10] DNA[01] Elapsed[66] Fan[5730] GHSmm[13646.20]",
                        "MM ID2": "Ver[8211803-14b0f10] DNA[02] Elapsed[66] Fan[5850] GHSmm[11609.65]",
                        "MM ID3": "Ver[8211803-14b0f10] DNA[03] Elapsed[65] Fan[5610] GHSmm[11513.45]"}]}
    r = finalize(avalon.parse({"stats": stats, "summary": {"SUMMARY": [
        {"Elapsed": 63, "MHS 5s": 38567094.38, "MHS 1m": 24137604.01}]}}, "d"))
    assert r.model == "Avalon 821" and r.fans_rpm == [5730, 5850, 5610]
    assert r.hashrate_ths == pytest.approx(38.56709, abs=1e-4)  # warm-up: the 5 s figure
    assert r.expected_hashrate_ths == pytest.approx(36.7693, abs=1e-4)
