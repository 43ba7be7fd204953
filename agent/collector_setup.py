"""The SNMP and GPU collectors built from site.yaml: each from its own config section, split by shard like the
miners. Here in the agent, not in the collectors, because it reads the agent's config types (collectors import
nothing from agent/: docs/architecture.md, "Layers")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from collectors.nvml.collector import NvmlCollector
from collectors.snmp.client import Auth
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.poll import SnmpDevice

from .config import Config, SnmpGroup
from .targets import shard_of

log = logging.getLogger("farmwatch.nvml")


def auth_from_group(g: SnmpGroup) -> Auth:
    """Credentials of a config group (secrets are read here; raises agent.config.SecretError)."""
    if g.v3 is not None:
        v = g.v3
        return Auth(user=v.user, auth_protocol=v.auth_protocol,
                    auth_key=v.auth_password.reveal() if v.auth_password else None,
                    priv_protocol=v.priv_protocol,
                    priv_key=v.priv_password.reveal() if v.priv_password else None)
    return Auth(community=g.community.reveal() if g.community is not None else "public")


def device_factory(g: SnmpGroup, identity_interval: float = 3600.0) -> Callable[[str, int], SnmpDevice]:
    """Devices of one config group (for /probe): its credentials, profile, timeout and retries."""
    auth = auth_from_group(g)

    def make(host: str, port: int) -> SnmpDevice:
        return SnmpDevice(host=host, port=port, auth=auth, profile_name=None if g.profile == "auto" else g.profile,
                          timeout=g.timeout, retries=g.retries, interval=g.interval,
                          identity_interval=identity_interval)

    return make


def snmp_collectors_from_config(cfg: Config, shard: tuple[int, int] | None = None) -> list[SnmpCollector]:
    """One collector for every ``snmp:`` group of the config (empty when there is none). With a shard
    (``--shard`` wins over ``shard:``) only the devices whose stable hash falls in it, exactly as the miners are
    split: n shards poll each PDU and UPS once between them."""
    shard = shard or cfg.shard
    devices: list[SnmpDevice] = []
    concurrency = 32
    for g in cfg.snmp:
        auth = auth_from_group(g)
        concurrency = min(max(concurrency, g.concurrency), 64)
        for t in g.targets:
            if shard is not None and shard_of(t, shard[1]) != shard[0]:
                continue
            devices.append(SnmpDevice(host=t.host, port=t.port, auth=auth,
                                      profile_name=None if g.profile == "auto" else g.profile,
                                      timeout=g.timeout, retries=g.retries, interval=g.interval,
                                      identity_interval=cfg.identity_interval))
    return [SnmpCollector(devices, concurrency=concurrency)] if devices else []


def gpu_collector_from_config(cfg: Config, *, nvml: Any = None) -> NvmlCollector | None:
    """The GPU collector for ``gpus:`` in site.yaml. ``enabled: auto`` keeps it only when NVML initialises here
    (the attempt runs on the collector's worker thread); ``true`` keeps it regardless, and a host without NVML
    then shows ``farmwatch_nvml_up 0``; ``false`` returns None."""
    gpus = cfg.gpus
    if gpus.enabled is False:
        return None
    collector = NvmlCollector(interval=gpus.interval, nvml=nvml)
    if gpus.enabled == "auto" and not collector.start_sync(probe=True):
        v = collector.view
        log.info("GPUs: NVML not available here (%s); GPU collector off (gpus.enabled: auto)", v.reason)
        collector.close_sync()
        return None
    return collector
