"""Poll-cycle benchmark: the agent against a simulated site running in its own process.

Measures, per fleet size: wall time of a full poll cycle, the agent process's CPU per miner per cycle
(the simulator's CPU is not counted: it runs in another process), render time and size of /metrics,
and resident memory. The first cycle includes firmware identification; later cycles are steady state.

    .venv/bin/python bench/cycle.py --miners 1000 5000 --cycles 3
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import ipaddress
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.daemon import Agent  # noqa: E402
from agent.scheduler import MinerGroup  # noqa: E402
from bench.common import wait_listening  # noqa: E402
from collectors.asic.poll import MinerSession  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def addresses(base: str, count: int) -> list[str]:
    out: list[str] = []
    addr = ipaddress.IPv4Address(base)
    while len(out) < count:
        if addr.packed[-1] not in (0, 255):
            out.append(str(addr))
        addr += 1
    return out


async def measure(ips: list[str], cycles: int, interval: float, timeout: float) -> list[dict[str, float]]:
    sessions = [MinerSession(host=ip, port=4028) for ip in ips]
    group = MinerGroup(name="bench", sessions=sessions, interval=interval, timeout=timeout,
                       concurrency=2000, per_subnet=256)
    agent = Agent(site="bench", groups=[group], listen="127.0.0.1:0")
    results = []
    for i in range(cycles):
        cpu0, t0 = time.process_time(), time.perf_counter()
        await agent.scheduler.run_cycle(group)
        poll_cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        r0 = time.perf_counter()
        rendered = agent._render()
        render_s = time.perf_counter() - r0
        g0 = time.perf_counter()
        gz = gzip.compress(rendered.openmetrics, compresslevel=1)
        gzip_s = time.perf_counter() - g0
        up, total = agent.store.counts()
        results.append({
            "cycle": i + 1, "wall_s": wall, "cpu_ms_per_miner": 1000 * poll_cpu / len(ips), "up": up,
            "total": total, "render_s": render_s, "gzip_s": gzip_s, "metrics_mb": len(rendered.openmetrics) / 1e6,
            "gzip_mb": len(gz) / 1e6, "rss_mb": rss_mb(),
        })
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--base-ip", default="127.60.0.1")
    ap.add_argument("--latency-ms", type=float, nargs=2, default=(5.0, 20.0))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"# farmwatch cycle benchmark  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
          f"{os.cpu_count()} cores  Python {platform.python_version()}")
    for count in args.miners:
        sim = subprocess.Popen(
            [sys.executable, "-m", "simsite", "--count", str(count), "--seed", str(args.seed),
             "--base-ip", args.base_ip, "--latency-ms", str(args.latency_ms[0]), str(args.latency_ms[1])],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            ips = addresses(args.base_ip, count)
            wait_listening(ips[-1], 4028, 120)
            rows = asyncio.run(measure(ips, args.cycles, interval=60.0, timeout=10.0))
        finally:
            sim.terminate()
            sim.wait(30)
        for r in rows:
            print(f"miners={count:<6} cycle={r['cycle']} wall={r['wall_s']:.2f}s "
                  f"cpu/miner={r['cpu_ms_per_miner']:.3f}ms up={r['up']}/{r['total']} "
                  f"render={r['render_s']:.3f}s gzip={r['gzip_s']:.3f}s metrics={r['metrics_mb']:.1f}MB "
                  f"gz={r['gzip_mb']:.2f}MB rss={r['rss_mb']:.0f}MB", flush=True)


if __name__ == "__main__":
    main()
