"""Discovery: ``farmwatch scan CIDR|RANGE...`` and the daemon's slow rescans of configured ranges.

Two stages:

1. A TCP connect sweep of the ports miners serve (:data:`PORTS`: web 80/8080, cgminer RPC / ePIC 4028,
   Whatsminer API 3 4433) with bounded concurrency. It runs on bare non-blocking sockets (no transports, no
   tasks per port): on a LAN, closed ports answer RST at once and empty addresses time out, so a /16 costs
   seconds of CPU, not minutes.
2. For every host with an open port, identification (:func:`collectors.asic.identify.identify`: RPC and HTTP
   probes raced under one deadline) and one poll, for the MAC, model and hashrate of the table.

Output: a table (a person: a state column, notes wrapped whole, a summary line), ``--json`` (an array of rows,
the summary on stderr), ``--write-targets FILE`` (a ``miners:`` block the daemon's site.yaml takes: one group per
driver, targets at their primary API port, a credentials stanza where a group needs a web login, and every host
that answered but is no miner farmwatch reads as a comment saying why) and ``--write-sitemap FILE`` (a site-map
CSV with a row per miner: mac, else serial, else ip identifies it; model and state help whoever fills in the
locations). Both paths are checked before the sweep starts.

:class:`Discovery` is the daemon side: a collector (name ``discovery``) that rescans each group's configured
ranges on a slow interval and updates the groups' sessions between cycles: a new miner gets a session, a miner
that moved (DHCP) is found again by its MAC and keeps its driver and cached state under its new address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import errno
import io
import json
import os
import socket
import sys
import textwrap
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from collectors.asic.http import WebCredentials, close_session
from collectors.asic.identify import identify
from collectors.asic.poll import MinerSession, poll, use_driver
from collectors.errors import DeviceError

from .collector import CycleStats
from .expected import write_atomic
from .exposition import Families
from .output import cli_message, emit
from .scheduler import MinerGroup
from .secret import Secret, SecretError
from .store import MinerStore
from .targets import Target, TargetError, expand_targets, shard_of

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


# ----------------------------------------------------------------------------------------------------- outputs


NOTE_WIDTH = 60


def state_of(f: Found) -> str:
    """The scan's state column: the miner's own state when it was read, else why it was not."""
    if f.driver is None:
        return "unidentified"  # something answered on a miner port, but no driver recognises it
    if f.state is not None:
        return f.state
    return "login" if f.needs_login else "unreadable"


@dataclass(frozen=True, slots=True)
class Summary:
    swept: int
    answered: int
    read: int
    login: int
    unreadable: int
    unidentified: int

    @property
    def miners(self) -> int:
        return self.read + self.login + self.unreadable

    def line(self) -> str:
        return (f"{self.swept:,} addresses swept, {self.answered:,} answered: {self.miners:,} miners "
                f"({self.read:,} read, {self.login:,} need a web login, {self.unreadable:,} unreadable), "
                f"{self.unidentified:,} unidentified")


def summarize(rows: Sequence[Found], swept: int) -> Summary:
    states = [state_of(f) for f in rows]
    return Summary(swept=swept, answered=len(rows), login=states.count("login"),
                   unreadable=states.count("unreadable"), unidentified=states.count("unidentified"),
                   read=sum(1 for f in rows if f.driver is not None and f.state is not None))


def table(rows: Sequence[Found], summary: Summary | None = None) -> str:
    """Columns padded to their widest cell; a long note wraps at word boundaries onto the next lines, under
    its own column (never cut mid-word: the end of a note is usually what says why)."""
    head = ("IP", "STATE", "MAC", "MAKE", "MODEL", "FIRMWARE", "TH/S", "NOTE")
    lines: list[tuple[str, ...]] = [head]
    notes: list[list[str]] = [[]]
    for f in rows:
        rate = f"{f.hashrate_ths:.2f}" if f.hashrate_ths is not None else "-"
        wrapped = textwrap.wrap(f.error or "", NOTE_WIDTH, break_long_words=False, break_on_hyphens=False)
        lines.append((f"{f.ip}:{f.port}", state_of(f), f.mac or "-", f.make or "-", f.model or "-",
                      f.firmware or f.driver or "-", rate, wrapped[0] if wrapped else ""))
        notes.append(wrapped[1:])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    indent = sum(w + 2 for w in widths[:-1])
    out: list[str] = []
    for row, more in zip(lines, notes, strict=True):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        out.extend(" " * indent + m for m in more)
    if summary is not None:
        out.append(summary.line())
    return "\n".join(out)


def _yaml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def targets_yaml(rows: Sequence[Found], specs: Sequence[str], *, summary: Summary | None = None,
                 credentials: str | None = None) -> str:
    """A ``miners:`` block for site.yaml: one group per identified driver (no identification at start-up), each
    miner written alone (an expected miner: down when it stops answering). ``credentials`` (a YAML flow mapping:
    the scan's own login flags) goes on every group; without it a group with miners that need a web login gets
    a stanza to fill in. Hosts that answered but are no miner farmwatch reads are listed as comments, with why."""
    by_driver: dict[str, list[Found]] = {}
    for f in rows:
        if f.driver:
            by_driver.setdefault(f.driver, []).append(f)
    lines = [f"# farmwatch scan {' '.join(specs)}"]
    if summary is not None:
        lines.append(f"# {summary.line()}")
    lines.append("# Each address below is an expected miner: the agent reports it down when it stops answering.")
    lines.append("miners:" if by_driver else "miners: []")
    for driver in sorted(by_driver):
        found = by_driver[driver]
        login = [f for f in found if f.needs_login]
        lines.append(f"  - driver: {driver}")
        if credentials is not None:
            lines.append(f"    credentials: {credentials}")
        elif login:
            lines.append(f"    # {len(login)} miner(s) of this group answered that their web API needs a login: put the")
            lines.append("    # password in this file (or use use_default_password: true for the firmware's default)")
            lines.append("    credentials: {web_password_file: /etc/farmwatch/web-password}")
        lines.append("    targets:")
        for f in found:
            what = " ".join(x for x in (f.make, f.model) if x) or driver
            lines.append(f"      - {_yaml_str(f'{f.ip}:{f.port}')}  # {state_of(f)}, {what}")
    unidentified = [f for f in rows if not f.driver]
    if unidentified:
        lines.append("# Answered on a miner port but not identified as a miner farmwatch reads (not polled; move one")
        lines.append("# into a group above if it is a miner):")
        for f in unidentified:
            ports = ",".join(str(p) for p in f.open_ports)
            why = " ".join((f.error or "no reply").split())
            lines.append(f"#   - {_yaml_str(f.ip)}  # open {ports}: {why}")
    return "\n".join(lines) + "\n"


SITEMAP_HEADER = "mac,serial,ip,container,rack,shelf,slot,pdu,outlet,model,state"


def sitemap_csv(rows: Sequence[Found], *, summary: Summary | None = None) -> str:
    """A site-map row for every miner, to fill in with its location. The row's identity is its MAC where known,
    else its serial, else its IP (agent/sitemap.py: the first filled of mac, serial, ip); the other two, model
    and state are there to help find the machine and are ignored by the agent."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    buf.write("# farmwatch scan site map: fill in container, rack, shelf, slot, pdu, outlet. A row is matched by its\n"
              "# mac, else serial, else ip (an ip row follows the address, not the machine: DHCP may move it).\n")
    if summary is not None:
        buf.write(f"# {summary.line()}\n")
    buf.write(SITEMAP_HEADER + "\n")
    for f in rows:
        if f.driver:
            w.writerow([f.mac or "", f.serial or "", f.ip, "", "", "", "", "", "", f.model or "", state_of(f)])
    for f in rows:
        if not f.driver:
            buf.write(f"# not a miner farmwatch reads: {f.ip} ({' '.join((f.error or 'no reply').split())[:200]})\n")
    return buf.getvalue()


