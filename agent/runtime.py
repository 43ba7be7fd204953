"""Build a running agent from a checked config: targets -> poll sessions -> scheduler groups."""

from __future__ import annotations

import logging
from pathlib import Path

from collectors.asic.poll import MinerSession

from .collector import Collector
from .config import Config, load_config
from .daemon import Agent
from .scheduler import MinerGroup
from .targets import shard_of

log = logging.getLogger("farmwatch.agent")


def miner_groups(cfg: Config) -> list[MinerGroup]:
    groups: list[MinerGroup] = []
    for i, g in enumerate(cfg.miners):
        sessions = []
        for target in g.targets:
            if cfg.shard is not None and shard_of(target, cfg.shard[1]) != cfg.shard[0]:
                continue
            sessions.append(
                MinerSession(
                    host=target.host,
                    port=target.port,
                    driver_name=None if g.driver == "auto" else g.driver,
                    nameplate_power=cfg.power.nameplate_fallback,
                    identity_interval=cfg.identity_interval,
                )
            )
        groups.append(
            MinerGroup(
                name=f"miners[{i}]",
                sessions=sessions,
                interval=g.interval,
                timeout=g.timeout,
                concurrency=g.concurrency,
                per_subnet=g.per_subnet_concurrency,
            )
        )
    return groups


def agent_from_config(path: str | Path, *, listen: str | None = None) -> Agent:
    from collectors.nvml import gpu_collector_from_config
    from collectors.snmp.collector import snmp_collectors_from_config

    cfg = load_config(path)
    collectors: list[Collector] = []
    gpus = gpu_collector_from_config(cfg)  # blocks briefly on NVML init: before the event loop runs
    if gpus is not None:
        collectors.append(gpus)
    snmp = snmp_collectors_from_config(cfg)
    collectors.extend(snmp)
    agent = Agent(site=cfg.site, groups=miner_groups(cfg), listen=listen or cfg.listen, sitemap=cfg.sitemap,
                  collectors=collectors, economics=cfg.economics)
    for c in snmp:
        c.miner_store = agent.store
        c.power_domains = tuple(cfg.power_domains)
    return agent
