"""CPU cost of the NVML collector per GPU per cycle on 8 simulated H100s: field values batched (one
``nvmlDeviceGetFieldValues`` call per GPU) vs unbatched (one call per field).

The fake NVML is Python, so these numbers include the fake's own cost per call; on a real driver each call is a
ctypes round-trip plus an ioctl, so the saving from batching is larger there (bench/nvml_real.py measures it).

    .venv/bin/python bench/nvml_fake.py --cycles 300
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collectors.nvml import NvmlCollector  # noqa: E402
from simsite.gpus import FakeNvml  # noqa: E402

GPUS = 8


async def measure(batch: bool, cycles: int) -> dict[str, float]:
    nv = FakeNvml(["H100-SXM"] * GPUS, seed=1)
    c = NvmlCollector(nvml=nv, batch=batch, xid_events=False)
    try:
        await c.run_cycle()  # init + identity: not part of the steady state
        calls_before = sum(nv.calls.values())
        reader_cpu: list[float] = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(cycles):
            await c.run_cycle()
            reader_cpu.append(sum(g.read_cpu_seconds for g in c.view.gpus))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        calls = sum(nv.calls.values()) - calls_before
    finally:
        await c.close()
    n = cycles * GPUS
    return {
        "process_cpu_ms": cpu / n * 1e3,
        "read_cpu_ms": statistics.median(reader_cpu) / GPUS * 1e3,
        "wall_ms": wall / n * 1e3,
        "calls": calls / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=300)
    args = ap.parse_args()
    print(f"{GPUS} fake H100 SXM GPUs, {args.cycles} cycles each, Python {platform.python_version()} "
          f"on {platform.machine()}")
    print(f"{'mode':<10} {'process CPU/GPU/cycle':>22} {'reader-thread CPU/GPU':>22} {'wall/GPU':>10} {'NVML calls/GPU':>15}")
    for batch in (True, False):
        r = asyncio.run(measure(batch, args.cycles))
        print(f"{'batched' if batch else 'unbatched':<10} {r['process_cpu_ms']:>19.3f} ms {r['read_cpu_ms']:>19.3f} ms"
              f" {r['wall_ms']:>7.3f} ms {r['calls']:>15.1f}")


if __name__ == "__main__":
    main()
