"""Scale benchmark: the real daemon (``farmwatch run``) against a simulated site, measured from outside.

One run prints, per poll cycle, the cycle's wall time, the agent process's CPU per miner (read from
/proc/PID/stat between two completed cycles: polling, parsing, rendering and serving scrapes all count; the
simulator runs in its own processes and does not), the agent's resident memory, and one scrape of /metrics as
Prometheus makes it (OpenMetrics Accept + gzip) taken while the next cycle runs. With ``--prometheus`` a real
Prometheus scrapes the agent as well and its own ``scrape_duration_seconds`` is reported. If ``bench/peers.py``
(pyasic and pyasic-rs on the same fleet) exists, ``--peers`` runs it for the ratio.

    .venv/bin/python bench/scale.py --miners 20000 --cycles 10 --latency-ms 50 50 --processes 2 --prometheus
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import wait_listening  # noqa: E402
from simsite.addresses import addresses  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
CYCLE_LINE = re.compile(r"cycle group=\S+ devices=(\d+) up=(\d+) duration=([\d.]+)s render=([\d.]+)s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def peak_rss_mb(pid: int) -> float:
    """The process's resident-memory high-water mark (VmHWM): the peak between samples, identification included."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ranges(ips: list[str]) -> list[str]:
    """Compact target specs (one range per run of consecutive addresses within a /24)."""
    specs: list[str] = []
    start = prev = ips[0]
    for ip in ips[1:]:
        a, b = prev.rsplit(".", 1), ip.rsplit(".", 1)
        if a[0] == b[0] and int(b[1]) == int(a[1]) + 1:
            prev = ip
            continue
        specs.append(f"{start}-{prev.rsplit('.', 1)[1]}" if start != prev else start)
        start = prev = ip
    specs.append(f"{start}-{prev.rsplit('.', 1)[1]}" if start != prev else start)
    return specs


def scrape(url: str) -> tuple[float, int, int]:
    """Seconds to the whole body, gzip bytes, uncompressed bytes (as Prometheus asks: OpenMetrics + gzip)."""
    req = urllib.request.Request(url, headers={
        "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "Accept-Encoding": "gzip",
    })
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        encoding = resp.headers.get("Content-Encoding", "")
    elapsed = time.perf_counter() - t0
    raw = gzip.decompress(body) if encoding == "gzip" else body
    return elapsed, len(body), len(raw)


