"""Run inside a network namespace (tests/asic/test_hostile_devices.py creates it): a small simulated site on loopback
plus one miner address routed into a dummy interface, where every SYN vanishes. Prints one JSON line with what
the agent's scheduler made of one cycle."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from agent.scheduler import Scheduler
from collectors.asic.collector import AsicCollector
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite


async def main(blackholed: str, timeout: float) -> dict[str, object]:
    site = SimSite.build(count=12, seed=3, base_ip="127.60.0.1", latency_ms=(1.0, 2.0))
    async with site:
        sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
        sessions.append(MinerSession(host=blackholed, port=4028))
        group = MinerGroup(name="blackhole", sessions=sessions, interval=10.0, timeout=timeout)
        store = AsicCollector([group]).store
        scheduler = Scheduler([group])
        t0 = time.monotonic()
        await scheduler.run_cycle(group)
        duration = time.monotonic() - t0
        victim = store.devices[f"{blackholed}:4028"]
        others = [s for d, s in store.devices.items() if d != victim.device]
        return {
            "duration": duration,
            "victim_up": victim.up,
            "victim_reason": victim.error_reason,
            "victim_message": victim.error_message,
            "others_up": sum(1 for s in others if s.up),
            "others": len(others),
            "tasks": len(asyncio.all_tasks()) - 1,
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], float(sys.argv[2])))))
