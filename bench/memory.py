"""Where the agent's memory peak comes from: the peak of each phase (identification cycle, steady cycles, the
renders), and with ``--trace`` what the largest peak is made of.

The agent runs in this process against a simulated site in its own processes, with the daemon's own wiring (each
cycle ends in a render, a cycle still running at half the interval publishes — renders — what it has). Each
phase's resident peak is VmHWM after resetting it (``/proc/self/clear_refs`` = 5) at the phase's start, so phases
are measured apart without tracemalloc's own overhead. ``--trace`` adds tracemalloc (slower, more memory): a
sampler snapshots the Python heap each time it reaches a new high, and the highest snapshot is printed against
the heap before the first cycle, by the line that allocated it.

    .venv/bin/python bench/memory.py --miners 5000 --cycles 3 --trace
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.daemon import Agent  # noqa: E402
from agent.runtime import run_loop  # noqa: E402
from collectors.asic import identify  # noqa: E402
from collectors.asic.group import MinerGroup  # noqa: E402
from collectors.asic.poll import MinerSession  # noqa: E402
from simsite.addresses import addresses  # noqa: E402


def status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def pymalloc() -> str:
    """Python's small-object allocator: arenas held (1 MiB each), bytes in live blocks, bytes free inside them
    (fragmentation: an arena goes back to the system only when every block in it is free)."""
    with tempfile.TemporaryFile("w+") as f:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read()

    def num(label: str) -> float:
        m = re.search(re.escape(label) + r"\s*=\s*([\d,]+)", text)
        return int(m[1].replace(",", "")) / 1e6 if m else 0.0

    return (f"pymalloc arenas={num('# arenas allocated current') * 1e6 * 1.048576:.0f}MB "
            f"(highwater {num('# arenas highwater mark') * 1e6 * 1.048576:.0f}MB) "
            f"live={num('# bytes in allocated blocks'):.0f}MB free-in-arenas="
            f"{num('# bytes in available blocks') + num('unused pools * 16384 bytes'):.0f}MB")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class HeapSampler:
    """Snapshots the traced heap each time it grows 5 % past the last snapshot (the peak's make-up)."""

    def __init__(self) -> None:
        self.best = 0
        self.snapshot: tracemalloc.Snapshot | None = None
        self.where = ""
        self.phase = ""

    def sample(self) -> None:
        current, _peak = tracemalloc.get_traced_memory()
        if current > self.best * 1.05:
            self.best = current
            self.snapshot = tracemalloc.take_snapshot().filter_traces(
                (tracemalloc.Filter(False, tracemalloc.__file__),))
            self.where = self.phase

    async def run(self, every: float) -> None:
        while True:
            self.sample()
            await asyncio.sleep(every)


async def measure(ips: list[str], args: argparse.Namespace) -> None:
    sessions = [MinerSession(host=ip, port=4028) for ip in ips]
    group = MinerGroup(name="bench", sessions=sessions, interval=args.interval, timeout=10.0,
                       concurrency=args.concurrency, per_subnet=256)
    agent = Agent(site="bench", groups=[group], listen="127.0.0.1:0")
    sampler = HeapSampler()
    base = None
    if args.trace:
        tracemalloc.start(args.frames)
        gc.collect()
        base = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
    task = asyncio.ensure_future(sampler.run(0.25)) if args.trace else None
    can_reset = reset_peak()
    print(f"# before the first cycle: rss={status_mb('VmRSS'):.0f}MB"
          + ("" if can_reset else "  (VmHWM cannot be reset here: peaks are cumulative)"), flush=True)
    try:
        for i in range(args.cycles):
            sampler.phase = f"cycle {i + 1}"
            reset_peak()
            if args.trace:
                tracemalloc.reset_peak()
            cpu0, t0 = time.process_time(), time.perf_counter()
            await agent.scheduler.run_cycle(group)  # ends in agent.refresh(): the render of this cycle
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
            up, total = agent.store.counts()
            traced = (f" traced peak={tracemalloc.get_traced_memory()[1] / 1e6:.0f}MB"
                      f" now={tracemalloc.get_traced_memory()[0] / 1e6:.0f}MB") if args.trace else ""
            trimmed = ""
            if args.trim:
                gc.collect()
                before = status_mb("VmRSS")
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                trimmed = f" (malloc_trim: {before:.0f} -> {status_mb('VmRSS'):.0f}MB)"
            print(f"cycle={i + 1}{' (identification)' if i == 0 else ''} wall={wall:.2f}s "
                  f"cpu/miner={1000 * cpu / len(ips):.3f}ms up={up}/{total} render={agent._render_seconds:.2f}s "
                  f"peak={status_mb('VmHWM'):.0f}MB rss={status_mb('VmRSS'):.0f}MB{traced}{trimmed}", flush=True)
            if not args.trace:  # tracemalloc's hooks hide pymalloc's own counts
                print(f"    {pymalloc()}", flush=True)
    finally:
        if task is not None:
            task.cancel()
    if args.trace and base is not None:
        gc.collect()
        live = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
        print(f"## kept after cycle {args.cycles} (what stays between cycles), over the heap before the first "
              f"cycle, by allocating line:")
        for stat in live.compare_to(base, "lineno")[: args.top]:
            print(f"  {stat.size_diff / 1e6:8.1f} MB  {stat.count_diff:9d} blocks  {stat.traceback[0]}")
    if args.trace and base is not None and sampler.snapshot is not None:
        print(f"## the largest traced heap: {sampler.best / 1e6:.0f}MB during {sampler.where}; "
              f"growth over the heap before the first cycle, by allocating line:")
        stats = sampler.snapshot.compare_to(base, "traceback" if args.frames > 1 else "lineno")
        for stat in stats[: args.top]:
            frames = stat.traceback.format(limit=args.frames)
            where = " <- ".join(line.strip() for line in frames if not line.startswith("    "))
            print(f"  {stat.size_diff / 1e6:8.1f} MB  {stat.count_diff:9d} blocks  {where}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, default=5000)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--interval", type=float, default=30.0, help="half of it: the in-cycle publish (render)")
    ap.add_argument("--concurrency", type=int, default=2000)
    ap.add_argument("--identify-limit", type=int, default=None,
                    help=f"identifications in flight (default {identify.IDENTIFY_LIMIT}; 0: only the group's concurrency)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--base-ip", default="127.72.0.1")
    ap.add_argument("--latency-ms", type=float, nargs=2, default=(50.0, 50.0))
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--variants", default="no_join=0.2")
    ap.add_argument("--trace", action="store_true", help="tracemalloc: what the peak is made of (slower)")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) after each cycle (how much is free heap)")
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    if args.identify_limit is not None:
        identify.IDENTIFY_LIMIT = args.identify_limit or 1 << 30
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"# farmwatch memory benchmark  {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  "
          f"{os.cpu_count()} cores  Python {platform.python_version()}  miners={args.miners} "
          f"loop={os.environ.get('FARMWATCH_LOOP', 'auto')} identify-limit={identify.IDENTIFY_LIMIT} "
          f"concurrency={args.concurrency} load={os.getloadavg()[0]:.1f}", flush=True)
    sim = subprocess.Popen(
        [sys.executable, "-m", "simsite", "--count", str(args.miners), "--seed", str(args.seed),
         "--base-ip", args.base_ip, "--processes", str(args.processes),
         "--latency-ms", f"{args.latency_ms[0]:g}", f"{args.latency_ms[1]:g}",
         *(["--variants", args.variants] if args.variants else [])],
        cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True,
    )
    try:
        assert sim.stdout is not None
        started = 0
        for line in sim.stdout:  # each simulator process prints "simsite: N miners ..." once its miners listen
            started += line.startswith(b"simsite:")
            if started == args.processes:
                break
        else:
            raise SystemExit("the simulated site did not start")
        run_loop(measure(addresses(args.base_ip, args.miners), args))
    finally:
        os.killpg(sim.pid, 15)
        sim.wait(30)


if __name__ == "__main__":
    main()
