"""``gpus:``: whether this host's GPUs are read (``auto``: where NVML loads) and how often."""

from __future__ import annotations

from typing import Literal

import yaml

from ..settings import GpuConfig
from ..yamlread import is_null
from .reader import Reader

_GPU_KEYS = ("enabled", "interval")


def read_gpus(r: Reader, node: yaml.Node) -> GpuConfig:
    y = r.y
    if is_null(node):
        return GpuConfig()
    if isinstance(node, yaml.ScalarNode):  # "gpus: false" as a short form of "gpus: {enabled: false}"
        return GpuConfig(enabled=read_enabled(r, node, "gpus"))
    m = y.mapping(node, "gpus", _GPU_KEYS) or {}
    enabled = read_enabled(r, m["enabled"], "gpus.enabled") if "enabled" in m else "auto"
    interval = y.duration(m["interval"], "gpus.interval") if "interval" in m else None
    return GpuConfig(enabled=enabled, interval=interval or 30.0)


def read_enabled(r: Reader, node: yaml.Node, key: str) -> bool | Literal["auto"]:
    value = r.y.scalar(node)
    if isinstance(value, bool):
        return value
    if value == "auto":
        return "auto"
    r.y.add(node, key, "expected auto, true or false")
    return "auto"
