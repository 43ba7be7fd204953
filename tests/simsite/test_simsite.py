"""The simulated site over real loopback sockets: framing, identification, joins, errors, faults, determinism."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simsite import FAULTS, SimSite, firmware_names
from simsite.addresses import addresses

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asic"

# Reads each firmware answers, and a substring every reply to it must carry (identification).
READS: dict[str, list[str]] = {
    "antminer": ["summary", "stats", "pools", "devs", "version"],
    "braiins": ["summary", "devs", "devdetails", "temps", "fans", "tunerstatus", "pools", "version", "stats"],
    "luxos": ["summary", "stats", "config", "power", "fans", "temps", "profiles", "devs", "pools", "version"],
    "vnish": ["summary", "stats", "pools", "devs", "version"],
    "whatsminer": ["summary", "devs", "edevs", "pools", "devdetails"],
    "avalon": ["summary", "stats", "estats", "devs", "pools", "version", "devdetails"],
}
DESCRIPTION = {
    "antminer": "cgminer 1.0.0",
    "braiins": "BOSminer bosminer-plus-",
    "luxos": "LUXminer 2025.",
    "vnish": "cgminer",
    "whatsminer": "cgminer 4.9.2",
    "avalon": "cgminer 4.11.1",
}
_next_net = iter(range(40, 250))


def fresh_ip() -> str:
    """A /24 no other test in this session uses, so a closing listener never races the next test."""
    return f"127.77.{next(_next_net)}.1"


@contextlib.asynccontextmanager
async def running(**kw: Any) -> AsyncIterator[SimSite]:
    kw.setdefault("latency_ms", (0.0, 0.0))
    kw.setdefault("base_ip", fresh_ip())
    site = SimSite.build(**kw)
    await site.start()
    try:
        yield site
    finally:
        await site.stop()


async def ask(ip: str, port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """One request, read to EOF (the way the agent talks to a miner)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            writer.write(payload)
            return await reader.read()
        finally:
            writer.close()


def cmd(name: str, **extra: str) -> bytes:
    return json.dumps({"command": name, **extra}).encode()


def decode(reply: bytes) -> dict[str, Any]:
    """Strict framing check (exactly one NUL at the end), then the narrow repairs real parsers need."""
    assert reply.endswith(b"\x00") and reply.count(b"\x00") == 1, reply[-40:]
    text = reply[:-1].decode("utf-8").replace("}{", "},{").replace("\\'", "'")
    out: dict[str, Any] = json.loads(text)
    return out


def test_addresses_skip_network_and_broadcast_octets() -> None:
    ips = addresses("127.10.0.253", 5)
    assert ips == ["127.10.0.253", "127.10.0.254", "127.10.1.1", "127.10.1.2", "127.10.1.3"]
    with pytest.raises(ValueError):
        addresses("10.0.0.1", 3)


def test_registry_has_all_six_firmwares() -> None:
    assert {"antminer", "avalon", "braiins", "luxos", "vnish", "whatsminer"} <= set(firmware_names())


@pytest.mark.parametrize("firmware", sorted(READS))
async def test_each_read_is_nul_framed_and_identifies_the_firmware(firmware: str) -> None:
    async with running(count=4, seed=3, mix={firmware: 1}) as site:
        for m in site.miners:
            for name in READS[firmware]:
                reply = decode(await ask(m.ip, m.port, cmd(name)))
                status = reply["STATUS"][0]
                assert status["STATUS"] == "S", (name, status)
                assert DESCRIPTION[firmware] in status["Description"], (name, status)
                assert reply["id"] == 1


async def test_identification_strings_per_firmware() -> None:
    async with running(count=60, seed=4) as site:
        seen: set[str] = set()
        for m in site.miners:
            if m.firmware in seen:
                continue
            seen.add(m.firmware)
            version = decode(await ask(m.ip, m.port, cmd("version")))["VERSION"][0]
            if m.firmware == "antminer":
                assert version["Type"] == "Antminer " + m.model and "CompileTime" in version
            elif m.firmware == "vnish":
                assert version["Type"].startswith(f"Antminer {m.model} (vnish ")
            elif m.firmware == "luxos":
                assert version["LUXminer"] and version["Type"] == "Antminer " + m.model
            elif m.firmware == "avalon":
                assert version["PROD"] == "AvalonMiner " + m.model
                assert len(version["MAC"]) == 12 and int(version["MAC"], 16) >= 0
            elif m.firmware == "braiins":
                assert version["BOSminer"].startswith("bosminer-plus-")
            elif m.firmware == "whatsminer":
                flat = decode(await ask(m.ip, m.port, cmd("get_version")))
                assert flat["STATUS"] == "S" and flat["Code"] == 131 and flat["Msg"]["fw_ver"]
        assert seen == set(READS)


