"""Money and power policy: ``power`` (nameplate fallback), ``economics`` (hashprice, energy price, site limit),
``pools`` (the pools and workers the site allows) and ``curtailment`` (the windows file, the API token, the
inferred-window share)."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from collectors.asic.pools import AllowedPool, PoolPolicy, pool_key

from ..secret import Secret
from ..settings import EconomicsConfig, PowerConfig
from ..yamlread import ConfigError, clip, is_null, kind_of
from .reader import Reader, is_file, read_secret

_POWER_KEYS = ("nameplate_fallback",)
_ECONOMICS_KEYS = ("hashprice_usd_per_th_day", "energy_price_usd_per_kwh", "site_power_limit_watts")


def read_power(r: Reader, node: yaml.Node) -> PowerConfig:
    if is_null(node):
        return PowerConfig()
    m = r.y.mapping(node, "power", _POWER_KEYS) or {}
    fallback = (
        r.y.boolean(m["nameplate_fallback"], "power.nameplate_fallback")
        if "nameplate_fallback" in m
        else False
    )
    return PowerConfig(nameplate_fallback=bool(fallback))


def read_economics(r: Reader, node: yaml.Node) -> EconomicsConfig:
    if is_null(node):
        return EconomicsConfig()
    m = r.y.mapping(node, "economics", _ECONOMICS_KEYS) or {}
    values = {name: read_non_negative(r, m[name], f"economics.{name}") for name in _ECONOMICS_KEYS if name in m}
    return EconomicsConfig(**values)


def read_non_negative(r: Reader, node: yaml.Node, key: str) -> float | None:
    value = r.y.scalar(node)
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.y.add(node, key, f"expected a number, got {kind_of(node)}")
        return None
    if not math.isfinite(value) or value < 0:
        r.y.add(node, key, f"{value} is out of range (must be a finite number, at least 0)")
        return None
    return float(value)


def read_pools(r: Reader, node: yaml.Node) -> PoolPolicy:
    """``pools: [URL, ...]`` (any worker) or ``pools: {allowed: [{url: URL, user: GLOB}, ...]}``."""
    if is_null(node):
        return PoolPolicy()
    if isinstance(node, yaml.MappingNode):
        m = r.y.mapping(node, "pools", ("allowed",)) or {}
        if "allowed" not in m:
            r.y.add(node, "pools", "expected allowed: [{url: ..., user: ...}]")
            return PoolPolicy()
        return PoolPolicy(tuple(read_allowed(r, m["allowed"], "pools.allowed")))
    return PoolPolicy(tuple(read_allowed(r, node, "pools")))


def read_allowed(r: Reader, node: yaml.Node, key: str) -> list[AllowedPool]:
    out = []
    for i, item in enumerate(r.y.sequence(node, key) or []):
        where = f"{key}[{i}]"
        user: str | None = None
        if isinstance(item, yaml.MappingNode):
            m = r.y.mapping(item, where, ("url", "user")) or {}
            if "url" not in m:
                r.y.add(item, where, "missing url")
                continue
            url_node = m["url"]
            if "user" in m:
                user = r.y.string(m["user"], f"{where}.user")
                if not user:
                    r.y.add(m["user"], f"{where}.user", 'expected a worker name or glob ("acct.*")')
                    continue
            where = f"{where}.url"
        else:
            url_node = item
        text = r.y.string(url_node, where)
        if text is None:
            continue
        key_ = pool_key(text)
        if key_ is None:
            r.y.add(url_node, where, f'"{clip(text)}" is not a pool URL (stratum+tcp://host:port)')
            continue
        out.append(AllowedPool(text, key_, user))
    return out


def read_curtailment(r: Reader, node: yaml.Node) -> tuple[Path | None, Secret | None, float | None]:
    """``curtailment: {file, api_token_file | api_token_env, infer_share}``: the windows file, checked now (its
    problems are the config's); the API's bearer token; the share of miners asleep together that is an
    inferred window."""
    from ..curtailment import (
        parse_windows,  # late: curtailment.py brings the store and the exposition, which a config check needs not
    )

    keys = ("file", "api_token_file", "api_token_env", "infer_share")
    m = r.y.mapping(node, "curtailment", keys)
    if not m:
        if m is not None:
            r.y.add(node, "curtailment", "expected one or more of " + ", ".join(keys))
        return None, None, None
    token = read_secret(r, m, "curtailment", "api_token")
    share = None
    if "infer_share" in m:
        value = r.y.scalar(m["infer_share"])
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            r.y.add(m["infer_share"], "curtailment.infer_share", "expected a share above 0 and at most 1 "
                       "(0.5: half the answering miners asleep together)")
        else:
            share = float(value)
    if "file" not in m:
        return None, token, share
    text = r.y.string(m["file"], "curtailment.file")
    if not text:
        return None, token, share
    path = r.base / text
    if not is_file(path):  # named at site.yaml's line and key, as a missing site map is
        r.y.add(m["file"], "curtailment.file", f"file {clip(str(path), 200)} does not exist")
        return path, token, share
    try:
        parse_windows(path)
    except ConfigError as exc:
        r.y.problems.extend(exc.problems)
    return path, token, share
