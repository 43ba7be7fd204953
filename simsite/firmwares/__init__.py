"""Firmware personalities, one module each; every module registers its class with :func:`register`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from .. import miner
from ..cgminer import Firmware

_REGISTRY: dict[str, Firmware] = {}
F = TypeVar("F", bound=type[Firmware])


def register(cls: F) -> F:
    _REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> Firmware:
    return _REGISTRY[name]


def names() -> list[str]:
    return sorted(_REGISTRY)


miner.personality_of = get  # a miner's truth() finds its personality by name without importing this package


for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
