"""``python -m simsite`` / ``farmwatch-sim``: run a simulated site in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Sequence

from . import variants
from .faults import FAULTS
from .site import SimSite
from .variants import VARIANTS


def _weights(text: str) -> dict[str, float]:
    if text.strip() == "mixed":
        from .fleet import MIXED_MIX

        return dict(MIXED_MIX)
    out = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        out[name.strip()] = float(value or 1)
    return out


def _pair(parts: list[str]) -> tuple[float, float]:
    values = [float(x) for part in parts for x in part.split(",") if x]
    if not 1 <= len(values) <= 2:
        raise SystemExit("--latency-ms takes LO [HI] (or LO,HI) in milliseconds")
    return values[0], values[-1]


def _shard(text: str) -> tuple[int, int]:
    i, _, k = text.partition("/")
    return int(i), int(k)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simsite", description="Simulated ASIC mining site on loopback IPs (port 4028)."
    )
    p.add_argument("--count", type=int, default=1000, help="number of miners (default 1000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--base-ip", default="127.10.0.1", help="first miner address (every 127.x.y.z is on lo)")
    p.add_argument("--port", type=int, default=4028)
    p.add_argument(
        "--mix", type=_weights, default=None, help="firmware weights, e.g. antminer=3,whatsminer=1"
    )
    p.add_argument(
        "--faults", type=_weights, default=None, help=f"fault fractions, e.g. hang=0.01; {sorted(FAULTS)}"
    )
    p.add_argument(
        "--latency-ms", nargs="+", default=["5", "20"], help="per-miner latency range: LO HI or LO,HI"
    )
    p.add_argument(
        "--processes", type=int, default=1, help="split the site over N processes (open-file limit)"
    )
    p.add_argument(
        "--variants", type=_weights, default=None,
        help=f"firmware-variant fractions, e.g. fan_gap=0.05,no_optional=0.02; {sorted(VARIANTS)}",
    )
    p.add_argument("--segment-bytes", type=int, default=None,
                   help="deliver replies in pieces of this many bytes (1400: a LAN's segments; 0: one write)")
    p.add_argument("--segment-gap-ms", type=float, default=None, help="pause between pieces (default 30)")
    p.add_argument("--shard", type=_shard, default=None, help=argparse.SUPPRESS)
    return p


async def _run(args: argparse.Namespace, shard: tuple[int, int] | None) -> None:
    site = SimSite.build(
        count=args.count,
        seed=args.seed,
        base_ip=args.base_ip,
        mix=args.mix,
        latency_ms=_pair(args.latency_ms),
        faults=args.faults,
        port=args.port,
        shard=shard,
    )
    if args.segment_bytes is not None:  # else SimSite took SIMSITE_SEGMENT from the environment, or none
        site.segment_bytes = args.segment_bytes
        site.segment_gap_s = (args.segment_gap_ms if args.segment_gap_ms is not None else 30.0) / 1000.0
    if args.variants:
        # Same seed, same miners get the same variant (an index-keyed draw, as faults are assigned).
        chosen = variants.assign(args.count, args.seed, args.variants)
        for m in site.miners:
            if chosen[m.index] is not None:
                site.set_variant(m.ip, chosen[m.index])
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if site.miners:
        first, last = site.miners[0], site.miners[-1]
        print(
            f"simsite: {len(site.miners)} miners {first.ip} - {last.ip} port {first.port} (seed {args.seed})",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        await site.stop()
        print(f"simsite: stopped after {site.served} replies", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    shard = args.shard
    children: list[subprocess.Popen[bytes]] = []
    if shard is None and args.processes > 1:
        base = [sys.executable, "-m", "simsite"] + list(argv if argv is not None else sys.argv[1:])
        children = [
            subprocess.Popen(base + ["--shard", f"{i}/{args.processes}"]) for i in range(1, args.processes)
        ]
        shard = (0, args.processes)
    try:
        asyncio.run(_run(args, shard))
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
    return 0
