"""The miners as a collector (collectors/collector.py): groups of miners, each on a timer of its own that the
agent's scheduler runs (``timers``), the latest reading of every miner in one store, and the metric families built
from it. The agent reads the store through its read methods (``MinerStore.get``/``states``), never its insides.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..collector import CycleStats
from ..families import Families
from . import http
from .expected import Expected
from .group import MinerGroup, Poller
from .metrics import miner_families, scope_families
from .pools import PoolPolicy
from .store import MinerStore


class AsicCollector:
    name = "asic"

    def __init__(self, groups: Iterable[MinerGroup] = (), *, expected: Expected | None = None,
                 poll_slots: int | None = None) -> None:
        self.store = MinerStore(expected)
        self.poller = Poller(self.store, poll_slots)
        self.stats = CycleStats()  # the collector's own: building its families (each group has its cycle's)
        self.pools = PoolPolicy()  # the site's ``pools:`` (set by the agent from the config)
        self.groups: list[MinerGroup] = []
        self.set_groups(list(groups))

    def attach(self, *, expected: Expected | None = None, poll_slots: int | None = None) -> None:
        """What the agent adds to a collector built from the config: the scope finds of earlier runs (kept in
        its state directory) and the polls the process's descriptors allow at once."""
        if expected is not None:
            self.store.expected = expected
        if poll_slots is not None:
            self.poller = Poller(self.store, poll_slots)
        for g in self.groups:
            g.poller = self.poller
            self._prepare(g)  # again: a scope address found before a restart takes its port from those finds

    # The collector contract's single-timer attributes, for readers that want one figure: the shortest interval
    # and the longest per-device timeout of its groups.
    @property
    def interval(self) -> float:
        return min((g.interval for g in self.groups), default=60.0)

    @property
    def timeout(self) -> float:
        return max((g.timeout for g in self.groups), default=10.0)

    @property
    def timers(self) -> list[MinerGroup]:
        """Each group runs on its own timer."""
        return self.groups

    def set_groups(self, groups: list[MinerGroup]) -> None:
        """The groups to poll from now on (start-up, config reload): each is bound to this collector's store, and
        a group new here is prepared for its first cycle."""
        old = {id(g) for g in self.groups}
        for g in groups:
            if id(g) not in old:
                g.poller = self.poller
                self._prepare(g)
        self.groups = groups

    def _prepare(self, group: MinerGroup) -> None:
        """Before a group's first cycle: the store's state of each of its devices, and the port a scope address
        was found at before a restart."""
        store = self.store
        finds = store.expected.finds
        for s in group.sessions:
            find = finds.get(s.host) if group.is_scope(s) else None
            if find is not None and s.auto_port and s.driver is None and find.device != s.device:
                # Found at its web port before a restart (HTTP-only firmware): keep that device name, so a miner
                # that died meanwhile is down under the series it had, not under a new host:4028.
                port = find.device.rpartition(":")[2]
                if port.isdigit():
                    s.port = int(port)
            state = store.ensure(s.device)
            if group.explicit is not None:
                state.host = s.host
                state.scope = group.is_scope(s)
                state.group = group.name

    async def run_cycle(self) -> None:
        """Every group once, one after the other (a one-off read; the agent runs each group on its timer)."""
        for g in self.groups:
            await g.run_cycle()

    def families(self, fams: Families) -> None:
        miner_families(fams, self.store, self.pools)
        scope_families(fams, [g.name for g in self.groups if g.explicit is not None], self.store)
        devices = self.store.devices
        for g in self.groups:
            g.stats.devices = len(g.sessions)
            g.stats.devices_up = sum(1 for s in g.sessions if (d := devices.get(s.device)) is not None and d.up)

    async def close(self) -> None:
        await http.close_session()  # the shared HTTP client of the web-API firmwares, on this loop
