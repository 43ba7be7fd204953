"""Which configured addresses are *expected* miners, and the record of scope finds that survives a restart.

An address written on its own in ``targets:`` (``10.0.9.7``, ``10.0.9.7:4028``, ``miner-17``) is an expected
miner: when it does not answer, it is down. A CIDR block or a range is a **scope**: the agent polls every
address in it, but an address that never answered as a miner is not a down miner (a /22 is mostly empty
ports on most sites) -- it is only counted, in ``farmwatch_scope_addresses{state}``. A scope address becomes an
expected miner when it is read successfully once (it is *found*), or when the site map lists its IP; from then
on it is a miner that can be down.

Finds are kept in ``<storage.path>/found-miners.json`` so that a miner found last week and dead since the agent
restarted is still down, not silently forgotten (docs/targets.md documents the file). The file is rewritten
only when the set of finds changes, atomically (a temporary file in the same directory, fsync, rename, fsync of
the directory): a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("farmwatch.expected")

FILE_NAME = "found-miners.json"
LOCK_NAME = ".lock"
FORMAT = "farmwatch-found-miners"
VERSION = 1
# Scope states of an address (farmwatch_scope_addresses{state}).
SCOPE_STATES = ("miner", "unidentified", "empty")
# Failure reasons that mean nothing answered at the address: it is empty, not an unidentified device.
UNREACHED = frozenset({"timeout", "refused", "reset", "resolve"})


@dataclass(slots=True)
class Find:
    """A miner found at a scope address; what the file keeps of it."""

    host: str
    device: str  # host:port it was read at (an HTTP-only miner's web port), so a restart keeps its series name
    driver: str | None = None
    model: str | None = None
    mac: str | None = None
    serial: str | None = None
    first_seen: float = 0.0


class StorageError(Exception):
    """The state directory cannot be used; the message names it and says why."""


class Expected:
    """Finds at scope addresses (by host) and the IPs the site map lists; optionally persisted under ``path``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.finds: dict[str, Find] = {}
        # MAC -> the scope hosts whose find has it: a new find retires the others without scanning every find
        # (a scan per find made a first cycle of 20,000 new finds quadratic: ~2 x 10^8 steps, tens of seconds).
        self._by_mac: dict[str, set[str]] = {}
        self.listed: frozenset[str] = frozenset()
        self.dirty = False
        self._lock_fd: int | None = None

    @property
    def path(self) -> Path | None:
        return self.directory / FILE_NAME if self.directory is not None else None

    def is_expected(self, host: str) -> bool:
        return host in self.finds or host in self.listed

    def found(self, host: str, device: str, *, driver: str | None, model: str | None, mac: str | None,
              serial: str | None, now: float | None = None) -> list[str]:
        """A scope address was read as a miner. Returns the hosts this find retires: another scope address
        whose recorded MAC is this one's (the miner moved, e.g. DHCP) stops being expected there."""
        old = self.finds.get(host)
        if (old is not None and old.device == device and old.driver == driver and old.model == model
                and old.mac == mac and old.serial == serial):
            return []  # the common case, every cycle for every found miner: nothing new, nothing built
        record = Find(host, device, driver, model, mac, serial,
                      old.first_seen if old else (time.time() if now is None else now))
        if old != record:
            self._set(host, record)
            self.dirty = True
        retired: list[str] = []
        if mac and (old is None or old.mac != mac):
            for other in sorted(self._by_mac.get(mac, set()) - {host}):
                self._drop(other)
                retired.append(other)
                self.dirty = True
        return retired

    def _set(self, host: str, record: Find) -> None:
        old = self.finds.get(host)
        if old is not None and old.mac:
            self._unindex(old.mac, host)
        self.finds[host] = record
        if record.mac:
            self._by_mac.setdefault(record.mac, set()).add(host)

    def _drop(self, host: str) -> None:
        old = self.finds.pop(host)
        if old.mac:
            self._unindex(old.mac, host)

    def _unindex(self, mac: str, host: str) -> None:
        hosts = self._by_mac.get(mac)
        if hosts is not None:
            hosts.discard(host)
            if not hosts:
                del self._by_mac[mac]

    # -- the file ---------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the state directory if needed and check it is writable (start-up: fail before polling)."""
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"storage path {self.directory}: cannot create it: {e.strerror or e}") from None
        if not self.directory.is_dir():
            raise StorageError(f"storage path {self.directory} is not a directory")
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise StorageError(f"storage path {self.directory} is not writable by this user")
        # One agent per state directory: two (say, two shards started with the same flag) would overwrite each
        # other's finds, and each would then report the other's miners as never found.
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StorageError(f"storage path {self.directory} is in use by another running farmwatch agent "
                               "(give each agent its own --storage.path)") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the state directory (the agent stopped)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def load(self) -> None:
        """Read the finds of an earlier run. A damaged file is moved aside (``.bad``) and reported, never
        silently overwritten: the operator can still read what was in it."""
        path = self.path
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            finds = parse(data)
        except (OSError, ValueError) as e:
            aside = path.with_name(path.name + ".bad")
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            log.error("storage: %s is unreadable (%s); moved to %s, starting with no found miners",
                      path, e, aside.name)
            return
        self.finds, self._by_mac = {}, {}
        for f in finds:
            self._set(f.host, f)
        log.info("storage: %d miner(s) found earlier in the scopes, from %s", len(finds), path)

    def pending(self) -> str | None:
        """The file's new body when the finds changed since the last write, else None (on the agent's loop:
        the finds change there)."""
        if self.path is None or not self.dirty:
            return None
        self.dirty = False
        return dump(self.finds.values())

    def write(self, body: str) -> None:
        """Replace the file atomically (in a worker thread); a failure is logged and retried next cycle."""
        assert self.path is not None
        try:
            write_atomic(self.path, body)
        except OSError as e:
            self.dirty = True
            log.error("storage: cannot write %s: %s", self.path, e.strerror or e)

    def save(self) -> None:
        body = self.pending()
        if body is not None:
            self.write(body)


def dump(finds: Any) -> str:
    rows = sorted((asdict(f) for f in finds), key=lambda r: r["host"])
    return json.dumps({"format": FORMAT, "version": VERSION, "miners": rows}, indent=1) + "\n"


def parse(data: object) -> list[Find]:
    """The finds of a file's JSON; ValueError saying what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f'not a {FORMAT} file (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise ValueError(f"version {data.get('version')!r} is not {VERSION}")
    rows = data.get("miners")
    if not isinstance(rows, list):
        raise ValueError('"miners" is not a list')
    out: list[Find] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("host"), str) or not isinstance(row.get("device"), str):
            raise ValueError(f"miners[{i}] has no host and device")
        out.append(Find(host=row["host"], device=row["device"],
                        **{k: row.get(k) if isinstance(row.get(k), str) else None
                           for k in ("driver", "model", "mac", "serial")},
                        first_seen=float(row.get("first_seen") or 0.0)))
    return out


def write_atomic(path: Path, body: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself durable (not every filesystem allows this)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
