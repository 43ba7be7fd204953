"""SimSite: thousands of simulated miners in one asyncio process, one listening socket per loopback IP.

Each connection reads one request (until the JSON object is complete, EOF, or ``read_timeout_s``), records it,
waits the miner's latency, answers ``reply + NUL`` and closes, as cgminer does. Rendered replies are cached per
miner and poll, so repeated reads cost a dictionary lookup and one ``write``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import time
from dataclasses import dataclass

from . import noise as n
from .addresses import addresses
from .cgminer import parse_request
from .conn import Conn
from .faults import (
    GIGABYTE,
    bad_utf8,
    check,
    endless_chunks,
    garble,
    huge_chunks,
    negative,
    nested,
    not_numbers,
    short_body,
    truncate,
)
from .firmwares import get
from .fleet import DEFAULT_MIX, assign_faults, check_mix, make_miner
from .miner import SimMiner
from .variants import check as check_variant

# Hostile devices whose reply is the real one, damaged (simsite.faults).
_HOSTILE_BYTES = {"badutf8": bad_utf8, "nested": nested, "nan": not_numbers, "negative": negative}


@dataclass(frozen=True, slots=True)
class Request:
    ip: str
    port: int
    raw: bytes
    commands: list[str]
    parameter: str | None
    time: float


def _segment_from_env() -> tuple[int, float]:
    text = os.environ.get("SIMSITE_SEGMENT", "")
    if not text:
        return 0, 0.0
    size, _, gap_ms = text.partition(":")
    try:
        return int(size), float(gap_ms or 30) / 1000.0
    except ValueError:
        raise ValueError(f"SIMSITE_SEGMENT={text!r}: expected BYTES[:MILLISECONDS], e.g. 1400:30") from None


def raise_nofile_limit() -> int:
    """Lift the soft open-files limit to the hard one; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


