"""The GPU collector from the ``gpus:`` section of site.yaml. ``enabled: auto`` keeps it only when NVML
initialises on this host (the attempt runs on the collector's worker thread); ``true`` keeps it regardless, and a
host without NVML then shows ``farmwatch_nvml_up 0``; ``false`` builds none. The GPUs are this host's, so a shard
does not split them. ``Setup.options["nvml"]`` is a fake NVML module (tests, the demo)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal, Protocol

from ..registry import CollectorKind, Setup

if TYPE_CHECKING:
    from .collector import NvmlCollector

log = logging.getLogger("farmwatch.nvml")


class GpuSection(Protocol):
    """``gpus:`` as the config loader checked it (``agent.config.GpuConfig``)."""

    @property
    def enabled(self) -> bool | Literal["auto"]: ...
    @property
    def interval(self) -> float: ...


def configure(gpus: GpuSection, setup: Setup) -> list[NvmlCollector]:
    if gpus.enabled is False:
        return []
    from .collector import NvmlCollector  # not when the registry is read: checking a config stays quick

    collector = NvmlCollector(interval=gpus.interval, nvml=setup.options.get("nvml"))
    if gpus.enabled == "auto" and not collector.start_sync(probe=True):
        v = collector.view
        log.info("GPUs: NVML not available here (%s); GPU collector off (gpus.enabled: auto)", v.reason)
        collector.close_sync()
        return []
    return [collector]


KIND = CollectorKind(
    name="nvml", section="gpus", configure=configure,
    summary="this host's NVIDIA GPUs through NVML in one worker thread, with XID events",
)
