"""The agent: the collectors (the miners first), one scheduler driving their timers, and the exposition on one
asyncio event loop; the HTTP server on its own thread.

Signals: SIGTERM/SIGINT stop gracefully (cycles in progress are cancelled, sockets closed, the HTTP server
closed); SIGHUP re-reads the config (see :meth:`Agent.reload`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from collectors.asic.collector import AsicCollector
from collectors.asic.expected import Expected
from collectors.asic.group import MinerGroup
from collectors.asic.metrics import LOCATION_KEYS
from collectors.asic.poll import MinerSession
from collectors.asic.store import MinerStore
from collectors.collector import FAILED_IN_A_ROW, Collector, failure, timers
from collectors.families import Families, Family
from collectors.power.domains import PowerDomain
from collectors.power.families import power_domain_families
from collectors.power.meters import meter_readings

from . import __version__, webguard
from .curtailment import CurtailmentFile, curtailment_families
from .curtailment_api import ApiWindows
from .economics import economics_families
from .energy import EnergyMeters, source_families
from .exposition import ProcessMetrics, Rendered, StreamingRender, render
from .floor.view import FloorView
from .metrics import agent_families, collector_families
from .probe import Prober, sd_snmp_targets, sd_targets
from .reloading import restart_needed, restart_sections
from .scheduler import Scheduler
from .secret import Secret
from .server import WebServer
from .settings import Config, EconomicsConfig
from .webconfig import WebConfig
from .yamlread import ConfigError

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
        shard: tuple[int, int] | None = None,
        web_config: WebConfig | None = None,
        prober: Prober | None = None,
        reloader: Callable[[], ReloadPlan] | None = None,
        expected: Expected | None = None,
        miners: AsicCollector | None = None,
    ) -> None:
        """``miners``: the miner collector built from the config (collectors/asic/configure.py); without it, one
        is built for ``groups``."""
        self.shard = shard
        self.web_config = web_config or WebConfig()
        self.prober = prober
        if prober is not None:
            prober.locator = sitemap  # probed miners carry their site-map location like polled ones
        self.reloader = reloader
        self.site = site
        self.listen = listen
        self.sitemap = sitemap
        self.version = version
        # The miners are a collector like the others; ``collectors`` holds the others (SNMP, GPUs, rediscovery).
        self.miners = miners if miners is not None else AsicCollector(groups)
        self.miners.attach(expected=expected, poll_slots=webguard.budget()[1] // 2)
        self.collectors: list[Collector] = collectors or []
        self.economics = economics
        self.power_domains: tuple[PowerDomain, ...] = ()  # the power_domains file: facts and this shard's miners
        self.curtailment: CurtailmentFile | None = None  # the operator's curtailment windows (agent/curtailment.py)
        # Windows POSTed to /api/v1/curtailment, kept in the state directory (agent/curtailment_api.py).
        self.curtailment_api = ApiWindows(expected.directory if expected is not None else None)
        self.curtailment_api.load()
        self.energy = EnergyMeters()  # each miner's own power integrated between polls (agent/energy.py)
        self.store.expected.listed = listed_ips(sitemap)
        self.scheduler = Scheduler(on_cycle=self._on_cycle, on_progress=self._on_progress)
        self.process = ProcessMetrics()
        self.started_at = time.time()
        self._render_seconds = 0.0
        self._render_lock = asyncio.Lock()
        self._render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="farmwatch-render")
        self._reload_lock = asyncio.Lock()
        # Prometheus's own reload metrics: a start counts as a successful load of the config.
        self.reload_ok = True
        self.reload_success_at = time.time()
        self.reload_error = ""
        self.config: Config | None = None  # the config running now (set by agent.runtime), to name what changed
        self.listen_from_flag = False  # --web.listen-address given: listen: in the config does not apply
        self._rendered: Rendered = self._render()
        self._web: WebServer | None = None
        self.bound: tuple[str, int] | None = None
        self._reload_task: asyncio.Task[bool] | None = None
        self.floor = FloorView(self)  # the floor view's model, rebuilt off this loop after each render

    @property
    def groups(self) -> list[MinerGroup]:
        """The miner groups (the miner collector's timers)."""
        return self.miners.groups

    @property
    def store(self) -> MinerStore:
        """The miners' latest readings."""
        return self.miners.store

    def all_collectors(self) -> list[Collector]:
        """Every collector this agent runs, the miners first."""
        return [self.miners, *self.collectors]

    def _timers(self) -> list[Any]:
        return [t for c in self.all_collectors() for t in timers(c)]

    # -- exposition -----------------------------------------------------------------------------------
    def _families(self, sink: StreamingRender | None = None) -> list[Family]:
        fams = Families(sink)
        agent_families(fams, site=self.site, version=self.version, render_seconds=self._render_seconds)
        if self.config is not None:
            self.miners.pools = self.config.pools
        collectors = self.all_collectors()
        self._collector_families(fams, self.miners)
        economics_families(fams, self.economics)
        fams.get("farmwatch_config_last_reload_successful", "gauge",
                 "1 when the last config (re)load succeeded, 0 when it failed (the previous config still runs).").add(
            "", 1 if self.reload_ok else 0)
        fams.get("farmwatch_config_last_reload_success_timestamp_seconds", "gauge",
                 "Unix time of the last successful config load (start or reload).").add(
            "", round(self.reload_success_at, 3))
        # The joins of the miners' readings with the site's facts (power domains, energy, curtailment).
        devices = self.store.states()
        power_domain_families(fams, self.power_domains, devices, meter_readings(self.collectors))
        self.energy.update(devices)
        self.energy.families(fams, devices)
        source_families(fams, self.power_domains, devices)
        if self.curtailment is not None:
            self.curtailment.refresh()
        curtailment_families(fams, self.curtailment, self.curtailment_api.windows, devices,
                             self.power_domains, time.time(),
                             self.config.curtailment_infer_share if self.config is not None else None)
        for c in self.collectors:
            self._collector_families(fams, c)
        collector_families(fams, collectors)  # after them: their success includes this build
        return [*fams, *self.process.families()]

    @staticmethod
    def _collector_families(fams: Families, c: Collector) -> None:
        try:
            c.families(fams)
            c.stats.families_done(True)
        except Exception as e:  # one collector's bug must not take /metrics down for the rest
            log.exception("collector %s failed to build its metric families", c.name)
            c.stats.families_done(False, f"building its metric families failed: {type(e).__name__}")

    def _render(self) -> Rendered:
        """Build and render synchronously (start-up, tests, benchmarks); the running agent uses refresh()."""
        t0 = time.perf_counter()
        out = render(self._families())
        self._render_seconds = time.perf_counter() - t0
        return out

    async def refresh(self) -> None:
        """Re-render the exposition from the store: families are built on the event loop (they read the
        store), then joined and compressed in the render thread, off the loop and off the request path."""
        async with self._render_lock:
            t0 = time.perf_counter()
            # Each family's lines are compressed in the render thread while the loop builds the rest (memory: the
            # exposition is never all text at once), and the render, queued behind them, joins the segments.
            streams = StreamingRender(self._render_pool)
            fams = self._families(streams)
            loop = asyncio.get_running_loop()
            self._rendered = await loop.run_in_executor(self._render_pool, render, fams, streams)
            del fams, streams
            self._render_seconds = time.perf_counter() - t0
        self.floor.changed()

    def rendered(self) -> Rendered:
        return self._rendered

    @property
    def curtailment_token(self) -> Secret | None:
        """The bearer token of POST /api/v1/curtailment, from the config running now."""
        return self.config.curtailment_token if self.config is not None else None

    def sd_targets(self) -> list[dict[str, object]]:
        return [*sd_targets(self.site, self.groups, self.store, self.shard),
                *sd_snmp_targets(self.site, self.collectors, self.shard)]

    def _apply_locations(self, group: MinerGroup) -> None:
        if self.sitemap is None:
            return
        store = self.store
        for session in group.sessions:
            state = store.get(session.device)
            if state is None:
                continue
            loc = self.sitemap.locate(ip=session.host, mac=state.identity.mac, serial=state.identity.serial)
            state.location = (
                {k: str(v) for k in LOCATION_KEYS if (v := getattr(loc, k, None)) not in (None, "")} if loc else {}
            )

    async def _on_progress(self, t: Any) -> None:
        """A cycle still running (slow or hung devices): publish what the finished devices read."""
        if isinstance(t, MinerGroup):
            self._apply_locations(t)
        await self.refresh()

    async def _on_cycle(self, t: Any) -> None:
        if not isinstance(t, MinerGroup):
            await self.refresh()
            return
        self._apply_locations(t)
        await self.refresh()
        await self._save_finds()
        store = self.store
        up = sum(1 for s in t.sessions if (d := store.get(s.device)) and d.up)
        log.info("cycle group=%s devices=%d up=%d duration=%.2fs render=%.3fs", t.name,
                 len(t.sessions), up, t.stats.last_duration, self._render_seconds)

    async def _save_finds(self) -> None:
        """Write new scope finds to the state directory, off the loop (the body is built on it)."""
        expected = self.store.expected
        body = expected.pending()
        if body is not None:
            await asyncio.get_running_loop().run_in_executor(None, expected.write, body)

    # -- health ---------------------------------------------------------------------------------------
    def health(self) -> tuple[bool, str]:
        now = time.time()
        stale = []
        for t in self._timers():
            last = t.stats.last_completed or self.started_at
            if now - last > 3 * t.interval + t.timeout:
                stale.append(f"{t.name}: no completed cycle for {now - last:.0f}s")
        if stale:
            return False, "polling is behind: " + "; ".join(stale)
        failing = [f"{c.name}: {why}" for c in self.all_collectors() if (why := failure(c)) is not None]
        if failing:
            return False, f"collector failing {FAILED_IN_A_ROW} times in a row: " + "; ".join(failing)
        if not any(g.stats.cycles for g in self.groups) and self.groups:
            return True, "starting: first cycle running"
        return True, "ok"

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._web = WebServer(self, self.listen, self.web_config)
        await self._web.start()
        self.bound = self._web.bound
        assert self.bound is not None
        self.scheduler.timers = self._timers()
        self.scheduler.start()
        log.info("listening on %s:%d%s, %d miner groups%s", self.bound[0], self.bound[1],
                 " (TLS)" if self.web_config.tls else "", len(self.groups),
                 f", shard {self.shard[0]}/{self.shard[1]}" if self.shard else "")

    async def stop(self) -> None:
        if self._reload_task is not None:
            self._reload_task.cancel()
            await asyncio.gather(self._reload_task, return_exceptions=True)
        await self.scheduler.stop()
        await self._save_finds()
        for c in self.all_collectors():
            try:
                await c.close()
            except Exception:
                log.exception("collector %s: close failed", c.name)
        if self._web is not None:
            await self._web.stop()
            self._web = None
        self.floor.close()
        if self.prober is not None:
            self.prober.close()
        self.store.expected.close()

    # -- reload ---------------------------------------------------------------------------------------
    async def reload(self) -> bool:
        """Re-read the config (SIGHUP). A config with problems is logged and changes nothing. Otherwise: groups
        whose settings and devices are unchanged keep running untouched; changed or new groups start with the
        sessions (identified driver, cached identity, tokens) of devices already polled; devices no longer
        configured leave the store; site, site map, probe ranges and the web config (users, certificates)
        are replaced. The listen address and collectors other than the miners need a restart."""
        if self.reloader is None:
            log.warning("reload requested but this agent was not started from a config file")
            self.reload_error = "this agent was not started from a config file"
            return False
        async with self._reload_lock:  # SIGHUP and POST /-/reload at once: one after the other
            ok = await self._reload()
        self.reload_ok = ok
        if ok:
            self.reload_success_at = time.time()
        await self.refresh()  # the reload metrics are on /metrics now, not after the next cycle
        return ok

    async def _reload(self) -> bool:
        assert self.reloader is not None
        loop = asyncio.get_running_loop()
        try:
            plan = await loop.run_in_executor(None, self.reloader)
        except ConfigError as e:
            for p in e.problems:
                log.error("reload: %s", p)
            log.error("reload: %d problem(s); still running the previous config", len(e.problems))
            self.reload_error = "; ".join(str(p) for p in e.problems)
            return False
        except OSError as e:
            log.error("reload: cannot read the config: %s; still running the previous config", e.strerror or e)
            self.reload_error = f"cannot read the config: {e.strerror or e}"
            return False
        self.reload_error = ""
        await self.apply(plan)
        return True

    async def apply(self, plan: ReloadPlan) -> None:
        old_by_key = {group_key(g): g for g in self.groups}
        # By target as configured: a session identified as HTTP-only polls, and is keyed by, its web port now.
        sessions = {s.target: s for g in self.groups for s in g.sessions}
        groups: list[MinerGroup] = []
        kept = 0
        for g in plan.groups:
            old = old_by_key.pop(group_key(g), None)
            if old is not None:
                groups.append(old)
                kept += 1
                continue
            g.sessions = [_reuse(s, sessions.get(s.target)) for s in g.sessions]
            groups.append(g)
        self.miners.set_groups(groups)
        await self.scheduler.set_timers(self._timers())
        self.store.remove_missing({s.device for g in groups for s in g.sessions})
        self.site = plan.site
        self.sitemap = plan.sitemap
        self.store.expected.listed = listed_ips(plan.sitemap)
        if self.prober is not None and plan.prober is not None:
            self.prober.close()
        self.prober = plan.prober
        if self.prober is not None:
            self.prober.locator = plan.sitemap
        self.shard = plan.shard
        if plan.web_config is not None and self._web is not None:
            self._web.replace_config(plan.web_config)
            self.web_config = self._web.web_config
        if plan.config is not None:
            self.economics = plan.config.economics
            self.power_domains = tuple(plan.config.power_domains)
            path = plan.config.curtailment_path
            if path is None:
                self.curtailment = None
            elif self.curtailment is None or self.curtailment.path != path:
                self.curtailment = CurtailmentFile(path)
            if self.config is not None:
                for change in restart_needed(self.config, plan.config, listen_from_flag=self.listen_from_flag):
                    log.warning("reload: %s needs a restart; still running with the old value", change)
                # What runs now: the restart-only keys keep their old values, so the next reload compares with them.
                kept_sections = {name: getattr(self.config, name) for name in restart_sections()}
                plan.config = dataclasses.replace(plan.config, listen=self.config.listen,  # type: ignore[arg-type]
                                                  rescan_interval=self.config.rescan_interval,
                                                  storage_path=self.config.storage_path, **kept_sections)
            self.config = plan.config
        for g in groups:
            self._apply_locations(g)
        await self.refresh()
        log.info("reload: %d miner group(s) (%d unchanged, %d restarted), %d devices", len(groups), kept,
                 len(groups) - kept, sum(len(g.sessions) for g in groups))

    async def run_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        await self.start()
        try:
            await stop.wait()
            log.info("shutting down")
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            await self.stop()

    def _on_sighup(self) -> None:
        if self._reload_task is not None and not self._reload_task.done():
            log.warning("reload already in progress; SIGHUP ignored")
            return
        log.info("SIGHUP: reloading the config")
        self._reload_task = asyncio.create_task(self.reload(), name="reload")


@dataclass
class ReloadPlan:
    """What a config reload replaces (built by agent.runtime from the new config)."""

    site: str
    groups: list[MinerGroup]
    sitemap: Locator | None = None
    prober: Prober | None = None
    shard: tuple[int, int] | None = None
    web_config: WebConfig | None = None
    config: Config | None = None  # the new config: economics, power domains, and what needs a restart


def listed_ips(sitemap: object) -> frozenset[str]:
    """IPs the site map names: expected miners even inside a scope (a map keyed by MAC or serial names none)."""
    by_ip = getattr(sitemap, "by_ip", None)
    return frozenset(by_ip) if isinstance(by_ip, dict) else frozenset()


def group_key(g: MinerGroup) -> tuple[object, ...]:
    """Everything that makes a group's polling what it is: equal keys mean the running group can stay."""
    first = g.sessions[0] if g.sessions else None
    return (g.name, g.interval, g.timeout, g.concurrency, g.per_subnet, g.explicit,
            tuple((s.target, s.auto_port, s.driver_name) for s in g.sessions),
            (first.credentials, first.nameplate_power, first.identity_interval) if first else None)


def _reuse(new: MinerSession, old: MinerSession | None) -> MinerSession:
    """The running session of a device when its polling settings are the same (keeps what was learnt)."""
    if old is not None and (old.driver_name, old.auto_port, old.credentials, old.nameplate_power,
                            old.identity_interval) == (new.driver_name, new.auto_port, new.credentials,
                                                       new.nameplate_power, new.identity_interval):
        return old
    return new
