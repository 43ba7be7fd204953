"""What the floor view reads of the running agent. A protocol rather than the ``Agent`` class: the agent builds
the floor view, so naming the class here would make the two import each other (tests/project/test_imports.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.settings import Config
    from collectors.asic.group import MinerGroup
    from collectors.asic.store import MinerReadings
    from collectors.collector import Collector


class FloorSource(Protocol):
    @property
    def site(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def shard(self) -> tuple[int, int] | None: ...
    @property
    def groups(self) -> list[MinerGroup]: ...
    @property
    def collectors(self) -> list[Collector]: ...
    @property
    def store(self) -> MinerReadings: ...
    @property
    def config(self) -> Config | None: ...
