"""Hostile clients against a real ``farmwatch run`` (issue 11): what an idle-connection flood and clients that
never read cost the agent, measured, never asserted (tests/agent/test_hostile_clients.py asserts the bounds).

    .venv/bin/python -m bench.hostile [--miners 50] [--flood 1100] [--nofile 1024] [--seconds 10]

Prints the agent's descriptors and RSS before and during the flood, /metrics latency from another address
during it, miners up after it, and the size of the agent's log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from simsite import SimSite

ROOT = Path(__file__).resolve().parents[1]


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


async def _scrape(url: str) -> tuple[float, str]:
    t0 = time.monotonic()
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http, \
            http.get(url) as r:
        text = await r.text()
    return time.monotonic() - t0, text


def _open_idle(port: int) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s


async def main(args: argparse.Namespace) -> None:
    site = SimSite.build(count=args.miners, seed=3, base_ip="127.140.0.1", latency_ms=(1.0, 3.0))
    await site.start()
    tmp = Path(tempfile.mkdtemp(prefix="fw-hostile-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp / "site.yaml").write_text(
        f'site: bench\ngpus: {{enabled: false}}\nlisten: "127.0.0.1:{port}"\nminers:\n'
        f'  - targets: ["{site.miners[0].ip}-{site.miners[-1].ip}"]\n    interval: 3s\n    timeout: 2500ms\n')
    log = open(tmp / "agent.log", "wb")  # noqa: SIM115 - closed below

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "run", "--config", str(tmp / "site.yaml"), cwd=ROOT, stdout=log,
        stderr=log, preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        await asyncio.sleep(5)
        print(f"before: {_fds(proc.pid)} descriptors, {_rss_mb(proc.pid):.0f} MB")
        socks = [_open_idle(port) for _ in range(args.flood)]
        latencies: list[float] = []
        most = 0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            await asyncio.sleep(0.5)
            for i, s in enumerate(socks):  # keep the flood: reopen what the agent closed
                try:
                    closed = s.recv(1) == b""
                except BlockingIOError:
                    closed = False
                except OSError as e:
                    closed = e.errno != 107
                if closed:
                    s.close()
                    socks[i] = _open_idle(port)
            most = max(most, _fds(proc.pid))
            latencies.append((await _scrape(url))[0])
        rss = _rss_mb(proc.pid)
        for s in socks:
            s.close()
        _, text = await _scrape(url)
        up = sum(float(v) for v in re.findall(r"^farmwatch_miner_up\{[^}]*\} (\S+)$", text, re.M))
        latencies.sort()
        print(f"during {args.flood} idle connections: at most {most} descriptors, {rss:.0f} MB; /metrics from "
              f"another address median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
              f"max {latencies[-1] * 1000:.0f} ms over {len(latencies)} scrapes")
        print(f"after: {up:.0f} of {args.miners} miners up; agent log {(tmp / 'agent.log').stat().st_size} bytes")
    finally:
        proc.terminate()
        await proc.wait()
        log.close()
        await site.stop()


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--miners", type=int, default=50)
    p.add_argument("--flood", type=int, default=1100)
    p.add_argument("--nofile", type=int, default=1024)
    p.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
