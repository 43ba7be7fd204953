"""farmwatch against pyasic and pyasic-rs (asic-rs, Rust, with Python bindings) on the same simulated fleet.

The peers live only in this benchmark's own environment (never project dependencies)::

    python3 -m venv bench/.venv-peers && bench/.venv-peers/bin/pip install pyasic pyasic-rs
    .venv/bin/python bench/peers.py --miners 300

One simulator process (``python -m simsite --mix mixed``) serves the fleet; each client runs in its own process
(its interpreter: farmwatch's venv, or the peers' venv) and reports, per miner, the CPU of identification
(``get_miner``) and of one steady-state poll (``get_data``, after a first poll), measured with getrusage over
the whole process (the Rust runtime's threads included), plus how many miners it identified and read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import cpu_s, wait_listening  # noqa: E402

PEERS_PY = ROOT / "bench" / ".venv-peers" / "bin" / "python"


async def _bounded(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            try:
                return await asyncio.wait_for(c, 30)
            except Exception:  # noqa: BLE001 - a peer's failure on one miner is a data point, not a crash
                return None

    return await asyncio.gather(*(one(c) for c in coros))


async def run_farmwatch(ips: list[tuple[str, int]], limit: int) -> dict[str, Any]:
    from collectors.asic.http import WebCredentials, close_session
    from collectors.asic.identify import identify
    from collectors.asic.poll import MinerSession, poll

    loop = asyncio.get_running_loop()
    sessions = [MinerSession(host=h, port=p, credentials=WebCredentials(use_default_password=True)) for h, p in ips]

    async def ident(s: MinerSession) -> Any:
        s.driver = await identify(s, deadline=loop.time() + 10)
        return s.driver

    c0 = cpu_s()
    drivers = await _bounded([ident(s) for s in sessions], limit)
    c1 = cpu_s()
    ok = [s for s, d in zip(sessions, drivers, strict=True) if d is not None]
    await _bounded([poll(s, deadline=loop.time() + 10) for s in ok], limit)  # first poll: identity reads
    c2 = cpu_s()
    readings = await _bounded([poll(s, deadline=loop.time() + 10) for s in ok], limit)
    c3 = cpu_s()
    await close_session()
    read = sum(1 for r in readings if r is not None and r.hashrate_ths is not None)
    return {"identified": len(ok), "read": read, "identify_cpu_s": c1 - c0, "poll_cpu_s": c3 - c2}


async def _time_peer(get_miner: Any, has_hashrate: Any, ips: list[tuple[str, int]], limit: int) -> dict[str, Any]:
    """A peer library's cost: identify every host, one warm-up read, then the timed read."""
    c0 = cpu_s()
    miners = await _bounded([get_miner(h) for h, _p in ips], limit)
    c1 = cpu_s()
    ok = [m for m in miners if m is not None]
    await _bounded([m.get_data() for m in ok], limit)
    c2 = cpu_s()
    data = await _bounded([m.get_data() for m in ok], limit)
    c3 = cpu_s()
    read = sum(1 for d in data if d is not None and has_hashrate(d))
    return {"identified": len(ok), "read": read, "identify_cpu_s": c1 - c0, "poll_cpu_s": c3 - c2}


async def run_pyasic(ips: list[tuple[str, int]], limit: int) -> dict[str, Any]:
    import pyasic  # type: ignore[import-not-found]

    return await _time_peer(pyasic.get_miner, lambda d: d.hashrate is not None, ips, limit)


async def run_pyasic_rs(ips: list[tuple[str, int]], limit: int) -> dict[str, Any]:
    from pyasic_rs import MinerFactory  # type: ignore[import-not-found]

    factory = MinerFactory()
    return await _time_peer(factory.get_miner, lambda d: getattr(d, "hashrate", None) is not None, ips, limit)


WORKERS = {"farmwatch": run_farmwatch, "pyasic": run_pyasic, "pyasic-rs": run_pyasic_rs}


def worker(name: str, targets_file: str, limit: int) -> None:
    ips = [(h, int(p)) for h, p in (line.split(":") for line in Path(targets_file).read_text().split())]
    t0 = time.perf_counter()
    out = asyncio.run(WORKERS[name](ips, limit))
    out["wall_s"] = time.perf_counter() - t0
    print(json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, default=300)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--base-ip", default="127.40.0.1")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--targets", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.targets, args.concurrency)
        return
    from simsite import SimSite
    from simsite.fleet import MIXED_MIX

    fleet = SimSite.build(count=args.miners, seed=args.seed, base_ip=args.base_ip, mix=MIXED_MIX)
    targets = ROOT / "bench" / "results" / "peers-targets.txt"
    targets.parent.mkdir(parents=True, exist_ok=True)
    targets.write_text("\n".join(f"{m.ip}:{m.port}" for m in fleet.miners) + "\n")
    print(f"# peers benchmark  {time.strftime('%Y-%m-%d')}  {platform.node()}  {os.cpu_count()} cores  "
          f"Python {platform.python_version()}  {args.miners} simulated miners (mixed firmware), "
          f"concurrency {args.concurrency}")
    sim = subprocess.Popen(
        [sys.executable, "-m", "simsite", "--count", str(args.miners), "--seed", str(args.seed), "--base-ip",
         args.base_ip, "--mix", "mixed", "--latency-ms", "2", "10"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        last = fleet.miners[-1]
        wait_listening(last.ip, last.port, 120)
        print(f"{'client':<10} {'identified':>10} {'read':>6} {'identify ms CPU/miner':>22} "
              f"{'poll ms CPU/miner':>18} {'wall s':>7}")
        for name in ("farmwatch", "pyasic", "pyasic-rs"):
            py = sys.executable if name == "farmwatch" else str(PEERS_PY)
            if name != "farmwatch" and not PEERS_PY.exists():
                print(f"{name:<10} (not installed: see the module docstring)")
                continue
            proc = subprocess.run(
                [py, __file__, "--worker", name, "--targets", str(targets), "--concurrency", str(args.concurrency)],
                cwd=ROOT, capture_output=True, text=True, timeout=900,
            )
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if not lines:
                print(f"{name:<10} failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(lines[-1])
            n = max(args.miners, 1)
            print(f"{name:<10} {r['identified']:>10} {r['read']:>6} {1e3 * r['identify_cpu_s'] / n:>22.2f} "
                  f"{1e3 * r['poll_cpu_s'] / max(r['identified'], 1):>18.2f} {r['wall_s']:>7.1f}", flush=True)
    finally:
        sim.terminate()
        sim.wait(30)


if __name__ == "__main__":
    main()
