"""``farmwatch demo``: a simulated site (simsite) and the agent polling it, in one process, in the foreground.

The simulated miners listen on their own loopback addresses (127.x.y.z:4028), so the agent talks to them over
real sockets exactly as it talks to a site. A few miners carry faults (hung, refusing, sleeping, a pulled
board, a dead fan) so the demo shows what those look like in the metrics and on the floor view.

The demo is the whole product on one machine: a site map (containers of racks, each rack four shelves of six
slots fed by its own PDU, outlet by outlet), PDUs, a UPS and a switch over SNMP, power domains (one feed, one
breaker per container), economics (hashprice, energy price, contracted site limit) and eight GPUs, so that every
Grafana panel and every section of the floor view has data.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from collectors.asic.group import MinerGroup
from collectors.asic.http import WebCredentials
from collectors.asic.poll import MinerSession
from collectors.nvml import NvmlCollector
from collectors.poolapi.collector import Account, PoolApiCollector
from collectors.power.domains import PowerDomain
from collectors.snmp.demo import DEMO_PORT, start_demo_snmp
from simsite import SimSite
from simsite.addresses import addresses
from simsite.fleet import MIXED_MIX
from simsite.gpus import demo_host

from .curtailment import Window
from .daemon import Agent
from .settings import EconomicsConfig
from .sitemap import Location

log = logging.getLogger("farmwatch.demo")

class DemoSiteMap:
    """The demo's site map: where each simulated miner sits and which PDU outlet feeds it, by IP."""

    def __init__(self, by_ip: dict[str, dict[str, str]]) -> None:
        self.by_ip = by_ip

    def locate(self, *, ip: str | None = None, mac: str | None = None, serial: str | None = None) -> Location | None:
        row = self.by_ip.get(ip or "")
        return Location(**{k: row.get(k) for k in ("container", "rack", "shelf", "slot", "pdu", "outlet")}) if row else None


SHELVES, SLOTS = 4, 6  # one rack = one PDU of 24 outlets = 4 shelves x 6 slots
RACKS_PER_CONTAINER = 10
DEMO_ECONOMICS = EconomicsConfig(hashprice_usd_per_th_day=0.05, energy_price_usd_per_kwh=0.06,
                                 site_power_limit_watts=5_000_000)


