"""The CLI as a person uses it: exit codes and one-line reasons, never a traceback."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agent.scan.output import targets_yaml
from agent.scan.sweep import scan
from collectors.asic.http import close_session
from collectors.asic.identify import identify
from collectors.asic.poll import MinerSession
from collectors.errors import DeviceUnresolved
from simsite import SimSite
from tests.support.replay import ReplayMiner


def farmwatch(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=timeout)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_poll_unreachable_is_exit_1_with_one_line() -> None:
    res = farmwatch("poll", f"127.0.0.1:{closed_port()}", "--timeout", "2")
    assert res.returncode == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0]
    assert "Traceback" not in res.stderr


MYSTERY_VERSION = (b'{"STATUS":[{"STATUS":"S","When":1,"Code":22,"Msg":"CGMiner versions","Description":"mystery 1.0"}],'
                   b'"VERSION":[{"CGMiner":"1.0"}],"id":1}')
MYSTERY_SUMMARY = (b'{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary","Description":"mystery 1.0"}],'
                   b'"SUMMARY":[{"Elapsed":600,"MHS av":51000000.0,"MHS 5s":50000000.0,"Accepted":3}],"id":1}')


def poll_replay(replies: dict[str, bytes], *args: str) -> subprocess.CompletedProcess[str]:
    import asyncio

    async def run() -> subprocess.CompletedProcess[str]:
        async with ReplayMiner(replies, description="mystery 1.0") as m:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agent", "poll", f"{m.host}:{m.port}", *args,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            return subprocess.CompletedProcess([], proc.returncode or 0, out.decode(), err.decode())

    return asyncio.run(run())


def test_poll_unknown_cgminer_firmware_is_read_by_the_generic_reader_and_says_so() -> None:
    res = poll_replay({"version": MYSTERY_VERSION, "summary": MYSTERY_SUMMARY})
    assert res.returncode == 0, res.stderr
    assert "(cgminer, firmware mystery 1.0)" in res.stdout
    assert "50.00 TH/s" in res.stdout  # MHS 5s, not the since-boot MHS av
    assert "note        generic cgminer-API reader" in res.stdout
    res = poll_replay({"version": MYSTERY_VERSION, "summary": MYSTERY_SUMMARY}, "--json")
    body = json.loads(res.stdout)
    assert body["driver"] == "cgminer" and body["power_w"] is None and body["notes"]


def test_poll_cgminer_with_nothing_to_read_says_what_it_saw() -> None:
    res = poll_replay({"version": MYSTERY_VERSION})
    assert res.returncode == 1
    assert "parse" in res.stderr and "mystery 1.0" in res.stderr and "no summary, stats or devs" in res.stderr


def test_poll_unknown_firmware_says_what_it_saw() -> None:
    res = poll_replay({})  # every command answered "Invalid command": nothing speaks a readable API
    assert res.returncode == 1
    assert "unsupported" in res.stderr and "mystery 1.0" in res.stderr


def test_usage_errors_exit_2() -> None:
    assert farmwatch("poll").returncode == 2
    assert farmwatch("poll", "10.0.0.1", "--driver", "nosuch").returncode == 2
    assert farmwatch("poll", "10.0.0.1:notaport").returncode == 2
    assert farmwatch("frobnicate").returncode == 2


# -- targets: checked up front (exit 2), unresolvable names are unreadable devices (exit 1) ------------------
LONG_LABEL = "a" * 64 + ".example"  # a DNS label is at most 63 characters


@pytest.mark.parametrize("target", ["[::1]:99999", "10.0.0.1:0", ":4028", "[]:4028", "host:", LONG_LABEL,
                                    "10.0.0.0/24"])
def test_poll_bad_host_or_port_is_a_usage_error_in_one_line(target: str) -> None:
    res = farmwatch("poll", target, "--timeout", "2")
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and "never retrieved" not in res.stderr


async def test_identify_turns_an_unencodable_name_into_resolve_and_leaves_no_task_behind() -> None:
    """A label over 63 characters fails in the IDNA codec (UnicodeError, not OSError) inside both probes at
    once: identification must say ``resolve`` (the name cannot be looked up; nothing was reached), not let it
    escape one task and leave the other probe's exception unretrieved."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    try:
        for _ in range(10):
            with pytest.raises(DeviceUnresolved, match="cannot resolve"):
                await identify(MinerSession(host=LONG_LABEL), deadline=loop.time() + 3)
        await close_session()
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reported == []


async def afarmwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess while this event loop serves the simulated miners."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return subprocess.CompletedProcess(list(args), proc.returncode or 0, out.decode(), err.decode())