async def test_stock_antminer_denies_commands_outside_its_api_group() -> None:
    async with running(count=1, seed=1, mix={"antminer": 1}) as site:
        m = site.miners[0]
        denied = decode(await ask(m.ip, m.port, cmd("devdetails")))["STATUS"][0]
        assert (denied["STATUS"], denied["Code"], denied["Msg"]) == (
            "E",
            45,
            "Access denied to 'devdetails' command",
        )
        unknown = decode(await ask(m.ip, m.port, cmd("tunerstatus")))["STATUS"][0]
        assert (unknown["STATUS"], unknown["Code"], unknown["Msg"]) == ("E", 14, "Invalid command")
        stats = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"]
        assert not [k for block in stats for k in block if "power" in k.lower() or "watt" in k.lower()]


async def test_join_answers_one_section_per_command() -> None:
    async with running(count=1, seed=1, mix={"antminer": 1}) as site:
        m = site.miners[0]
        joined = decode(await ask(m.ip, m.port, cmd("summary+pools+devdetails+quit")))
        assert list(joined) == ["summary", "pools", "devdetails", "quit", "id"]
        assert joined["summary"][0]["SUMMARY"][0]["Elapsed"] > 0
        assert joined["pools"][0]["STATUS"][0]["STATUS"] == "S" and joined["pools"][0]["id"] == 1
        assert joined["devdetails"][0]["STATUS"][0]["Code"] == 45
        assert joined["quit"][0]["STATUS"][0]["Msg"] == "Access denied to 'quit' command"
        single = decode(await ask(m.ip, m.port, cmd("summary")))
        assert joined["summary"][0] == single


async def test_old_s9_glues_stats_objects_without_a_comma() -> None:
    async with running(count=80, seed=1, mix={"antminer": 1}) as site:
        m = next(x for x in site.miners if x.model == "S9")
        raw = await ask(m.ip, m.port, cmd("stats"))
        assert b'"Type":"Antminer S9"}{"STATS":0' in raw
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw[:-1])
        data = decode(raw)["STATS"][1]
        assert [data[f"chain_acn{k}"] for k in (6, 7, 8)] == [63, 63, 63] and data["chain_acn1"] == 0
        assert data["fan5"] > 0 and data["fan6"] > 0 and data["fan1"] == 0
        assert isinstance(data["GHS 5s"], str)


async def test_whatsminer_btminer_commands_flat_and_unjoinable() -> None:
    async with running(count=6, seed=2, mix={"whatsminer": 1}) as site:
        m = site.miners[0]
        for name in ("get_version", "get_miner_info", "get_psu", "status", "get_error_code"):
            flat = decode(await ask(m.ip, m.port, cmd(name)))
            assert flat["STATUS"] == "S" and flat["Code"] == 131 and isinstance(flat["Msg"], dict), name
        info = decode(await ask(m.ip, m.port, cmd("get_miner_info")))["Msg"]
        assert info["mac"] == m.mac and info["hostname"] == m.hostname and info["minersn"] == m.serial
        joined = decode(await ask(m.ip, m.port, cmd("summary+get_version")))
        assert joined["STATUS"][0]["STATUS"] == "E" and "summary" not in joined
        wrong_key = decode(await ask(m.ip, m.port, b'{"cmd":"pools+summary+edevs"}'))["STATUS"][0]
        assert (wrong_key["Code"], wrong_key["Msg"]) == (24, "Missing JSON 'command'")
        write = decode(await ask(m.ip, m.port, cmd("set_led")))
        assert write["STATUS"] == "E" and write["Code"] == 45
        cg_join = decode(await ask(m.ip, m.port, cmd("summary+devs")))
        assert set(cg_join) == {"summary", "devs", "id"}
        escapes = [x for x in site.miners if x.extra["bad_escape"]]
        assert escapes, "some Whatsminer builds must print the invalid \\' escape"
        raw = await ask(escapes[0].ip, escapes[0].port, cmd("summary"))
        assert b'"Firmware Version":"\\\'' in raw


