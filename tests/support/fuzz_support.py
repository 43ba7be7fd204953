"""Inputs for fuzzing the parsers: real replies rendered by the simulated site, then damaged the way firmwares and
hostile devices damage them. Shared by the hypothesis tests (tests/asic/test_fuzz_parsers.py) and the coverage-guided
atheris targets (tests/support/fuzz_atheris.py).

The property every target checks is the same: a parser returns its typed result or raises the project's own error
(``DeviceError`` for device replies, problems for config); any other exception is a bug.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from hypothesis import strategies as st

from collectors.asic import rpc
from collectors.asic.drivers import registry
from collectors.asic.identify import match_driver
from collectors.asic.normalize import finalize
from collectors.asic.reading import MinerReading
from collectors.errors import DeviceError

# `make fuzz` raises these; `make test` keeps them small (seconds, not minutes).
EXAMPLES = int(os.environ.get("FARMWATCH_FUZZ_EXAMPLES", "60"))

# Values firmwares and broken devices really write where a number or a name belongs (research/asic.md pitfalls),
# plus what a hostile device can put in valid JSON.
HOSTILE_SCALARS: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -1, -1.5, -0.0, 0, 1, 2**63, -(2**63), 2**64 + 1,
    10**400, -(10**400), True, False, None,
    "", " ", "-", "--", "NaN", "nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e-999", "0x1F",
    "2--1-20-22", "0:00:03", "99:99:99:99:99", "1d 2h", "58.94W", "2940 rpm / 2940 rpm", "83.0 Â°C / 73.8 Â°C",
    "1" * 5000, "9" * 400, "١٢٣", "²", "\x00", "\ufffd", "\ud800", "x\udfffy",  # lone surrogates: valid JSON escapes ("\\ud800") that UTF-8 cannot encode
    "true", "false", "null", "None", "alive", "Dead", "E", "S", "F", "'20200917.22.REL'",
    "FAN" + "1" * 5000, "MM ID" + "7" * 5000, "Fan" + "3" * 5000, "HB" + "4" * 5000,
    "Antminer S19 Pro (vnish 1.2)", "M50S_VH75", "Avalon 1246", "AVALON0O", "Ver[1246-83] MGHS[nan 1e999 -5]",
    "'STATS':{MGHS[1 2", "PVT_T0[" + "1 " * 500 + "]", "Fan1[-6000] WALLPOWER[-1] PS[0 0 0 0 1e999]",
    "SYSTEMSTATU[Work: In Idle]", "SoftOFF[4]", "ECHU[nan 1e400 -3]", "[[[[[[", "]]]]", "{'", "'HB0':{",
    [], {}, [None], [[]], {"": None}, [math.nan], [-1, -2], ["1", "x"],
)

# Key names the drivers read (and a few they must not), for inserting hostile keys next to the real ones.
KEY_NAMES: tuple[str, ...] = (
    "STATUS", "Msg", "Description", "When", "Code", "SUMMARY", "STATS", "DEVS", "POOLS", "VERSION", "CONFIG",
    "DEVDETAILS", "TEMPS", "FANS", "POWER", "TUNERSTATUS", "TunerChainStatus", "Status", "GHS 5s", "GHS 1m",
    "GHS av", "MHS 1m", "MHS 5s", "MHS av", "HS RT", "Hashrate1m", "Elapsed", "Type", "Miner", "CompileTime",
    "rate_unit", "total_rateideal", "chain_acn1", "chain_rate1", "chain_acn9", "temp_pcb1", "temp_chip1", "temp2_1",
    "fan1", "fan5", "fan_num", "Mode", "ID", "Slot", "ASC", "Chips", "Model", "Board", "Chip", "RPM", "FAN",
    "Watts", "PSU", "MACAddr", "SerialNumber", "Hostname", "CurtailMode", "IsUserShutdown", "Nominal MHS",
    "ApproximateMinerPowerConsumption", "PowerLimit", "Power", "Power_RT", "Power Limit", "Fan Speed In",
    "Fan Speed Out", "Factory GHS", "MAC", "Firmware Version", "Error Code 0", "Effective Chips", "Temperature",
    "Chip Temp Max", "Chip Temp Avg", "error_code", "btmineroff", "mineroff", "fw_ver", "minersn", "mac",
    "hostname", "MM ID0", "MM ID1", "MM ID99", "HBinfo", "PROD", "MODEL", "LVERSION", "URL", "User", "Accepted",
    "Rejected", "Stale", "POOL", "Stratum Active", "Device Elapsed", "reason",
)


def hostile_values() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.sampled_from(HOSTILE_SCALARS),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.booleans(),
        st.none(),
    )
    return st.one_of(
        scalar,
        st.lists(scalar, max_size=6),
        st.dictionaries(st.sampled_from(KEY_NAMES) | st.text(max_size=8), scalar, max_size=5),
    )


# ----------------------------------------------------------------------------------------------- valid seeds


@cache
def _site() -> Any:
    from simsite import SimSite

    # Not started: render() builds replies without sockets. A few faults so sleeping/missing shapes appear too.
    return SimSite.build(count=48, seed=11, base_ip="127.250.0.1",
                         faults={"sleeping": 0.1, "missing_board": 0.1, "dead_fan": 0.1})


def driver_commands(name: str) -> tuple[str, ...]:
    d = registry()[name]
    return (*d.identity_commands, *d.commands, *d.single_commands)


@cache
def valid_raw_replies() -> tuple[tuple[str, str, bytes], ...]:
    """(driver, command, raw reply bytes) for every simulated miner and every command its driver reads, plus the
    joined request where the driver joins."""
    site = _site()
    out: list[tuple[str, str, bytes]] = []
    for m in site.miners:
        d = registry()[m.firmware]
        for c in driver_commands(m.firmware):
            out.append((m.firmware, c, site.render(m, rpc.request(c))))
        if d.join and len(d.commands) > 1:
            joined = "+".join(d.commands)
            out.append((m.firmware, joined, site.render(m, rpc.request(joined))))
    return tuple(out)


@cache
def valid_replies() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(driver, decoded replies by command) per simulated miner: what the driver's ``parse`` gets on a good poll."""
    by_miner: dict[tuple[str, int], dict[str, Any]] = {}
    site = _site()
    for m in site.miners:
        replies: dict[str, Any] = {}
        for c in driver_commands(m.firmware):
            reply = rpc.decode_reply(site.render(m, rpc.request(c)))
            if rpc.status_of(reply)[0] not in ("E", "F"):
                replies[c] = reply
        by_miner[(m.firmware, m.index)] = replies
    return tuple((fw, r) for (fw, _i), r in by_miner.items())


