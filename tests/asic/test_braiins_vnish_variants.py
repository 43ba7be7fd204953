"""Braiins OS and VNish release variants on the simulated site, over real loopback sockets (no ../shared needed):
bOS+ 24.09 / 25.03 / 25.05 legacy GraphQL + LuCI, bOS+ 25.07 / 25.11 REST (scaled-back tuner, error history,
``network``), VNish 1.2.7 (``version`` refused, DevFee pool, chain watts, PSU-metered power, active preset).
Each unit is read with and without credentials and compared with what its replies say (``truth()``); optional
parts a unit does not answer leave that part unknown and a note, never a down miner; nothing but reads (and the
logins) reaches a miner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.http import WebCredentials, check_read_only, close_session
from collectors.asic.poll import MinerSession, poll
from simsite import SimSite
from simsite.firmwares import vnish as vnish_sim
from simsite.miner import SimMiner
from tests.support.simulated import KEYS, approx_equal, sent_body

DEFAULTS = WebCredentials(use_default_password=True)
_net = iter(range(10, 250))


@asynccontextmanager
async def site_of(fw: str, count: int = 3, **extra: Any) -> AsyncIterator[SimSite]:
    site = SimSite.build(count=count, seed=11, base_ip=f"127.93.{next(_net)}.1", mix={fw: 1.0},
                         latency_ms=(0.0, 0.0), faults=extra.pop("faults", None) or {})
    for m in site.miners:
        m.extra.update(extra)
        m.invalidate()
    await site.start()
    try:
        yield site
    finally:
        await close_session()
        await site.stop()


async def read(m: SimMiner, credentials: WebCredentials | None = DEFAULTS, session: MinerSession | None = None) -> Any:
    session = session or MinerSession(host=m.ip, port=m.port, credentials=credentials)
    return await poll(session, deadline=asyncio.get_running_loop().time() + 10)


def same_as_truth(reading: Any, m: SimMiner, keys: tuple[str, ...] = KEYS) -> list[str]:
    got, truth = reading.to_json(), m.truth()
    for b in got["boards"]:
        b.pop("expected_chips", None)
    for p in got["pools"]:
        p.pop("index", None)
        p.pop("active", None)
    for p in truth.get("pools", []):
        p.pop("index", None)
    return approx_equal(got, {k: truth[k] for k in keys if k in truth})


def only_reads(site: SimSite) -> None:
    for r in site.requests:
        for c in r.commands:
            if r.raw[:1] == b"{":
                assert set(c.split("+")) <= rpc.READ_COMMANDS, c
            elif " " in c:
                method, target = c.split(" ", 1)
                check_read_only(method, target, sent_body(r.raw))
    assert all(m.extra.get("mutations", 0) == 0 for m in site.miners)


# --- bOS+ legacy GraphQL --------------------------------------------------------------------------------------
@pytest.mark.parametrize("release", ["2024-10-17-0-75912fc7-24.09-plus", "2025-04-07-0-424f9a7f-25.03-plus",
                                     "2025-06-25-0-45f356ea-25.05.1-plus"])
async def test_bosplus_legacy_release_read_over_graphql(release: str) -> None:
    async with site_of("braiins_gql", release=release) as site:
        for m in site.miners:
            r = await read(m)
            assert same_as_truth(r, m) == [], (release, m.model)
            # the model from the RPC's devdetails (GraphQL does not name it), and with it the model facts
            assert (r.firmware_version, r.model) == (release, m.model)
            assert r.notes == [] and all(b.expected_chips == b.chips for b in r.boards)
        only_reads(site)
        posts = [c for r in site.requests for c in r.commands if c.startswith("POST")]
        assert "POST /api/v1/auth/login" in " ".join(posts)  # REST tried first (absent on these releases)


async def test_bosplus_legacy_without_credentials_reads_the_boser_rpc() -> None:
    async with site_of("braiins_gql", count=2) as site:
        for m in site.miners:
            r = await read(m, credentials=None)
            assert r.driver == "braiins" and r.model == m.model and r.mac is None
            assert r.hashrate_ths == pytest.approx(m.truth()["hashrate_ths"], rel=0.05)
        assert not any(r.port == 80 and r.commands and r.commands[0].startswith("POST") for r in site.requests)


@pytest.mark.parametrize("missing", [("pools",), ("mac",), ("pools", "mac"), ("system",), ("boards",)])
async def test_bosplus_legacy_optional_parts_missing(missing: tuple[str, ...]) -> None:
    async with site_of("braiins_gql", count=1, release="2025-06-25-0-45f356ea-25.05.1-plus",
                       missing=missing) as site:
        m = site.miners[0]
        r = await read(m)
        truth = m.truth()
        assert r.hashrate_ths == pytest.approx(truth["hashrate_ths"], rel=0.03)  # boards' sum without system
        assert (r.pools == []) == ("pools" in missing)
        assert (r.mac is None) == ("mac" in missing)
        # boards missing: the model's slots are unknown (chips null), not missing boards
        assert all(b.chips is None for b in r.boards) == ("boards" in missing) and len(r.boards) == 3
        assert (r.fans_rpm == []) == ("system" in missing)
        assert sorted(n.split(" ")[0] for n in r.notes if "not read" in n) == sorted(missing)


async def test_bosplus_legacy_failing_luci_is_asked_once_per_identity_interval() -> None:
    async with site_of("braiins_gql", count=1, missing=("mac",)) as site:
        m = site.miners[0]
        session = MinerSession(host=m.ip, port=m.port, credentials=DEFAULTS)
        for _ in range(3):
            r = await read(m, session=session)
            assert r.mac is None and any(n.startswith("mac not read") for n in r.notes)
        asked = [c for req in site.requests for c in req.commands if c.endswith("iface_status/lan")]
        assert len(asked) == 1


async def test_bosplus_legacy_answering_no_hashrate_is_read_over_the_rpc() -> None:
    """GraphQL that answers neither system nor boards is not this firmware's usable API: the RPC is read."""
    async with site_of("braiins_gql", count=1, missing=("system", "boards")) as site:
        m = site.miners[0]
        r = await read(m)
        assert r.hashrate_ths == pytest.approx(m.truth()["hashrate_ths"], rel=0.05) and r.model == m.model
        assert r.mac is None  # the RPC has none


