"""Moved to ``collectors/asic/store.py`` (the miner collector's latest readings); this old import path stays for
the agent's modules and tests that still use it (docs/architecture.md, "Decisions")."""

from collectors.asic.store import DeviceState, Identity, MinerStore

__all__ = ["DeviceState", "Identity", "MinerStore"]
