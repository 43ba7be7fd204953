"""The pool-side view of the site's workers (issue 18.3, reconciliation): each configured pool account's stats API
read every ``interval``, exported per worker for the rules to set against what the miners report
(rules/pools.rules.yml, docs/pools.md).

Only GETs with the account's read token: nothing here can change a pool setting or a miner. A failed read sets
``farmwatch_pool_api_up`` to 0 with its reason on ``farmwatch_pool_api_error_info``; the last good workers stay
exported for ``KEEP_CYCLES`` intervals (one ignored request, which the pool's rate limit allows it to do, is not a
hole in every worker's series) and are dropped after that, never shown as fresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from ..collector import CycleStats
from ..families import Families, labels
from .braiins import MAX_BODY, PoolApiError, WorkerStats, parse_workers

log = logging.getLogger("farmwatch.poolapi")
KEEP_CYCLES = 3
# The pool's windows exported: 60m is what the rules reconcile, 5m what a dashboard follows. Its 24h figures are
# read but not exported: a farm naming every miner as a worker has 20,000 workers, and each series costs that many.
EXPORTED = ("5m", "60m")


class SecretValue(Protocol):
    def reveal_fresh(self) -> str:
        """The token, read again now (a rotated token works without a reload)."""
        ...


@dataclass
class Account:
    name: str  # the ``pool`` label
    url: str  # the API's base URL
    coin: str
    token: SecretValue
    normal_gap: float  # the pool-vs-miner gap that is normal (stale and rejected work, the pool's accounting)
    workers: list[WorkerStats] = field(default_factory=list)
    ok: bool | None = None  # None: not read yet
    error: str = ""
    last_success: float | None = None


class PoolApiCollector:
    name = "poolapi"

    def __init__(self, accounts: Sequence[Account], interval: float = 60.0, timeout: float = 20.0) -> None:
        self.accounts = list(accounts)
        self.interval = interval
        self.timeout = timeout
        self.stats = CycleStats()
        self._session: aiohttp.ClientSession | None = None

    async def run_cycle(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        t0 = time.monotonic()
        results = await asyncio.gather(*(self._read(a) for a in self.accounts), return_exceptions=True)
        for a, r in zip(self.accounts, results, strict=True):
            if isinstance(r, BaseException):  # a bug of ours, not the pool's: logged, counted, never raised
                a.ok, a.error = False, f"internal error: {type(r).__name__}"
                log.error("pool API %s: %r", a.name, r)
        self.stats.cycles += 1
        self.stats.devices = len(self.accounts)
        self.stats.devices_up = sum(1 for a in self.accounts if a.ok)
        self.stats.last_duration = time.monotonic() - t0
        self.stats.last_completed = time.time()
        self.stats.cycle_done(True)

    async def _read(self, a: Account) -> None:
        assert self._session is not None
        url = f"{a.url.rstrip('/')}/accounts/workers/json/{a.coin}/"
        try:
            token = a.token.reveal_fresh()
        except Exception as exc:  # SecretError: its message names the file, never the token
            self._failed(a, str(exc))
            return
        # Both names the pool's guide has used for the header; the token goes nowhere else.
        headers = {"Pool-Auth-Token": token, "SlushPool-Auth-Token": token, "Accept": "application/json"}
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status != 200:
                    self._failed(a, f"HTTP {resp.status}" + (" (token refused)" if resp.status in (401, 403) else ""))
                    return
                body = await resp.content.read(MAX_BODY + 1)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._failed(a, f"{type(exc).__name__}: {exc}"[:200])
            return
        if len(body) > MAX_BODY:
            self._failed(a, f"reply larger than {MAX_BODY} bytes")
            return
        try:
            workers = parse_workers(body, a.coin)
        except PoolApiError as exc:
            self._failed(a, str(exc))
            return
        a.workers, a.ok, a.error, a.last_success = workers, True, "", time.time()

    def _failed(self, a: Account, why: str) -> None:
        if a.ok is not False or a.error != why:
            log.warning("pool API %s: %s", a.name, why)
        a.ok, a.error = False, why
        if a.last_success is None or time.time() - a.last_success > KEEP_CYCLES * self.interval:
            a.workers = []

    def families(self, fams: Families) -> None:
        g = fams.get
        up = g("farmwatch_pool_api_up", "gauge", "1 when the pool's stats API answered its last read, 0 when not.")
        err = g("farmwatch_pool_api_error", "info", "Why the last read of the pool's stats API failed.")
        last = g("farmwatch_pool_api_last_success_timestamp_seconds", "gauge",
                 "Unix time of the last good read of the pool's stats API.")
        gap = g("farmwatch_pool_reconcile_normal_gap_ratio", "gauge", "The gap between the miners' and the pool's "
                "hashrate that is normal for this account (pool_api: normal_gap).")
        rate = g("farmwatch_pool_worker_hashrate_hashes_per_second", "gauge", "The worker's hashrate as the pool "
                 "credits it, averaged over the pool's window (5m, 60m).")
        shares = g("farmwatch_pool_worker_shares", "gauge", "Shares the pool counted for the worker over its 60m window.")
        seen = g("farmwatch_pool_worker_last_share_timestamp_seconds", "gauge",
                 "Unix time of the worker's last share, as the pool says.")
        state = g("farmwatch_pool_worker_state", "gauge", "The worker's state as the pool says (value 1).")
        for a in self.accounts:
            key = (("pool", a.name),)
            gap.add(labels(key), a.normal_gap)
            if a.ok is None:
                continue  # not read yet: unknown, no sample
            up.add(labels(key), 1 if a.ok else 0)
            if not a.ok:
                err.add(labels((*key, ("error", a.error))), 1)
            if a.last_success is not None:
                last.add(labels(key), round(a.last_success, 3))
            for w in a.workers:
                wk = (*key, ("worker", w.worker))
                for window in EXPORTED:
                    if (v := w.hashrate[window]) is not None:
                        rate.add(labels((*wk, ("window", window))), v)
                if (n := w.shares["60m"]) is not None:
                    shares.add(labels((*wk, ("window", "60m"))), n)
                if w.last_share is not None:
                    seen.add(labels(wk), w.last_share)
                if w.state is not None:
                    state.add(labels((*wk, ("state", w.state))), 1)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
