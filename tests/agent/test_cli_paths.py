"""The CLI as a person uses it at a terminal (issue 12): pipes into ``head``, a ``--driver`` that does not match the
device, a name that does not resolve, an RPC-closed miner behind a web login, two demos on one host. Each runs
the real ``farmwatch`` process against the simulated site on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]


async def farmwatch(*args: str, close_stdout: bool = False) -> tuple[int, str, str]:
    """Run ``python -m agent ARGS``; with ``close_stdout`` the reader goes away before anything is written
    (what ``| head -1`` does once it has its line), so every write meets a closed pipe."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stderr is not None
    if close_stdout:
        transport = proc._transport  # type: ignore[attr-defined]
        transport.get_pipe_transport(1).close()
        err = await asyncio.wait_for(proc.stderr.read(), 60)
        await asyncio.wait_for(proc.wait(), 60)
        return proc.returncode or 0, "", err.decode()
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def antminers() -> AsyncIterator[SimSite]:
    s = SimSite.build(count=4, seed=3, base_ip="127.61.0.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    async with s:
        yield s


async def test_poll_json_into_a_closed_pipe_ends_quietly_with_exit_0(antminers: SimSite) -> None:
    rc, _out, err = await farmwatch("poll", antminers.miners[0].ip, "--json", close_stdout=True)
    assert (rc, err) == (0, "")  # no BrokenPipeError traceback, and not exit 1 ("device unreadable")


async def test_scan_into_a_closed_pipe_still_writes_its_files(antminers: SimSite, tmp_path: Path) -> None:
    out = tmp_path / "t.yaml"
    rc, _out, err = await farmwatch("scan", "127.61.0.1-127.61.0.6", "--write-targets", str(out),
                                    close_stdout=True)
    assert rc == 0 and "Traceback" not in err and "BrokenPipe" not in err
    assert all(m.ip in out.read_text() for m in antminers.miners)


async def test_poll_with_the_wrong_driver_warns_and_json_notes_it(antminers: SimSite) -> None:
    ip = antminers.miners[0].ip
    rc, out, err = await farmwatch("poll", ip, "--driver", "whatsminer", "--json")
    assert rc == 0
    assert "warning: --driver whatsminer: the device identifies as antminer;" in err
    assert any("identifies as antminer" in w for w in json.loads(out)["warnings"])
    rc, out, err = await farmwatch("poll", ip, "--driver", "antminer", "--json")  # the right one: silent
    assert rc == 0 and err == "" and "warnings" not in json.loads(out)


async def test_a_name_that_does_not_resolve_is_reason_resolve_in_cli_and_daemon() -> None:
    rc, _out, err = await farmwatch("poll", "no-such-miner.invalid")
    assert rc == 1
    assert err.startswith("farmwatch: no-such-miner.invalid:4028: resolve: cannot resolve") and "refused" not in err
    group = MinerGroup(name="g", sessions=[MinerSession(host="no-such-miner.invalid", port=4028)], timeout=5.0)
    agent = Agent(site="t", groups=[group], listen="127.0.0.1:0")
    await agent.scheduler.run_cycle(group)
    await agent.refresh()
    text = agent.rendered().body(openmetrics=False, gzipped=False).decode()
    assert 'farmwatch_miner_error_info{device="no-such-miner.invalid:4028",reason="resolve"} 1' in text


@pytest.fixture
async def rpc_closed() -> AsyncIterator[SimSite]:
    # A stock Antminer whose RPC is off: its bmminer API listens on 4029, nothing on 4028, the web UI (Digest
    # login) on 80.
    s = SimSite.build(count=1, seed=8, base_ip="127.61.1.1", mix={"antminer_web": 1.0}, port=4029,
                      latency_ms=(0.5, 1.0))
    async with s:
        yield s


async def test_rpc_closed_miner_behind_a_web_login_says_so_with_cli_flags(rpc_closed: SimSite) -> None:
    ip = rpc_closed.miners[0].ip
    rc, _out, err = await farmwatch("poll", ip)
    assert rc == 1
    assert f"{ip}:4028: auth: antminer at {ip}: RPC refused; the web API needs a login: pass --web-password-file" in err
    assert "--web-password-file" in err and "credentials." not in err  # a flag, not a site.yaml key
    rc, out, err = await farmwatch("poll", ip, "--use-default-password", "--json")
    assert rc == 0, err
    assert json.loads(out)["mac"] == rpc_closed.miners[0].mac
    # The daemon says the same with the config key to set.
    group = MinerGroup(name="g", sessions=[MinerSession(host=ip, port=4028)], timeout=5.0)
    agent = Agent(site="t", groups=[group], listen="127.0.0.1:0")
    await agent.scheduler.run_cycle(group)
    state = agent.store.devices[f"{ip}:4028"]
    assert state.error_reason == "auth" and "credentials.web_password_file" in (state.error_message or "")


async def test_two_demos_on_different_base_ips_share_a_host() -> None:
    pytest.importorskip("snmpsim")
    from agent.demo import run_demo

    # Before, both demos put their PDUs on 127.30.0.x and the second could not bind them.
    await asyncio.wait_for(asyncio.gather(
        run_demo(miners=3, base_ip="127.62.0.1", listen="127.0.0.1:0", interval=2.0, duration=1.0),
        run_demo(miners=3, base_ip="127.63.0.1", listen="127.0.0.1:0", interval=2.0, duration=1.0),
    ), 120)


async def test_an_snmp_name_that_does_not_resolve_is_one_line_not_a_traceback() -> None:
    rc, _out, err = await farmwatch("poll", "snmp://public@no-such-pdu.invalid")
    assert rc == 1
    assert err == "farmwatch: no-such-pdu.invalid:161: resolve: cannot resolve no-such-pdu.invalid\n"


async def test_check_config_into_a_closed_pipe_keeps_its_failing_status(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text('site: x\nminers:\n  - targets: ["10.0.0.300"]\n  - targets: ["10.0.0.301"]\n')
    rc, _out, err = await farmwatch("check-config", str(bad), close_stdout=True)
    assert rc == 1 and "2 problem(s)" in err and "Traceback" not in err