@pytest.mark.parametrize("firmware", sorted(READS))
async def test_unknown_and_write_commands_get_errors_and_are_recorded(firmware: str) -> None:
    async with running(count=1, seed=5, mix={firmware: 1}) as site:
        m = site.miners[0]
        for name in ("ascset", "restart", "switchpool", "no-such-command"):
            reply = decode(await ask(m.ip, m.port, cmd(name, parameter="0,softoff")))
            status = reply["STATUS"] if isinstance(reply["STATUS"], str) else reply["STATUS"][0]["STATUS"]
            assert status == "E", (name, reply)
        recorded = [r.commands for r in site.requests]
        assert recorded == [["ascset"], ["restart"], ["switchpool"], ["no-such-command"]]
        assert site.requests[0].ip == m.ip and site.requests[0].parameter == "0,softoff"
        assert site.requests[0].raw == cmd("ascset", parameter="0,softoff")


async def test_text_request_gets_text_reply() -> None:
    async with running(count=30, seed=6, mix={"avalon": 1}) as site:
        m = site.miners[0]
        raw = await ask(m.ip, m.port, b"version")
        assert raw.endswith(b"|\x00")
        text = raw[:-1].decode()
        assert text.startswith("STATUS=S,When=") and "Code=22,Msg=CGMiner versions" in text
        assert f"|VERSION,CGMiner=4.11.1,API=3.7,PROD=AvalonMiner {m.model}," in text
        details = (await ask(m.ip, m.port, b"devdetails"))[:-1].decode()
        assert "|DEVDETAILS=0,Name=AVALON,ID=0,Driver=avalon,Kernel=,Model=,Device Path=|" in details


async def test_request_split_across_packets_is_read_to_the_end_of_the_object() -> None:
    async with running(count=1, seed=1, mix={"antminer": 1}) as site:
        m = site.miners[0]
        reader, writer = await asyncio.open_connection(m.ip, m.port)
        writer.write(b'{"comm')
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b'and":"version"}')
        reply = decode(await asyncio.wait_for(reader.read(), 5))
        writer.close()
        assert reply["VERSION"][0]["Type"] == "Antminer " + m.model


async def test_invalid_json_gets_the_cgminer_error() -> None:
    async with running(count=1, seed=1, mix={"braiins": 1}, read_timeout_s=0.2) as site:
        m = site.miners[0]
        status = decode(await ask(m.ip, m.port, b'{"command": "summ'))["STATUS"][0]
        assert (status["STATUS"], status["Code"], status["Msg"]) == ("E", 23, "Invalid JSON")


# --- faults ---


async def test_hang_accepts_and_never_answers() -> None:
    async with running(count=1, seed=1, faults={"hang": 1.0}) as site:
        m = site.miners[0]
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await ask(m.ip, m.port, cmd("summary"), timeout=0.4)
        assert 0.35 < time.monotonic() - started < 2.0
        assert [r.commands for r in site.requests] == [["summary"]]  # the request was read, then nothing


async def test_refuse_and_clearing_it_reopens_the_listener() -> None:
    async with running(count=2, seed=1, faults={"refuse": 0.5}) as site:
        refused = next(m for m in site.miners if m.fault == "refuse")
        with pytest.raises(ConnectionRefusedError):
            await ask(refused.ip, refused.port, cmd("summary"))
        site.set_fault(refused.ip, None)
        assert decode(await ask(refused.ip, refused.port, cmd("summary")))["STATUS"][0]["STATUS"] == "S"
        site.set_fault(refused.ip, "refuse")
        with pytest.raises(ConnectionRefusedError):
            await ask(refused.ip, refused.port, cmd("summary"))


async def test_reset_sends_part_then_rst() -> None:
    async with running(count=1, seed=1, faults={"reset": 1.0}) as site:
        m = site.miners[0]
        with pytest.raises(ConnectionResetError):
            await ask(m.ip, m.port, cmd("stats"))


