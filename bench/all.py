"""Every performance number the README quotes, from one run (``make bench``): SNMP, miners, memory, peers.

Runs, one after another on the same machine, each in its own processes:

1. ``bench/snmp.py``: CPU per SNMP value for farmwatch, net-snmp (``snmpbulkwalk``) and Prometheus's
   ``snmp_exporter`` on the same snmpsim recordings (200 PDUs x 48 outlets);
2. ``bench/cycle.py``: the miner poll cycle at 1,000 and 5,000 miners (a fifth refusing joined commands): CPU per
   miner in the first (identification) and steady cycles, against a bare asyncio client, with the profile-backed
   breakdown;
3. ``bench/scale.py``: the real ``farmwatch run`` against 20,000 simulated miners (50 ms latency, uvloop), cycles
   back to back: first and steady CPU per miner, resident memory per cycle and its peak (VmHWM, the first cycle
   included), scrape latency;
4. ``bench/peers.py``: pyasic and pyasic-rs beside farmwatch on one mixed fleet (``make bench-deps`` installs
   them in bench/.venv-peers, never as project dependencies).

Each part's own output is printed as it runs and kept in bench/results/all-<time>.txt; a summary in the README's
terms ends the run. Give it a quiet machine: a loaded box starves the simulators, and at 20,000 miners fewer
miners are read per cycle (the summary says how many were).

    .venv/bin/python bench/all.py                      # the README run (~13 min on 2 cores)
    .venv/bin/python bench/all.py --quick              # every part at small scale (~3 min): does it all run?
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_PY = ROOT / "bench" / ".venv-peers" / "bin" / "python"
# Each part's simulators on loopback ranges of their own, apart from the parts' defaults (which tests and other
# benchmarks on the same machine may be using at the time).
BASE = {"snmp": "127.70.0.1", "cycle": "127.64.0.1", "scale": "127.66.0.1", "peers": "127.68.0.1"}


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return (f"{platform.node()}, {os.cpu_count()} cores ({model or 'unknown CPU'}), {mem_kb / 1024 / 1024:.1f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def peer_versions() -> str:
    if not PEERS_PY.exists():
        return "pyasic/pyasic-rs not installed (make bench-deps)"
    out = subprocess.run([str(PEERS_PY), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                         check=False).stdout
    return ", ".join(line.replace("==", " ") for line in out.split() if line.lower().startswith("pyasic"))


class Run:
    def __init__(self, log: Path) -> None:
        self.log = log.open("w")
        self.outputs: dict[str, str] = {}

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def part(self, name: str, argv: list[str], timeout: float) -> str:
        self.say(f"\n## {name}: {' '.join(argv)}   (start {time.strftime('%H:%M:%S', time.gmtime())} UTC, "
                 f"load average {os.getloadavg()[0]:.1f})")
        lines: list[str] = []
        proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        assert proc.stdout is not None
        end = time.monotonic() + timeout
        for line in proc.stdout:
            self.say(line.rstrip("\n"))
            lines.append(line)
            if time.monotonic() > end:
                proc.terminate()
                self.say(f"# {name}: stopped after {timeout:.0f}s")
                break
        proc.wait()
        self.outputs[name] = "".join(lines)
        return self.outputs[name]


def grab(pattern: str, text: str, group: int = 1) -> str:
    m = re.search(pattern, text, re.M)
    return m.group(group) if m else "?"


def summary(run: Run, args: argparse.Namespace) -> None:
    snmp = run.outputs.get("snmp", "")
    run.say("\n## summary (from the runs above)")
    if snmp:
        first = grab(r"^farmwatch cycle 1: .*= ([\d.]+) us/value", snmp)
        steady = grab(r"farmwatch steady .*: ([\d.]+) us/value", snmp)
        net = grab(r"x net-snmp \((-?[\d.]+)", snmp)
        exporter = grab(r"x snmp_exporter \((-?[\d.]+)", snmp)
        run.say(f"SNMP CPU per value: farmwatch steady {steady} us (first cycle {first}), net-snmp {net} us, "
                f"snmp_exporter {exporter} us; {grab(r'^RATIO (.*)$', snmp)}")
    cycle = run.outputs.get("cycle", "")
    for m in re.finditer(r"^miners=(\d+)\s+first cycle ([\d.]+) ms/miner, steady cycle \(render included\) median "
                         r"([\d.]+) ms/miner \(min ([\d.]+), max ([\d.]+), (\d+) cycles\), of which the render "
                         r"~([\d.]+); bare asyncio client ([\d.]+) ms/miner -> RATIO steady/bare ([\d.]+)", cycle, re.M):
        peak = re.findall(rf"^miners={m[1]}\s+cycle=\d+ .* rss=(\d+)MB peak=(\d+)MB", cycle, re.M)
        run.say(f"miners {int(m[1]):,}: CPU per miner first cycle {m[2]} ms, steady cycle median {m[3]} ms "
                f"({m[4]}-{m[5]} over {m[6]} cycles; render ~{m[7]} of it), bare client {m[8]} ms, ratio {m[9]}x; "
                f"RSS last {peak[-1][0] if peak else '?'} MB, peak {peak[-1][1] if peak else '?'} MB")
    scale = run.outputs.get("scale", "")
    if scale:
        first = re.search(r"^cycle=0 wall=([\d.]+)s up=(\d+)/(\d+) cpu/miner=([\d.]+)ms .* rss=(\d+)MB peak=(\d+)MB",
                          scale, re.M)
        steady = re.search(r"^## steady state \(cycles 1\.\.\): (.*)$", scale, re.M)
        cycles = len(re.findall(r"^cycle=\d+ ", scale, re.M))
        if first:
            run.say(f"miners {int(first[3]):,} (real agent, {cycles} cycles): first cycle {first[1]} s wall, "
                    f"{first[2]}/{first[3]} read, {first[4]} ms CPU per miner, peak after it {first[6]} MB")
        if steady:
            run.say(f"  steady: {steady[1]}")
        scrape = grab(r"^## scrape .*$", scale, 0)
        if scrape != "?":
            run.say(f"  {scrape.lstrip('# ')}")
    peers = run.outputs.get("peers", "")
    for m in re.finditer(r"^(farmwatch|pyasic|pyasic-rs)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", peers,
                         re.M):
        run.say(f"peers ({args.peers_miners} mixed miners): {m[1]:<9} identified {m[2]}, read {m[3]}, CPU per miner "
                f"identify {m[4]} ms, poll {m[5]} ms")
    run.say(f"(end {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every part at small scale: check that it all runs")
    ap.add_argument("--scale-miners", type=int, default=20000)
    ap.add_argument("--scale-cycles", type=int, default=100, help="steady cycles after the first at --scale-miners "
                    "(100: issue 16 asks for a flat peak over 100 cycles)")
    ap.add_argument("--peers-miners", type=int, default=300)
    ap.add_argument("--skip", nargs="*", default=[], choices=["snmp", "cycle", "scale", "peers"])
    args = ap.parse_args()
    if args.quick:
        args.scale_miners, args.scale_cycles, args.peers_miners = 1000, 3, 60
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    run = Run(results / f"all-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.txt")
    run.say(f"# farmwatch benchmarks, one run: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    run.say(f"# machine: {machine()}")
    run.say(f"# load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; peers: {peer_versions()}")
    if "snmp" not in args.skip:
        run.part("snmp", ["bench/snmp.py", *(["--pdus", "20", "--outlets", "8", "--cycles", "2", "--rounds", "1"]
                                            if args.quick else ["--pdus", "200", "--outlets", "48", "--cycles", "4",
                                                                "--rounds", "2"]),
                            "--base-ip", BASE["snmp"], "--port", "16191"], 600)
    if "cycle" not in args.skip:
        run.part("cycle", ["bench/cycle.py", "--miners", *(["500"] if args.quick else ["1000", "5000"]), "--cycles",
                           "3" if args.quick else "9", "--variants", "no_join=0.2", "--profile", "--base-ip", BASE["cycle"]],
                 900)
    if "scale" not in args.skip:
        run.part("scale", ["bench/scale.py", "--miners", str(args.scale_miners), "--cycles", str(args.scale_cycles),
                           "--interval", "15s", "--latency-ms", "50", "50", "--processes", "2", "--uvloop",
                           "--variants", "no_join=0.2", "--base-ip", BASE["scale"]], 600 + 40 * args.scale_cycles)
    if "peers" not in args.skip:
        run.part("peers", ["bench/peers.py", "--miners", str(args.peers_miners), "--base-ip", BASE["peers"]], 900)
    summary(run, args)
    run.say(f"# kept in {run.log.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
