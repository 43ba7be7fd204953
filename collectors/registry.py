"""Collector kinds register themselves: each collector package that the agent builds from ``site.yaml`` has a
``configure.py`` module with a module-level ``KIND = CollectorKind(...)``, and this registry finds those modules by
scanning ``collectors/*/``. The agent reads the registry to build its collectors (``agent/collector_setup.py``),
to know the top-level ``site.yaml`` sections that belong to collectors (config validation, reload) and to list them
in ``farmwatch run --help``; ``tests/project/test_docs.py`` checks the README's layout table against it. Adding a collector
is adding a package with a ``configure.py``; no hand list in the agent names it (docs/architecture.md, "Adding a
collector").

A collector configures itself from its own config section (the typed value the config loader made of it; the
collector reads it through a ``Protocol`` of what it needs, so it imports nothing from the agent) and a
:class:`Setup`, what the agent hands every collector alike (its shard, the identity interval)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from .collector import Collector


class Addressed(Protocol):
    """What the shard test needs of a configured target: a device's address (``agent.targets.Target``)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class Setup:
    """What the agent hands every collector beside its config section."""

    # Whether a configured target is this agent's to poll (``--shard``/``shard:``; always True without a shard):
    # n agents poll each device exactly once between them, however the collector splits its work.
    in_shard: Callable[[Addressed], bool] = lambda _target: True
    identity_interval: float = 3600.0  # how often identity (model, serial, firmware) is re-read, seconds
    # power.nameplate_fallback: a miner that reports no power shows its model's nameplate power (the miners').
    nameplate_fallback: bool = False
    # Test and demo hooks a kind documents for itself (``nvml``: a fake NVML module); empty in production.
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectorKind:
    name: str  # the ``collector`` label of its metrics and the package name
    section: str  # its top-level key in site.yaml (and the field of the agent's Config holding it, parsed)
    summary: str  # one line for ``farmwatch run --help`` and the README's layout table
    # Builds the collectors for this agent from the parsed section; [] when the section configures none (no
    # devices in this shard, GPUs switched off or absent). Runs before the event loop (it may block briefly).
    configure: Callable[[Any, Setup], Sequence[Collector]]
    # A SIGHUP reload applies a change of this section; otherwise it needs a restart (the reload logs so).
    reloadable: bool = False


@cache
def kinds() -> dict[str, CollectorKind]:
    """Every registered collector kind by name, in name order (which is also the order they are built in)."""
    found: dict[str, CollectorKind] = {}
    root = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(root)]), key=lambda i: i.name):
        if not info.ispkg or not (root / info.name / "configure.py").is_file():
            continue
        module = importlib.import_module(f"{__package__}.{info.name}.configure")
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, CollectorKind):
            raise TypeError(f"collectors/{info.name}/configure.py has no KIND = CollectorKind(...)")
        if kind.name in found:
            raise ValueError(f"two collector kinds named {kind.name!r}")
        found[kind.name] = kind
    return found


def sections() -> dict[str, CollectorKind]:
    """The registered kinds by their site.yaml section."""
    return {k.section: k for k in kinds().values()}