async def test_truncated_is_half_the_json_then_nul() -> None:
    async with running(count=1, seed=1, mix={"antminer": 1}) as site:
        m = site.miners[0]
        full = await ask(m.ip, m.port, cmd("stats"))
        site.set_fault(m.ip, "truncated")
        cut = await ask(m.ip, m.port, cmd("stats"))
        assert cut.endswith(b"\x00") and len(full) // 2 - 2 <= len(cut) <= len(full) // 2 + 2
        assert full.startswith(cut[:-1])
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut[:-1])


async def test_malformed_is_invalid_utf8_and_broken_json() -> None:
    async with running(count=1, seed=1, faults={"malformed": 1.0}) as site:
        m = site.miners[0]
        raw = await ask(m.ip, m.port, cmd("summary"))
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw.decode("latin-1").rstrip("\x00"))


async def test_huge_reply_is_streamed_and_bounded() -> None:
    limit = 5 * 1024 * 1024
    async with running(count=1, seed=1, faults={"huge": 1.0}, huge_bytes=limit) as site:
        m = site.miners[0]
        raw = await ask(m.ip, m.port, cmd("summary"), timeout=20)
        assert limit - 256 * 1024 < len(raw) < limit + 256 * 1024
        assert raw.endswith(b'}],"id":1}\x00') and raw.count(b"\x00") == 1


async def test_slow_adds_latency() -> None:
    async with running(count=1, seed=1, faults={"slow": 1.0}, slow_ms=300.0) as site:
        m = site.miners[0]
        started = time.monotonic()
        decode(await ask(m.ip, m.port, cmd("summary")))
        assert time.monotonic() - started >= 0.29


async def test_latency_is_per_miner_and_deterministic() -> None:
    a = SimSite.build(count=50, seed=9, latency_ms=(5.0, 20.0))
    b = SimSite.build(count=50, seed=9, latency_ms=(5.0, 20.0))
    assert [m.latency_ms for m in a.miners] == [m.latency_ms for m in b.miners]
    assert all(5.0 <= m.latency_ms <= 20.0 for m in a.miners)
    assert len({round(m.latency_ms, 3) for m in a.miners}) > 40
    async with running(count=1, seed=9, latency_ms=(60.0, 60.0)) as site:
        m = site.miners[0]
        started = time.monotonic()
        await ask(m.ip, m.port, cmd("version"))
        assert time.monotonic() - started >= 0.045  # 60 ms +- 20 % jitter


async def test_sleeping_per_firmware() -> None:
    async with running(count=120, seed=7, faults={"sleeping": 1.0}) as site:
        done: set[str] = set()
        for m in site.miners:
            if m.firmware in done:
                continue
            done.add(m.firmware)
            truth = m.truth()
            assert truth["state"] == "sleeping" and truth["hashrate_ths"] == 0.0
            if m.firmware in ("antminer", "vnish", "luxos"):
                data = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"][1]
                assert all(v == 0 for k, v in data.items() if k.startswith("chain_acn"))
                if m.firmware != "luxos":
                    assert data["Mode"] == 254 and data["fan_num"] == 0
                else:
                    config = decode(await ask(m.ip, m.port, cmd("config")))["CONFIG"][0]
                    assert config["CurtailMode"] == "Sleep"
            elif m.firmware == "whatsminer":
                msg = decode(await ask(m.ip, m.port, cmd("status")))["Msg"]
                assert msg.get("btmineroff", msg.get("mineroff")) == "true"
            elif m.firmware == "avalon":
                mm = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"][0]["MM ID0"]
                assert "Work: In Idle" in mm and "SoftOFF[4]" in mm and "GHSspd[0.00]" in mm
            elif m.firmware == "braiins":
                status = decode(await ask(m.ip, m.port, cmd("devdetails")))["STATUS"][0]
                assert status["Msg"] == "Unavailable"
            summary = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
            current = summary.get("MHS 1m", summary.get("GHS 5s"))
            assert float(current) == 0.0
        assert done == set(READS)


