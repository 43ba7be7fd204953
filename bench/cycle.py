"""Poll-cycle benchmark: the agent against a simulated site running in its own process.

Measures, per fleet size: wall time of a full poll cycle, the agent process's CPU per miner per cycle
(the simulator's CPU is not counted: it runs in another process), render time and size of /metrics,
and resident memory. The first cycle includes firmware identification; later cycles are steady state. A cycle
is the agent's whole cycle: the polls and the publication that ends it (the render of /metrics and the floor
view's rebuild, ``Agent._on_cycle``), so "steady" is what one cycle of the agent costs; the render is also timed
on its own (a second render, not added to it) to show its share.

Beside it, in the same run on the same fleet: a bare asyncio client (connect, one ``summary`` command, read to
EOF, close, nothing parsed) as the floor, and the ratio to it; and, with ``--profile``, one more steady cycle
(its render included) under cProfile, with its time split into connect, read/write, JSON parse, driver parse,
scheduler/store (the timer, the group's cycle, poll and fetch steps, the store), render and the rest (the event
loop, builtins), scaled to the unprofiled CPU per miner.

    .venv/bin/python bench/cycle.py --miners 1000 --cycles 4 --mix mixed --variants no_join=0.3 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import ipaddress
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.daemon import Agent  # noqa: E402
from agent.runtime import run_loop  # noqa: E402
from collectors.asic.group import MinerGroup  # noqa: E402
from collectors.asic.poll import MinerSession  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now, or its high-water mark with ``VmHWM`` (the peak, identification included)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
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


async def bare_client(ips: list[str], concurrency: int = 500) -> float:
    """CPU seconds per miner of the floor: connect, send ``summary``, read to EOF, close; nothing parsed."""
    limit = asyncio.Semaphore(concurrency)

    async def one(ip: str) -> None:
        async with limit:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, 4028), 10)
                writer.write(b'{"command":"summary"}')
                await asyncio.wait_for(reader.read(), 10)
                writer.close()
            except (TimeoutError, OSError):
                pass

    cpu0 = time.process_time()
    await asyncio.gather(*(one(ip) for ip in ips))
    return (time.process_time() - cpu0) / len(ips)


# Where a profiled function's own time goes, by its file (or name for the C functions cProfile names by method).
_PARTS = (
    # Under uvloop, connect/send/recv run in C inside these Python frames, so they cannot be split further there;
    # FARMWATCH_LOOP=asyncio splits them (at the standard loop's own higher cost).
    ("sockets: connect", ("connect", "create_connection", "socket.socket", "_SelectorSocketTransport.__init__",
                          "collectors/asic/rpc.py:exchange", "collectors/asic/http.py:_open")),
    ("JSON parse", ("json/", "_json", "scan_once", "collectors/asic/rpc.py:decode", "repair", "raw_decode",
                    "orjson", "collectors/asic/fastjson")),
    ("driver parse", ("collectors/asic/drivers/", "collectors/asic/normalize", "collectors/asic/reading",
                      "collectors/asic/units", "collectors/asic/bounds", "collectors/asic/models")),
    ("render", ("agent/exposition", "agent/metrics", "collectors/asic/metrics", "collectors/families", "gzip",
                "zlib")),
    ("sockets: read/write", ("selector_events", "streams.py", "recv", "send", "_read_ready", "sock_", "write",
                             "data_received", "connection_made", "connection_lost", "eof_received")),
    # The per-poll bookkeeping: the timer, the group's cycle (limits, backoff), the poll and fetch steps, the store.
    ("scheduler/store", ("agent/scheduler", "collectors/asic/group", "collectors/asic/store",
                         "collectors/asic/expected", "collectors/asic/poll", "collectors/asic/context",
                         "collectors/asic/session", "collectors/asic/rpc.py:fetch", "asyncio/timeouts",
                         "asyncio/locks", "asyncio/tasks")),
)
OTHER = "other (event loop, builtins)"


def breakdown(prof: cProfile.Profile) -> dict[str, float]:
    """Own time (tottime) per part: the first part whose pattern is in ``file:line(function)`` takes it."""
    stats = pstats.Stats(prof)
    out = {name: 0.0 for name, _ in _PARTS} | {OTHER: 0.0}
    for (file, line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{file}:{func}" if line else func
        part = next((name for name, pats in _PARTS if any(p in where for p in pats)), OTHER)
        out[part] += tt
    return out


async def measure(ips: list[str], cycles: int, interval: float, timeout: float,
                  profile: bool = False) -> tuple[list[dict[str, float]], dict[str, float]]:
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
            "gzip_mb": len(gz) / 1e6, "rss_mb": rss_mb(), "peak_mb": rss_mb("VmHWM"),
        })
    parts: dict[str, float] = {}
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        await agent.scheduler.run_cycle(group)  # the polls and the cycle's own render (on_cycle)
        prof.disable()
        parts = breakdown(prof)
        if os.environ.get("FARMWATCH_PROFILE_TOP"):  # the functions behind the parts, for whoever optimises next
            pstats.Stats(prof).sort_stats("tottime").print_stats(int(os.environ["FARMWATCH_PROFILE_TOP"]))
    return results, parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--base-ip", default="127.60.0.1")
    ap.add_argument("--latency-ms", type=float, nargs=2, default=(5.0, 20.0))
    ap.add_argument("--mix", default=None, help="simsite firmware mix (e.g. mixed)")
    ap.add_argument("--variants", default=None, help="simsite variant shares (e.g. no_join=0.3)")
    ap.add_argument("--profile", action="store_true", help="profile-backed breakdown of one steady cycle")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"# farmwatch cycle benchmark  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
          f"{os.cpu_count()} cores  Python {platform.python_version()}  loop "
          f"{os.environ.get('FARMWATCH_LOOP', 'auto (uvloop when installed)')}")
    for count in args.miners:
        sim = subprocess.Popen(
            [sys.executable, "-m", "simsite", "--count", str(count), "--seed", str(args.seed),
             "--base-ip", args.base_ip, "--latency-ms", str(args.latency_ms[0]), str(args.latency_ms[1]),
             *(["--mix", args.mix] if args.mix else []), *(["--variants", args.variants] if args.variants else [])],
            cwd=ROOT, stdout=subprocess.PIPE,
        )
        try:
            ips = addresses(args.base_ip, count)
            assert sim.stdout is not None
            for line in sim.stdout:  # "simsite: N miners ..." is printed once every miner listens
                if line.startswith(b"simsite:"):
                    break
            else:
                raise SystemExit("the simulated site did not start")
            bare = min(run_loop(bare_client(ips)) for _ in range(2))  # the same event loop as the agent's
            rows, parts = run_loop(measure(ips, args.cycles, interval=60.0, timeout=10.0, profile=args.profile))
        finally:
            sim.terminate()
            sim.wait(30)
        for r in rows:
            print(f"miners={count:<6} cycle={r['cycle']} wall={r['wall_s']:.2f}s "
                  f"cpu/miner={r['cpu_ms_per_miner']:.3f}ms up={r['up']}/{r['total']} "
                  f"render={r['render_s']:.3f}s gzip={r['gzip_s']:.3f}s metrics={r['metrics_mb']:.1f}MB "
                  f"gz={r['gzip_mb']:.2f}MB rss={r['rss_mb']:.0f}MB peak={r['peak_mb']:.0f}MB", flush=True)
        steady_rows = [r["cpu_ms_per_miner"] for r in rows[1:] or rows]
        steady = statistics.median(steady_rows)
        render_ms = statistics.median(r["render_s"] for r in rows[1:] or rows) * 1000 / count
        print(f"miners={count:<6} first cycle {rows[0]['cpu_ms_per_miner']:.3f} ms/miner, steady cycle (render "
              f"included) median {steady:.3f} ms/miner (min {min(steady_rows):.3f}, max {max(steady_rows):.3f}, "
              f"{len(steady_rows)} cycles), of which the render ~{render_ms:.3f}; bare asyncio client "
              f"{bare * 1000:.3f} ms/miner -> RATIO steady/bare {steady / (bare * 1000):.2f}  "
              f"(load average {os.getloadavg()[0]:.1f})")
        if parts:
            total = sum(parts.values())
            print(f"miners={count:<6} breakdown of one profiled steady cycle, its render included (cProfile own "
                  f"time, scaled to {steady:.3f} ms/miner):")
            for name, t in sorted(parts.items(), key=lambda kv: -kv[1]):
                print(f"    {name:<32} {100 * t / total:5.1f} %  {steady * t / total:.3f} ms/miner")


if __name__ == "__main__":
    main()
