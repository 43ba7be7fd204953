"""Polls each group of devices on its own timer with bounded concurrency and one deadline per device.

A cycle starts every ``interval`` (plus a little jitter so groups and agents do not fire in step), runs every
due device under a global limit and a per-/24 limit (a flat miner network melts at the switch before the
agent does), gives each device ``timeout`` seconds end to end, and then hands the results to ``on_cycle``;
a cycle still running after half an interval hands what has finished to ``on_progress`` meanwhile.
A device that keeps failing is retried with exponential backoff (capped) instead of holding a slot for its
full timeout every cycle. One device's failure never touches another's poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from collectors.asic.poll import MinerSession, address, poll
from collectors.collector import backoff_seconds
from collectors.errors import DeviceError, ParseError

from .aio import cancel_all
from .collector import CycleStats
from .store import MinerStore

log = logging.getLogger("farmwatch.scheduler")

@dataclass
class MinerGroup:
    name: str
    sessions: list[MinerSession]
    interval: float = 60.0
    timeout: float = 10.0
    concurrency: int = 1000
    per_subnet: int = 64
    jitter: float = 0.05  # fraction of the interval
    stats: CycleStats = field(default_factory=CycleStats)
    # Targets (``session.target``) written as single addresses in site.yaml: expected miners. Every other
    # session of the group is a scope address (from a CIDR or range, or added by rediscovery), reported only
    # once found (agent/expected.py). None: every session is an expected miner (a group built in code).
    explicit: frozenset[str] | None = None

    def is_scope(self, session: MinerSession) -> bool:
        return self.explicit is not None and session.target not in self.explicit


def _nofile() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def subnet_key(host: str) -> str:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{host}/{prefix}", strict=False))


class Scheduler:
    def __init__(
        self,
        store: MinerStore,
        groups: list[MinerGroup],
        on_cycle: Callable[[MinerGroup], Awaitable[None] | None] | None = None,
        *,
        seed: int | None = None,
        poll_slots: int | None = None,
        on_progress: Callable[[MinerGroup], Awaitable[None] | None] | None = None,
    ) -> None:
        """``poll_slots``: polls in flight at once over all groups, the process's descriptor budget for polling
        (agent/webguard.py: a poll holds up to two sockets while identification races RPC and HTTP)."""
        self.store = store
        self.on_progress = on_progress
        self._slots = asyncio.Semaphore(poll_slots) if poll_slots else None
        self.poll_slots = poll_slots
        self.groups = groups
        self.on_cycle = on_cycle
        self._rng = random.Random(seed)
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by id(group)
        self._stopping = asyncio.Event()
        self._subnet_keys: dict[str, str] = {}  # host -> its /24 (/64): parsing addresses costs ~10 us each

    async def run_cycle(self, group: MinerGroup) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        limit = asyncio.Semaphore(group.concurrency)
        subnets: dict[str, asyncio.Semaphore] = {}
        now_mono = time.monotonic()
        due = []
        scoped = group.explicit is not None
        for session in group.sessions:
            state = self.store.ensure(session.device)
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

        keys = self._subnet_keys

        async def one(session: MinerSession) -> None:
            key = keys.get(session.host)
            if key is None:
                key = keys[session.host] = subnet_key(session.host)
            sub = subnets.get(key)
            if sub is None:
                sub = subnets[key] = asyncio.Semaphore(group.per_subnet)
            async with limit, sub, self._slots or contextlib.nullcontext():
                deadline = loop.time() + group.timeout
                port = session.port
                try:
                    try:
                        reading = await poll(session, deadline=deadline)
                    finally:
                        if session.port != port:  # identified as HTTP-only: now keyed by its web port
                            self.store.rekey(address(session.host, port), session.device)
                except DeviceError as e:
                    self._failed(group, session, e)
                except Exception as e:  # a bug in a parser must still stay inside this one device
                    log.exception("unexpected error polling %s", session.device)
                    self._failed(group, session, ParseError(f"internal error: {type(e).__name__}: {e}"))
                else:
                    state = self.store.record_success(session.device, reading)
                    if state.scope:
                        self.store.expected.found(session.host, session.device, driver=reading.driver,
                                                  model=reading.model, mac=reading.mac, serial=reading.serial)

        exhausted_before = group.stats.errors["resource"]
        polls = asyncio.ensure_future(asyncio.gather(*(one(s) for _down, s in due)))
        try:
            # Results go to the store as each device finishes; while slow devices keep the cycle going, what the
            # others read is published every half interval instead of waiting for the slowest (issue 11).
            every = max(1.0, group.interval / 2)
            while not polls.done():
                await asyncio.wait({polls}, timeout=every)
                if not polls.done() and self.on_progress is not None:
                    result = self.on_progress(group)
                    if result is not None:
                        await result
            await polls
        finally:
            if not polls.done():
                polls.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polls
        duration = loop.time() - started
        st = group.stats
        exhausted = st.errors["resource"] - exhausted_before
        if exhausted:
            # Not the devices' fault: say so once per cycle, with what to change (reason "resource").
            log.error("group %s: %d of %d polls could not open a socket: this process is out of file descriptors "
                      "(open-files limit %d); raise LimitNOFILE or lower the group's concurrency", group.name,
                      exhausted, len(due), _nofile())
        st.cycles += 1
        st.last_duration = duration
        st.last_completed = time.time()
        st.polled_last_cycle = len(due)
        if duration > group.interval:
            st.overruns += 1
            log.warning("group %s: cycle took %.1fs, longer than its %.0fs interval", group.name, duration, group.interval)
        if self.on_cycle is not None:
            result = self.on_cycle(group)
            if result is not None:
                await result

    def _failed(self, group: MinerGroup, session: MinerSession, error: DeviceError) -> None:
        group.stats.errors[error.reason] += 1
        state = self.store.ensure(session.device)
        failures = state.failures + 1
        backoff = backoff_seconds(failures, group.interval)
        until = time.monotonic() + backoff - group.interval * 0.5 if backoff else 0.0
        self.store.record_failure(session.device, error, backoff_until=until)

    async def _loop(self, group: MinerGroup) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time() + self._rng.uniform(0, group.jitter * group.interval)
        while not self._stopping.is_set():
            delay = next_start - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
                if self._stopping.is_set():
                    return
            await self.run_cycle(group)
            next_start += group.interval
            if next_start < loop.time():  # overran: start the next cycle now, do not try to catch up
                next_start = loop.time()

    def start(self) -> None:
        for group in self.groups:
            self._start_group(group)

    def _start_group(self, group: MinerGroup) -> None:
        finds = self.store.expected.finds
        for s in group.sessions:
            find = finds.get(s.host) if group.is_scope(s) else None
            if find is not None and s.auto_port and s.driver is None and find.device != s.device:
                # Found at its web port before a restart (HTTP-only firmware): keep that device name, so a miner
                # that died meanwhile is down under the series it had, not under a new host:4028.
                port = find.device.rpartition(":")[2]
                if port.isdigit():
                    s.port = int(port)
            state = self.store.ensure(s.device)
            if group.explicit is not None:
                state.host = s.host
                state.scope = group.is_scope(s)
                state.group = group.name
        self._tasks[id(group)] = asyncio.create_task(self._loop(group), name=f"group:{group.name}")

    async def set_groups(self, groups: list[MinerGroup]) -> None:
        """Config reload: keep the tasks of groups that are still here (same objects), stop the others' (a
        cycle in progress is cancelled), start the new ones."""
        keep = {id(g) for g in groups}
        stopping = [task for gid, task in self._tasks.items() if gid not in keep]
        for gid in [gid for gid in self._tasks if gid not in keep]:
            del self._tasks[gid]
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        self.groups = groups
        if self._stopping.is_set():
            return
        for group in groups:
            if id(group) not in self._tasks:
                self._start_group(group)

    async def stop(self) -> None:
        self._stopping.set()
        tasks = list(self._tasks.values())
        await cancel_all(tasks)
        self._tasks.clear()
