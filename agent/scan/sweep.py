"""``farmwatch scan``'s two stages, shared with the daemon's rescans.

1. A TCP connect sweep of the ports miners serve (:data:`PORTS`: web 80/8080, cgminer RPC / ePIC 4028,
   Whatsminer API 3 4433) with bounded concurrency. It runs on bare non-blocking sockets (no transports, no
   tasks per port): on a LAN, closed ports answer RST at once and empty addresses time out, so a /16 costs
   seconds of CPU, not minutes.
2. For every host with an open port, identification (:func:`collectors.asic.identify.identify`: RPC and HTTP
   probes raced under one deadline) and one poll, for the MAC, model and hashrate of the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from collectors.asic.http import WebCredentials, close_session
from collectors.asic.identify import identify
from collectors.asic.poll import MinerSession, poll, use_driver
from collectors.errors import DeviceError

from ..output import cli_message
from ..targets import expand_targets

PORTS = (80, 4028, 4433, 8080)
TIMINGS: dict[str, float] = {}  # stage wall times of the last scan() (bench/scan.py reports them)
# Which open port a session is keyed by (the miner's primary API: RPC when it has one, else its web port).
_PRIMARY = (4028, 80, 8080, 4433)


@dataclass(slots=True)
class Found:
    ip: str
    port: int
    open_ports: list[int]
    driver: str | None = None
    make: str | None = None
    model: str | None = None
    firmware: str | None = None
    mac: str | None = None
    serial: str | None = None
    hashrate_ths: float | None = None
    error: str | None = None
    state: str | None = None  # the miner's state when it was read (hashing, sleeping, ...)
    needs_login: bool = False  # identified, but its web API needs a login the scan did not have

    def row(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------------ stage 1: sweep


_LINGER_RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # close() sends RST: no TIME_WAIT pile-up, nothing to answer


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    sock.close()


async def probe_ports(loop: asyncio.AbstractEventLoop, host: str, ports: Sequence[int], timeout: float) -> list[int]:
    """The ports of ``host`` that accept a TCP connection within ``timeout``.

    Every connect is started at once without a task; a refused port (the common case on a LAN: RST at once)
    costs one syscall. Only connects still in progress are waited for, together, under one timer.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    open_ports: list[int] = []
    pending: dict[int, tuple[int, socket.socket]] = {}
    for port in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            err = sock.connect_ex((host, port))
        except OSError:
            err = errno.EHOSTUNREACH
        if err == 0:
            open_ports.append(port)
        elif err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            pending[sock.fileno()] = (port, sock)
            continue
        _close(sock)
    if pending:
        done: asyncio.Future[None] = loop.create_future()
        left = set(pending)

        def ready(fd: int) -> None:
            loop.remove_writer(fd)
            left.discard(fd)
            port, sock = pending[fd]
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                open_ports.append(port)
            if not left and not done.done():
                done.set_result(None)

        for fd in pending:
            loop.add_writer(fd, ready, fd)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            pass
        finally:
            for fd, (_port, sock) in pending.items():
                if fd in left:
                    loop.remove_writer(fd)
                _close(sock)
    return sorted(open_ports, key=list(ports).index)


class Progress:
    """A one-line progress bar on stderr (redrawn at most 5 times a second)."""

    def __init__(self, total: int, label: str, out: IO[str] | None = None, enabled: bool = True) -> None:
        self.total, self.label, self.out, self.enabled = total, label, out or sys.stderr, enabled
        self.done = 0
        self.found = 0
        self._last = 0.0

    def step(self, n: int = 1, found: int = 0) -> None:
        self.done += n
        self.found += found
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.out.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                           f"{self.done:,}/{self.total:,}  found {self.found:,} ")
            self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.step(0)
            self.out.write("\n")
            self.out.flush()


