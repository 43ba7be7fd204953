"""A group of miners and its poll cycle: every due device once, under a global and a per-/24 limit (a flat miner
network melts at the switch before the agent does), each with one deadline covering everything (identify, logins,
every read). The agent's scheduler starts the cycle on the group's own timer (``interval`` plus a little jitter
so groups and agents do not fire in step); results go to the store as each device finishes.

A device that keeps failing is retried with exponential backoff (capped) instead of holding a slot for its full
timeout every cycle. One device's failure never touches another's poll.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from ..collector import MAX_BACKOFF_S, CycleStats, backoff_seconds
from ..errors import DeviceError, ParseError
from .poll import poll
from .session import MinerSession, address
from .store import MinerStore

log = logging.getLogger("farmwatch.scheduler")


@dataclass
class MinerGroup:
    name: str
    sessions: list[MinerSession]
    interval: float = 60.0
    timeout: float = 10.0  # per device, end to end
    concurrency: int = 1000
    per_subnet: int = 64
    jitter: float = 0.05  # fraction of the interval
    stats: CycleStats = field(default_factory=CycleStats)
    # Targets (``session.target``) written as single addresses in site.yaml: expected miners. Every other
    # session of the group is a scope address (from a CIDR or range, or added by rediscovery), reported only
    # once found (expected.py). None: every session is an expected miner (a group built in code).
    explicit: frozenset[str] | None = None
    # Set by the miner collector the group belongs to (AsicCollector.set_groups).
    poller: Poller | None = field(default=None, repr=False, compare=False)
    # Every device has its own deadline, so the cycle ends by itself; a cycle longer than the interval is an
    # overrun (counted, logged), not a failure to cancel (collectors/collector.py, "cycle_limit").
    bounds_itself: ClassVar[bool] = True
    # What the answering devices read is published while hung ones still hold the cycle (collectors/collector.py).
    progress: ClassVar[bool] = True

    def is_scope(self, session: MinerSession) -> bool:
        return self.explicit is not None and session.target not in self.explicit

    async def run_cycle(self) -> None:
        if self.poller is None:
            raise RuntimeError(f"miner group {self.name} belongs to no miner collector")
        await self.poller.run_cycle(self)


def _nofile() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _subnets_in_turn(due: list[tuple[bool, MinerSession]], keys: dict[str, str]) -> list[MinerSession]:
    """The due devices with their /24s taken in turn (first device of each /24, then the second of each ...),
    the devices that answered last time still all before the others; config order within a /24."""
    out: list[MinerSession] = []
    for down in (False, True):
        by_key: dict[str, list[MinerSession]] = {}
        for d, session in due:
            if d is down:
                by_key.setdefault(keys[session.host], []).append(session)
        queues = list(by_key.values())
        for i in range(max((len(q) for q in queues), default=0)):
            out.extend(q[i] for q in queues if i < len(q))
    return out


def subnet_key(host: str) -> str:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{host}/{prefix}", strict=False))


class Poller:
    """What the groups of one miner collector share: the store and the polls in flight over all groups."""

    def __init__(self, store: MinerStore, poll_slots: int | None = None) -> None:
        """``poll_slots``: polls in flight at once over all groups, the process's descriptor budget for polling
        (agent/webguard.py: a poll holds up to two sockets while identification races RPC and HTTP)."""
        self.store = store
        self.poll_slots = poll_slots
        self._slots = asyncio.Semaphore(poll_slots) if poll_slots else None
        self._subnet_keys: dict[str, str] = {}  # host -> its /24 (/64): parsing addresses costs ~10 us each

    async def run_cycle(self, group: MinerGroup) -> None:
        now_mono = time.monotonic()
        due: list[tuple[bool, MinerSession]] = []
        scoped = group.explicit is not None
        store = self.store
        ensure = store.ensure
        for session in group.sessions:
            state = ensure(session.device)
            if scoped:
                state.host = session.host
                state.scope = group.is_scope(session)
                state.group = group.name
            if state.next_attempt > now_mono:
                continue
            due.append((not state.up, session))
        group.stats.devices_backoff = len(group.sessions) - len(due)
        # Devices that answered last time first: the slots (global, per /24) are taken in this order, so 200 hung
        # addresses in a healthy miners' /24 wait behind them, not the other way round. Stable: config order
        # within each half.
        due.sort(key=lambda pair: pair[0])

        # The group's limit is the number of workers: at most ``concurrency`` coroutines take the due devices in
        # this order, one poll at a time. One task per device, most of them queued on a semaphore, cost a task,
        # its frames and a semaphore wait per device (~18,000 waiting tasks at 20,000 miners). A /24's semaphore
        # is only made where the cycle can reach it (more due devices there than per_subnet); then the order
        # takes the /24s in turn within each half, so workers waiting on one full /24 do not starve the others.
        keys = self._subnet_keys
        per_key: dict[str, list[MinerSession]] = {}
        for _down, session in due:
            key = keys.get(session.host)
            if key is None:
                key = keys[session.host] = subnet_key(session.host)
            per_key.setdefault(key, []).append(session)
        subnet_of: dict[str, asyncio.Semaphore] = {}
        for members in per_key.values():
            if len(members) > group.per_subnet:
                sem = asyncio.Semaphore(group.per_subnet)
                for session in members:
                    subnet_of[session.device] = sem
        order = [s for _down, s in due] if not subnet_of else _subnets_in_turn(due, keys)
        slots = self._slots
        loop = asyncio.get_running_loop()
        timeout = group.timeout

        async def read(session: MinerSession) -> None:
            deadline = loop.time() + timeout
            port = session.port
            try:
                try:
                    reading = await poll(session, deadline=deadline)
                finally:
                    if session.port != port:  # identified as HTTP-only: now keyed by its web port
                        store.rekey(address(session.host, port), session.device)
            except DeviceError as e:
                self._failed(group, session, e)
            except Exception as e:  # a bug in a parser must still stay inside this one device
                log.exception("unexpected error polling %s", session.device)
                self._failed(group, session, ParseError(f"internal error: {type(e).__name__}: {e}"))
            else:
                state = store.record_success(session.device, reading)
                if state.scope:
                    store.expected.found(session.host, session.device, driver=reading.driver,
                                         model=reading.model, mac=reading.mac, serial=reading.serial)

        async def worker(todo: Iterator[MinerSession]) -> None:
            # The /24's limit, then the process's poll slots, each only where it can bind.
            for session in todo:  # shared by the workers: each takes the next device when it is free
                sub = subnet_of.get(session.device)
                if sub is not None:
                    await sub.acquire()
                try:
                    if slots is not None:
                        await slots.acquire()
                    try:
                        await read(session)
                    finally:
                        if slots is not None:
                            slots.release()
                finally:
                    if sub is not None:
                        sub.release()

        st = group.stats
        exhausted_before = st.errors["resource"]
        todo = iter(order)
        await asyncio.gather(*(worker(todo) for _ in range(min(len(order), group.concurrency))))
        exhausted = st.errors["resource"] - exhausted_before
        if exhausted:
            # Not the devices' fault: say so once per cycle, with what to change (reason "resource").
            log.error("group %s: %d of %d polls could not open a socket: this process is out of file descriptors "
                      "(open-files limit %d); raise LimitNOFILE or lower the group's concurrency", group.name,
                      exhausted, len(due), _nofile())
        st.polled_last_cycle = len(due)

    def _failed(self, group: MinerGroup, session: MinerSession, error: DeviceError) -> None:
        group.stats.errors[error.reason] += 1
        state = self.store.ensure(session.device)
        failures = state.failures + 1
        backoff = backoff_seconds(failures, group.interval)
        until = time.monotonic() + backoff - group.interval * 0.5 if backoff else 0.0
        self.store.record_failure(session.device, error, backoff_until=until)
        if backoff >= MAX_BACKOFF_S and session.state:
            # Dead long enough to be retried only every five minutes: the driver's cache (identity replies, login
            # tokens, ~3.7 KB) goes, or a scope whose every address once held a miner keeps it for each address
            # forever. A miner that comes back reads its identity and logs in again, as after a reboot.
            session.state = {}
