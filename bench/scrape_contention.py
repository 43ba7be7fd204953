"""How long one gzip /metrics scrape takes while another thread keeps the GIL busy, by write size.

At 20,000 miners the agent's polling loop and render thread are CPU-bound for most of a cycle, and the web
server's thread must take the GIL back for every write of the body. This serves a body of the same size through
the agent's own ``send_body`` on loopback, with one thread spinning in Python beside it, and times a scrape for
each write size given, interleaved so both see the same machine.

    python bench/scrape_contention.py --pieces 16384 65536 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import sys
import threading
import time
import urllib.request
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import agent.server as server  # noqa: E402

HOST, PORT = "127.73.0.1", 18099


def body(samples: int) -> bytes:
    rnd = random.Random(1)
    text = "".join(f'farmwatch_miner_x{{device="10.0.{i // 250}.{i % 250}",v="{rnd.random()}"}} {rnd.random()}\n'
                   for i in range(samples))
    return gzip.compress(text.encode(), 6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pieces", type=int, nargs="+", default=[16 * 1024, 64 * 1024])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scrapes", type=int, default=7)
    ap.add_argument("--samples", type=int, default=400_000)
    args = ap.parse_args()
    gz = body(args.samples)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await server.send_body(request, gz, {"Content-Encoding": "gzip"}, gunzip=False, plain_size=None)

    ready, done = threading.Event(), threading.Event()

    def serve() -> None:
        async def run() -> None:
            app = web.Application()
            app.router.add_get("/metrics", handler)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, HOST, PORT).start()
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.1)
            await runner.cleanup()
        asyncio.run(run())

    def spin() -> None:  # a Python thread that never blocks: the GIL is always wanted
        x = 0
        while not done.is_set():
            for i in range(1000):
                x += i * i

    web_thread = threading.Thread(target=serve)
    web_thread.start()
    ready.wait(10)
    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        for _ in range(args.rounds):
            for piece in args.pieces:
                server.SEND_PIECE_GZIP = piece
                times = []
                for _ in range(args.scrapes):
                    t0 = time.perf_counter()
                    req = urllib.request.Request(f"http://{HOST}:{PORT}/metrics", headers={"Accept-Encoding": "gzip"})
                    with urllib.request.urlopen(req, timeout=30) as r:
                        r.read()
                    times.append(time.perf_counter() - t0)
                times.sort()
                print(f"write {piece // 1024:>4} KiB  body {len(gz) / 1e6:.1f} MB gzip  scrape median "
                      f"{times[len(times) // 2] * 1000:.0f} ms  max {times[-1] * 1000:.0f} ms", flush=True)
    finally:
        done.set()
        spinner.join()
        web_thread.join()


if __name__ == "__main__":
    main()