# ----------------------------------------------------------------------------------------------- mutation


def _slots(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON tree."""
    out: list[tuple[Any, Any]] = []
    stack = [tree]
    while stack and len(out) < 20_000:  # a grown list repeats one entry thousands of times
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                out.append((node, k))
                stack.append(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out.append((node, i))
                stack.append(v)
    return out


def _copy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _copy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_copy(v) for v in tree]
    return tree


SPLICES = ("\ud800", "nan", "1e999", "-", "--1", "[", "]", "{", "}", "'", ":", "-273", "9" * 40, "\x00", " ", "\\")

OPS = ("replace", "delete", "splice", "wrap", "grow", "nest", "add_key", "to_scalar")


def mutate(tree: Any, draw: Callable[[st.SearchStrategy[Any]], Any], rounds: int) -> Any:
    """Apply ``rounds`` random damages to a copy of a decoded reply tree."""
    tree = _copy(tree)
    grown = False
    for _ in range(rounds):
        slots = _slots(tree)
        if not slots:
            break
        parent, key = slots[draw(st.integers(0, len(slots) - 1))]
        op = draw(st.sampled_from(OPS))
        value = parent[key]
        if op == "replace":
            parent[key] = _copy(draw(hostile_values()))
        elif op == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif op == "splice" and isinstance(value, str):
            i = draw(st.integers(0, len(value)))
            j = draw(st.integers(i, len(value)))
            parent[key] = value[:i] + draw(st.sampled_from(SPLICES)) + value[j:]
        elif op == "wrap":
            parent[key] = [value] if draw(st.booleans()) else {"0": value}
        elif op == "grow" and not grown:  # a huge list: the same entry many times over
            # Once per tree: the copies share one object, and growing a grown list again builds structures a
            # 4 MiB reply could never decode to (found as a MemoryError in the fuzzer, not in the parsers).
            grown = True
            parent[key] = [value] * draw(st.sampled_from((2, 17, 300, 5000)))
        elif op == "nest":
            depth = draw(st.sampled_from((5, 50, 400)))
            for _d in range(depth):
                value = [value]
            parent[key] = value
        elif op == "add_key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEY_NAMES))] = _copy(draw(hostile_values()))
        elif op == "to_scalar":
            parent[key] = _copy(draw(st.sampled_from(HOSTILE_SCALARS)))
    return tree


def damage_bytes(raw: bytes, draw: Callable[[st.SearchStrategy[Any]], Any]) -> bytes:
    """Byte-level damage to one reply: the framing faults of research/asic.md and worse."""
    kind = draw(st.sampled_from(("truncate", "flip", "insert", "join", "nul", "prefix", "invalid_utf8", "none")))
    if kind == "none" or not raw:
        return raw
    i = draw(st.integers(0, len(raw) - 1))
    if kind == "truncate":
        return raw[:i]
    if kind == "flip":
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]
    if kind == "insert":
        junk = draw(st.sampled_from((b"}{", b"\\'", b",}", b",]", b"[,{", b"\x00", b"NaN", b"1e999", b"-",
                                     b"\xff\xfe", b"\xc3(", b"[" * 3000, b"9" * 5000, b'"\\ud800"')))
        return raw[:i] + junk + raw[i:]
    if kind == "join":
        return raw.rstrip(b"\x00") + raw
    if kind == "nul":
        return raw[:i] + b"\x00" + raw[i:]
    if kind == "prefix":
        return draw(st.sampled_from((b"STATUS=S,Msg=x|", b"HTTP/1.1 200 OK\r\n\r\n", b"<html>", b" ", b"\xef\xbb\xbf"))) + raw
    return raw[:i] + b"\x80\xff" + raw[i:]


# ----------------------------------------------------------------------------------------------- the properties


def check_decode(raw: bytes) -> dict[str, Any] | None:
    """``decode_reply`` returns a dict or raises DeviceError."""
    try:
        reply = rpc.decode_reply(raw)
    except DeviceError:
        return None
    assert isinstance(reply, dict)
    rpc.status_of(reply)
    rpc.description(reply)
    return reply


def check_parse(driver: str, replies: dict[str, Any], device: str = "127.0.0.1:4028") -> MinerReading | None:
    """A driver's ``parse`` + ``finalize`` returns a reading with only finite, sane values, or raises DeviceError;
    identification on the same replies never raises."""
    match_driver(replies)
    try:
        reading = finalize(registry()[driver].parse(replies, device))
    except DeviceError:
        return None
    check_reading(reading)
    return reading


def check_reading(r: MinerReading) -> None:
    doc = r.to_json()
    json.dumps(doc, allow_nan=False)  # raises ValueError on NaN/inf anywhere in the contract JSON
    for value in (r.hashrate_ths, r.expected_hashrate_ths, r.power_w, r.uptime_s):
        assert value is None or value >= 0, doc
    assert all(rpm is None or rpm >= 0 for rpm in r.fans_rpm)
    assert not r.fans_rpm or any(rpm is not None for rpm in r.fans_rpm)  # no readable fan: [] (unknown)
    for b in r.boards:
        assert b.chips is None or b.chips >= 0
        assert b.hashrate_ths is None or b.hashrate_ths >= 0
    for p in r.pools:
        assert all(v is None or v >= 0 for v in (p.accepted, p.rejected, p.stale)), p
    assert r.state in ("hashing", "degraded", "not_hashing", "sleeping", "unknown")
    _check_exposition(r)


def _check_exposition(r: MinerReading) -> None:
    """The reading rendered into /metrics: every value of the miner's series is a finite number."""
    from agent.exposition import render
    from collectors.asic.metrics import miner_families
    from collectors.asic.store import MinerStore
    from collectors.families import Families

    store = MinerStore()
    store.record_success(r.device, r, now=1.0)
    fams = Families()
    miner_families(fams, store)
    for line in render(fams).text.decode().split("\n"):  # the format's only line break ("\x1c" is label text)
        if not line or line.startswith("#"):
            continue
        value = line.rsplit(" ", 1)[1]
        assert value not in ("NaN", "+Inf", "-Inf"), line
        assert math.isfinite(float(value)), line


def iter_seeds() -> Iterator[bytes]:
    for _fw, _c, raw in valid_raw_replies():
        yield raw