# --- bOS+ REST 25.07 / 25.11 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("release", ["2025-08-06-0-3881c51d-25.07-plus", "2025-11-21-0-eb658dcd-25.11-plus"])
async def test_bosplus_rest_scaled_back_reads_current_not_averages(release: str) -> None:
    async with site_of("braiins_rest", release=release, scaled=True) as site:
        for m in site.miners:
            r = await read(m)
            assert same_as_truth(r, m) == [], m.model
            assert r.power_limit_w == int(m.extra["limit"] * 0.8)  # the active target, not the operator's
            assert r.errors == []  # the history holds nothing from this BOSminer run
            assert r.notes == [] and r.firmware_version == release
        only_reads(site)


async def test_bosplus_rest_network_is_asked_only_when_details_lack_the_mac() -> None:
    async with site_of("braiins_rest", count=1, release="2025-11-21-0-eb658dcd-25.11-plus", scaled=False) as site:
        m = site.miners[0]
        session = MinerSession(host=m.ip, port=m.port, credentials=DEFAULTS)
        for _ in range(2):
            r = await read(m, session=session)
            assert r.mac == m.mac and r.notes == []
        assert not [c for req in site.requests for c in req.commands if c.endswith("/api/v1/network")]


async def test_bosplus_rest_error_from_this_run_is_current() -> None:
    async with site_of("braiins_rest", count=2, release="2025-11-21-0-eb658dcd-25.11-plus", scaled=False,
                       faults={"dead_fan": 1.0}) as site:
        for m in site.miners:
            r = await read(m)
            assert r.errors is not None and [e.message for e in r.errors] == [
                f"F1: Fan failure (Fan {m.dead_fan} stopped)"]


# --- VNish 1.2.7 --------------------------------------------------------------------------------------------
async def test_vnish_127_rest_reads_metered_power_active_preset_and_no_devfee() -> None:
    async with site_of("vnish_rest", vnish="1.2.7") as site:
        for m in site.miners:
            r = await read(m)
            assert same_as_truth(r, m) == [], m.model
            assert (r.power_source, r.serial, r.power_limit_w) == ("reported", None, m.extra["preset"])
            assert all(p.url != "DevFee" for p in r.pools) and r.notes == []
        only_reads(site)


async def test_vnish_127_rpc_with_version_refused() -> None:
    async with site_of("vnish_rest", vnish="1.2.7") as site:
        for m in site.miners:
            r = await read(m, credentials=None)
            truth = m.truth()
            assert (r.driver, r.firmware_version, r.model) == ("vnish", "1.2.7", m.model)
            assert (r.power_w, r.power_source) == (float(sum(vnish_sim.chain_watts(m.snapshot()))), "estimated")
            assert [p.url for p in r.pools] == [p["url"] for p in truth["pools"]]  # DevFee left out
            assert r.hashrate_ths == pytest.approx(truth["hashrate_ths"])


async def test_vnish_older_release_without_perf_summary_notes_it() -> None:
    async with site_of("vnish_rest", count=1, vnish="1.2.6") as site:
        m = site.miners[0]
        session = MinerSession(host=m.ip, port=m.port, credentials=DEFAULTS)
        for _ in range(2):
            r = await read(m, session=session)
            assert r.power_limit_w is None and r.hashrate_ths
            assert len(r.notes) == 1 and r.notes[0].startswith("perf-summary not read") and "404" in r.notes[0]
        asked = [c for req in site.requests for c in req.commands if c.endswith("/api/v1/perf-summary")]
        assert len(asked) == 1  # absent on this release: not asked again until the identity interval ends


