"""The CLI as a person uses it: exit codes and one-line reasons, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.conformance.server import ReplayMiner


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


def test_poll_unknown_firmware_says_what_it_saw() -> None:
    version = b'{"STATUS":[{"STATUS":"S","When":1,"Code":22,"Msg":"CGMiner versions","Description":"mystery 1.0"}],"VERSION":[{"CGMiner":"1.0"}],"id":1}'

    async def run() -> subprocess.CompletedProcess[str]:
        import asyncio

        async with ReplayMiner({"version": version}) as m:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agent", "poll", f"{m.host}:{m.port}",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            return subprocess.CompletedProcess([], proc.returncode or 0, out.decode(), err.decode())

    import asyncio

    res = asyncio.run(run())
    assert res.returncode == 1
    assert "unsupported" in res.stderr and "mystery 1.0" in res.stderr


def test_usage_errors_exit_2() -> None:
    assert farmwatch("poll").returncode == 2
    assert farmwatch("poll", "10.0.0.1", "--driver", "nosuch").returncode == 2
    assert farmwatch("poll", "10.0.0.1:notaport").returncode == 2
    assert farmwatch("frobnicate").returncode == 2
