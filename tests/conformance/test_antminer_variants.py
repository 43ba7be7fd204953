"""Conformance, batch 2: Antminer-hardware captures of other models and custom bmminer builds (D3 Blissz, E3,
S17 Pro 2019, MSK S19-88 and S9 Pro) in ../shared/fixtures/asic, values from SOURCES.md.

What each shows (issue 13): non-SHA-256 units under "GHS" labels (X11 and Ethash are MH/s), custom firmware
names and versions inside ``Type``, chain numbers with gaps, fans in slots 5/6 behind empty slots, fee pools,
every pool left "Stratum Active", a firmware power estimate. Sets are also served on loopback and polled with
automatic identification."""

from __future__ import annotations

from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import antminer
from collectors.asic.normalize import finalize
from collectors.asic.poll import poll_once
from collectors.asic.reading import MinerReading
from tests.support.replay import ReplayMiner, fixture, fixture_set, have_fixtures

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")

approx = pytest.approx
DEV = "192.0.2.3:4028"
D3 = "antminer_d3-blissz2.06"
E3 = "antminer_e3-2018jul"
S17PRO = "antminer_s17pro-19.10.1.3-2019aug"
MSK19 = "mskminer_s19-88-2.6.0.39"
MSK9 = "mskminer_s9pro-v5.1-2019"


def reply(name: str) -> dict[str, Any]:
    return rpc.decode_reply(fixture(name))


def read(prefix: str) -> MinerReading:
    replies = {cmd: rpc.decode_reply(raw) for cmd, raw in fixture_set(prefix).items()}
    return finalize(antminer.parse(replies, DEV))


def rates(r: MinerReading) -> list[float | None]:
    return [b.hashrate_ths for b in r.boards]


def test_d3_blissz_x11_in_mhs() -> None:
    r = read(D3)
    assert (r.model, r.algorithm, r.firmware, r.firmware_version) == ("D3", "x11", "blissz", "2.06 beta")
    # "GHS 5s" "16346.64" is MH/s on X11 bmminer: 16.3 GH/s = 0.0163 TH/s of X11, never 16.3 TH/s.
    assert r.hashrate_ths == approx(0.01634664)
    assert rates(r) == [approx(0.00528783), approx(0.00563141), approx(0.00542741)]
    assert sum(rates(r)) == approx(0.01634665, abs=1e-8)  # type: ignore[arg-type]
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(60, 60)] * 3  # chain_acn4 0: no fourth board
    assert [b.temp_c for b in r.boards] == [46.0, 46.0, 48.0]
    assert [b.chip_temp_c for b in r.boards] == [69.0, 67.0, 62.0]
    assert r.fans_rpm == [6030, 5790]
    assert r.expected_hashrate_ths is None and r.power_w is None  # no ideal rate, no power on this build
    assert r.uptime_s == 54422 and r.state == "hashing"


def test_d3_pools_leave_out_blissz_fee_pools() -> None:
    r = read(D3)
    users = [p.user for p in r.pools]
    assert not any(u and u.lower().startswith("devfee") for u in users)
    p0 = r.pools[0]
    assert (p0.url, p0.status, p0.active, p0.accepted, p0.rejected, p0.stale) == (
        "stratum+tcp://dash-eu.coinmine.pl:6099", "alive", True, 3038, 8, 5)
    assert [p.status for p in r.pools[1:]] == ["dead", "dead"]  # pools 1-2: empty URL, Dead
    assert [p.active for p in r.pools].count(True) == 1


def test_e3_ethash_nine_chains_and_fans_in_slots_5_6() -> None:
    r = read(E3)
    assert (r.model, r.algorithm, r.firmware) == ("E3", "ethash", "stock")
    assert r.firmware_version == "Wed Jul 4 18:21:00 CST 2018"
    assert r.hashrate_ths == approx(197.30e-6)  # 197.30 MH/s
    # Chains 1-3 and 8-13 (listed out of order), 2 chips each; 4-7 are not chains of this model, not missing.
    assert [b.chips for b in r.boards] == [2] * 9
    assert sum(rates(r)) == approx(197.28e-6, abs=1e-9)  # type: ignore[arg-type]
    assert [b.temp_c for b in r.boards] == [49.0, 50.0, 50.0, 45.0, 39.0, 46.0, 39.0, 45.0, 39.0]
    assert r.fans_rpm == [3600, 3720]  # fan1..4 = 0 are unpopulated slots, not four dead fans
    assert r.state == "hashing" and r.expected_hashrate_ths == approx(0.00019)  # nameplate 190 MH/s
    assert not any(b.chips == 0 for b in r.boards)
    assert r.uptime_s == 556 and r.power_w is None
    assert [(p.url, p.user, p.active, p.accepted) for p in r.pools[:1]] == [
        ("stratum+tcp://us1.ethpool.org:3333", "#0x65CdB0EE9Ba1D9eFe2566965F8B089c2B9ffCE63.00B4C08382A1", True, 38)]
    assert [p.status for p in r.pools] == ["alive", "dead", "dead"]


