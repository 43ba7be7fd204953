"""The agent: scheduler + store + exposition + HTTP server on one asyncio event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any, Protocol

from aiohttp import web

from . import __version__
from .collector import Collector
from .config import EconomicsConfig
from .economics import economics_families
from .exposition import Families, ProcessMetrics, Rendered, render
from .metrics import LOCATION_KEYS, agent_families, collector_families, miner_families
from .scheduler import MinerGroup, Scheduler
from .server import build_app, parse_listen
from .store import MinerStore

log = logging.getLogger("farmwatch.agent")


class Locator(Protocol):
    def locate(self, *, ip: str | None = None, mac: str | None = None, serial: str | None = None) -> Any: ...


class Agent:
    def __init__(
        self,
        *,
        site: str,
        groups: list[MinerGroup],
        listen: str = ":10428",
        sitemap: Locator | None = None,
        collectors: list[Collector] | None = None,
        economics: EconomicsConfig | None = None,
        version: str = __version__,
    ) -> None:
        self.site = site
        self.groups = groups
        self.listen = listen
        self.sitemap = sitemap
        self.version = version
        self.collectors: list[Collector] = collectors or []
        self.economics = economics
        self._collector_tasks: list[asyncio.Task[None]] = []
        self.store = MinerStore()
        self.scheduler = Scheduler(self.store, groups, on_cycle=self._on_cycle)
        self.process = ProcessMetrics()
        self.started_at = time.time()
        self._render_seconds = 0.0
        self._rendered: Rendered = self._render()
        self._runner: web.AppRunner | None = None
        self.bound: tuple[str, int] | None = None

    # -- exposition -----------------------------------------------------------------------------------
    def _render(self) -> Rendered:
        t0 = time.perf_counter()
        fams = Families()
        agent_families(fams, site=self.site, version=self.version, groups=self.groups, store=self.store,
                       render_seconds=self._render_seconds)
        miner_families(fams, self.store)
        economics_families(fams, self.economics)
        collector_families(fams, self.collectors)
        for c in self.collectors:
            try:
                c.families(fams)
            except Exception:  # one collector's bug must not take /metrics down for the rest
                log.exception("collector %s failed to build its metric families", c.name)
        out = render([*fams, *self.process.families()])
        self._render_seconds = time.perf_counter() - t0
        return out

    def rendered(self) -> Rendered:
        return self._rendered

    def _apply_locations(self, group: MinerGroup) -> None:
        if self.sitemap is None:
            return
        for session in group.sessions:
            state = self.store.devices.get(session.device)
            if state is None:
                continue
            loc = self.sitemap.locate(ip=session.host, mac=state.identity.mac, serial=state.identity.serial)
            state.location = (
                {k: str(v) for k in LOCATION_KEYS if (v := getattr(loc, k, None)) not in (None, "")} if loc else {}
            )

    def _on_cycle(self, group: MinerGroup) -> None:
        self._apply_locations(group)
        self._rendered = self._render()
        up = sum(1 for s in group.sessions if (d := self.store.devices.get(s.device)) and d.up)
        log.info("cycle group=%s devices=%d up=%d duration=%.2fs render=%.3fs", group.name,
                 len(group.sessions), up, group.stats.last_duration, self._render_seconds)

    async def _collector_loop(self, c: Collector) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time()
        while True:
            delay = next_start - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            started = loop.time()
            try:
                await asyncio.wait_for(c.run_cycle(), c.interval + c.timeout)
            except TimeoutError:
                log.warning("collector %s: cycle cancelled after %.0fs", c.name, c.interval + c.timeout)
            except Exception:
                log.exception("collector %s: cycle failed", c.name)
            c.stats.cycles += 1
            c.stats.last_duration = loop.time() - started
            c.stats.last_completed = time.time()
            if c.stats.last_duration > c.interval:
                c.stats.overruns += 1
            self._rendered = self._render()
            next_start += c.interval
            if next_start < loop.time():
                next_start = loop.time()

    # -- health ---------------------------------------------------------------------------------------
    def health(self) -> tuple[bool, str]:
        now = time.time()
        stale = []
        timers = [(g.name, g.interval, g.timeout, g.stats.last_completed) for g in self.groups]
        timers += [(c.name, c.interval, c.timeout, c.stats.last_completed) for c in self.collectors]
        for name, interval, timeout, completed in timers:
            last = completed or self.started_at
            if now - last > 3 * interval + timeout:
                stale.append(f"{name}: no completed cycle for {now - last:.0f}s")
        if stale:
            return False, "polling is behind: " + "; ".join(stale)
        if not any(g.stats.cycles for g in self.groups) and self.groups:
            return True, "starting: first cycle running"
        return True, "ok"

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        host, port = parse_listen(self.listen)
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=256)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound = sockets[0].getsockname()[:2] if sockets else (host, port)
        self.scheduler.start()
        for c in self.collectors:
            self._collector_tasks.append(asyncio.create_task(self._collector_loop(c), name=f"collector:{c.name}"))
        log.info("listening on %s:%d, %d miner groups", self.bound[0], self.bound[1], len(self.groups))

    async def stop(self) -> None:
        await self.scheduler.stop()
        for t in self._collector_tasks:
            t.cancel()
        await asyncio.gather(*self._collector_tasks, return_exceptions=True)
        self._collector_tasks.clear()
        for c in self.collectors:
            try:
                await c.close()
            except Exception:
                log.exception("collector %s: close failed", c.name)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
