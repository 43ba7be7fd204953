"""The collectors of a config, built from the collector registry (``collectors/registry.py``): each registered
kind configures itself from its own ``site.yaml`` section and the agent's shard. No collector is named here; a new
one is a package with a ``configure.py`` (docs/architecture.md, "Adding a collector")."""

from __future__ import annotations

from typing import Any

from collectors.collector import Collector
from collectors.nvml.collector import NvmlCollector
from collectors.registry import Addressed, Setup, kinds
from collectors.snmp.collector import SnmpCollector

from .settings import Config
from .targets import Target, shard_of


def setup_for(cfg: Config, shard: tuple[int, int] | None = None, **options: Any) -> Setup:
    """What every collector gets: with a shard (``--shard`` wins over ``shard:``) only the targets whose stable
    hash falls in it, exactly as the miners are split."""
    shard = shard or cfg.shard
    nameplate = cfg.power.nameplate_fallback
    if shard is None:
        return Setup(identity_interval=cfg.identity_interval, nameplate_fallback=nameplate, options=options)
    index, count = shard

    def in_shard(t: Addressed) -> bool:
        return shard_of(Target(t.host, t.port), count) == index

    return Setup(in_shard=in_shard, identity_interval=cfg.identity_interval, nameplate_fallback=nameplate,
                 options=options)


def collectors_from_config(cfg: Config, shard: tuple[int, int] | None = None, **options: Any) -> list[Collector]:
    """Every registered kind's collectors for this config, in the registry's order (NVML's start blocks briefly:
    call this before the event loop runs). ``options`` are the kinds' test hooks (``nvml=`` a fake NVML)."""
    setup = setup_for(cfg, shard, **options)
    out: list[Collector] = []
    for kind in kinds().values():
        out.extend(kind.configure(getattr(cfg, kind.section), setup))
    return out


def snmp_collectors_from_config(cfg: Config, shard: tuple[int, int] | None = None) -> list[SnmpCollector]:
    """The SNMP kind alone (tests, benchmarks)."""
    built = kinds()["snmp"].configure(cfg.snmp, setup_for(cfg, shard))
    return [c for c in built if isinstance(c, SnmpCollector)]


def gpu_collector_from_config(cfg: Config, *, nvml: Any = None) -> NvmlCollector | None:
    """The NVML kind alone (tests): None when ``gpus:`` builds no collector here."""
    built = kinds()["nvml"].configure(cfg.gpus, setup_for(cfg, nvml=nvml))
    return next((c for c in built if isinstance(c, NvmlCollector)), None)
