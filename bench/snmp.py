"""Poll N simulated PDUs (M metered outlets each) per cycle: farmwatch's SNMP collector next to net-snmp.

    .venv/bin/python bench/snmp.py --pdus 200 --outlets 48 --cycles 3

The PDUs are APC rPDU2 recordings served by one snmpsim process on loopback (127.90.x.y). farmwatch's CPU is this
process's CPU time during a cycle (snmpsim runs in its own process); net-snmp's is ``snmpbulkwalk``'s child CPU
walking the same tables of the same agents (one process per table; its start-up, measured with single-value
``snmpget`` runs, is subtracted). snmp_exporter (Debian ``prometheus-snmp-exporter``), when installed, scrapes the
same agents for the same columns; its CPU is read from /proc. The best of ``--rounds`` runs counts for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

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
    # One walk per table (the columns' common prefix, so it reads a few columns we skip): process start-up is spread
    # over hundreds of values, and what is left after subtracting it is net-snmp's own cost per value.
    columns = [".".join(map(str, os.path.commonprefix([list(o) for o in t.walk_oids()])))
               for t in profiles()["apc"].tables]
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


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _exporter_config(pdus: list[SimPdu]) -> dict[str, object]:
    """One snmp_exporter 0.21 module per PDU (the community, which picks the recording, lives in the module there),
    walking the columns and getting the scalars farmwatch's APC profile reads."""
    prof = profiles()["apc"]
    metrics: list[dict[str, object]] = []
    walk: list[str] = []
    for t in prof.tables:
        text = {c.oid for c in t.columns if c.text}
        for oid in t.walk_oids():
            dotted = ".".join(map(str, oid))
            walk.append(dotted)
            metrics.append({"name": f"col_{len(metrics)}", "oid": dotted,
                            "type": "DisplayString" if oid in text else "gauge",
                            "indexes": [{"labelname": "index", "type": "gauge"}]})
    get = [".".join(map(str, c.oid)) for c in prof.scalars]
    for c in prof.scalars:
        metrics.append({"name": f"scalar_{len(metrics)}", "oid": ".".join(map(str, c.oid[:-1])),
                        "type": "DisplayString" if c.text else "gauge"})
    return {p.name: {"walk": walk, "get": get, "metrics": metrics, "version": 2, "max_repetitions": 25,
                     "retries": 1, "timeout": "10s", "auth": {"community": p.name}} for p in pdus}


async def snmp_exporter(pdus: list[SimPdu], port: int, parallel: int) -> dict[str, float] | None:
    """Prometheus's snmp_exporter (Debian ``prometheus-snmp-exporter``) scraping every PDU once; its process's CPU.
    The scrape's HTTP and exposition are in its number (that is what it does per value), our client's are not."""
    exe = shutil.which("prometheus-snmp-exporter")
    if exe is None:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-exporter-"))
    (tmp / "snmp.yml").write_text(yaml.safe_dump(_exporter_config(pdus)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(exe, f"--config.file={tmp / 'snmp.yml'}",
                                                f"--web.listen-address=127.0.0.1:{listen}", "--log.level=error",
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    limit = asyncio.Semaphore(parallel)
    values = 0
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{listen}/") as r:
                        await r.read()
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

            async def scrape(p: SimPdu) -> None:
                nonlocal values
                async with limit, http.get(f"http://127.0.0.1:{listen}/snmp",
                                           params={"target": f"{p.ip}:{port}", "module": p.name}) as r:
                    body = await r.text()
                values += sum(1 for line in body.splitlines()
                              if line and not line.startswith("#") and not line.startswith("snmp_scrape"))

            await asyncio.gather(*(scrape(p) for p in pdus[:4]))  # warm-up: its first scrapes load the config
            values = 0
            cpu0, wall0 = _proc_cpu(proc.pid), time.perf_counter()
            await asyncio.gather(*(scrape(p) for p in pdus))
            return {"cpu": _proc_cpu(proc.pid) - cpu0, "wall": time.perf_counter() - wall0, "values": values}
    finally:
        proc.terminate()
        await proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdus", type=int, default=200)
    ap.add_argument("--outlets", type=int, default=48)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-values", type=int, default=50, help="varbinds asked per GETBULK")
    ap.add_argument("--skip-netsnmp", action="store_true", help="farmwatch only")
    ap.add_argument("--rounds", type=int, default=2, help="net-snmp and snmp_exporter runs (best one counts)")
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
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the same cores slows every column alike)")
    try:
        fw = await farmwatch(pdus, args.port, args.cycles, args.concurrency, args.max_values)
        for i, r in enumerate(fw, start=1):
            print(f"farmwatch cycle {i}: {r['up']:.0f}/{args.pdus} up, {r['values']:.0f} values, wall {r['wall']:.2f}s, "
                  f"CPU {r['cpu']:.2f}s = {r['cpu'] / max(r['values'], 1) * 1e6:.1f} us/value, "
                  f"{r['cpu'] / args.pdus * 1e3:.1f} ms/PDU, {r['resent']:.0f} resent so far")
        steady = min(r["cpu"] / max(r["values"], 1) for r in (fw[1:] or fw)) * 1e6
        print(f"farmwatch steady (best cycle after the first): {steady:.1f} us/value")
        if args.skip_netsnmp:
            return
        best_net = best_exp = None
        for _ in range(args.rounds):
            n = await netsnmp(pdus, args.port, 16)
            print(f"net-snmp snmpget+snmpbulkwalk: {n['values']:.0f} values in {n['processes']:.0f} processes, "
                  f"wall {n['wall']:.2f}s, CPU {n['cpu']:.2f}s = {n['cpu'] / max(n['values'], 1) * 1e6:.1f} us/value "
                  f"(incl. process start), {n['cpu'] / args.pdus * 1e3:.1f} ms/PDU")
            net = (n["cpu"] - n["per_process"] * n["processes"]) / max(n["values"], 1) * 1e6
            print(f"net-snmp less process start ({n['per_process'] * 1e3:.2f} ms each): {net:.1f} us/value")
            best_net = net if best_net is None else min(best_net, net)
            e = await snmp_exporter(pdus, args.port, 16)
            if e is None:
                print("snmp_exporter: not installed (Debian prometheus-snmp-exporter)")
                continue
            exp = e["cpu"] / max(e["values"], 1) * 1e6
            print(f"snmp_exporter {e['values']:.0f} values (samples), wall {e['wall']:.2f}s, CPU {e['cpu']:.2f}s = "
                  f"{exp:.1f} us/value (incl. its HTTP and exposition)")
            best_exp = exp if best_exp is None else min(best_exp, exp)
        print(f"RATIO farmwatch {steady:.1f} us/value = {steady / max(best_net or 1e-9, 1e-9):.2f}x net-snmp "
              f"({best_net:.1f}, less process start)" + (
                  f", {steady / best_exp:.2f}x snmp_exporter ({best_exp:.1f})" if best_exp else ""))
    finally:
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
