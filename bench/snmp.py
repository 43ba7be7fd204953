"""Poll N simulated PDUs (M metered outlets each) per cycle: farmwatch's SNMP collector next to net-snmp.

    .venv/bin/python bench/snmp.py --pdus 200 --outlets 48 --cycles 3

The PDUs are APC rPDU2 recordings served by one snmpsim process on loopback (127.90.x.y). farmwatch's CPU is this
process's CPU time during a cycle (snmpsim runs in its own process); net-snmp's is ``snmpbulkwalk``'s child CPU
walking the same columns of the same agents (one process per column, so process start-up is included).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.snmp.client import Auth  # noqa: E402
from collectors.snmp.collector import SnmpCollector  # noqa: E402
from collectors.snmp.poll import SnmpDevice  # noqa: E402
from collectors.snmp.profile import profiles  # noqa: E402
from simsite.addresses import addresses  # noqa: E402
from simsite.snmp import SimPdu, SnmpSim  # noqa: E402


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def farmwatch(pdus: list[SimPdu], port: int, cycles: int, concurrency: int,
                    max_values: int) -> list[dict[str, float]]:
    devices = [SnmpDevice(host=p.ip, port=port, auth=Auth(community=p.name), timeout=30.0, interval=0.0,
                          max_values=max_values) for p in pdus]
    c = SnmpCollector(devices, interval=60.0, concurrency=concurrency)
    out = []
    try:
        for _ in range(cycles):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await c.run_cycle()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            values = sum(r.values for r in c.readings().values())
            resent = sum(u.resent for u in c.engine._udp.values())
            out.append({"cpu": cpu, "wall": wall, "values": values, "up": c.stats.devices_up, "resent": resent})
    finally:
        await c.close()
    return out


async def netsnmp(pdus: list[SimPdu], port: int, parallel: int) -> dict[str, float]:
    columns = [".".join(map(str, oid)) for t in profiles()["apc"].tables for oid in t.walk_oids()]
    scalars = [".".join(map(str, c.oid)) for c in profiles()["apc"].scalars]
    limit = asyncio.Semaphore(parallel)
    values = 0

    async def run(*args: str) -> None:
        nonlocal values
        async with limit:
            proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.DEVNULL)
            out, _ = await proc.communicate()
            values += out.count(b"\n")

    # Process start-up cost: one single-OID snmpget per PDU, subtracted below to leave the per-value cost.
    cpu0 = _children_cpu()
    await asyncio.gather(*(run("snmpget", "-v2c", "-c", p.name, "-Oqn", f"{p.ip}:{port}", "1.3.6.1.2.1.1.5.0")
                           for p in pdus))
    per_process = (_children_cpu() - cpu0) / len(pdus)
    values = 0
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    jobs = []
    for p in pdus:
        target = f"{p.ip}:{port}"
        jobs.append(run("snmpget", "-v2c", "-c", p.name, "-Oqn", target, *scalars))
        jobs += [run("snmpbulkwalk", "-v2c", "-c", p.name, "-Cr25", "-Oqn", target, col) for col in columns]
    await asyncio.gather(*jobs)
    return {"cpu": _children_cpu() - cpu0, "wall": time.perf_counter() - wall0, "values": values,
            "processes": len(jobs), "per_process": per_process}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdus", type=int, default=200)
    ap.add_argument("--outlets", type=int, default=48)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-values", type=int, default=50, help="varbinds asked per GETBULK")
    ap.add_argument("--skip-netsnmp", action="store_true")
    ap.add_argument("--base-ip", default="127.90.0.1")
    ap.add_argument("--port", type=int, default=16181)
    args = ap.parse_args()
    pdus = [SimPdu(ip=ip, name=f"bench-pdu-{i:04d}", port=args.port, loads_w=[100.0 + (i * 7 + o) % 300 for o in
                                                                                 range(args.outlets)])
            for i, ip in enumerate(addresses(args.base_ip, args.pdus))]
    sim = SnmpSim(pdus)
    t0 = time.perf_counter()
    await sim.start(timeout=300)
    print(f"snmpsim: {args.pdus} PDUs x {args.outlets} outlets ready in {time.perf_counter() - t0:.1f}s")
    try:
        for i, r in enumerate(await farmwatch(pdus, args.port, args.cycles, args.concurrency,
                                                  args.max_values), start=1):
            print(f"farmwatch cycle {i}: {r['up']:.0f}/{args.pdus} up, {r['values']:.0f} values, wall {r['wall']:.2f}s, "
                  f"CPU {r['cpu']:.2f}s = {r['cpu'] / max(r['values'], 1) * 1e6:.1f} us/value, "
                  f"{r['cpu'] / args.pdus * 1e3:.1f} ms/PDU, {r['resent']:.0f} resent so far")
        if args.skip_netsnmp:
            return
        n = await netsnmp(pdus, args.port, 16)
        print(f"net-snmp snmpget+snmpbulkwalk: {n['values']:.0f} values in {n['processes']:.0f} processes, "
              f"wall {n['wall']:.2f}s, CPU {n['cpu']:.2f}s = {n['cpu'] / max(n['values'], 1) * 1e6:.1f} us/value "
              f"(incl. process start), {n['cpu'] / args.pdus * 1e3:.1f} ms/PDU")
        net = n["cpu"] - n["per_process"] * n["processes"]
        print(f"net-snmp less process start ({n['per_process'] * 1e3:.2f} ms each): "
              f"{net / max(n['values'], 1) * 1e6:.1f} us/value, {net / args.pdus * 1e3:.1f} ms/PDU")
    finally:
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