def check_output_path(path: str) -> str | None:
    """Why ``path`` cannot be written, checked before a scan that may take minutes; None when it can."""
    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"{path}: directory {parent} does not exist"
    if p.exists() and not os.access(p, os.W_OK):
        return f"{path} is not writable"
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: directory {parent} is not writable"
    return None


def add_cli(subparsers: Any) -> None:
    """Register ``farmwatch scan`` on the CLI's subparsers (``cmd_scan`` is the handler, in ``func``)."""
    p = subparsers.add_parser("scan", help="find the miners in address ranges and identify them")
    p.add_argument("specs", nargs="+", metavar="CIDR|RANGE", help="e.g. 10.0.0.0/16 or 10.0.8.10-10.0.8.250")
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    p.add_argument("--concurrency", type=int, default=1024, help="TCP connects in flight (default 1024)")
    p.add_argument("--timeout", type=float, default=1.0, help="connect timeout per port, seconds (default 1)")
    p.add_argument("--identify-timeout", type=float, default=10.0, help="identification + poll per host")
    p.add_argument("--write-targets", metavar="FILE",
                   help="write a site.yaml miners: block (every responding host: miners by driver, the rest as comments)")
    p.add_argument("--write-sitemap", metavar="FILE",
                   help="write a site-map CSV, a row per miner (mac, else serial, else ip) to fill in with locations")
    add_web_login_flags(p)
    p.set_defaults(func=cmd_scan)