async def test_bosplus_legacy_dashboard_notices_are_the_current_errors() -> None:
    async with site_of("braiins_gql", count=2, faults={"dead_fan": 1.0}) as site:
        for m in site.miners:
            r = await read(m)
            assert r.errors is not None and [e.message for e in r.errors] == [f"ERROR: Fan {m.dead_fan} failed"]
            assert r.fans_rpm[m.dead_fan] == 0
    async with site_of("braiins_gql", count=1) as site:
        assert (await read(site.miners[0])).errors == []


def test_bos_21_pool_status_words() -> None:
    from collectors.asic.drivers import _braiins_gql as gql

    pools = {"data": {"bosminer": {"info": {"poolGroups": [{"name": "g", "pools": [
        {"url": "stratum+tcp://a:3333", "user": "u", "status": "Running", "active": True,
         "shares": {"acceptedSolutions": 5, "rejectedSolutions": 0}},
        {"url": "stratum+tcp://b:3333", "user": "u", "status": "Dead", "active": False,
         "shares": {"acceptedSolutions": 0, "rejectedSolutions": 0}},
        {"url": "stratum+tcp://c:3333", "user": "u", "status": "Sleeping", "active": False}]}]}}}}
    r = gql.parse({"gql:boards": {"data": {"bosminer": {"info": {"workSolver": {"childSolvers": [
        {"name": "6", "realHashrate": {"mhs5S": 4.5e6}, "nominalMhs": 4.5e6, "hwDetails": {"chips": 63},
         "temperatures": [{"name": "Board", "degreesC": 60.0}, {"name": "Chip", "degreesC": 0.0}]}]}}}}},
        "gql:pools": pools}, "192.0.2.1:80", "braiins")
    assert [p.status for p in r.pools] == ["alive", "dead", "unknown"]
    assert [p.accepted for p in r.pools] == [5, 0, None]
    assert r.boards[0].chip_temp_c is None  # 0.0 is an unread sensor
    assert r.errors is None  # events not read


async def test_vnish_rest_failed_chain_is_a_current_error() -> None:
    async with site_of("vnish_rest", count=2, faults={"missing_board": 1.0}) as site:
        for m in site.miners:
            r = await read(m)
            assert r.errors is not None
            assert [e.message for e in r.errors] == [f"chain {m.missing_slot + 1}: Chain lost: no chips found"]
            assert r.state == "degraded"


async def test_bos_legacy_with_the_empty_default_password() -> None:
    """bOS 21.x / early bOS+ ship root with an empty password: with the defaults allowed it is tried after
    root/root, for GraphQL and LuCI alike; a configured password is never swapped for it."""
    from collectors.asic.http import PlainSecret
    from collectors.errors import AuthError

    async with site_of("braiins_gql", count=1, password="") as site:
        m = site.miners[0]
        r = await read(m)
        assert r.mac == m.mac and r.hashrate_ths is not None
        with pytest.raises(AuthError):
            await read(m, credentials=WebCredentials(password=PlainSecret("root")))


def test_bosminer_plus_names_its_platform_only_in_devs() -> None:
    """A BOSminer+ build answers ``version`` as "BOSminer+ x" (key and description without the platform) while
    its ``devs`` description says "bosminer-plus-am1-s9": the model comes from there, and with it the S9's
    two fan slots (the control board's other two headers read 0)."""
    from collectors.asic.drivers import braiins
    from collectors.asic.normalize import finalize

    def status(desc: str) -> list[dict[str, Any]]:
        return [{"STATUS": "S", "When": 1600000000, "Code": 1, "Msg": "", "Description": desc}]

    plus = "BOSminer+ 0.2.0-0123abcd"
    devs_desc = "BOSminer bosminer-plus-am1-s9 0.4.0-89abcdef"
    replies = {
        "version": {"STATUS": status(plus), "VERSION": [{"API": "3.7", "BOSminer+": "0.2.0-0123abcd"}]},
        "summary": {"STATUS": status(plus), "SUMMARY": [{"Elapsed": 600, "MHS 1m": 13900000.0, "MHS av": 9e6}]},
        "devs": {"STATUS": status(devs_desc), "DEVS": [
            {"ID": n, "MHS 1m": 4.6e6, "Nominal MHS": 4.6e6, "Device Elapsed": 600} for n in (6, 7, 8)]},
        "fans": {"STATUS": status(plus), "FANS": [{"ID": k, "RPM": rpm} for k, rpm in enumerate((3000, 3600, 0, 0))]},
        "temps": {"STATUS": status(plus), "TEMPS": [{"ID": n, "Board": 70.0, "Chip": 0.0} for n in (6, 7, 8)]},
    }
    r = finalize(braiins.parse(replies, "192.0.2.7:4028"))
    assert (r.model, r.firmware_version) == ("S9", "0.2.0-0123abcd")
    assert r.fans_rpm == [3000, 3600] and r.notes == []
    assert r.hashrate_ths == pytest.approx(13.9) and r.expected_hashrate_ths == pytest.approx(13.8)
    assert [b.chip_temp_c for b in r.boards] == [None, None, None]
