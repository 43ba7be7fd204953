"""Discovery benchmark: ``farmwatch scan`` of a /16 holding simulated miners of every firmware.

The simulator runs in its own process (``python -m simsite --mix mixed``); this process runs both scan stages
(TCP sweep of 65,534 addresses x 4 ports, then identification + one poll of every host that answered) and
reports wall time, this process's CPU, and how many miners were found and identified (against the count the
simulator serves, per firmware).

    .venv/bin/python bench/scan.py --miners 5000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.scan.sweep import TIMINGS, scan  # noqa: E402
from bench.common import cpu_s, wait_listening  # noqa: E402
from collectors.asic.http import WebCredentials  # noqa: E402
from simsite import SimSite  # noqa: E402
from simsite.fleet import MIXED_MIX  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--net", default="127.30.0.0/16")
    ap.add_argument("--concurrency", type=int, default=1024)
    ap.add_argument("--latency-ms", type=float, nargs=2, default=(2.0, 10.0))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base = args.net.split("/")[0].rsplit(".", 1)[0] + ".1"
    # The same fleet the simulator builds (deterministic): what a complete scan must find.
    fleet = SimSite.build(count=args.miners, seed=args.seed, base_ip=base, mix=MIXED_MIX)
    expected = collections.Counter(m.firmware for m in fleet.miners)
    print(f"# farmwatch scan benchmark  {time.strftime('%Y-%m-%d')}  {platform.node()}  {os.cpu_count()} cores  "
          f"Python {platform.python_version()}  {args.miners} miners in {args.net}")
    sim = subprocess.Popen(
        [sys.executable, "-m", "simsite", "--count", str(args.miners), "--seed", str(args.seed), "--base-ip", base,
         "--mix", "mixed", "--latency-ms", str(args.latency_ms[0]), str(args.latency_ms[1])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        last = fleet.miners[-1]
        wait_listening(last.ip, last.port, 180)
        cpu0, t0 = cpu_s(), time.perf_counter()
        rows = asyncio.run(scan([args.net], concurrency=args.concurrency, timeout=1.0,
                                credentials=WebCredentials(use_default_password=True), show_progress=False))
        wall, cpu = time.perf_counter() - t0, cpu_s() - cpu0
    finally:
        sim.terminate()
        sim.wait(30)
    found = len(rows)
    identified = sum(1 for r in rows if r.driver)
    read = sum(1 for r in rows if r.driver and r.hashrate_ths is not None and not r.error)
    by_driver = collections.Counter(r.driver or "unknown" for r in rows)
    print(f"addresses=65534 ports=4 found={found}/{args.miners} identified={identified} polled={read} "
          f"wall={wall:.1f}s cpu={cpu:.1f}s cpu/address={1e3 * cpu / 65534:.3f}ms "
          f"cpu/miner(id+poll)={1e3 * cpu / max(found, 1):.2f}ms  (sweep {TIMINGS['sweep_s']:.1f}s, "
          f"identify+poll {TIMINGS['identify_s']:.1f}s)", flush=True)
    print("simulated firmwares: " + " ".join(f"{k}={v}" for k, v in sorted(expected.items())))
    print("identified drivers:  " + " ".join(f"{k}={v}" for k, v in sorted(by_driver.items())))
    errors = collections.Counter((r.error or "").split(":")[0] for r in rows if r.error)
    if errors:
        print("errors: " + " ".join(f"{k}={v}" for k, v in errors.most_common()))


if __name__ == "__main__":
    main()
