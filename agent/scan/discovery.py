"""The daemon's rediscovery: :class:`Discovery` is a collector (name ``discovery``) that rescans each miner
group's configured ranges on a slow interval and updates the groups' sessions between cycles: a new miner gets a
session, a miner that moved (DHCP) is found again by its MAC and keeps its driver and cached state under its new
address.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from collectors.asic.group import MinerGroup
from collectors.asic.http import WebCredentials, close_session
from collectors.asic.poll import MinerSession
from collectors.asic.store import MinerStore
from collectors.collector import CycleStats
from collectors.families import Families

from ..targets import Target, TargetError, expand_targets, shard_of
from .sweep import Found, identify_host, sweep


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