# -- device: one key per miner, whoever found it --------------------------------------------------------------
async def test_http_only_miner_is_polled_and_keyed_at_its_web_port_as_scan_writes_it() -> None:
    site = SimSite.build(count=1, seed=3, base_ip="127.78.1.1", mix={"bitaxe": 1.0}, latency_ms=(0.0, 0.0))
    async with site:
        m = site.miners[0]
        assert m.port == 80
        rows = await scan([m.ip], show_progress=False)
        assert [f"{r.ip}:{r.port}" for r in rows] == [f"{m.ip}:80"]
        assert f'"{m.ip}:80"' in targets_yaml(rows, [m.ip])
        identified = await afarmwatch("poll", m.ip, "--json")
        named = await afarmwatch("poll", m.ip, "--driver", "bitaxe", "--json")
        explicit = await afarmwatch("poll", f"{m.ip}:4028", "--json")  # a port given is kept
    for res in (identified, named, explicit):
        assert res.returncode == 0, res.stderr
    assert json.loads(identified.stdout)["device"] == f"{m.ip}:80"
    assert json.loads(named.stdout)["device"] == f"{m.ip}:80"
    doc = json.loads(explicit.stdout)
    assert doc["device"] == f"{m.ip}:4028" and doc["driver"] == "bitaxe"


# -- web login: the same flags as scan, the password from a file or the environment ---------------------------
@pytest.mark.parametrize(("fw", "password"), [("goldshell", "123456789"), ("iceriver", "12345678")])
async def test_poll_reads_login_only_firmwares_with_the_scan_login_flags(
        fw: str, password: str, tmp_path: Path) -> None:
    good, wrong = tmp_path / "pw", tmp_path / "wrong"
    good.write_text(password + "\n")
    wrong.write_text("not-the-password\n")
    net = {"goldshell": 2, "iceriver": 3}[fw]
    site = SimSite.build(count=1, seed=4, base_ip=f"127.78.{net}.1", mix={fw: 1.0}, latency_ms=(0.0, 0.0))
    async with site:
        m = site.miners[0]
        bare = await afarmwatch("poll", m.ip, "--json")
        by_default = await afarmwatch("poll", m.ip, "--json", "--use-default-password")
        by_file = await afarmwatch("poll", m.ip, "--json", "--web-password-file", str(good))
        by_env = await afarmwatch("poll", m.ip, "--json", "--web-username", "admin",
                                  "--web-password-env", "FW_TEST_MINER_PW", env={"FW_TEST_MINER_PW": password})
        refused = await afarmwatch("poll", m.ip, "--web-password-file", str(wrong), "--use-default-password")
        missing = await afarmwatch("poll", m.ip, "--web-password-file", str(tmp_path / "nope"))
        unset = await afarmwatch("poll", m.ip, "--web-password-env", "FW_TEST_UNSET_VAR_XYZ")
        inline = await afarmwatch("poll", m.ip, "--web-password", password)
    for res in (bare, refused):  # no login, or a wrong password that the default must not paper over
        assert res.returncode == 1 and "auth" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    for res in (by_default, by_file, by_env):
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["driver"] == fw and doc["device"] == f"{m.ip}:80" and doc["hashrate_ths"]
    for res in (missing, unset, inline):  # usage errors, nothing sent; never the password echoed back
        assert res.returncode == 2 and "Traceback" not in res.stderr and password not in res.stderr, res.stderr
    assert "does not exist" in missing.stderr and "FW_TEST_UNSET_VAR_XYZ" in unset.stderr


async def test_poll_with_a_login_reads_auradine_power_and_fans() -> None:
    site = SimSite.build(count=1, seed=5, base_ip="127.78.4.1", mix={"auradine": 1.0}, latency_ms=(0.0, 0.0))
    async with site:
        m = site.miners[0]
        rpc_only = await afarmwatch("poll", m.ip, "--json")
        logged_in = await afarmwatch("poll", m.ip, "--json", "--use-default-password")
    assert rpc_only.returncode == 0 and logged_in.returncode == 0, rpc_only.stderr + logged_in.stderr
    before, after = json.loads(rpc_only.stdout), json.loads(logged_in.stdout)
    assert before["power_w"] is None and before["fans_rpm"] == []
    truth = m.truth()
    assert after["device"] == f"{m.ip}:4028"
    assert after["power_w"] == pytest.approx(truth["power_w"]) and after["fans_rpm"] == truth["fans_rpm"]


def test_poll_help_lists_the_login_flags() -> None:
    res = farmwatch("poll", "--help")
    assert res.returncode == 0
    for flag in ("--web-password-file", "--web-password-env", "--web-username", "--use-default-password"):
        assert flag in res.stdout
