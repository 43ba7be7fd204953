"""Issue 13 on the simulated site (no ../shared needed): other builds of a vendor's firmware read right, and a
missing piece is not a dead miner.

Each simulated variant (simsite.variants) is polled over loopback with automatic identification and with the
driver forced, and compared with the simulator's truth: fan slots with a gap keep their places, odd ``Type``
strings still find the model (and its facts), old per-chain keys are read, Scrypt units come from the
algorithm, an optional command that is refused or hangs leaves the rest of the reading with a note
(``poll --json`` ``notes``, ``farmwatch_miner_partial_info``), and an Antminer with its RPC closed is read over
its web API with a login, or says that it needs one."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from agent.daemon import Agent
from agent.exposition import render
from collectors.asic.context import LOGIN_NEEDED
from collectors.asic.drivers import antminer
from collectors.asic.group import MinerGroup
from collectors.asic.http import WebCredentials, close_session
from collectors.asic.metrics import miner_families
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll_once
from collectors.asic.reading import MinerReading
from collectors.errors import AuthError
from collectors.families import Families
from simsite import SimSite
from simsite import variants as sim_variants
from simsite.cgminer import parse_request
from simsite.firmwares import get as get_firmware
from simsite.miner import SimMiner
from tests.asic.test_drivers_cgminer_family import x19_replies
from tests.support.replay import ReplayMiner
from tests.support.replay_btminer import BtminerReplay
from tests.support.simulated import make_agent

approx = pytest.approx


def _site(base: str, firmware: str = "antminer", count: int = 6) -> SimSite:
    return SimSite.build(count=count, seed=13, base_ip=base, mix={firmware: 1.0}, latency_ms=(0.5, 1.0))


def _x19(site: SimSite) -> SimMiner:
    """A bmminer X19-layout miner of the site (the S9 build prints another layout, tested apart)."""
    return next(m for m in site.miners if m.model != "S9")


def _matches_truth(r: MinerReading, truth: dict[str, Any]) -> None:
    assert r.model == truth["model"]
    assert r.hashrate_ths == approx(truth["hashrate_ths"], rel=1e-6)
    assert r.expected_hashrate_ths == approx(truth["expected_hashrate_ths"], rel=1e-6)
    assert r.fans_rpm == truth["fans_rpm"]
    assert [b.chips for b in r.boards] == [b["chips"] for b in truth["boards"]]
    assert [b.hashrate_ths for b in r.boards] == [approx(b["hashrate_ths"], rel=1e-6) for b in truth["boards"]]
    assert [b.temp_c for b in r.boards] == [b["temp_c"] for b in truth["boards"]]
    assert [b.chip_temp_c for b in r.boards] == [b["chip_temp_c"] for b in truth["boards"]]


@pytest.mark.parametrize("forced", [None, "antminer"])
@pytest.mark.parametrize("variant", ["fan_gap", "odd_type", "old_keys", "scrypt"])
async def test_antminer_variants_read_as_the_truth(variant: str, forced: str | None) -> None:
    site = _site(f"127.117.{10 + ['fan_gap', 'odd_type', 'old_keys', 'scrypt'].index(variant)}.{1 if forced else 100}")
    m = _x19(site)
    site.set_variant(m.ip, variant)
    async with site:
        r = await poll_once(m.ip, m.port, driver=forced, timeout=5)
        truth = m.truth()
    assert r.driver == "antminer" and r.notes == []
    _matches_truth(r, truth)
    if variant == "fan_gap":
        assert r.fans_rpm[1] is None and all(f for i, f in enumerate(r.fans_rpm) if i != 1)
    if variant == "odd_type":
        assert r.model == m.model and all(b.expected_chips == m.spec.chips for b in r.boards)  # facts found
    if variant == "scrypt":
        assert (r.model, r.algorithm) == ("L7", "scrypt") and r.hashrate_ths is not None
        assert r.hashrate_ths < 0.5  # MH/s under "GHS": never read 1,000x too high as GH/s
    if variant == "old_keys":
        assert all(b.chips for b in r.boards) and all(b.temp_c for b in r.boards)


async def test_s9_fan_gap_keeps_the_slot_of_the_missing_header() -> None:
    site = SimSite.build(count=40, seed=13, base_ip="127.117.20.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    m = next(x for x in site.miners if x.model == "S9")
    site.set_variant(m.ip, "fan_gap")  # fan5 reports, fan6 is not listed
    async with site:
        r = await poll_once(m.ip, m.port, timeout=5)
    assert r.fans_rpm == [m.fans[0], None] == m.truth()["fans_rpm"]


def _samples(r: MinerReading) -> dict[str, float]:
    from collectors.asic.store import MinerStore

    store = MinerStore()
    store.record_success(r.device, r, now=1.0)
    fams = Families()
    miner_families(fams, store)
    out: dict[str, float] = {}
    for line in render(list(fams)).text.decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


async def test_refused_optional_command_leaves_the_rest_and_a_note() -> None:
    site = _site("127.117.30.1")
    m = _x19(site)
    site.set_variant(m.ip, "no_pools")
    async with site:
        agent, group = make_agent(site, timeout=5.0)
        await agent.scheduler.run_cycle(group)
        state = agent.store.devices[f"{m.ip}:{m.port}"]
        truth = m.truth()
    assert state.up and state.reading is not None  # the pools part is missing; the miner is not down
    r = state.reading
    _matches_truth(r, truth)
    assert r.pools == [] and r.state == truth["state"]
    assert r.notes == ["pools not read (protocol): Access denied to 'pools' command"]
    assert r.to_json()["notes"] == r.notes and "missing" not in r.to_json()
    samples = _samples(r)
    key = f'farmwatch_miner_partial_info{{device="{m.ip}:{m.port}",part="pools",reason="protocol"}}'
    assert samples[key] == 1
    others = [k for k in agent.store.devices if k != f"{m.ip}:{m.port}"]
    assert all(not agent.store.devices[k].reading.notes for k in others)  # type: ignore[union-attr]


async def test_hung_optional_read_times_out_alone() -> None:
    replies = {k: json.dumps(v).encode() for k, v in x19_replies().items()}
    async with ReplayMiner(replies, hang_on=b'"version"') as miner:  # a hung identity read
        r = await poll_once(miner.host, miner.port, driver="antminer", timeout=2)
    assert r.hashrate_ths is not None and r.model == "S19 Pro"  # stats carries the model too
    assert r.notes == ["identity (version) not read (timeout): no reply in time"]
    assert r.firmware_version is not None  # stats' CompileTime still read


async def test_rpc_closed_reads_the_web_with_a_login_and_says_so_without_one() -> None:
    site = _site("127.117.40.1", firmware="antminer_web", count=3)
    m = site.miners[0]
    site.set_variant(m.ip, "rpc_closed")
    async with site:
        with pytest.raises(AuthError) as e:
            await poll_once(m.ip, 4028, timeout=5)  # identified by its web 401, then the RPC refuses
        assert LOGIN_NEEDED in e.value.message and "credentials.web_password_file" in e.value.message
        with pytest.raises(AuthError):
            await poll_once(m.ip, 4028, driver="antminer", timeout=5)
        r = await poll_once(m.ip, 4028, timeout=5, credentials=WebCredentials(use_default_password=True))
        truth = m.truth()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "poll", f"{m.ip}:4028", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        agent, group = make_agent(site, timeout=5.0)
        await agent.scheduler.run_cycle(group)
        daemon = agent.store.devices[f"{m.ip}:4028"]
    # read over the web (stats.cgi rate_5s: the 5-second figure, within 2 % of the simulated 1-minute one)
    assert r.hashrate_ths == approx(truth["hashrate_ths"], rel=0.03) and r.mac == m.mac
    assert proc.returncode == 1 and out == b""
    line = err.decode().strip()  # one line: what is wrong and the flags that fix it
    assert line.startswith(f"farmwatch: {m.ip}:4028: auth: ") and "\n" not in line
    assert LOGIN_NEEDED in line and "--web-password-file" in line
    assert not daemon.up and daemon.error_reason == "auth"
    assert LOGIN_NEEDED in (daemon.error_message or "") and "credentials.web_password_file" in (daemon.error_message or "")


async def test_rpc_closed_on_a_dead_host_stays_refused() -> None:
    # Nothing listens on 4028 nor 80: not a login problem, the refusal is reported as it is.
    with pytest.raises(Exception) as e:
        await poll_once("127.117.50.1", 4028, driver="antminer", timeout=3)
    assert getattr(e.value, "reason", None) == "refused" and LOGIN_NEEDED not in str(e.value)


# What each driver reads as an optional part, and the note part name it reports when the part is missing.
OPTIONAL_PARTS = {
    "antminer": {"version"},
    "avalon": {"version"},
    "whatsminer": {"get_error_code"},  # status is asked only of a miner not hashing (drivers/whatsminer.py)
    "luxos": {"power", "fans", "config"},
    "goldshell": {"pools (/mcb/pools)", "identity (/mcb/status)"},
    "epic": {"identity (/network)"},
    "auradine": {"fan (/fan)", "identity (/ipreport)"},
    "bitaxe": {"identity (/api/system/asic)"},
    "antminer_web": {"version", "identity (get_system_info.cgi)"},
}


async def test_every_driver_with_optional_parts_reads_the_rest_when_they_are_missing() -> None:
    mix = dict.fromkeys(OPTIONAL_PARTS, 1.0)
    site = SimSite.build(count=35, seed=21, base_ip="127.117.60.1", mix=mix, latency_ms=(0.5, 1.0))
    lacking = {}
    for m in site.miners:
        lacking.setdefault(m.firmware, m)
    assert set(lacking) == set(OPTIONAL_PARTS)
    for m in lacking.values():
        site.set_variant(m.ip, "no_optional")
    async with site:
        # A web login only where the firmware's API needs one (the plain simulated Antminer has no web server).
        login = WebCredentials(use_default_password=True)
        sessions = [MinerSession(host=m.ip, port=m.port,
                                 credentials=login if m.firmware in ("goldshell", "auradine", "antminer_web") else None)
                    for m in site.miners]
        group = MinerGroup(name="t", sessions=sessions, interval=5.0, timeout=5.0)
        agent = Agent(site="test", groups=[group], listen="127.0.0.1:0")
        try:
            await agent.scheduler.run_cycle(group)
        finally:
            await close_session()
        truths = {m.ip: m.truth() for m in site.miners}
    text = render(list(_families(agent))).text.decode()
    for m in site.miners:
        state = agent.store.devices[f"{m.ip}:{m.port}"]
        assert state.up and state.reading is not None, (m.firmware, state.error_message)
        r = state.reading
        assert r.hashrate_ths == approx(truths[m.ip]["hashrate_ths"], rel=0.03), m.firmware
        parts = {n.part for n in r.missing}
        if m is lacking[m.firmware]:
            assert parts == OPTIONAL_PARTS[m.firmware], m.firmware
            assert len(r.notes) >= len(parts) and all(" not read (" in n for n in r.notes[-len(parts):])
            for part in parts:
                assert f'farmwatch_miner_partial_info{{device="{m.ip}:{m.port}",part="{part}"' in text
        else:
            assert not parts & OPTIONAL_PARTS[m.firmware], (m.firmware, parts)


def _families(agent: Agent) -> Families:
    fams = Families()
    miner_families(fams, agent.store)
    return fams


def test_asicseer_build_named_in_the_bmminer_version() -> None:
    # ASICseer on an S9 keeps the stock Type and names itself in the bmminer version; its stats carry a hostname.
    stats = {"STATUS": [{"STATUS": "S"}], "STATS": [
        {"BMMiner": "2.4.0-asicseer-1.1.9-f7b7", "Miner": "30.0.1.3", "Type": "Antminer S9"},
        {"STATS": 0, "ID": "BC50", "Elapsed": 102, "GHS 5s": "13402.14", "fan_num": 2, "fan5": 2880, "fan6": 3840,
         "chain_acn6": 63, "chain_acn7": 63, "chain_acn8": 63, "chain_rate6": "4467.65", "chain_rate7": "4431.33",
         "chain_rate8": "4503.15", "chain_rate1": "0.00000", "chain_acn1": 0, "total_rateideal": "13466.25",
         "hostname": "dcc9a2"}]}
    r = finalize(antminer.parse({"stats": stats}, "d"))
    assert (r.model, r.firmware, r.firmware_version, r.hostname) == ("S9", "asicseer", "1.1.9-f7b7", "dcc9a2")
    assert [b.chips for b in r.boards] == [63, 63, 63] and r.fans_rpm == [2880, 3840]


async def test_poll_json_and_table_show_what_was_not_read() -> None:
    site = _site("127.117.70.1")
    m = _x19(site)
    site.set_variant(m.ip, "no_pools")
    async with site:
        outs = []
        for extra in (["--json"], []):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agent", "poll", f"{m.ip}:{m.port}", *extra,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            outs.append(out.decode())
    doc = json.loads(outs[0])
    assert doc["notes"] == ["pools not read (protocol): Access denied to 'pools' command"]
    assert doc["pools"] == [] and doc["hashrate_ths"] > 0 and "missing" not in doc
    assert "pools not read (protocol): Access denied to 'pools' command" in outs[1]


async def test_whatsminer_hung_devdetails_is_a_note_not_a_dead_miner() -> None:
    site = _site("127.117.80.1", firmware="whatsminer", count=2)
    m = site.miners[0]
    fw = get_firmware("whatsminer")
    snap = m.snapshot()
    replies = {c: fw.answer_json(m, snap, parse_request(json.dumps({"command": c}).encode())).encode() for c in (
        "summary", "devs", "pools", "get_version", "get_miner_info", "status", "get_error_code")}
    async with BtminerReplay(replies, hang_on=b"devdetails") as miner:  # a hung identity read
        r = await poll_once(miner.host, miner.port, driver="whatsminer", timeout=3)
    assert r.hashrate_ths == approx(m.truth()["hashrate_ths"], rel=1e-6)
    assert r.model is None and r.mac == m.mac  # the summary's MAC; the rest of identity waits for next time
    assert [(n.part, n.reason) for n in r.missing] == [("identity (devdetails+get_version+get_miner_info)", "timeout")]


def test_variant_assignment_is_deterministic_and_exact() -> None:
    chosen = sim_variants.assign(200, 5, {"fan_gap": 0.1, "no_optional": 0.05})
    assert chosen == sim_variants.assign(200, 5, {"fan_gap": 0.1, "no_optional": 0.05})
    assert (chosen.count("fan_gap"), chosen.count("no_optional")) == (20, 10)
    with pytest.raises(ValueError):
        sim_variants.assign(10, 1, {"no_such_variant": 0.1})


async def test_simsite_cli_serves_the_variants_it_is_given() -> None:
    base = "127.117.100.1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simsite", "--count", "12", "--seed", "3", "--base-ip", base, "--mix", "antminer=1",
        "--variants", "fan_gap=0.5", "--latency-ms", "0.5", "1", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.startswith(b"simsite: 12 miners")
        chosen = sim_variants.assign(12, 3, {"fan_gap": 0.5})
        site = SimSite.build(count=12, seed=3, base_ip=base, mix={"antminer": 1.0})  # the same miners, not started
        gap = next(m for m in site.miners if chosen[m.index] == "fan_gap" and m.model != "S9")
        r = await poll_once(gap.ip, gap.port, timeout=5)
        assert r.fans_rpm[1] is None and r.fans_rpm[0]  # the second slot's key is absent: unknown, in place
    finally:
        proc.terminate()
        await proc.wait()