async def test_missing_board_and_dead_fan() -> None:
    async with running(
        count=40, seed=8, mix={"antminer": 1, "whatsminer": 1}, faults={"missing_board": 0.5, "dead_fan": 0.5}
    ) as site:
        for m in site.miners:
            truth = m.truth()
            if m.fault == "missing_board":
                gone = [b for b in truth["boards"] if b["chips"] == 0]
                assert len(gone) == 1 and gone[0]["index"] == m.missing_slot and truth["state"] == "degraded"
                if m.firmware == "antminer" and m.model != "S9":
                    data = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"][1]
                    assert (
                        data[f"chain_acn{m.missing_slot + 1}"] == 0
                        and data[f"chain_rate{m.missing_slot + 1}"] == ""
                    )
                    assert data["miner_count"] == 2
                elif m.firmware == "whatsminer":
                    devs = decode(await ask(m.ip, m.port, cmd("devs")))["DEVS"]
                    assert m.missing_slot not in [d["ASC"] for d in devs] and len(devs) == 2
            else:
                assert truth["fans_rpm"][m.dead_fan] == 0
                assert sum(1 for rpm in truth["fans_rpm"] if rpm == 0) == 1
                if m.firmware == "whatsminer":
                    summary = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
                    assert [summary["Fan Speed In"], summary["Fan Speed Out"]] == truth["fans_rpm"]


async def test_set_fault_at_runtime() -> None:
    async with running(count=1, seed=1, mix={"antminer": 1}) as site:
        m = site.miners[0]
        site.set_fault(m.ip, "hang")
        with pytest.raises(TimeoutError):
            await ask(m.ip, m.port, cmd("summary"), timeout=0.3)
        site.set_fault(m.ip, None)
        assert decode(await ask(m.ip, m.port, cmd("summary")))["STATUS"][0]["STATUS"] == "S"
        with pytest.raises(ValueError):
            site.set_fault(m.ip, "on-fire")


def test_fault_fractions_are_exact_and_seeded() -> None:
    faults = {"hang": 0.05, "refuse": 0.02, "sleeping": 0.1}
    a = SimSite.build(count=1000, seed=11, faults=faults)
    counts = {f: sum(1 for m in a.miners if m.fault == f) for f in faults}
    assert counts == {"hang": 50, "refuse": 20, "sleeping": 100}
    b = SimSite.build(count=1000, seed=11, faults=faults)
    assert [m.fault for m in a.miners] == [m.fault for m in b.miners]
    c = SimSite.build(count=1000, seed=12, faults=faults)
    assert [m.fault for m in a.miners] != [m.fault for m in c.miners]
    assert set(faults) <= FAULTS


# --- state, truth, determinism ---


async def _poll_all(site: SimSite) -> list[bytes]:
    out = []
    for m in site.miners:
        for name in READS[m.firmware]:
            out.append(await ask(m.ip, m.port, cmd(name)))
    return out


async def test_same_seed_same_bytes_other_seed_differs() -> None:
    base = fresh_ip()
    async with running(count=30, seed=21, base_ip=base) as one:
        first = await _poll_all(one)
    async with running(count=30, seed=21, base_ip=base) as two:
        second = await _poll_all(two)
    assert first == second
    async with running(count=30, seed=22, base_ip=base) as three:
        third = await _poll_all(three)
    assert third != first


async def test_values_drift_per_poll_and_counters_grow() -> None:
    async with running(count=12, seed=3, mix={"whatsminer": 1}) as site:
        m = site.miners[0]
        before = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
        again = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
        assert again == before  # same poll burst: one consistent state
        site.advance()
        after = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
        assert after["Elapsed"] == before["Elapsed"] + 60
        assert after["Accepted"] > before["Accepted"]
        assert after["MHS 1m"] != before["MHS 1m"]
        assert abs(after["MHS 1m"] / before["MHS 1m"] - 1) < 0.05


async def test_quiet_gap_starts_the_next_poll() -> None:
    async with running(count=1, seed=3, mix={"antminer": 1}, poll_gap_s=0.1) as site:
        m = site.miners[0]
        first = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]["Elapsed"]
        await asyncio.sleep(0.15)
        second = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]["Elapsed"]
        assert second == first + 60 and m.epoch == 1


def _close(a: float | None, b: float | None, tol: float = 1e-6) -> bool:
    return (
        a is None and b is None or (a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b)))
    )


