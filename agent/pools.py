"""Moved to ``collectors/asic/pools.py`` (the miners' pool policy); this old import path stays for the config
reader, the floor view and tests (docs/architecture.md, "Decisions")."""

from collectors.asic.pools import AllowedPool, PoolPolicy, account, pool_host, pool_key, worker

__all__ = ["AllowedPool", "PoolPolicy", "account", "pool_host", "pool_key", "worker"]
