"""Hostile devices on the simulated site, polled by the real scheduler over loopback sockets.

For each: the cycle ends on time, memory stays bounded (tracemalloc covers the agent and the simulator, which
share this process), that one device is down with the right reason — or read correctly where reading is right
(a reboot, NaN, negative numbers, bytes that are not UTF-8) — and every other device is unaffected.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.daemon import Agent
from agent.exposition import render
from collectors.asic.group import MinerGroup
from collectors.asic.metrics import miner_families
from collectors.asic.poll import MinerSession
from collectors.families import Families
from simsite import SimSite
from simsite.faults import GIGABYTE, reboot, reflash
from tests.support.fuzz_support import check_reading

TIMEOUT = 2.0
MEMORY_BOUND = 48 * 1024 * 1024  # the transport caps a reply at 4 MiB; a buffered 1 GiB reply would blow this


@pytest.fixture
async def site() -> AsyncIterator[SimSite]:
    s = SimSite.build(count=36, seed=21, base_ip="127.212.0.1", latency_ms=(1.0, 3.0), drip_s=1.0)
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def make_agent(site: SimSite) -> tuple[Agent, MinerGroup]:
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="hostile", sessions=sessions, interval=10.0, timeout=TIMEOUT)
    return Agent(site="test", groups=[group], listen="127.0.0.1:0"), group


async def timed_cycle(agent: Agent, group: MinerGroup) -> tuple[float, int]:
    """(seconds, peak traced bytes) of one cycle."""
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        await agent.scheduler.run_cycle(group)
        return time.monotonic() - t0, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def exposition(agent: Agent) -> str:
    """The miner series as /metrics renders them from the agent's store now."""
    fams = Families()
    miner_families(fams, agent.store)
    return render(list(fams)).text.decode()


