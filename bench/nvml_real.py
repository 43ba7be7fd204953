"""Run the real NVML collector on this host's GPUs: print what it read and what each GPU's poll costs, batched
and unbatched. Without a GPU or driver it prints one skip line and exits 0.

    .venv/bin/python bench/nvml_real.py --cycles 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collectors.nvml import NvmlCollector  # noqa: E402
from collectors.nvml.fields import BY_ID  # noqa: E402
from collectors.nvml.poll import table, view_json  # noqa: E402


async def run(batch: bool, cycles: int, interval: float) -> tuple[NvmlCollector, dict[str, list[float]], float]:
    c = NvmlCollector(interval=max(interval, 1.0), batch=batch, xid_events=batch)
    await c.run_cycle()
    per_gpu: dict[str, list[float]] = {g.identity.uuid: [] for g in c.view.gpus}
    cpu0 = time.process_time()
    for _ in range(cycles):
        if interval:
            await asyncio.sleep(interval)
        await c.run_cycle()
        for g in c.view.gpus:
            if g.up:
                per_gpu[g.identity.uuid].append(g.read_seconds)
    return c, per_gpu, time.process_time() - cpu0


async def main(cycles: int, interval: float, as_json: bool) -> int:
    c, batched, cpu_b = await run(True, cycles, interval)
    try:
        v = c.view
        if not v.up:
            print(f"skip: NVML unavailable here ({v.reason}): {v.message}")
            return 0
        if not v.gpus:
            print(f"skip: NVML (driver {v.driver_version}) found no GPUs")
            return 0
        print(json.dumps(view_json(v, c.xids), indent=2) if as_json else table(v, c.xids))
        absent = {r.identity.uuid: sorted(r.absent) + sorted(f"field:{BY_ID[f].name}" for f in r.absent_fields)
                  for r in c._readers or [] if r.identity is not None}
    finally:
        await c.close()
    u, unbatched, cpu_u = await run(False, cycles, interval)
    await u.close()
    n = max(1, cycles * len(batched))
    print(f"\nper-GPU poll cost over {cycles} cycles (median wall on the NVML thread):")
    print(f"{'gpu':<42} {'batched':>10} {'unbatched':>10}")
    for uuid, times in batched.items():
        ub = unbatched.get(uuid) or [0.0]
        print(f"{uuid:<42} {statistics.median(times or [0.0]) * 1e3:>7.3f} ms {statistics.median(ub) * 1e3:>7.3f} ms")
    print(f"process CPU per GPU per cycle: batched {cpu_b / n * 1e3:.3f} ms, unbatched {cpu_u / n * 1e3:.3f} ms")
    print("queries absent (NotSupported/FunctionNotFound) per GPU:")
    for uuid, keys in absent.items():
        print(f"  {uuid}: {', '.join(keys) or '-'}")
    if v.call_errors:
        print("call errors:", dict(v.call_errors))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between cycles (0: back to back)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    logging.getLogger("farmwatch.nvml").setLevel(logging.ERROR)  # the skip line says why NVML is down
    sys.exit(asyncio.run(main(a.cycles, a.interval, a.json)))