class SimSite:
    """A simulated mining site. Build with :meth:`build`, then ``await start()`` / ``await stop()``."""

    def __init__(
        self,
        miners: list[SimMiner],
        *,
        poll_gap_s: float = 1.0,
        slow_ms: float = 3000.0,
        huge_bytes: int = 8 * 1024 * 1024,
        read_timeout_s: float = 2.0,
        drip_s: float = 1.0,
        max_requests: int = 200_000,
        backlog: int = 128,
        segment_bytes: int | None = None,
        segment_gap_s: float | None = None,
    ) -> None:
        """``segment_bytes``/``segment_gap_s``: deliver every reply in pieces of that many bytes that far apart
        (0: in one write, as loopback does); see :meth:`Conn.send_paced`. Unset, they come from the environment
        variable ``SIMSITE_SEGMENT`` ("1400:30" = 1,400 bytes, 30 ms apart), else 0: a whole test run can be
        made to see the network's delivery (``SIMSITE_SEGMENT=1400:30 make test``)."""
        self.miners = miners
        env_bytes, env_gap = _segment_from_env()
        self.segment_bytes = int(segment_bytes if segment_bytes is not None else env_bytes)
        self.segment_gap_s = segment_gap_s if segment_gap_s is not None else env_gap
        self.poll_gap_s = poll_gap_s
        self.slow_ms = slow_ms
        self.huge_bytes = huge_bytes
        self.read_timeout_s = read_timeout_s
        self.drip_s = drip_s
        self.max_requests = max_requests
        self.backlog = backlog
        self.requests: list[Request] = []
        self.served = 0
        self._by_ip = {m.ip: m for m in miners}
        self._socks: dict[str, socket.socket] = {}
        self._extra_socks: dict[str, list[socket.socket]] = {}
        self._conns: set[Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False

    @classmethod
    def build(
        cls,
        count: int = 1000,
        seed: int = 1,
        base_ip: str = "127.10.0.1",
        mix: dict[str, float] | None = None,
        latency_ms: tuple[float, float] = (5.0, 20.0),
        faults: dict[str, float] | None = None,
        port: int = 4028,
        poll_interval_s: int = 60,
        shard: tuple[int, int] | None = None,
        **options: float,
    ) -> SimSite:
        """A deterministic site: the same arguments give the same miners, identities and replies.

        ``mix``: firmware name -> weight (default :data:`DEFAULT_MIX`); ``faults``: fault name -> fraction of
        miners; ``shard=(i, k)``: keep only the i-th of k equal slices (same miners as the full site, for running
        a large site as several processes). Other keyword options go to the constructor.
        """
        weights = check_mix(mix if mix is not None else DEFAULT_MIX)
        ips = addresses(base_ip, count)
        fault_of = assign_faults(count, seed, faults)
        indexes = range(count)
        if shard is not None:
            i, k = shard
            size = -(-count // k)
            indexes = range(i * size, min(count, (i + 1) * size))
        miners = [
            make_miner(idx, ips[idx], port, seed, weights, latency_ms, fault_of[idx], poll_interval_s)
            for idx in indexes
        ]
        return cls(miners, **options)  # type: ignore[arg-type]

    # --- lifecycle ---
    async def start(self) -> None:
        """Bind one listening socket per miner (except those set to "refuse")."""
        self._loop = asyncio.get_running_loop()
        limit = raise_nofile_limit()
        if sum(1 + len(get(m.firmware).extra_ports(m)) for m in self.miners) + 64 > limit:
            raise RuntimeError(
                f"{len(self.miners)} listeners exceed the open-files limit {limit}; "
                "run a large site as several processes (python -m simsite --processes N)"
            )
        self._started = True
        try:
            for m in self.miners:
                if m.fault != "refuse":
                    self._listen(m)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every listener and every open connection."""
        self._started = False
        for m in self.miners:
            self._unlisten(m)
        for conn in list(self._conns):
            conn.close()
        await asyncio.sleep(0)

    async def __aenter__(self) -> SimSite:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _listen(self, m: SimMiner) -> None:
        # Synchronous bind + listen: a cleared "refuse" is connectable at once (the kernel queues connections).
        assert self._loop is not None
        if m.extra.get("variant") != "rpc_closed":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((m.ip, m.port))
                sock.listen(self.backlog)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            self._socks[m.ip] = sock
            self._loop.add_reader(sock.fileno(), self._accept, sock, m)
        for port in get(m.firmware).extra_ports(m):  # web server, API 3 (simsite/firmwares)
            extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            extra.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            extra.bind((m.ip, port))
            extra.listen(self.backlog)
            extra.setblocking(False)
            self._extra_socks.setdefault(m.ip, []).append(extra)
            self._loop.add_reader(extra.fileno(), self._accept, extra, m)

    def _unlisten(self, m: SimMiner) -> None:
        for extra in self._extra_socks.pop(m.ip, []):
            if self._loop is not None:
                self._loop.remove_reader(extra.fileno())
            extra.close()
        sock = self._socks.pop(m.ip, None)
        if sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()

    def _accept(self, lsock: socket.socket, m: SimMiner) -> None:
        loop = self._loop
        assert loop is not None
        for _ in range(self.backlog):
            try:
                sock, _addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors: leave the rest queued for the next round
                return
            sock.setblocking(False)
            self._conns.add(Conn(sock, loop, m, self.read_timeout_s, self._on_request, self._conns.discard))

    # --- public helpers ---
    def miner(self, ip: str) -> SimMiner:
        return self._by_ip[ip]

    def target_list(self) -> list[str]:
        return [f"{m.ip}:{m.port:d}" for m in self.miners]

    def set_fault(self, ip: str, fault: str | None) -> None:
        """Change a miner's fault now; "refuse" closes its listener, clearing it reopens the listener."""
        check(fault)
        m = self._by_ip[ip]
        before, m.fault = m.fault, fault
        m.invalidate()
        if not self._started:
            return
        if fault == "refuse" and before != "refuse":
            self._unlisten(m)
        elif before == "refuse" and fault != "refuse":
            self._listen(m)

    def set_variant(self, ip: str, variant: str | None) -> None:
        """Make a miner answer as another build of its firmware does (:mod:`simsite.variants`); None: stock.
        ``rpc_closed`` closes the RPC listener and keeps the web port."""
        check_variant(variant)
        m = self._by_ip[ip]
        before = m.extra.get("variant")
        m.extra["variant"] = variant
        m.invalidate()
        if self._started and "rpc_closed" in (before, variant) and before != variant:
            self._unlisten(m)
            self._listen(m)

    def advance(self, polls: int = 1) -> None:
        """Move every miner to its next poll (values drift, counters grow, virtual time passes)."""
        for m in self.miners:
            m.advance(polls)

    def clear_requests(self) -> None:
        self.requests.clear()

    # --- request path ---
    def _on_request(self, conn: Conn) -> None:
        m = conn.miner
        loop = self._loop
        assert loop is not None
        now = loop.time()
        if m.last_activity is not None and now - m.last_activity >= self.poll_gap_s:
            m.epoch += 1
        m.last_activity = now
        raw = bytes(conn.buf)
        p = parse_request(raw)
        self.requests.append(Request(m.ip, m.port, raw, p.commands, p.parameter, time.time()))
        if len(self.requests) > self.max_requests:
            del self.requests[: len(self.requests) // 2]
        m.served += 1
        if m.fault == "hang":
            return
        delay = m.latency_ms + m.jitter_ms * n.sym(m.seed, m.index, m.served, n.CH_JITTER)
        if m.fault == "slow":
            delay += self.slow_ms
        if delay <= 0:
            self._respond(conn, raw)
            return
        handle = loop.call_later(delay / 1000.0, self._respond_later, conn, raw)
        conn.timer = handle

    def _respond_later(self, conn: Conn, raw: bytes) -> None:
        conn.timer = None
        self._respond(conn, raw)

    def _respond(self, conn: Conn, raw: bytes) -> None:
        if not conn.open:
            return
        m = conn.miner
        assert self._loop is not None
        m.last_activity = self._loop.time()
        fault = m.fault
        self.served += 1
        if fault == "hang":  # set while this request was waiting
            return
        if fault in ("huge", "gigabyte", "endless"):
            fw = get(m.firmware)
            desc, when = fw.description(m), m.snapshot().when
            if fault == "endless":
                conn.send_stream(endless_chunks(desc, when))
            else:
                conn.send_stream(huge_chunks(desc, when, GIGABYTE if fault == "gigabyte" else self.huge_bytes))
            return
        data = self.render(m, raw)
        if fault in _HOSTILE_BYTES:
            data = _HOSTILE_BYTES[fault](data)
        elif fault == "slowloris":
            conn.send_drip(data, self.drip_s)
            return
        if fault == "truncated":
            data = truncate(data)
        elif fault == "malformed":
            data = garble(data, m.seed, m.index, m.epoch)
        elif fault == "short_body":
            data = short_body(data)
        elif fault == "reset":
            data = data[: max(1, len(data) // 2)]
        if self.segment_bytes > 0:
            conn.send_paced(data, self.segment_bytes, self.segment_gap_s, reset=fault == "reset")
        elif fault == "reset":
            conn.reset(data)
        else:
            conn.send(data)

    def render(self, m: SimMiner, raw: bytes) -> bytes:
        """The miner's reply to ``raw`` in its current poll, NUL-terminated (cached per poll)."""
        if m.replies_epoch != m.epoch:
            m.replies.clear()
            m.replies_epoch = m.epoch
        out = m.replies.get(raw)
        if out is None:
            fw = get(m.firmware)
            special = fw.answer_raw(m, m.snapshot(), raw)  # HTTP / API 3 personalities
            out = special if special is not None else fw.answer(m, m.snapshot(), parse_request(raw)).encode() + b"\x00"
            if len(m.replies) < 16:
                m.replies[raw] = out
        return out