def test_s17pro_2019_expected_from_total_and_one_active_pool() -> None:
    r = read(S17PRO)
    assert (r.model, r.firmware, r.firmware_version) == ("S17 Pro", "stock", "Tue Aug 20 10:37:07 CST 2019")
    assert r.hashrate_ths == approx(54.99701)
    assert rates(r) == [approx(17.96826), approx(18.418), approx(18.61075)]
    assert r.expected_hashrate_ths == approx(53.619)  # total_rateideal; every chain_rateideal is 0.00
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(48, 48)] * 3
    assert [b.temp_c for b in r.boards] == [53.0, 53.0, 45.0]  # hottest of the temp_pcb in/out pairs
    assert [b.chip_temp_c for b in r.boards] == [80.0, 75.0, 63.0]
    assert r.fans_rpm == [2400, 3000, 3120, 2400]
    assert r.uptime_s == 253447 and r.power_w is None and r.state == "hashing"
    # All three pools say "Stratum Active": the current one is pool 0 (share 3 s ago, the others 66 h ago).
    assert [p.active for p in r.pools] == [True, False, False]
    assert (r.pools[0].accepted, r.pools[0].rejected, r.pools[0].stale) == (86241, 411, 116)


def test_msk_s19_88_model_firmware_and_estimated_power() -> None:
    r = read(MSK19)
    assert (r.model, r.firmware, r.firmware_version) == ("S19-88", "mskminer", "2.6.0.39")  # Type "S19-88 v.2.6.0.39 "
    assert r.hashrate_ths == approx(99.98959)
    assert rates(r) == [approx(34.08486), approx(32.30365), approx(33.60108)]
    # total_rateideal; chain_rateideal4..16 (31436.24 each on absent chains) are never summed.
    assert r.expected_hashrate_ths == approx(99.67488)
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(88, 88)] * 3
    assert [b.temp_c for b in r.boards] == [45.0, 45.0, 47.0]
    assert [b.chip_temp_c for b in r.boards] == [59.0, 57.0, 58.0]  # temp_chip1 only; then temp2_2, temp2_3
    assert r.fans_rpm == [5010, 5160, 5070, 5040]
    assert (r.power_w, r.power_source) == (3358.0, "estimated")  # total_power: the firmware's estimate
    assert r.efficiency_jth == approx(33.58, abs=0.01)
    assert r.uptime_s == 1926 and r.state == "hashing"


def test_msk_s9pro_one_fan_of_two_and_hidden_fee_pool() -> None:
    r = read(MSK9)
    assert (r.model, r.firmware, r.firmware_version) == ("S9 Pro", "mskminer", "5.1")
    assert r.hashrate_ths == approx(9.039731)  # GHS 5s; GHS av 12461 is a warm-up artefact
    assert rates(r) == [approx(2.85642), approx(3.05406), approx(3.12925)]
    assert r.expected_hashrate_ths == approx(10.773)
    assert [(b.chips, b.expected_chips) for b in r.boards] == [(63, 63)] * 3
    assert [b.temp_c for b in r.boards] == [37.0, 30.0, 33.0]
    assert [b.chip_temp_c for b in r.boards] == [52.0, 45.0, 48.0]
    # fan5 0 and fan6 5280 on an S9 (fan5 + fan6): the first slot keeps its place and reads a stopped fan.
    assert r.fans_rpm == [0, 5280]
    assert r.power_w is None  # "chain_power" "967.50 (AB)" is an estimate string, not watts
    assert r.uptime_s == 16
    # Pool 3 (URL "*", user "*", Priority 998, Stratum Active) is the firmware's hidden fee pool.
    assert [p.url for p in r.pools] == ["stratum+tcp://stratum.antpool.com:3333",
                                        "stratum+tcp://stratum.antpool.com:443",
                                        "stratum+tcp://stratum.antpool.com:25"]
    assert [p.active for p in r.pools] == [True, False, False]
    assert [p.status for p in r.pools] == ["alive", "alive", "dead"]


@pytest.mark.parametrize(("prefix", "model", "firmware", "hashrate"), [
    (D3, "D3", "blissz", 0.01634664),
    (E3, "E3", "stock", 197.30e-6),
    (S17PRO, "S17 Pro", "stock", 54.99701),
    (MSK19, "S19-88", "mskminer", 99.98959),
    (MSK9, "S9 Pro", "mskminer", 9.039731),
    ("antminer_dr5-cgminer-2018", "DR5", "stock", 35.56822),  # Blake256: GH/s, NUL-terminated `}{` join
])
async def test_over_loopback_with_automatic_identification(prefix: str, model: str, firmware: str,
                                                           hashrate: float) -> None:
    async with ReplayMiner(fixture_set(prefix), description="cgminer 4.10.0") as miner:
        r = await poll_once(miner.host, miner.port, timeout=5)
    assert (r.driver, r.model, r.firmware) == ("antminer", model, firmware)
    assert r.hashrate_ths == approx(hashrate)
    commands = [str(rpc.decode_reply(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
    if "version" not in fixture_set(prefix):
        # No version capture: the replay answers "Invalid command", and the reading says so instead of failing.
        assert any(n.part.startswith("identity") or n.part == "version" for n in r.missing)
        assert any(n.startswith("version not read (protocol)") for n in r.notes)


async def test_forced_driver_reads_the_same() -> None:
    async with ReplayMiner(fixture_set(E3)) as miner:
        r = await poll_once(miner.host, miner.port, driver="antminer", timeout=5)
    assert (r.model, r.algorithm) == ("E3", "ethash") and r.hashrate_ths == approx(197.30e-6)
