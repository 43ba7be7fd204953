"""Build a running agent from a checked config: targets -> poll sessions -> scheduler groups."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import gc
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from collectors.asic.collector import AsicCollector
from collectors.asic.configure import groups_from, web_credentials
from collectors.asic.expected import Expected
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from collectors.collector import Collector

from .config import load_config
from .curtailment import CurtailmentFile
from .daemon import Agent, ReloadPlan
from .probe import AllowList, ProbeGroup, Prober, SnmpProbeGroup
from .settings import Config
from .targets import is_scope
from .webconfig import load_web_config

if TYPE_CHECKING:
    from .scan.discovery import Discovery

log = logging.getLogger("farmwatch.agent")
T = TypeVar("T")

__all__ = ["agent_from_config", "miner_groups", "reload_plan", "run_loop"]


def miner_groups(cfg: Config, shard: tuple[int, int] | None = None) -> list[MinerGroup]:
    """Poll groups of this agent's devices, as the miner collector builds them from ``miners:``
    (collectors/asic/configure.py): with a shard (``--shard`` wins over ``shard:``), only the targets whose
    stable hash falls in it, so n agents with shards 0/n .. n-1/n poll a site exactly once."""
    from .collector_setup import setup_for

    return groups_from(cfg.miners, setup_for(cfg, shard))


def discovery_for(cfg: Config, groups: list[MinerGroup], shard: tuple[int, int] | None) -> Discovery:
    """Slow rescans of the groups' CIDR and range specs: new miners join, a miner that moved (DHCP) is found
    again by its MAC. A SIGHUP reload rebuilds the groups; the rescans then keep to the groups of the start."""
    from .scan.discovery import Discovery

    assert cfg.rescan_interval is not None
    ranges = [[spec for spec in g.specs if "/" in spec or "-" in spec] for g in cfg.miners]
    creds = [web_credentials(g) for g in cfg.miners]
    return Discovery(groups=groups, ranges=ranges, credentials=list(creds), interval=cfg.rescan_interval,
                     shard=shard)


def prober_for_config(cfg: Config) -> Prober:
    """/probe may reach exactly the configured miner and SNMP target ranges (all shards'), nothing else. SNMP
    credentials are read from their files here, as for the collector."""
    from collectors.snmp.configure import device_factory

    snmp_allow = AllowList()
    snmp_groups: list[SnmpProbeGroup] = []
    for i, sg in enumerate(cfg.snmp):
        for spec in sg.specs:
            snmp_allow.add(spec, sg.port, i)
        snmp_groups.append(SnmpProbeGroup(timeout=sg.timeout, make_device=device_factory(sg, cfg.identity_interval)))
    allow = AllowList()
    probe_groups: list[ProbeGroup] = []
    for i, g in enumerate(cfg.miners):
        for spec in g.specs:
            allow.add(spec, g.port, i, port_given=g.port_given or g.driver != "auto")
        template = MinerSession(
            host="", port=g.port, nameplate_power=cfg.power.nameplate_fallback, auto_port=not g.port_given,
            credentials=web_credentials(g),
        )
        probe_groups.append(ProbeGroup(timeout=g.timeout, session_template=template))
    return Prober(allow, probe_groups, snmp_allow=snmp_allow, snmp_groups=snmp_groups)


def reload_plan(path: str | Path, shard: tuple[int, int] | None, web_config_path: str | Path | None) -> ReloadPlan:
    """Everything SIGHUP replaces, from the config files as they are now; raises ConfigError or OSError."""
    cfg = load_config(path)
    groups = miner_groups(cfg, shard)
    web = load_web_config(web_config_path) if web_config_path else None
    return ReloadPlan(site=cfg.site, groups=groups, sitemap=cfg.sitemap, prober=prober_for_config(cfg),
                      shard=shard or cfg.shard, web_config=web, config=cfg)


def expected_for(cfg: Config, storage: str | Path | None) -> Expected:
    """The scope finds of an earlier run, from ``--storage.path`` (wins) or ``storage: {path}``. Raises
    StorageError when the directory cannot be created or written."""
    directory = Path(storage) if storage else cfg.storage_path
    expected = Expected(directory)
    expected.prepare()
    expected.load()
    if directory is None and any(is_scope(spec) for g in cfg.miners for spec in g.specs):
        log.warning("no storage path (--storage.path or storage: {path}): miners found in the CIDR/range "
                    "targets are forgotten at restart, and one that died meanwhile is not reported down")
    return expected


def agent_from_config(path: str | Path, *, listen: str | None = None, shard: tuple[int, int] | None = None,
                      web_config: str | Path | None = None, storage: str | Path | None = None) -> Agent:
    """The agent for a config file. ``shard`` overrides ``shard:``; ``web_config`` is a --web.config.file
    (TLS, basic auth); ``storage`` a --storage.path (overrides ``storage:``). Raises ConfigError (with every
    problem), StorageError or OSError."""
    from .collector_setup import collectors_from_config

    cfg = load_config(path)
    expected = expected_for(cfg, storage)
    web = load_web_config(web_config) if web_config else None
    # Every registered collector, the miners' included (NVML's start blocks: before the event loop runs).
    collectors: list[Collector] = collectors_from_config(cfg, shard)
    miners = next((c for c in collectors if isinstance(c, AsicCollector)), None)
    collectors = [c for c in collectors if c is not miners]
    groups = miners.groups if miners is not None else []
    discovery = discovery_for(cfg, groups, shard or cfg.shard) if cfg.rescan_interval else None
    if discovery is not None:
        collectors.append(discovery)
    agent = Agent(site=cfg.site, groups=groups, miners=miners, listen=listen or cfg.listen, sitemap=cfg.sitemap,
                  collectors=collectors, economics=cfg.economics, shard=shard or cfg.shard, web_config=web,
                  prober=prober_for_config(cfg), expected=expected,
                  reloader=functools.partial(reload_plan, path, shard, web_config))
    agent.config = cfg
    agent.listen_from_flag = listen is not None
    if discovery is not None:
        discovery.store = agent.store
    agent.power_domains = tuple(cfg.power_domains)
    if cfg.curtailment_path is not None:
        agent.curtailment = CurtailmentFile(cfg.curtailment_path)
    return agent


# What a poll cycle leaves behind is almost all acyclic (replies, readings: freed by reference counting the
# moment they are replaced), but it allocates a container per JSON object, and at Python's default gen-0 threshold
# (700) the cyclic collector ran ~90 times in a steady cycle of 1,000 miners, 0.03-0.12 ms of CPU per miner; at
# 10,000 it runs ~5 times, ~0.02 ms (bench/cycle.py, README "Performance"). Cyclic garbage is still collected,
# a few thousand allocations later.
GC_THRESHOLDS = (10_000, 20, 20)

# glibc gives a thread that finds the allocator busy an arena of its own, up to eight per core; memory freed in
# one arena is never reused by another. The agent's loop, render and floor-view threads each grew one, and at
# 20,000 miners resident memory crept up cycle after cycle (343 -> 376 MB over 8 steady cycles); with two
# arenas it stayed at 332-342 MB, peak 350 MB, at the same CPU per miner (bench/scale.py, README
# "Performance"). Set in the process, so every install (venv, wheel, image, systemd) gets it; an operator's
# own MALLOC_ARENA_MAX in the environment wins (glibc read it at start).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt parameter number (glibc malloc.h)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas``; False where it does not apply (another libc, or the operator
    set MALLOC_ARENA_MAX)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the agent's event loop: uvloop when installed (``pip install 'farmwatch[fast]'``; it cuts the agent's
    CPU per miner by about a third, see bench/scale.py), else asyncio's own. ``FARMWATCH_LOOP=asyncio`` forces
    the standard loop, ``FARMWATCH_LOOP=uvloop`` requires uvloop. The cyclic garbage collector runs less often
    (GC_THRESHOLDS), and glibc's malloc keeps to MALLOC_ARENAS arenas."""
    gc.set_threshold(*GC_THRESHOLDS)
    limit_malloc_arenas()
    choice = os.environ.get("FARMWATCH_LOOP", "auto").strip().lower()
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise RuntimeError("FARMWATCH_LOOP=uvloop but uvloop is not installed") from None
        else:
            log.debug("event loop: uvloop %s", getattr(uvloop, "__version__", "?"))
            return uvloop.run(main)
    return asyncio.run(main)
