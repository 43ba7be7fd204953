"""The web server's own share of the process: a connection cap, a header deadline, a descriptor budget, and a
log that a flood cannot fill (issue 11, finding 2).

aiohttp's server has none of these: it accepts every connection, waits for request headers forever, keeps an
idle keep-alive connection for an hour, and shares the process's file descriptors with polling. 1,100
half-open connections on the web port (fd limit 1024) took every descriptor, so every poll failed and
/metrics could not be reached. Here each accepted connection goes through :class:`GuardedProtocol`, a thin
wrapper around aiohttp's protocol that

- counts open connections against a cap, per client host too; at the cap, a new connection replaces an idle
  one (no complete request head yet) of a host holding many, or one idle for over ``GRACE_S``, else it is
  reset at once (:meth:`ConnectionGuard._admit`). A prompt client (Prometheus sends its head in the first
  packet) is not the one replaced;
- closes a connection whose request (request line, headers and the ``Content-Length`` bytes of its body) is
  not complete ``HEADER_TIMEOUT_S`` after it connected or after the first byte of the next request on a
  keep-alive connection. The one body the server takes (a window POSTed to ``/api/v1/curtailment``) is part
  of its request: its bytes neither start the next request's deadline nor escape this one, so between
  requests only the keep-alive timeout applies. A chunked body is refused (413) and not counted.

The cap is the web server's descriptor budget: :func:`budget` sizes it from RLIMIT_NOFILE so that polling
always keeps most of the process's descriptors, whatever clients do.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger("farmwatch.http")

HEADER_TIMEOUT_S = 10.0
KEEPALIVE_S = 30.0  # an idle keep-alive connection is closed after this (aiohttp's default is an hour)
GRACE_S = 0.5
# No more of a head line is kept while looking for Content-Length: aiohttp refuses any line longer than
# agent/server.py's MAX_LINE_BYTES (4,096) anyway.
MAX_HEAD_LINE = 8192
# The kernel's queue of connections not yet accepted (costs no descriptor). Deep, so that a burst of a
# flood's reconnects does not overflow it and drop a scrape's SYN (TCP retries it only after 1 s, then 3 s).
BACKLOG = 4096
SEND_STALL_S = 30.0  # a client that takes no part of a response for this long is dropped
MAX_CONNECTIONS = 256
RESERVED_FDS = 64  # log files, the listening sockets, SNMP, NVML, config reads, the render thread


def nofile_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def budget(limit: int | None = None) -> tuple[int, int]:
    """(web connections, polling sockets) for a process allowed ``limit`` open files: the web server gets an
    eighth, at most MAX_CONNECTIONS and at least 8; polling gets the rest minus RESERVED_FDS."""
    n = nofile_limit() if limit is None else limit
    web = max(8, min(MAX_CONNECTIONS, n // 8))
    return web, max(16, n - web - RESERVED_FDS)


def listen_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A bound, listening, non-blocking TCP socket for ``host:port`` (the first address ``host`` names)."""
    family, kind, proto, _name, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class ConnectionGuard:
    """Accepts connections itself, one at a time, and hands each to ``factory``'s protocol (aiohttp's request
    handler) wrapped in a :class:`GuardedProtocol`.

    Not ``loop.create_server``: asyncio accepts up to 100 connections per wake-up and sets each up in a task
    of its own, so a flood holds hundreds of descriptors before any protocol can refuse one. Here at most
    ``limit`` are open, and one more for as long as it takes to decide whether it replaces one or is reset.
    """

    def __init__(self, factory: Callable[[], asyncio.BaseProtocol], limit: int,
                 header_timeout_s: float | None = None, per_peer: int | None = None) -> None:
        self.factory = factory
        self.limit = limit
        self.per_peer = per_peer if per_peer is not None else max(4, limit // 4)
        self.header_timeout_s = HEADER_TIMEOUT_S if header_timeout_s is None else header_timeout_s
        self.open: dict[GuardedProtocol, None] = {}  # insertion order: the oldest first
        self.peers: dict[str, int] = {}
        self.most_open = 0
        self.rejected = 0  # closed at accept: its host already had per_peer connections none of them idle
        self.replaced = 0  # idle connections closed to make room
        self.header_timeouts = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def _victim(self, peers: Callable[[str], bool], grace: float = GRACE_S) -> GuardedProtocol | None:
        """The oldest connection of a peer ``peers`` accepts that is idle: waiting over ``grace`` for a request
        head, or a keep-alive connection with no request in progress and nothing received for ``grace``."""
        now = time.monotonic()
        for c in self.open:
            if c.idle(now, grace) and peers(c.peer):
                return c
        return None

    def _heavy(self, peer: str) -> bool:
        return self.peers.get(peer, 0) >= self.per_peer

    def _admit(self, peer: str) -> GuardedProtocol | None:
        """Below the cap every connection is taken. At the cap, a connection from a host holding fewer than
        ``per_peer`` (Prometheus, a person) replaces an idle one of a host holding more, at once, or else any
        connection idle for over GRACE_S; one from a host holding ``per_peer`` or more (a flood) can only
        replace its own idle ones, so it competes with itself. With no one to replace it is refused (RST)."""
        if len(self.open) >= self.limit:
            if self._heavy(peer):
                victim = self._victim(lambda p: p == peer)
            else:
                victim = self._victim(self._heavy, grace=0.0) or self._victim(lambda _peer: True)
            if victim is None:
                self.rejected += 1
                return None
            self.replaced += 1
            victim.drop()
        conn = GuardedProtocol(self, cast(asyncio.Protocol, self.factory()), peer)
        self.open[conn] = None
        self.peers[peer] = self.peers.get(peer, 0) + 1
        self.most_open = max(self.most_open, len(self.open))
        return conn

    def _release(self, conn: GuardedProtocol) -> None:
        if self.open.pop(conn, False) is None:
            left = self.peers.get(conn.peer, 1) - 1
            if left > 0:
                self.peers[conn.peer] = left
            else:
                self.peers.pop(conn.peer, None)

    async def serve(self, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> None:
        """Accept on the listening ``sock`` until cancelled."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        while True:
            # Always taken off the listen queue, even at the cap: who may replace whom depends on the peer, and a
            # queue left full drops everyone's SYNs alike (Prometheus's scrape then waits for TCP's 1-3-7 s
            # retransmissions). A refused connection holds its descriptor only until the next line.
            try:
                conn, addr = await loop.sock_accept(sock)
            except OSError as e:  # EMFILE and kin: polling took the descriptors; try again shortly
                loop.call_exception_handler({"message": "accept failed", "exception": e})
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(0)  # sock_accept returns without yielding while the queue is full: let the
            # connections already accepted be read before the next one is taken
            peer = str(addr[0]) if isinstance(addr, tuple) else "local"
            proto = self._admit(peer)
            if proto is None:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
                conn.close()
                continue
            task = loop.create_task(self._connect(loop, proto, conn, ssl_context))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, loop: asyncio.AbstractEventLoop, proto: GuardedProtocol, conn: socket.socket,
                       ssl_context: ssl.SSLContext | None) -> None:
        try:
            await loop.connect_accepted_socket(
                lambda: proto, conn, ssl=ssl_context,
                ssl_handshake_timeout=self.header_timeout_s if ssl_context is not None else None)
        except (OSError, ssl.SSLError, TimeoutError, asyncio.CancelledError):
            self._release(proto)
            proto.cancel_timer()
            conn.close()


_LINGER_RST = struct.pack("ii", 1, 0)


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the head deadline (which starts at accept, so a TLS
    handshake that never finishes is held to it too)."""

    __slots__ = ("guard", "inner", "peer", "transport", "waiting_since", "last_data", "_timer", "_line",
                 "_head_lines", "_body_length", "_body_left", "_made", "_doomed")

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol, peer: str) -> None:
        self.guard = guard
        self.inner = inner
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.waiting_since: float | None = None  # monotonic time the current request head started waiting
        self._timer: asyncio.TimerHandle | None = None
        self._line = b""  # the start of a head line not yet ended by its LF
        self._head_lines = 0  # lines of the current head so far
        self._body_length = 0  # the current head's Content-Length
        self._body_left = 0  # bytes of the current request's body still to come
        self._made = False
        self._doomed = False
        self.last_data = time.monotonic()
        self._wait_for_head()

    # -- the head deadline ---------------------------------------------------------------------------
    def _wait_for_head(self) -> None:
        self.waiting_since = time.monotonic()
        self._timer = asyncio.get_running_loop().call_later(self.guard.header_timeout_s, self._head_late)

    def _head_late(self) -> None:
        self._timer = None
        self.guard.header_timeouts += 1
        self.drop()

    def idle(self, now: float, grace: float) -> bool:
        if self.waiting_since is not None:
            return now - self.waiting_since > grace
        # Between requests on a keep-alive connection (aiohttp's handler says whether one is being served;
        # unknown counts as busy): 128 clients that each sent one request and kept the connection open must not
        # hold every slot for the keep-alive time.
        busy = getattr(self.inner, "_request_in_progress", True)
        return not busy and now - self.last_data > grace

    def cancel_timer(self) -> None:
        self.waiting_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def drop(self) -> None:
        """Close at once (RST: nothing is owed to a client that has not sent its request). Its slot is free
        from now on, not from the loop's next turn, so one victim is never counted twice."""
        self.cancel_timer()
        self.guard._release(self)
        self._doomed = True
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol, delegated -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self._doomed:  # dropped while being set up
            self.transport.abort()
            return
        self._made = True
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._made:
            return
        self.last_data = time.monotonic()
        self._follow(data)
        self.inner.data_received(data)

    def _follow(self, data: bytes) -> None:
        """Where the client is: in a request's head, in its body, or between requests. The deadline runs from
        a request's first byte until its head and body are complete. Before the body was counted, its bytes
        (which have no blank line) started a new head deadline after the answer had been sent, and a client
        idle on keep-alive after a POST was reset at the header timeout instead of the keep-alive timeout."""
        pos, end = 0, len(data)
        while pos < end:
            if self._body_left:
                taken = min(self._body_left, end - pos)
                self._body_left -= taken
                pos += taken
                if not self._body_left:
                    self.cancel_timer()
                continue
            if self.waiting_since is None:  # the first byte of the next request (pipelined or after idling)
                self._wait_for_head()
            lf = data.find(b"\n", pos)
            if lf < 0:
                self._line = (self._line + data[pos:])[:MAX_HEAD_LINE]
                return
            line = (self._line + data[pos:lf])[:MAX_HEAD_LINE].rstrip(b"\r")
            self._line = b""
            pos = lf + 1
            self._head_line(line)

    def _head_line(self, line: bytes) -> None:
        if line:
            self._head_lines += 1
            name, colon, value = line.partition(b":")
            if colon and self._head_lines > 1 and name.strip().lower() == b"content-length":
                # An unreadable, negative or huge length is refused by aiohttp (400/413); counted here as no
                # body (and never parsed past 18 digits: int() of thousands of digits is slow or refused).
                digits = value.strip()
                self._body_length = int(digits) if digits.isdigit() and len(digits) <= 18 else 0
        elif self._head_lines:  # the blank line that ends the head
            self._body_left, self._body_length, self._head_lines = self._body_length, 0, 0
            if not self._body_left:
                self.cancel_timer()
        # A blank line before any request line is ignored (RFC 9112, 2.2), as aiohttp does.

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self._made else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timer()
        self.guard._release(self)
        if self._made:
            self._made = False
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class RateLimitedHandler:
    """The web loop's exception handler: one line per kind of error per ``every_s`` seconds, with a count of
    the ones left out, instead of a traceback per failed accept (a flood wrote 100+ MB of them in a minute)."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message", "error in the web server loop"))
        key = f"{message}|{type(exc).__name__ if exc else ''}"
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return
        self._last[key] = now
        skipped = self._skipped.pop(key, 0)
        more = f" ({skipped} more like it in the last {now - last:.0f}s)" if skipped and last is not None else ""
        log.error("web server: %s: %s%s", message, exc if exc is not None else "", more)