def prom_query(base: str, expr: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:
        data = json.load(resp)
    return list(data["data"]["result"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, default=20000)
    ap.add_argument("--cycles", type=int, default=10, help="completed cycles to measure after the first")
    ap.add_argument("--interval", default="15s", help="poll interval (shorter than a cycle: cycles back to back)")
    ap.add_argument("--timeout", default="10s", help="per-device poll timeout (shorter than --interval)")
    ap.add_argument("--latency-ms", type=float, nargs=2, default=(50.0, 50.0))
    ap.add_argument("--processes", type=int, default=2, help="simulator processes (open-file limit)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mix", default=None, help="simsite firmware mix (e.g. mixed)")
    ap.add_argument("--variants", default=None, help="simsite variant shares (e.g. no_join=0.3)")
    ap.add_argument("--base-ip", default="127.60.0.1")
    ap.add_argument("--concurrency", type=int, default=2000)
    ap.add_argument("--per-subnet", type=int, default=256)
    ap.add_argument("--uvloop", action="store_true", help="run the agent on uvloop (default: the standard asyncio loop)")
    ap.add_argument("--prometheus", action="store_true", help="also scrape with a real Prometheus")
    ap.add_argument("--peers", action="store_true", help="run bench/peers.py on the same fleet if it exists")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the simulator and the agent
    print(f"# farmwatch scale benchmark  {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  "
          f"{os.cpu_count()} cores  Python {platform.python_version()}  miners={args.miners} "
          f"latency={args.latency_ms[0]:g}-{args.latency_ms[1]:g}ms loop={'uvloop' if args.uvloop else 'asyncio'}",
          flush=True)
    ips = addresses(args.base_ip, args.miners)
    tmp = Path(tempfile.mkdtemp(prefix="farmwatch-scale-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sim = subprocess.Popen(
            [sys.executable, "-m", "simsite", "--count", str(args.miners), "--seed", str(args.seed),
             "--base-ip", args.base_ip, "--processes", str(args.processes),
             "--latency-ms", f"{args.latency_ms[0]:g}", f"{args.latency_ms[1]:g}",
             *(["--mix", args.mix] if args.mix else []), *(["--variants", args.variants] if args.variants else [])],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        procs.append(sim)
        wait_listening(ips[0], 4028, 180)
        wait_listening(ips[-1], 4028, 180)
        time.sleep(1)
        if sim.poll() is not None:  # something else answers on these addresses (a simulator left running?)
            raise SystemExit(f"the simulator exited with {sim.returncode}: are {args.base_ip}... already in use?")
        time.sleep(5 if args.mix else 0)  # a mixed fleet's last miner may be web-only: give the rest time to listen

        port = free_port()
        cfg = tmp / "site.yaml"
        cfg.write_text(
            "site: bench\n"
            f'listen: "127.0.0.1:{port}"\n'
            "miners:\n"
            f"  - targets: {json.dumps(ranges(ips))}\n"
            f"    interval: {args.interval}\n"
            f"    timeout: {args.timeout}\n"
            f"    concurrency: {args.concurrency}\n"
            f"    per_subnet_concurrency: {args.per_subnet}\n"
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env["FARMWATCH_LOOP"] = "uvloop" if args.uvloop else "asyncio"
        agent = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "--config", str(cfg), "--log.level", "info"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        procs.append(agent)
        url = f"http://127.0.0.1:{port}/metrics"

        prom_base = None
        if args.prometheus:
            prom = shutil.which("prometheus")
            if prom is None:
                print("# prometheus not installed: skipping the real-Prometheus scrape", flush=True)
            else:
                prom_port = free_port()
                (tmp / "prometheus.yml").write_text(
                    "global: {scrape_interval: 10s, scrape_timeout: 8s}\n"
                    "scrape_configs:\n"
                    f"  - job_name: farmwatch\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
                )
                procs.append(subprocess.Popen(
                    [prom, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ))
                prom_base = f"http://127.0.0.1:{prom_port}"

        events: list[tuple[float, float, float, int, int, float, float]] = []
        ready = threading.Event()
        failed: list[str] = []

        def read_log() -> None:
            assert agent.stderr is not None
            for line in agent.stderr:
                m = CYCLE_LINE.search(line)
                if m:
                    events.append((time.monotonic(), cpu_seconds(agent.pid), rss_mb(agent.pid), int(m[1]),
                                   int(m[2]), float(m[3]), float(m[4])))
                    ready.set()
                elif "level=error" in line or "Traceback" in line or "problem" in line:
                    failed.append(line.strip())

        threading.Thread(target=read_log, daemon=True).start()
        cpu_start = cpu_seconds(agent.pid)
        rows = []
        scrapes: list[tuple[float, int, int]] = []
        deadline = time.monotonic() + 600 + 120 * args.cycles
        seen = 0
        while len(events) < args.cycles + 1 and time.monotonic() < deadline and agent.poll() is None:
            ready.wait(1.0)
            ready.clear()
            while seen < len(events):
                t, cpu, rss, devices, up, duration, render = events[seen]
                prev_cpu = events[seen - 1][1] if seen else cpu_start
                cpu_ms = 1000 * (cpu - prev_cpu) / max(devices, 1)
                try:
                    s = scrape(url)
                    scrapes.append(s)
                    scrape_txt = f"scrape={s[0] * 1000:.0f}ms gz={s[1] / 1e6:.2f}MB body={s[2] / 1e6:.1f}MB"
                except OSError as e:
                    scrape_txt = f"scrape failed: {e}"
                print(f"cycle={seen} wall={duration:.2f}s up={up}/{devices} cpu/miner={cpu_ms:.3f}ms "
                      f"render={render:.3f}s rss={rss:.0f}MB peak={peak_rss_mb(agent.pid):.0f}MB {scrape_txt}"
                      + ("  (first cycle: identification)" if seen == 0 else ""), flush=True)
                rows.append((duration, cpu_ms, rss, up, devices))
                seen += 1
        if agent.poll() is not None:
            print(f"# agent exited with {agent.returncode}", flush=True)
        for line in failed[:5]:
            print("# agent error:", line[:300])
        steady = rows[1:]
        if steady:
            print("## steady state (cycles 1..): "
                  f"wall median {statistics.median(r[0] for r in steady):.2f}s max {max(r[0] for r in steady):.2f}s; "
                  f"CPU/miner median {statistics.median(r[1] for r in steady):.3f}ms "
                  f"mean {statistics.mean(r[1] for r in steady):.3f}ms; "
                  f"up min {min(r[3] for r in steady)}/{steady[0][4]}; "
                  f"RSS first {steady[0][2]:.0f}MB last {steady[-1][2]:.0f}MB max {max(r[2] for r in steady):.0f}MB; "
                  f"peak (VmHWM, first cycle included) {peak_rss_mb(agent.pid):.0f}MB; "
                  f"first cycle CPU/miner {rows[0][1]:.3f}ms")
        if scrapes:
            lat = sorted(s[0] for s in scrapes)
            print(f"## scrape (OpenMetrics+gzip, during a cycle): median {statistics.median(lat) * 1000:.0f}ms "
                  f"max {lat[-1] * 1000:.0f}ms; body {scrapes[-1][2] / 1e6:.1f}MB, gzip {scrapes[-1][1] / 1e6:.2f}MB")
        if prom_base is not None:
            try:
                for expr in ("scrape_duration_seconds", "max_over_time(scrape_duration_seconds[1h])",
                             "scrape_samples_scraped", "up"):
                    res = prom_query(prom_base, expr)
                    vals = ", ".join(str(r["value"][1]) for r in res)  # type: ignore[index]
                    print(f"## prometheus {expr} = {vals}")
            except OSError as e:
                print(f"# prometheus query failed: {e}")
        if args.peers:
            peers = ROOT / "bench" / "peers.py"
            if peers.exists():
                agent.terminate()
                agent.wait(30)
                subprocess.run([sys.executable, str(peers), "--miners", str(args.miners), "--base-ip", args.base_ip],
                               cwd=ROOT, check=False)
            else:
                print("# bench/peers.py not present: no pyasic / pyasic-rs ratio in this run")
        return 0 if steady else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                if p is procs[0]:
                    os.killpg(p.pid, 15)
                else:
                    p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