async def test_truth_matches_what_the_replies_say() -> None:
    """Independent readings of the replies (hand-written here, not the agent's parsers) agree with truth()."""
    async with running(count=60, seed=13) as site:
        checked: set[str] = set()
        for m in site.miners:
            t = m.truth()
            assert t["device"] == f"{m.ip}:{m.port}" and t["model"] == m.model and t["driver"] == m.firmware
            assert t["state"] == "hashing" and 0.9 < t["hashrate_ths"] / t["expected_hashrate_ths"] < 1.1
            if m.firmware in ("antminer", "vnish") and m.model != "S9":
                data = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"][1]
                assert _close(float(data["GHS 5s"]) / 1000, t["hashrate_ths"])
                assert _close(data["total_rateideal"] / 1000, t["expected_hashrate_ths"])
                assert [data[f"fan{k}"] for k in range(1, 5)] == t["fans_rpm"]
                for b in t["boards"]:
                    k = b["index"] + 1
                    assert data[f"chain_acn{k}"] == b["chips"]
                    assert _close(float(data[f"chain_rate{k}"]) / 1000, b["hashrate_ths"])
                    assert max(int(x) for x in data[f"temp_pcb{k}"].split("-")) == b["temp_c"]
                    assert max(int(x) for x in data[f"temp_chip{k}"].split("-")) == b["chip_temp_c"]
                assert t["power_w"] is None and t["mac"] is None
            elif m.firmware == "whatsminer":
                s = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
                assert _close(s["MHS 1m"] / 1e6, t["hashrate_ths"]) and _close(
                    s["Factory GHS"] / 1000, t["expected_hashrate_ths"]
                )
                assert (s["Power"], s["MAC"], s["Elapsed"]) == (t["power_w"], t["mac"], t["uptime_s"])
                devs = decode(await ask(m.ip, m.port, cmd("devs")))["DEVS"]
                for d, b in zip(devs, t["boards"], strict=True):
                    assert (d["Effective Chips"], d["Temperature"], d["Chip Temp Max"]) == (
                        b["chips"],
                        b["temp_c"],
                        b["chip_temp_c"],
                    )
            elif m.firmware == "braiins":
                tuner = decode(await ask(m.ip, m.port, cmd("tunerstatus")))["TUNERSTATUS"][0]
                assert (
                    tuner["ApproximateMinerPowerConsumption"] == t["power_w"]
                    and t["power_source"] == "estimated"
                )
                devs = decode(await ask(m.ip, m.port, cmd("devs")))["DEVS"]
                assert [d["ID"] for d in devs] == [1, 2, 3]
                assert _close(sum(d["MHS 1m"] for d in devs) / 1e6, t["hashrate_ths"])
                assert _close(sum(d["Nominal MHS"] for d in devs) / 1e6, t["expected_hashrate_ths"])
            elif m.firmware == "luxos":
                power = decode(await ask(m.ip, m.port, cmd("power")))["POWER"][0]
                assert power["Watts"] == t["power_w"]
                assert t["power_source"] == ("reported" if power["PSU"] else "estimated")
                config = decode(await ask(m.ip, m.port, cmd("config")))["CONFIG"][0]
                assert config["MACAddr"].upper() == t["mac"] and config["SerialNumber"] == t["serial"]
                s = decode(await ask(m.ip, m.port, cmd("summary")))["SUMMARY"][0]
                assert _close(s["GHS 1m"] / 1000, t["hashrate_ths"])
                devs = decode(await ask(m.ip, m.port, cmd("devs")))["DEVS"]
                assert sorted(d["ID"] for d in devs) == [0, 1, 2]
                fans = decode(await ask(m.ip, m.port, cmd("fans")))["FANS"]
                assert [f["RPM"] for f in sorted(fans, key=lambda f: f["FAN"])] == t["fans_rpm"]
            elif m.firmware == "avalon":
                mm = decode(await ask(m.ip, m.port, cmd("stats")))["STATS"][0]["MM ID0"]
                mghs = [float(x) for x in mm.split("MGHS[")[1].split("]")[0].split()]
                assert _close(sum(mghs) / 1000, t["hashrate_ths"], 1e-5)
                assert [len(mm.split(f"PVT_T{k}[")[1].split("]")[0].split()) for k in range(3)] == [
                    b["chips"] for b in t["boards"]
                ]
                watts = (
                    mm.split("WALLPOWER[")[1].split("]")[0]
                    if "WALLPOWER[" in mm
                    else mm.split("PS[")[1].split()[4]
                )
                assert float(watts) == t["power_w"] and ("WALLPOWER[" in mm) == (m.model != "1246")
                version = decode(await ask(m.ip, m.port, cmd("version")))["VERSION"][0]
                assert ":".join(version["MAC"][i : i + 2] for i in range(0, 12, 2)).upper() == t["mac"]
            checked.add(m.firmware)
        assert checked == set(READS)