async def sweep(
    hosts: Sequence[str],
    *,
    ports: Sequence[int] = PORTS,
    concurrency: int = 1024,
    timeout: float = 1.0,
    progress: Progress | None = None,
) -> dict[str, list[int]]:
    """Open ports per host (hosts with none are left out), at most ``concurrency`` connects in flight."""
    loop = asyncio.get_running_loop()
    out: dict[str, list[int]] = {}
    it = iter(hosts)
    per_host = max(1, concurrency // max(len(ports), 1))

    async def worker() -> None:
        for host in it:
            open_ports = await probe_ports(loop, host, ports, timeout)
            if open_ports:
                out[host] = open_ports
            if progress is not None:
                progress.step(1, 1 if open_ports else 0)

    await asyncio.gather(*(worker() for _ in range(min(per_host, len(hosts)) or 1)))
    return {h: out[h] for h in hosts if h in out}


# --------------------------------------------------------------------------------------------- stage 2: identify


def primary_port(open_ports: Iterable[int]) -> int:
    found = set(open_ports)
    for p in _PRIMARY:
        if p in found:
            return 4028 if p == 4433 else p
    return 4028


async def identify_host(
    host: str, open_ports: list[int], *, timeout: float, credentials: WebCredentials | None
) -> tuple[Found, MinerSession | None]:
    """Identify and poll one host; the session (driver and cached state kept) when it was identified."""
    port = primary_port(open_ports)
    found = Found(ip=host, port=port, open_ports=open_ports)
    # 4028 is only a guess when nothing answered there: the driver's own port (an HTTP-only miner's web port)
    # then decides, as for a target configured without a port.
    session = MinerSession(host=host, port=port, credentials=credentials,
                           auto_port=port == 4028 and 4028 not in open_ports)
    loop = asyncio.get_running_loop()
    try:
        driver = await identify(session, deadline=loop.time() + timeout)
    except DeviceError as e:
        found.error = f"{e.reason}: {cli_message(e)}"
        return found, None
    use_driver(session, driver)
    found.port = session.port
    found.driver, found.make = driver.name, driver.make
    try:
        r = await poll(session, deadline=loop.time() + timeout)
    except DeviceError as e:
        found.error = f"{e.reason}: {cli_message(e)}"
        found.needs_login = e.reason == "auth"
        session.driver = driver  # poll forgets it on failure; identification did succeed
        return found, session
    found.make, found.model, found.firmware = r.make, r.model, r.firmware
    found.mac, found.serial, found.hashrate_ths = r.mac, r.serial, r.hashrate_ths
    found.state = r.state
    return found, session


async def scan(
    specs: Sequence[str],
    *,
    concurrency: int = 1024,
    timeout: float = 1.0,
    identify_timeout: float = 10.0,
    identify_concurrency: int = 512,
    credentials: WebCredentials | None = None,
    show_progress: bool = True,
) -> list[Found]:
    """Both stages over the addresses of ``specs`` (CIDR blocks, ranges, hosts). Raises TargetError."""
    t0 = time.perf_counter()
    hosts = list(dict.fromkeys(t.host for t in expand_targets(specs, 4028)))
    bar = Progress(len(hosts), "sweep   ", enabled=show_progress)
    answered = await sweep(hosts, concurrency=concurrency, timeout=timeout, progress=bar)
    bar.finish()
    TIMINGS["sweep_s"] = time.perf_counter() - t0
    idbar = Progress(len(answered), "identify", enabled=show_progress)
    limit = asyncio.Semaphore(identify_concurrency)
    results: list[Found] = []

    async def one(host: str, ports: list[int]) -> None:
        async with limit:
            found, _session = await identify_host(host, ports, timeout=identify_timeout, credentials=credentials)
        results.append(found)
        idbar.step(1, 1 if found.driver else 0)

    try:
        await asyncio.gather(*(one(h, p) for h, p in answered.items()))
    finally:
        await close_session()
    idbar.finish()
    TIMINGS["identify_s"] = time.perf_counter() - t0 - TIMINGS["sweep_s"]
    order = {h: i for i, h in enumerate(hosts)}
    return sorted(results, key=lambda f: order[f.ip])
