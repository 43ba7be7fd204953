"""The miner collector from the ``miners:`` section of site.yaml (collectors/registry.py): one collector for all its
groups, each group a timer of its own, holding the targets of this agent's shard (n shards poll each miner once
between them).

The section is read through the protocols below, what this module needs of the agent's parsed config
(``agent.settings.MinerGroup``), so the collector imports nothing from the agent. What the agent adds at run time,
the store of scope finds (``--storage.path``) and the descriptor budget for polls, it hands to the collector it
runs (``AsicCollector.attach``). The polling modules (aiohttp, the drivers) are imported when a collector is built,
not when the registry is read: checking a config must stay quick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..registry import Addressed, CollectorKind, Setup

if TYPE_CHECKING:
    from .collector import AsicCollector
    from .group import MinerGroup
    from .http import SecretLike, WebCredentials


class MinerTarget(Addressed, Protocol):
    @property
    def port_given(self) -> bool:
        """The target named its port: it keeps it (otherwise it moves to its driver's primary API port)."""


class CredentialsSection(Protocol):
    @property
    def web_username(self) -> str | None: ...
    @property
    def web_password(self) -> SecretLike | None: ...
    @property
    def use_default_password(self) -> bool: ...
    @property
    def firmwares(self) -> tuple[str, ...] | None: ...


class MinerGroupSection(Protocol):
    """One group of ``miners:`` as the config loader checked it (``agent.settings.MinerGroup``)."""

    @property
    def targets(self) -> Sequence[MinerTarget]: ...
    @property
    def explicit(self) -> frozenset[str]:
        """The targets written as single addresses (expected miners), as ``MinerSession.target`` names them."""
    @property
    def driver(self) -> str: ...
    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def per_subnet_concurrency(self) -> int: ...
    @property
    def port_given(self) -> bool: ...
    @property
    def credentials(self) -> CredentialsSection: ...


def web_credentials(g: MinerGroupSection) -> WebCredentials:
    """A group's web login, bound to the firmwares it is for: ``credentials.firmwares``, else the group's own
    driver; with neither (driver auto) any firmware a device is identified as gets it (docs/hostile-network.md)."""
    from .http import WebCredentials

    creds = g.credentials
    firmwares = creds.firmwares if creds.firmwares is not None else (None if g.driver == "auto" else (g.driver,))
    return WebCredentials(username=creds.web_username, password=creds.web_password,
                          use_default_password=creds.use_default_password,
                          firmwares=frozenset(firmwares) if firmwares is not None else None)


def groups_from(sections: Sequence[MinerGroupSection], setup: Setup) -> list[MinerGroup]:
    """The poll groups of this agent's targets, one per ``miners:`` group (named ``miners[i]``), each holding
    only the targets in the shard."""
    from .group import MinerGroup
    from .session import MinerSession

    groups: list[MinerGroup] = []
    for i, g in enumerate(sections):
        web = web_credentials(g)
        driver = None if g.driver == "auto" else g.driver
        sessions = [
            MinerSession(host=t.host, port=t.port, driver_name=driver, nameplate_power=setup.nameplate_fallback,
                         identity_interval=setup.identity_interval, credentials=web,
                         auto_port=not (g.port_given or t.port_given))
            for t in g.targets if setup.in_shard(t)
        ]
        groups.append(MinerGroup(name=f"miners[{i}]", sessions=sessions, interval=g.interval, timeout=g.timeout,
                                 concurrency=g.concurrency, per_subnet=g.per_subnet_concurrency,
                                 explicit=g.explicit))
    return groups


def configure(sections: Sequence[MinerGroupSection], setup: Setup) -> list[AsicCollector]:
    """One collector for every group (none when ``miners:`` has no group)."""
    from .collector import AsicCollector

    groups = groups_from(sections, setup)
    return [AsicCollector(groups)] if groups else []


KIND = CollectorKind(
    name="asic", section="miners", configure=configure, reloadable=True,
    summary="ASIC miners over their own APIs (cgminer RPC, HTTP, Whatsminer API 3); one driver module per firmware",
)