async def test_thousand_miners_start_and_stop_quickly() -> None:
    started = time.monotonic()
    site = SimSite.build(count=1000, seed=1, base_ip="127.78.0.1", latency_ms=(0.0, 0.0))
    await site.start()
    try:
        assert time.monotonic() - started < 5.0
        targets = site.target_list()
        assert len(targets) == 1000 and targets[0] == "127.78.0.1:4028" and len(set(targets)) == 1000
        sample = site.miners[::97]
        replies = await asyncio.gather(*(ask(m.ip, m.port, cmd("version")) for m in sample))
        assert all(decode(r)["STATUS"][0]["STATUS"] == "S" for r in replies)
    finally:
        t = time.monotonic()
        await site.stop()
        assert time.monotonic() - t < 5.0
    with pytest.raises(OSError):
        await ask("127.78.0.1", 4028, cmd("version"), timeout=2)


# --- conformance with real captures (skipped without ../shared) ---

_KEY_CHECKS = [
    ("antminer", "S19 Pro", "stats", "antminer_s19pro-49.0.1.3_stats.json", "STATS", 1),
    ("antminer", "S19 Pro", "summary", "antminer_s19pro-49.0.1.3_summary.json", "SUMMARY", 0),
    ("antminer", "S19 Pro", "pools", "antminer_s19pro-49.0.1.3_pools.json", "POOLS", 0),
    ("antminer", "S19 Pro", "devs", "antminer_s19pro-49.0.1.3_devs.json", "DEVS", 0),
    ("luxos", None, "config", "luxos_s19kpro-2025.4.8_config.json", "CONFIG", 0),
    ("luxos", None, "stats", "luxos_s19kpro-2025.4.8_stats.json", "STATS", 1),
    ("luxos", None, "pools", "luxos_s19kpro-2025.4.8_pools.json", "POOLS", 0),
    ("luxos", None, "devs", "luxos_s19kpro-2025.4.8_devs.json", "DEVS", 0),
    ("whatsminer", None, "summary", "whatsminer_m20s-20200917_summary.json", "SUMMARY", 0),
    ("whatsminer", None, "devs", "whatsminer_m20s-20200917_devs.json", "DEVS", 0),
    ("avalon", None, "devs", "avalon_q-25052801-idle_devs.json", "DEVS", 0),
]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures not present")
@pytest.mark.parametrize(("firmware", "model", "command", "fixture", "section", "index"), _KEY_CHECKS)
async def test_key_names_match_real_captures(
    firmware: str, model: str | None, command: str, fixture: str, section: str, index: int
) -> None:
    real_text = (
        (FIXTURES / fixture).read_bytes().rstrip(b"\x00").decode().replace("}{", "},{").replace("\\'", "'")
    )
    real = json.loads(real_text)
    async with running(count=80, seed=2, mix={firmware: 1}) as site:
        m = next(x for x in site.miners if model is None or x.model == model)
        mine = decode(await ask(m.ip, m.port, cmd(command)))
    missing = set(real[section][index]) - set(mine[section][index])
    assert not missing
    for key, value in real[section][index].items():  # numbers stay numbers, strings stay strings
        if isinstance(value, bool | str):
            assert type(mine[section][index][key]) is type(value), key


async def test_cli_runs_a_site_until_interrupted() -> None:
    import signal
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simsite",
        "--count",
        "3",
        "--seed",
        "4",
        "--base-ip",
        "127.79.0.1",
        "--latency-ms",
        "0,0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "3 miners 127.79.0.1 - 127.79.0.3 port 4028" in line
        reply = decode(await ask("127.79.0.3", 4028, cmd("summary")))
        assert reply["STATUS"][0]["STATUS"] == "S"
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