def add_web_login_flags(p: argparse.ArgumentParser) -> None:
    """The web login of ``scan`` and ``poll``, as in site.yaml's ``credentials:``: the password comes from a file
    or an environment variable, never from the command line; a firmware's default password only on request."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--web-password-file", metavar="FILE",
                     help="file holding the web password (login-only firmwares; MAC, serial, power on others)")
    src.add_argument("--web-password-env", metavar="VAR", help="environment variable holding the web password")
    p.add_argument("--web-username", metavar="USER", default=None, help="web login user (default: the firmware's)")
    p.add_argument("--use-default-password", action="store_true",
                   help="log in with each firmware's documented default password (when no password is given)")


def web_login(args: argparse.Namespace) -> WebCredentials:
    """The credentials of :func:`add_web_login_flags`; the secret is read now, so a missing file or unset variable
    is reported before anything is sent. Raises :class:`SecretError` (its message never holds the secret)."""
    password: Secret | None = None
    if args.web_password_file:
        password = Secret(path=Path(args.web_password_file))
    elif args.web_password_env:
        password = Secret(env=args.web_password_env)
    if password is not None:
        password.reveal()
    return WebCredentials(username=args.web_username, password=password,
                          use_default_password=args.use_default_password)


def _credentials_yaml(args: argparse.Namespace) -> str | None:
    """The scan's login flags as a site.yaml ``credentials:`` flow mapping (a file path made absolute, since
    the config may live elsewhere); None when the scan had no login."""
    parts = []
    if args.web_password_file:
        parts.append(f"web_password_file: {json.dumps(str(Path(args.web_password_file).resolve()))}")
    elif args.web_password_env:
        parts.append(f"web_password_env: {json.dumps(args.web_password_env)}")
    if args.web_username:
        parts.append(f"web_username: {json.dumps(args.web_username)}")
    if args.use_default_password:
        parts.append("use_default_password: true")
    return "{" + ", ".join(parts) + "}" if parts else None


def cmd_scan(args: argparse.Namespace) -> int:
    try:
        creds = web_login(args)
    except SecretError as e:
        print(f"farmwatch scan: {e}", file=sys.stderr)
        return 2
    if args.concurrency < 1 or args.timeout <= 0:
        print("farmwatch scan: --concurrency must be >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    # Where the results go is checked before a sweep that can take minutes, not after it.
    for flag, path in (("--write-targets", args.write_targets), ("--write-sitemap", args.write_sitemap)):
        problem = check_output_path(path) if path else None
        if problem is not None:
            print(f"farmwatch scan: {flag}: {problem}", file=sys.stderr)
            return 2
    try:
        swept = len({t.host for t in expand_targets(args.specs, 4028)})
    except TargetError as e:
        print(f"farmwatch scan: {e}", file=sys.stderr)
        return 2
    rows = asyncio.run(scan(args.specs, concurrency=args.concurrency, timeout=args.timeout,
                            identify_timeout=args.identify_timeout, credentials=creds,
                            show_progress=sys.stderr.isatty() or not args.json))
    summary = summarize(rows, swept)
    if args.json:
        emit(json.dumps([{**f.row(), "state": state_of(f)} for f in rows], indent=1))
        print(summary.line(), file=sys.stderr)
    else:
        emit(table(rows, summary))
    try:
        if args.write_targets:
            write_atomic(Path(args.write_targets),
                         targets_yaml(rows, args.specs, summary=summary, credentials=_credentials_yaml(args)))
        if args.write_sitemap:
            write_atomic(Path(args.write_sitemap), sitemap_csv(rows, summary=summary))
    except OSError as e:
        print(f"farmwatch scan: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------------------ daemon: rediscovery


@dataclass
class Discovery:
    """Collector ``discovery``: every ``interval`` seconds, sweep each group's ranges and update its sessions.

    ``ranges[i]`` are the target specs to rescan for ``groups[i]`` (usually the group's CIDR/range specs from
    site.yaml). Sessions are replaced by new lists between the scheduler's cycles, never mutated during one.
    """

    groups: list[MinerGroup]
    ranges: list[list[str]]
    credentials: list[WebCredentials | None] = field(default_factory=list)
    interval: float = 3600.0
    timeout: float = 60.0
    connect_timeout: float = 1.0
    concurrency: int = 256
    name: str = "discovery"
    stats: CycleStats = field(default_factory=CycleStats)
    by_mac: dict[str, tuple[int, str]] = field(default_factory=dict)  # MAC -> (group index, host)
    added: int = 0
    moved: int = 0
    # (i, n): only hosts in this agent's shard are added, so n sharded agents still poll each miner once.
    shard: tuple[int, int] | None = None
    # Set by the agent: a moved miner's state follows it to the new address, so nothing stays behind under the
    # old one (the store is what /metrics shows: an entry left there would be served as if it were current).
    store: MinerStore | None = None

    async def run_cycle(self) -> None:
        started = time.monotonic()
        for gi, (group, specs) in enumerate(zip(self.groups, self.ranges, strict=False)):
            try:
                hosts = list(dict.fromkeys(t.host for t in expand_targets(specs, 4028)))
            except TargetError:
                self.stats.errors["config"] += 1
                continue
            answered = await sweep(hosts, concurrency=self.concurrency, timeout=self.connect_timeout)
            creds = self.credentials[gi] if gi < len(self.credentials) else None
            await self._update(gi, group, answered, creds)
        self.stats.cycles += 1
        self.stats.last_duration = time.monotonic() - started
        self.stats.last_completed = time.time()
        self.stats.devices = sum(len(g.sessions) for g in self.groups)

    async def _update(self, gi: int, group: MinerGroup, answered: dict[str, list[int]],
                      creds: WebCredentials | None) -> None:
        known = {s.host: s for s in group.sessions}
        new_hosts = [h for h in answered if h not in known and self._in_shard(h)]
        # What the known hosts are (their MAC) is learnt once, so a later move can be recognised.
        unlearnt = [h for h in answered if h in known and h not in {v[1] for v in self.by_mac.values()}]
        limit = asyncio.Semaphore(self.concurrency)

        async def one(host: str) -> tuple[Found, MinerSession | None]:
            async with limit:
                return await identify_host(host, answered[host], timeout=min(self.timeout, 15.0), credentials=creds)

        results = await asyncio.gather(*(one(h) for h in new_hosts + unlearnt))
        sessions = list(group.sessions)
        for found, session in results:
            if found.mac:
                prev = self.by_mac.get(found.mac)
                self.by_mac[found.mac] = (gi, found.ip)
                if prev is not None and prev[1] != found.ip and found.ip not in known:
                    # Moved (DHCP): drop the old address's session; the new one starts with the old cache.
                    old = next((s for s in self.groups[prev[0]].sessions if s.host == prev[1]), None)
                    if old is not None and prev[1] not in answered:
                        target = self.groups[prev[0]]
                        target.sessions = [s for s in target.sessions if s is not old]
                        if target is group:
                            sessions = [s for s in sessions if s is not old]
                        if session is not None:
                            session.state = old.state
                        if self.store is not None:
                            if session is not None:
                                self.store.rekey(old.device, session.device)
                            else:
                                self.store.devices.pop(old.device, None)
                        self.moved += 1
            if found.ip not in known and session is not None:
                sessions.append(session)
                self.added += 1
        group.sessions = sessions

    def _in_shard(self, host: str) -> bool:
        return self.shard is None or shard_of(Target(host, 4028), self.shard[1]) == self.shard[0]

    def families(self, fams: Families) -> None:
        fam = fams.get("farmwatch_discovery_miners", "gauge", "Miners found by the last rediscovery, by group.")
        for g in self.groups:
            fam.add(f'{{group="{g.name}"}}', float(len(g.sessions)))
        moved = fams.get("farmwatch_discovery_moved", "counter", "Miners found again at a new address by MAC.")
        moved.add("", float(self.moved))
        added = fams.get("farmwatch_discovery_added", "counter", "Miners added by rediscovery.")
        added.add("", float(self.added))

    async def close(self) -> None:
        await close_session()