def exposition_values(agent: Agent, device: str) -> dict[str, float]:
    out = {}
    for line in exposition(agent).splitlines():
        if f'device="{device}"' in line and not line.startswith("#"):
            out[line.rsplit(" ", 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


@pytest.mark.parametrize(
    "fault, reason",
    [
        ("slowloris", "timeout"),  # one byte a second: the deadline ends it
        ("gigabyte", "protocol"),  # 1 GiB streamed: cut at the 4 MiB reply cap
        ("endless", "protocol"),  # never a NUL, never EOF
        ("reset", "reset"),  # RST in the middle of the reply
        ("nested", "parse"),  # 100,000 levels of JSON nesting
        ("hang", "timeout"),
        ("badutf8", None),  # read: the bad bytes become U+FFFD in a text field
        ("nan", None),  # read: NaN/1e999 are unknown, never exported
        ("negative", None),  # read: negative counters are unknown, negative rates 0
    ],
)
async def test_hostile_device_is_contained(site: SimSite, fault: str, reason: str | None) -> None:
    agent, group = make_agent(site)
    await agent.scheduler.run_cycle(group)  # everyone identified and up
    assert all(d.up for d in agent.store.devices.values())
    victim = site.miners[5]
    device = f"{victim.ip}:{victim.port}"
    site.set_fault(victim.ip, fault)

    duration, peak = await timed_cycle(agent, group)
    assert duration < TIMEOUT + 1.0, f"cycle took {duration:.2f}s"
    assert peak < MEMORY_BOUND, f"peak traced memory {peak / 2**20:.1f} MiB"
    state = agent.store.devices[device]
    others = [d for dev, d in agent.store.devices.items() if dev != device]
    assert all(d.up for d in others), [(d.device, d.error_reason) for d in others if not d.up]
    values = exposition_values(agent, device)
    if reason is None:
        assert state.up, (state.error_reason, state.error_message)
        assert state.reading is not None
        check_reading(state.reading)
        assert all(v == v and abs(v) != float("inf") for v in values.values())
    else:
        assert not state.up and state.reading is None
        assert state.error_reason == reason, state.error_message
        assert values[f'farmwatch_miner_error_info{{device="{device}",reason="{reason}"}}'] == 1
        assert values[f'farmwatch_miner_up{{device="{device}"}}'] == 0
    # Healed, it is read again on the next cycle (backoff allowing one retry after a first failure).
    site.set_fault(victim.ip, None)
    await agent.scheduler.run_cycle(group)
    assert agent.store.devices[device].up


async def test_nan_and_negative_values_never_reach_metrics(site: SimSite) -> None:
    agent, group = make_agent(site)
    await agent.scheduler.run_cycle(group)
    for m in site.miners[:12]:
        site.set_fault(m.ip, "nan" if m.index % 2 else "negative")
    await agent.scheduler.run_cycle(group)
    for line in exposition(agent).splitlines():
        if line.startswith("farmwatch_miner") and not line.startswith("#"):
            value = float(line.rsplit(" ", 1)[1])
            assert value == value and abs(value) != float("inf"), line
            if "_shares_total" in line or "uptime" in line or "hashes_per_second" in line:
                assert value >= 0, line


async def test_counters_going_backwards_after_a_reboot_are_read_as_they_are(site: SimSite) -> None:
    agent, group = make_agent(site)
    m = next(m for m in site.miners if m.pools and any(p.active for p in m.pools))
    device = f"{m.ip}:{m.port}"
    site.advance(30)
    await agent.scheduler.run_cycle(group)
    before = agent.store.devices[device].reading
    assert before is not None and before.uptime_s is not None
    accepted_before = sum(p.accepted or 0 for p in before.pools)
    reboot(m)
    await agent.scheduler.run_cycle(group)
    after = agent.store.devices[device].reading
    assert after is not None and agent.store.devices[device].up
    truth = m.truth()
    assert after.uptime_s == truth["uptime_s"] < before.uptime_s
    assert sum(p.accepted or 0 for p in after.pools) < accepted_before
    assert [p.accepted for p in after.pools] == [p["accepted"] for p in truth["pools"]]
    # The counter is exported as the device says (a reset Prometheus' rate() handles), not held at the old value.
    values = exposition_values(agent, device)
    assert values[f'farmwatch_miner_uptime_seconds{{device="{device}"}}'] == truth["uptime_s"]


async def test_a_miner_reflashed_between_polls_is_read_with_its_new_firmware(site: SimSite) -> None:
    agent, group = make_agent(site)
    await agent.scheduler.run_cycle(group)
    from simsite.firmwares import get

    m = next(m for m in site.miners if m.firmware == "antminer" and m.model in get("vnish").models)
    device = f"{m.ip}:{m.port}"
    assert agent.store.devices[device].reading.driver == "antminer"  # type: ignore[union-attr]
    reflash(m, "vnish")
    seen = []
    for _ in range(3):  # within a few cycles, never an hour of identity caching
        site.advance()
        await agent.scheduler.run_cycle(group)
        state = agent.store.devices[device]
        seen.append((state.up, state.reading.driver if state.reading else state.error_reason))
        if state.reading is not None and state.reading.driver == "vnish":
            break
    state = agent.store.devices[device]
    assert state.reading is not None and state.reading.driver == "vnish", seen
    assert state.reading.firmware == "vnish"
    assert agent.store.devices[device].identity.firmware == "vnish"
    others = [d for dev, d in agent.store.devices.items() if dev != device]
    assert all(d.up for d in others)


async def test_the_simulator_streams_a_gigabyte_without_buffering_it(site: SimSite) -> None:
    """The fault really sends 1 GiB (read to the end here) while neither side holds it in memory."""
    m = site.miners[2]
    site.set_fault(m.ip, "gigabyte")
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    tracemalloc.start()
    try:
        await loop.sock_connect(sock, (m.ip, m.port))
        await loop.sock_sendall(sock, b'{"command":"summary"}')
        total, last = 0, b""
        deadline = loop.time() + 120
        while loop.time() < deadline:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 10)
            if not chunk:
                break
            total += len(chunk)
            last = chunk[-1:]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        sock.close()
    assert total > GIGABYTE - (1 << 20) and last == b"\x00"  # the filler stops within one block of 1 GiB
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MiB traced while streaming 1 GiB"


# ----------------------------------------------------------------------------------------------- SYN black hole

NETNS = f"fwtest-bh-{os.getpid()}"
BLACKHOLED = "10.99.0.2"


def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    if shutil.which("ip") is None:
        return "needs iproute2 (`ip netns`)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        return f"`ip netns` unavailable: {probe.stderr.decode().strip()}"
    return None


@pytest.fixture
def blackhole_netns() -> object:
    """A namespace where BLACKHOLED is routed onto a veth whose frames nobody accepts: every SYN vanishes
    (no RST, no ICMP), the way a powered-off miner behind a switch looks."""
    reason = _netns_available()
    if reason is not None:
        pytest.skip(reason)
    setup = (
        "ip link set lo up && ip link add fwbh0 type veth peer name fwbh1 && "
        "ip addr add 10.99.0.1/24 dev fwbh0 && ip link set fwbh0 up && ip link set fwbh1 up && "
        f"ip neigh replace {BLACKHOLED} lladdr 02:00:00:00:00:02 dev fwbh0 nud permanent"
    )
    made = subprocess.run(["ip", "netns", "add", NETNS], capture_output=True, timeout=10)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.decode().strip()}")
    try:
        done = subprocess.run(["ip", "netns", "exec", NETNS, "sh", "-c", setup], capture_output=True, timeout=10)
        if done.returncode != 0:
            pytest.skip(f"cannot set up the black hole (no veth support?): {done.stderr.decode().strip()}")
        yield NETNS
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, timeout=10)


def _probe_in_netns(netns: str, timeout: float) -> dict[str, object]:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-m", "tests.support.blackhole_probe", BLACKHOLED, str(timeout)],
        capture_output=True, timeout=60, cwd=root,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def test_syn_that_never_completes_costs_one_deadline_and_nobody_else(blackhole_netns: str) -> None:
    result = _probe_in_netns(blackhole_netns, 1.5)
    assert result["duration"] < 1.5 + 1.0, result  # type: ignore[operator]
    assert result["victim_up"] is False
    assert result["others_up"] == result["others"] == 12
    assert result["tasks"] == 0  # no probe task left behind after the cycle
    assert "timeout" in str(result["victim_message"])


def test_syn_black_hole_reason_is_timeout(blackhole_netns: str) -> None:
    result = _probe_in_netns(blackhole_netns, 1.5)
    assert result["victim_reason"] == "timeout", result


@pytest.mark.parametrize("fault, reason", [("hang", "timeout"), ("refuse", "refused")])
async def test_down_reason_survives_reidentification(site: SimSite, fault: str, reason: str) -> None:
    agent, group = make_agent(site)
    await agent.scheduler.run_cycle(group)
    victim = site.miners[4]
    device = f"{victim.ip}:{victim.port}"
    site.set_fault(victim.ip, fault)
    reasons = []
    for _ in range(3):
        agent.store.devices[device].next_attempt = 0.0
        await agent.scheduler.run_cycle(group)
        reasons.append(agent.store.devices[device].error_reason)
    assert reasons == [reason] * 3
