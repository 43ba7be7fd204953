"""The pool-API collector from the ``pool_api:`` section of site.yaml (agent/sections/pool_api.py): the pool
accounts whose stats API is read, each by one agent of a sharded site (the account's API host is the shard key, as
a device's address is). aiohttp's client is imported when a collector is built, not when the registry is read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..registry import Addressed, CollectorKind, Setup

if TYPE_CHECKING:
    from .collector import PoolApiCollector, SecretValue


class AccountSection(Addressed, Protocol):
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def coin(self) -> str: ...
    @property
    def token(self) -> SecretValue: ...
    @property
    def normal_gap(self) -> float: ...


class PoolApiSection(Protocol):
    """``pool_api:`` as the config loader checked it (``agent.settings.PoolApiConfig``)."""

    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def accounts(self) -> Sequence[AccountSection]: ...


def configure(section: PoolApiSection, setup: Setup) -> list[PoolApiCollector]:
    mine = [a for a in section.accounts if setup.in_shard(a)]
    if not mine:
        return []
    from .collector import Account, PoolApiCollector

    return [PoolApiCollector([Account(a.name, a.url, a.coin, a.token, a.normal_gap) for a in mine],
                             interval=section.interval, timeout=section.timeout)]


KIND = CollectorKind(
    name="poolapi", section="pool_api", configure=configure,
    summary="pool accounts' stats APIs (Braiins Pool), read only: the pool's hashrate per worker",
)
