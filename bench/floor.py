"""Floor view benchmark: the agent's `/` for a 20,000-miner site, rendered and served, and how big it is.

The store is filled with 20,000 readings of the shapes the drivers produce (three boards, four fans, three pools,
a site map of 20 containers x 40 racks x 5 shelves x 5 slots, a PDU outlet each), 3 % of them sick (dead fan,
pulled board, hot chip) and 2 % down, then served by the agent's own HTTP server on loopback. Printed per view:
the model build (once per cycle, in the floor thread), the page render and the full HTTP request (what a
technician waits for when the model is current), and the page size as sent and gzipped. Nothing is polled: this
measures the floor view, not the miners (bench/scale.py does).

    .venv/bin/python bench/floor.py [--miners 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.daemon import Agent  # noqa: E402
from agent.floor.pages import index_page  # noqa: E402
from agent.server import WebServer  # noqa: E402
from collectors.asic.group import MinerGroup  # noqa: E402
from collectors.asic.poll import MinerSession  # noqa: E402
from collectors.asic.reading import Board, MinerReading, Pool  # noqa: E402
from collectors.errors import DeviceTimeout  # noqa: E402

CONTAINERS, RACKS, SHELVES, SLOTS = 20, 40, 5, 5
MODELS = ("S19 Pro", "S19j Pro", "S19 XP", "S21", "M50S VH50", "M60S VK30", "T21", "Avalon 1466")


def fill(agent: Agent, miners: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    now = time.time()
    group = agent.groups[0]
    for i, session in enumerate(group.sessions):
        dev = agent.store.ensure(session.device)
        per_rack = SHELVES * SLOTS
        rack, k = divmod(i, per_rack)
        dev.location = {"container": f"C{rack // RACKS + 1:02d}", "rack": f"R{rack % RACKS + 1:02d}",
                        "shelf": str(k // SLOTS + 1), "slot": str(k % SLOTS + 1), "pdu": f"pdu-{rack + 1}",
                        "outlet": str(k + 1)}
        roll = rnd.random()
        if roll < 0.02:
            agent.store.record_failure(session.device, DeviceTimeout("no reply within 10.0 s"))
            dev.last_success = now - rnd.randrange(60, 86400)
            continue
        boards = [Board(b, 36.0 + rnd.random(), 114, 114, 60 + 8 * rnd.random(), 70 + 9 * rnd.random()) for b in range(3)]
        fans = [5400 + rnd.randrange(600) for _ in range(4)]
        state = "hashing"
        if roll < 0.03:
            fans[rnd.randrange(4)] = 0
        elif roll < 0.04:
            boards[rnd.randrange(3)] = Board(1, None, 0, 114)
            state = "degraded"
        elif roll < 0.05:
            boards[0].chip_temp_c = 95.0
        model = MODELS[i % len(MODELS)]
        r = MinerReading(device=session.device, driver="antminer", make="Antminer", model=model, state=state,
                         firmware="stock", firmware_version="2024.01", mac=f"AA:BB:CC:{i >> 16 & 255:02X}:"
                         f"{i >> 8 & 255:02X}:{i & 255:02X}", hashrate_ths=sum(b.hashrate_ths or 0 for b in boards),
                         expected_hashrate_ths=110.0, power_w=3250.0, power_source="reported", fans_rpm=fans,
                         boards=boards, pools=[Pool(f"stratum+tcp://pool{p}.example:3333", "farm.w1", "alive", 1000, 3,
                                                    0, p, p == 0) for p in range(3)], uptime_s=86400, errors=[])
        agent.store.record_success(session.device, r)
    group.stats.cycles = 1
    group.stats.last_completed = now


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    out = None
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def fetch(url: str, gz: bool = False) -> bytes:
    """The body as sent: gzipped when asked for (a browser always asks)."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return bytes(r.read())


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--miners", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sessions = [MinerSession(host=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", port=4028) for i in range(args.miners)]
    agent = Agent(site="bench", groups=[MinerGroup(name="bench", sessions=sessions)], listen="127.0.0.1:0")
    fill(agent, args.miners)
    web = WebServer(agent, "127.0.0.1:0", None)
    await web.start()
    assert web.bound is not None
    base = f"http://127.0.0.1:{web.bound[1]}"
    print(f"floor view, {args.miners} miners; {platform.node()}, {os.cpu_count()} CPUs, "
          f"{platform.python_implementation()} {platform.python_version()}, {time.strftime('%Y-%m-%d')}")

    def build() -> object:
        agent.floor.changed()
        return agent.floor.current()

    build_s, floor = await asyncio.to_thread(timed, build, args.repeat)
    print(f"  model build (once per cycle, floor thread): {build_s * 1000:.0f} ms; "
          f"{floor.summary.todo} miners on the to-do list")  # type: ignore[attr-defined]
    views: dict[str, dict[str, str]] = {"/": {}, "/?container=C01": {"container": "C01"}, "/?container=C01&rack=R01": {"container": "C01", "rack": "R01"}}
    print(f"  {'view':28} {'render':>8} {'GET':>8} {'GET gzip':>9} {'bytes':>11} {'gzip bytes':>11}")
    device = sessions[0].device
    # /api/v1/miners: its first page (default limit) and the largest page a client may ask for (docs/floor.md).
    paths = [*views, f"/miner/{device}", "/api/v1/todo", "/api/v1/miners", "/api/v1/miners?limit=5000",
             "/api/v1/racks"]
    for path in paths:
        render = ""
        if path in views:
            render_s, _ = timed(lambda f=views[path]: index_page(floor, f), args.repeat)  # type: ignore[misc]
            render = f"{render_s * 1000:5.0f} ms"
        get_s, body = await asyncio.to_thread(timed, lambda p=path: fetch(base + p), args.repeat)  # type: ignore[misc]
        gz_s, gz = await asyncio.to_thread(timed, lambda p=path: fetch(base + p, True), args.repeat)  # type: ignore[misc]
        assert isinstance(body, bytes) and isinstance(gz, bytes)
        assert gz[:2] == b"\x1f\x8b"  # gzip magic: the server compressed it
        print(f"  {path:28} {render:>8} {get_s * 1000:5.0f} ms {gz_s * 1000:6.0f} ms {len(body):11,} {len(gz):11,}")
    await web.stop()
    agent.floor.close()


if __name__ == "__main__":
    asyncio.run(main())
