"""The site's allowed pools (``pools:`` in site.yaml) and the judgement of one miner's pool against them.

Pure functions: the config reader builds a :class:`PoolPolicy`, the exposition asks it about every pool a miner
reports (``farmwatch_miner_pool_allowed``) and the floor view about every pool set on a miner (its "unknown pool"
to-do entry). Two forms are read, and both stay valid:

- ``pools: [URL, ...]`` (the floor view's first form): these pools, any worker;
- ``pools: {allowed: [{url: URL, user: GLOB}, ...]}``: these pools, and on each only workers whose name matches
  the glob (``acct.*``); an entry without ``user`` allows any worker.

What is compared is host and port (scheme, ``user@`` and path differ between firmwares for the same pool; a listed
host without a port allows any port). Worker names are compared case-insensitively: pools treat account names
so, and firmwares differ in how they echo them back.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass

_POOL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:([^@/]*)@)?(\[[^\]]+\]|[^:/\[\]\s]+)(?::(\d+))?(?:/.*)?$", re.I)


def pool_key(url: str) -> str | None:
    """``stratum+tcp://user@Pool.Example:3333/x`` -> ``pool.example:3333``: the pool as the site's list names it
    (scheme, worker and path differ between firmwares for the same pool). None when it is not a pool address."""
    m = _POOL.match(url.strip())
    if m is None:
        return None
    host = m.group(2).lower()
    return f"{host}:{m.group(3)}" if m.group(3) else host


# A fleet has a handful of pool URLs, and the render asks for the host of every active pool of every miner: the
# regex runs once per URL (bounded: the URLs come from the devices).
@functools.lru_cache(maxsize=4096)
def pool_host(url: str) -> str:
    """The pool's host (no port) for grouping hashrate by pool; the URL itself when it is not a pool address."""
    key = pool_key(url)
    if key is None:
        return url.strip()
    return key.rsplit(":", 1)[0] if not key.endswith("]") else key


def worker(url: str, user: str | None) -> str | None:
    """The worker a pool entry mines for: the firmware's user field, else a ``user@`` in the URL; None: unknown."""
    if user:
        return user.strip()
    m = _POOL.match(url.strip())
    return m.group(1) if m is not None and m.group(1) else None


def account(user: str | None) -> str:
    """The pool account of a worker name: the part before the first ``.`` (pools name workers ``account.worker``);
    "" when the worker is unknown."""
    return (user or "").split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class AllowedPool:
    url: str  # as written in site.yaml
    key: str  # pool_key(url)
    user: str | None = None  # glob on the worker name; None: any worker

    def matches_pool(self, key: str) -> bool:
        return key == self.key or (":" not in self.key and key.rsplit(":", 1)[0] == self.key)


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    allowed: tuple[AllowedPool, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.allowed)

    def allows(self, url: str, user: str | None) -> bool | None:
        """True when the pool (and its worker) is one the site allows, False when not, None when it cannot be told
        (an allowed pool whose entries all name workers, and the miner does not say which worker it uses)."""
        key = pool_key(url)
        if key is None:
            return False
        entries = [a for a in self.allowed if a.matches_pool(key)]
        if not entries:
            return False
        if any(a.user is None for a in entries):
            return True
        name = worker(url, user)
        if name is None:
            return None
        low = name.lower()
        return any(fnmatch.fnmatchcase(low, a.user.lower()) for a in entries if a.user is not None)
