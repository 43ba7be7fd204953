"""What the power joins cost in Prometheus: a site of N miners on P PDUs (one outlet each), split over two shards,
scraped by a real Prometheus (Debian's package) with rules/power.rules.yml and rules/farmwatch.rules.yml; reports
each rule group's evaluation time and checks the joins came out whole.

    .venv/bin/python bench/power_rules.py --miners 20000 --outlets 24 --evaluations 10

The two shards are static expositions shaped as the agent writes them (miner info with the site map's pdu/outlet,
reported power, hashrate; PDU identity and outlet power), served over HTTP on loopback, so that only Prometheus's
own cost is measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.prom import Prometheus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def exposition(shard: int, miners: int, outlets: int) -> bytes:
    """Shard ``shard`` of 2: its miners (every other one) and its PDUs (every other one)."""
    lines = []
    pdus = -(-miners // outlets)
    for p in range(shard, pdus, 2):
        dev = f"10.20.{p // 250}.{p % 250 + 1}:161"
        lines.append(f'farmwatch_snmp_device_info{{device="{dev}",profile="apc",class="pdu",name="pdu-{p}"}} 1')
        lines.append(f'farmwatch_snmp_up{{device="{dev}"}} 1')
        lines.append(f'farmwatch_pdu_power_watts{{device="{dev}"}} {outlets * 3000}')
        for o in range(1, outlets + 1):
            lines.append(f'farmwatch_pdu_outlet_power_watts{{device="{dev}",outlet="{o}"}} {3000 + o}')
    for m in range(shard, miners, 2):
        dev = f"10.0.{m // 250}.{m % 250 + 1}:4028"
        p, o = divmod(m, outlets)
        lines.append(f'farmwatch_miner_info{{device="{dev}",model="S19",container="C{p // 40}",rack="R{p}",'
                     f'pdu="pdu-{p}",outlet="{o + 1}"}} 1')
        lines.append(f'farmwatch_miner_up{{device="{dev}"}} 1')
        lines.append(f'farmwatch_miner_power_watts{{device="{dev}",source="reported"}} 2950')
        lines.append(f'farmwatch_miner_hashrate_hashes_per_second{{device="{dev}"}} 1.1e14')
    return ("\n".join(lines) + "\n").encode()


def serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rule_groups(prom: Prometheus) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{prom.port}/api/v1/rules", timeout=10) as r:
        return list(json.load(r)["data"]["groups"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--miners", type=int, default=20000)
    ap.add_argument("--outlets", type=int, default=24)
    ap.add_argument("--evaluations", type=int, default=10)
    ap.add_argument("--interval", type=int, default=15, help="scrape and evaluation interval, seconds")
    ap.add_argument("--top", type=int, default=6, help="slowest rules to list")
    args = ap.parse_args()
    servers = [serve(exposition(i, args.miners, args.outlets)) for i in (0, 1)]
    targets = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    iv = f"{args.interval}s"
    cfg = {"global": {"scrape_interval": iv, "evaluation_interval": iv},
           "rule_files": [str(REPO / "rules" / "power.rules.yml"), str(REPO / "rules" / "farmwatch.rules.yml")],
           "scrape_configs": [{"job_name": "farmwatch", "scrape_timeout": iv,
                               "static_configs": [{"targets": targets, "labels": {"site": "bench"}}]}]}
    with tempfile.TemporaryDirectory() as tmp:
        prom = Prometheus(Path(tmp), cfg)
        try:
            durations: dict[str, list[float]] = {}
            per_rule: dict[str, list[float]] = {}
            errors: set[str] = set()
            deadline = time.monotonic() + args.interval * (args.evaluations + 4)
            while time.monotonic() < deadline and min((len(v) for v in durations.values()), default=0) < args.evaluations:
                time.sleep(args.interval)
                for group in rule_groups(prom):
                    durations.setdefault(group["name"], []).append(float(group["evaluationTime"]))
                    for r in group["rules"]:
                        per_rule.setdefault(r["name"], []).append(float(r["evaluationTime"]))
                    errors.update(f"{r['name']}: {r['lastError']}" for r in group["rules"] if r["health"] == "err")
            joined = prom.query('count(farmwatch_miner_power_watts{source="pdu"})')
            racks = prom.query("count(farmwatch_rack_power_watts)")
            print(f"miners {args.miners}, PDUs {-(-args.miners // args.outlets)} x {args.outlets} outlets, 2 shards")
            print(f"miners joined to their outlet: {joined[0]['value'][1] if joined else 0}; "
                  f"racks: {racks[0]['value'][1] if racks else 0}; "
                  f"rules failing: {sorted(errors) or 'none'}")
            for group, values in sorted(durations.items()):
                steady = values[2:] or values
                print(f"{group}: median {statistics.median(steady):.3f} s, max {max(steady):.3f} s "
                      f"over {len(steady)} evaluations")
            slowest = sorted(per_rule.items(), key=lambda kv: -statistics.median(kv[1]))[:args.top]
            for name, values in slowest:
                print(f"  {name}: median {statistics.median(values):.3f} s")
        finally:
            prom.stop()
            for s in servers:
                s.shutdown()


if __name__ == "__main__":
    main()