def demo_locations(snmp_locations: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The SNMP demo's rack, PDU and outlet per miner IP, with containers, shelves and slots added: outlet 1 is
    shelf 1 slot 1, outlet 7 shelf 2 slot 1 (a PDU feeds its rack top to bottom, left to right)."""
    out = {}
    for ip, loc in snmp_locations.items():
        rack = int(loc["rack"].lstrip("R"))
        outlet = int(loc["outlet"]) - 1
        out[ip] = {**loc, "container": f"C{(rack - 1) // RACKS_PER_CONTAINER + 1}",
                   "shelf": str(outlet // SLOTS % SHELVES + 1), "slot": str(outlet % SLOTS + 1)}
    return out


def demo_power_domains(locations: dict[str, dict[str, str]], pdus: list[Any]) -> tuple[PowerDomain, ...]:
    """One site feed over every PDU (the grid, at the economics' energy price: the energy-by-source rules and
    dashboard row have a source to show), and one breaker per container over that container's PDUs."""
    by_container: dict[str, set[str]] = {}
    for loc in locations.values():
        by_container.setdefault(loc["container"], set()).add(loc["pdu"])
    rated = {p.name: p.rated_current_a for p in pdus}
    feed = PowerDomain(name="feed-A", budget_w=DEMO_ECONOMICS.site_power_limit_watts, phases=3,
                       budget_amps=float(sum(rated.values())), pdus=tuple(sorted(rated)), source="grid",
                       price_usd_per_kwh=DEMO_ECONOMICS.energy_price_usd_per_kwh)
    breakers = tuple(
        PowerDomain(name=f"breaker-{c}", parent="feed-A", phases=3, budget_amps=float(sum(rated[p] for p in names)),
                    budget_w=sum(rated[p] for p in names) * 230.0 * 3, pdus=tuple(sorted(names)))
        for c, names in sorted(by_container.items()))
    return (feed, *breakers)


DRILL_DELAY_S = 40.0  # the demo's curtailment drill starts this long after the agent (a baseline first)
DRILL_REFUSERS = 2  # miners of the drill's rack that stay awake: the findings MinerAwakeDuringCurtailment shows
SLEEP_DRAW_W = 25.0  # a sleeping miner's outlet draw in the drill


async def curtailment_drill(agent: Agent, site: SimSite, snmp_sim: Any, locations: dict[str, dict[str, str]],
                            now: float) -> None:
    """A demand-response drill on rack R01, so the Curtailment row and alerts have something to show: a window
    declared as the API would keep it (in memory: the demo has no storage path), starting ``DRILL_DELAY_S`` after
    the agent for two hours; a second after its start every healthy miner of the rack sleeps (its outlet then
    draws ``SLEEP_DRAW_W``) but ``DRILL_REFUSERS``, which keep hashing. The target is met; the refusers are the
    findings. farmwatch commands nothing: the simulated site plays the operator's controller."""
    rack = [m for m in site.miners if locations.get(m.ip, {}).get("rack") == "R01" and m.fault is None]
    if len(rack) <= DRILL_REFUSERS:
        return
    sleepers, refusers = rack[DRILL_REFUSERS:], rack[:DRILL_REFUSERS]
    start = now + DRILL_DELAY_S
    target_w = 1.1 * (len(sleepers) * SLEEP_DRAW_W + sum(m.power_w for m in refusers))
    agent.curtailment_api.windows = (Window("demo-drill", start, start + 7200.0, "rack", "R01",
                                            locations[rack[0].ip].get("container"), target_w, ramp_s=120.0,
                                            baseline_s=30.0, origin="api"),)
    await asyncio.sleep(max(0.0, start + 1.0 - time.time()))
    pdus = {p.name: p for p in snmp_sim.pdus}
    changed = set()
    for m in sleepers:
        site.set_fault(m.ip, "sleeping")
        loc = snmp_sim.locations[m.ip]
        pdus[loc["pdu"]].loads_w[int(loc["outlet"]) - 1] = SLEEP_DRAW_W
        changed.add(loc["pdu"])
    for name in sorted(changed):  # one rewrite of the PDU's recording, not one per outlet
        # Outlet power under snmpsim's noise keeps the values first read; plain values follow the new loads
        # (this PDU's energy registers then stand still: the demo's energy row counts its miners by integration).
        pdus[name].noise = False
        snmp_sim.sim.update(pdus[name])


DEMO_POOL_SHORT = 0.85  # the demo pool credits its first worker this share of what its miners report


class _DemoToken:
    """The simulated pool's token (no file: the demo has no site.yaml)."""

    def reveal_fresh(self) -> str:
        return "demo-read-only-token"


async def start_demo_pool(site: SimSite) -> tuple[web.AppRunner, str]:
    """A simulated Braiins Pool on loopback for the pool-side reconciliation (collectors/poolapi/): its workers
    API credits each worker what its hashing miners report right now, 2.5 % less (the normal gap), and the first
    worker ``DEMO_POOL_SHORT`` of it (a shortfall to show), with 10,000 shares an hour each."""

    async def workers(request: web.Request) -> web.Response:
        if request.headers.get("Pool-Auth-Token") != _DemoToken().reveal_fresh():
            return web.Response(status=401)
        rates: dict[str, float] = {}
        for m in site.miners:
            if m.fault in ("hang", "refuse", "sleeping"):
                continue
            active = [p for p in m.pool_specs if p.active]
            for p in active:
                rates[p.user] = rates.get(p.user, 0.0) + m.hashrate_ths * 1000.0 / len(active)
        out = {}
        for i, (user, ghs) in enumerate(sorted(rates.items())):
            credited = ghs * (DEMO_POOL_SHORT if i == 0 else 0.975)
            out[user] = {"state": "ok", "last_share": int(time.time()), "hash_rate_unit": "Gh/s",
                         "hash_rate_5m": credited, "hash_rate_60m": credited, "hash_rate_24h": credited,
                         "shares_5m": 833, "shares_60m": 10000, "shares_24h": 240000}
        return web.json_response({"btc": {"workers": out}})

    app = web.Application()
    app.router.add_get("/accounts/workers/json/btc/", workers)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def started(demo: asyncio.Task[None], agent: asyncio.Future[Agent], timeout: float = 120.0) -> Agent:
    """The agent of a demo task started with ``on_agent=agent.set_result`` once it listens; the demo's own
    exception if it failed to start (a test then says why instead of timing out)."""
    either: set[asyncio.Future[Any]] = {demo, agent}
    await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if agent.done():
        return agent.result()
    if demo.done():
        demo.result()  # raises what stopped it
        raise RuntimeError("the demo ended before its agent listened")
    raise TimeoutError(f"the demo's agent did not listen within {timeout:.0f} s")


DEMO_FAULTS = {
    "hang": 0.004,
    "refuse": 0.004,
    "malformed": 0.003,
    "sleeping": 0.01,
    "missing_board": 0.01,
    "dead_fan": 0.01,
}


def after(ip: str) -> str:
    """The usable simulated address after ``ip`` (skipping .0 and .255)."""
    return addresses(ip, 2)[1]


async def run_demo(
    *,
    miners: int = 1000,
    seed: int = 1,
    listen: str = ":10428",
    interval: float = 15.0,
    base_ip: str = "127.20.0.1",
    duration: float | None = None,
    on_site: Callable[[SimSite], None] | None = None,
    on_agent: Callable[[Agent], None] | None = None,
    snmp_base_ip: str | None = None,  # None: right after the miners
    snmp_port: int = DEMO_PORT,
    faults: dict[str, float] | None = None,
) -> None:
    """``on_site`` is called with the simulated site before it starts (tests read its request log), ``on_agent``
    with the agent once it listens (tests read ``agent.bound``); cancelling the task stops the demo cleanly.
    ``faults``: fraction of the miners per simulated fault (default DEMO_FAULTS)."""
    site = SimSite.build(count=miners, seed=seed, base_ip=base_ip, faults=DEMO_FAULTS if faults is None else faults,
                         mix=MIXED_MIX)
    if on_site is not None:
        on_site(site)
    await site.start()
    # The simulated web firmwares keep their documented default passwords: the demo opts in to them.
    web = WebCredentials(use_default_password=True)
    sessions = [MinerSession(host=m.ip, port=m.port, credentials=web) for m in site.miners]
    timeout = min(10.0, interval * 0.6)
    group = MinerGroup(name="demo", sessions=sessions, interval=interval, timeout=timeout)
    # A GPU server of the AI hall next to the miners: 8 simulated H100s behind the real NVML collector code.
    gpus = NvmlCollector(interval=interval, nvml=demo_host(seed))
    # PDUs feeding the miners (outlet power follows each miner's load), a UPS and a switch, over real SNMP. The
    # simulated agents are snmpsim, a development dependency: an install without it runs the rest of the demo.
    snmp_sim = snmp = None
    if importlib.util.find_spec("snmpsim") is not None:
        # The PDUs, UPS and switch take the addresses right after the miners unless told otherwise, so they follow
        # --base-ip and two demos on different bases can share a host (a fixed 127.30.0.x made the second one
        # fail to bind).
        snmp_sim, snmp = await start_demo_snmp(site.miners, interval=interval,
                                               base_ip=snmp_base_ip or after(site.miners[-1].ip), port=snmp_port)
    else:
        print("farmwatch demo: snmpsim is not installed (pip install 'farmwatch[dev]'); no simulated PDUs",
              file=sys.stderr)
    locations = demo_locations(snmp_sim.locations) if snmp_sim else {}
    # A simulated pool account read like a real one, for the pool-side reconciliation panel and rules.
    pool_runner, pool_url = await start_demo_pool(site)
    pool = PoolApiCollector([Account("demo-pool", pool_url, "btc", _DemoToken(), 0.03)],
                            interval=max(10.0, interval), timeout=5.0)
    agent = Agent(site="demo", groups=[group], listen=listen,
                  collectors=[gpus, *([snmp] if snmp else []), pool],
                  sitemap=DemoSiteMap(locations), economics=DEMO_ECONOMICS)
    if snmp is not None and snmp_sim is not None:
        agent.power_domains = demo_power_domains(locations, snmp_sim.pdus)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.start()
        assert agent.bound is not None
        if snmp_sim is not None:
            tasks.append(asyncio.create_task(curtailment_drill(agent, site, snmp_sim, locations, time.time())))
        if on_agent is not None:
            on_agent(agent)
        host, port = agent.bound
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        print(
            f"farmwatch demo: {miners} simulated miners on {site.miners[0].ip}..{site.miners[-1].ip} port 4028\n"
            f"  metrics:  curl http://{shown}:{port}/metrics\n"
            f"  floor:    http://{shown}:{port}/  (site summary, to-do list, rack map; /api/v1/todo)\n"
            f"  one miner: farmwatch poll {site.miners[0].ip}\n"
            f"  GPUs:     8 simulated H100 (farmwatch_gpu_* series)\n"
            f"  pool:     a simulated Braiins Pool account at {pool_url} (farmwatch_pool_worker_*; the site "
            "overview's pool gap panel)\n"
            + (f"  power:    {len(snmp_sim.pdus)} simulated PDUs, a UPS and a switch over SNMP on "
               f"{snmp_sim.pdus[0].ip}.. (farmwatch_pdu_*, farmwatch_pdu_outlet_power_watts; per miner and rack "
               "with rules/power.rules.yml)\n"
               f"  curtailment: a drill on rack R01 from {DRILL_DELAY_S:.0f}s after start, {DRILL_REFUSERS} miners "
               f"refusing (http://{shown}:{port}/api/v1/curtailment; rules/curtailment.rules.yml)\n"
               if snmp_sim else "")
            + f"  polling every {interval:.0f}s; first full cycle within {interval + timeout:.0f}s. Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await agent.stop()
        await pool_runner.cleanup()
        if snmp_sim is not None:
            await snmp_sim.stop()
        await site.stop()
