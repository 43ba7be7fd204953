"""``site.yaml``: load it into typed, frozen settings, or check it and report every problem at once.

Problems carry file, line and key (``site.yaml:12: miners[0].interval: "60x" is not a duration``), so the YAML is
composed into nodes, which keep their marks, and walked by hand rather than loaded into plain dicts. Secrets are
only ever read from files or environment variables, and no message or ``repr`` ever contains one.

This module walks the top level; each section is read by its own module in ``agent/sections/`` (the
collectors' sections, the site's own keys and files, money and power policy) into the settings of
``agent/settings.py``, which are re-exported here. The node walking is ``agent.yamlread`` (shared with the site
map, power domains and web config); secrets are ``agent.secret``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import yaml

from collectors.asic.pools import PoolPolicy

from .sections.economics import read_curtailment, read_economics, read_pools, read_power
from .sections.gpus import read_gpus
from .sections.miners import read_miner_group
from .sections.pool_api import read_pool_api
from .sections.reader import Reader, read_groups
from .sections.site import read_listen, read_power_domains, read_shard, read_sitemap, read_storage
from .sections.snmp import read_snmp_group
from .settings import DEFAULT_LISTEN, Config, EconomicsConfig, GpuConfig, PoolApiConfig, PowerConfig
from .yamlread import ConfigError, Problem, compose_yaml, read_text

__all__ = ["check_config", "load_config", "top_keys"]

# The agent's own top-level keys; each collector's section comes from the collector registry (top_keys()).
_AGENT_KEYS = (
    "site", "listen", "miners", "sitemap", "power_domains", "power", "economics",
    "identity_interval", "rescan_interval", "shard", "storage", "pools", "curtailment",
)

# Readers of the collectors' sections (collectors/registry.py) and each one's value when the section is absent;
# top_keys() fails when a registered collector's section has none, tests/project/test_collector_registry.py checks it.
SECTION_READERS: dict[str, tuple[Callable[[Reader, yaml.Node], object], Callable[[], object]]] = {
    "miners": (lambda r, node: tuple(read_groups(r, node, "miners", read_miner_group)), tuple),
    "snmp": (lambda r, node: tuple(read_groups(r, node, "snmp", read_snmp_group)), tuple),
    "gpus": (read_gpus, GpuConfig),
    "pool_api": (read_pool_api, PoolApiConfig),
}


def top_keys() -> frozenset[str]:
    """Every top-level key site.yaml may have: the agent's own and each registered collector's section (a
    collector that is not registered is not configurable; one registered without a reader here fails at once)."""
    from collectors.registry import sections

    missing = set(sections()) - set(SECTION_READERS)
    if missing:
        raise RuntimeError(f"collector sections without a config reader in agent/config.py (SECTION_READERS): {sorted(missing)}")
    return frozenset(_AGENT_KEYS) | frozenset(sections())


def _read(r: Reader, root: yaml.Node) -> Config | None:
    y = r.y
    top = y.mapping(root, "", top_keys())
    if top is None:
        return None
    site = y.string(top["site"], "site") if "site" in top else _default_site()
    listen = DEFAULT_LISTEN
    if "listen" in top:
        listen = read_listen(r, top["listen"]) or DEFAULT_LISTEN
    # The collectors' sections (miners:, snmp:, gpus:): each read by its reader, or its default when absent.
    sections = {name: reader(r, top[name]) if name in top else absent()
                for name, (reader, absent) in SECTION_READERS.items()}
    power = read_power(r, top["power"]) if "power" in top else PowerConfig()
    economics = read_economics(r, top["economics"]) if "economics" in top else EconomicsConfig()
    identity = (
        y.duration(top["identity_interval"], "identity_interval") if "identity_interval" in top else None
    )
    shard = read_shard(r, top["shard"]) if "shard" in top else None
    rescan = y.duration(top["rescan_interval"], "rescan_interval") if "rescan_interval" in top else None
    sitemap_path, sitemap = read_sitemap(r, top["sitemap"]) if "sitemap" in top else (None, None)
    domains_path, domains = read_power_domains(r, top["power_domains"]) if "power_domains" in top else (None, ())
    storage = read_storage(r, top["storage"]) if "storage" in top else None
    pools = read_pools(r, top["pools"]) if "pools" in top else PoolPolicy()
    curtailment, token, infer = read_curtailment(r, top["curtailment"]) if "curtailment" in top else (None, None, None)
    if y.problems or site is None:
        return None
    return Config(
        path=r.path,
        site=site,
        listen=listen,
        **sections,  # type: ignore[arg-type]  # each reader's type is its Config field's
        power=power,
        economics=economics,
        sitemap_path=sitemap_path,
        sitemap=sitemap,
        power_domains_path=domains_path,
        power_domains=domains,
        identity_interval=identity or 3600.0,
        rescan_interval=rescan,
        shard=shard,
        storage_path=storage,
        pools=pools,
        curtailment_path=curtailment,
        curtailment_token=token,
        curtailment_infer_share=infer,
    )


def _collector_sections() -> str:
    """``miners:, gpus:, pool_api: or snmp:``, from the collector registry: a new collector's section is
    offered to someone starting a config without an edit here (a hand list had already left out pool_api:)."""
    from collectors.registry import kinds

    names = [f"{kind.section}:" for kind in kinds().values()]
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _default_site() -> str:
    return os.uname().nodename or "farmwatch"


def _parse(path: str | os.PathLike[str], check_secrets: bool) -> tuple[Config | None, list[Problem]]:
    path = Path(path)
    text, problems = read_text(path, str(path))
    if text is None:
        return None, problems
    root, problems = compose_yaml(text, str(path))
    if problems:
        return None, problems
    if root is None:
        return None, [Problem(str(path), None, "", f"is empty (a config needs at least {_collector_sections()})")]
    reader = Reader(path, check_secrets)
    config = _read(reader, root)
    # File order: site.yaml first, then the site map; a stable sort keeps same-line problems as found.
    ordered = sorted(reader.y.problems, key=lambda p: (p.file != str(path), p.file, p.line or 0))
    return config, ordered


def load_config(path: str | os.PathLike[str], *, check_secrets: bool = True) -> Config:
    """Read and validate ``site.yaml`` (and its site map); secrets are read now unless ``check_secrets`` is
    false, in which case they are read on first use. Raises :class:`ConfigError` with every problem."""
    config, problems = _parse(path, check_secrets)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_config(path: str | os.PathLike[str], *, check_secrets: bool = True) -> list[Problem]:
    """Every problem in ``site.yaml`` and its site map, in file order; empty when the config is good.
    ``check_secrets=False`` skips reading secret files and variables (for examples checked off the host)."""
    return _parse(path, check_secrets)[1]
