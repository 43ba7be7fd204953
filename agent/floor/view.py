"""The floor model kept up to date off the polling loop.

The agent calls :meth:`FloorView.changed` after each render (O(1): a counter and an event). When a miner group
has completed a cycle, a worker thread then rebuilds the model from the store and appends one history point per
miner of that group; a request that finds the model older than the latest change (an SNMP or GPU cycle, say)
rebuilds it in the web server's executor. Nothing
here runs on the agent's event loop, so the floor view never delays a poll cycle beyond the CPU it shares.

Reading the store from another thread is safe the way it is used: ``list(dict.values())`` copies in one step
under the GIL, and a device's reading, location and identity fields are each replaced by one assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors.asic.models import lookup
from collectors.asic.pools import PoolPolicy

from .history import History, Point
from .model import Floor, MinerRow, Summary, todo
from .problems import down_problem, hottest, reading_problems

if TYPE_CHECKING:
    from collectors.asic.store import DeviceState

    from .source import FloorSource as Agent  # what the floor reads of the agent

log = logging.getLogger("farmwatch.floor")

_KEYED = ("down", "board_missing", "fan_dead", "unknown_pool")  # problems whose text names which one: a new one is a new problem


class FloorView:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.history = History()
        self._lock = threading.Lock()
        self._version = 0
        self._built_version = -1
        self._floor: Floor | None = None
        self._since: dict[str, tuple[tuple[str, ...], float]] = {}
        self._seen_cycles: dict[str, int] = {}
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.build_seconds = 0.0

    # -- called on the agent's loop: must stay O(1) -----------------------------------------------------
    def changed(self) -> None:
        self._version += 1
        if self._thread is None and not self._closing:
            self._thread = threading.Thread(target=self._work, name="farmwatch-floor", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None

    def _work(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            if not self._groups_advanced():
                continue  # an SNMP or GPU cycle only: a request rebuilds the model when it needs it
            try:
                self.current()
            except Exception:  # a bug here must not end the worker (the page would go stale for good)
                log.exception("floor view: rebuilding the model failed")

    def _groups_advanced(self) -> bool:
        """A miner group completed a cycle since the last build: its history points are due now."""
        return any(g.stats.cycles != self._seen_cycles.get(g.name, 0) for g in self.agent.groups)

    # -- any thread -------------------------------------------------------------------------------------
    def current(self) -> Floor:
        with self._lock:
            if self._floor is None or self._built_version != self._version:
                version = self._version
                t0 = time.perf_counter()
                self._floor = self._build()
                self.build_seconds = time.perf_counter() - t0
                self._built_version = version
            return self._floor

    def points(self, device: str) -> list[Point]:
        with self._lock:
            return self.history.points(device)

    # -- the build ----------------------------------------------------------------------------------------
    def _build(self) -> Floor:
        agent = self.agent
        now = time.time()
        states = list(agent.store.states())
        outlets = _outlet_power(agent)
        fans_of: dict[str | None, int | None] = {}
        cfg = agent.config
        pools = cfg.pools if cfg is not None else PoolPolicy()
        rows: list[MinerRow] = []
        by_device: dict[str, MinerRow] = {}
        since: dict[str, tuple[tuple[str, ...], float]] = {}
        store = agent.store
        states = [d for d in states if not (d.scope and not store.is_expected(d))]  # empty scope addresses: no miner
        for dev in states:
            row = _row(dev, outlets, fans_of, pools)
            if row.problems:
                key = tuple(p.text if p.kind in _KEYED else p.kind for p in row.problems)
                old = self._since.get(dev.device)
                first = old[1] if old is not None and old[0] == key else now
                since[dev.device] = (key, first)
                row.since = dev.last_success if row.state == "down" and dev.last_success else first
            rows.append(row)
            by_device[dev.device] = row
        self._since = since
        self._record_history(by_device, now)
        summary = _summary(agent, states, rows, now)
        summary.todo = len(todo(rows))
        return Floor(summary, rows, by_device)

    def _record_history(self, by_device: dict[str, MinerRow], now: float) -> None:
        configured: set[str] = set()
        for group in self.agent.groups:
            devices = [s.device for s in group.sessions]
            configured.update(devices)
            cycles = group.stats.cycles
            if not cycles or self._seen_cycles.get(group.name) == cycles:
                continue
            self._seen_cycles[group.name] = cycles
            for d in devices:
                row = by_device.get(d)
                if row is None or row.state == "unknown" and row.last_success is None and not row.problems:
                    continue
                reason = row.problems[0].text if row.state == "down" and row.problems else None
                self.history.add(d, now, row.state, reason, row.hashrate_ths, row.power_w, row.hottest_c)
        if len(self.history.rings) > len(configured):
            self.history.keep(configured)


def _row(dev: DeviceState, outlets: Outlets, fans_of: dict[str | None, int | None], pools: PoolPolicy) -> MinerRow:
    ident = dev.identity
    loc = dev.location
    row = MinerRow(device=dev.device, state="unknown", model=ident.model, make=ident.make, firmware=ident.firmware,
                   container=loc.get("container"), rack=loc.get("rack"), shelf=loc.get("shelf"),
                   slot=loc.get("slot"), pdu=loc.get("pdu"), outlet=loc.get("outlet"),
                   last_success=dev.last_success)
    if row.pdu and row.outlet:
        row.outlet_w = outlets.watts.get((row.pdu, row.outlet))
        # A shard reads only its own PDUs: an outlet on another shard's PDU is not unknown here, it is elsewhere.
        row.outlet_elsewhere = row.outlet_w is None and outlets.here is not None and row.pdu not in outlets.here
    r = dev.reading
    if dev.polled and not dev.up:
        row.state = "down"
        row.problems = [down_problem(dev.error_reason, dev.error_message)]
        row.error_message = dev.error_message
    elif dev.up and r is not None:
        row.state = r.state
        row.hashrate_ths = r.hashrate_ths
        row.expected_hashrate_ths = r.expected_hashrate_ths
        row.power_w, row.power_source = r.power_w, r.power_source
        row.hottest_c = hottest(r)
        if r.model not in fans_of:
            facts = lookup(r.model)
            fans_of[r.model] = facts.fans if facts is not None else None
        row.problems = reading_problems(r, fans_of[r.model], pools)
    return row


@dataclass(slots=True)
class Outlets:
    watts: dict[tuple[str, str], float]  # (pdu as the site map names it, outlet) -> W, of every PDU that answered
    here: set[str] | None  # with shards: every name of a PDU this shard polls (up or not); None: no shards


def _outlet_power(agent: Agent) -> Outlets:
    from collectors.power.meters import meter_readings, pdu_index

    out: dict[tuple[str, str], float] = {}
    for name, r in pdu_index(meter_readings(agent.collectors)).items():
        for outlet, watts in r.outlet_power().items():
            out[(name, str(outlet))] = watts
    here: set[str] | None = None
    if agent.shard is not None and agent.shard[1] > 1:
        here = set()
        for c in agent.collectors:
            status = getattr(c, "status", None)
            if isinstance(status, dict):
                for device, st in list(status.items()):  # names survive a failure: a dead PDU is still ours
                    here.update(n for n in (device, device.rsplit(":", 1)[0].strip("[]"), getattr(st, "name", None))
                                if n)
    return Outlets(out, here)


def _summary(agent: Agent, states: list[DeviceState], rows: list[MinerRow], now: float) -> Summary:
    s = Summary(site=agent.site, version=agent.version, generated_at=now, miners=len(rows))
    by_state: dict[str, int] = {}
    power: dict[str, float] = {}
    for r in rows:
        by_state[r.state] = by_state.get(r.state, 0) + 1
        s.hashrate_ths += r.hashrate_ths or 0.0
        s.expected_ths += r.expected_hashrate_ths or 0.0
        if r.state == "down":
            continue
        if r.outlet_w is not None:
            power["pdu"] = power.get("pdu", 0.0) + r.outlet_w
        elif r.power_w is not None:
            src = r.power_source or "reported"
            power[src] = power.get(src, 0.0) + r.power_w
    s.up = sum(1 for st in states if st.up)
    s.by_state = by_state
    s.miner_power_w = power
    s.outlets_elsewhere = sum(1 for r in rows if r.outlet_elsewhere)
    completed = [g.stats.last_completed for g in agent.groups if g.stats.cycles]
    s.last_cycle = max(completed) if completed else None
    s.interval = min((g.interval for g in agent.groups), default=None)
    s.groups = [{"name": g.name, "devices": len(g.sessions), "cycles": g.stats.cycles,
                 "last_duration_s": round(g.stats.last_duration, 3),
                 "last_completed": g.stats.last_completed or None, "interval_s": g.interval} for g in agent.groups]
    _devices(agent, s)
    s.shard = agent.shard
    from collectors.asic.metrics import scope_counts

    scopes = [scope_counts(g.name, agent.store) for g in agent.groups if g.explicit is not None]
    s.scope = {k: sum(c[k] for c in scopes) for k in ("miner", "unidentified", "empty")} if scopes else {}
    return s


def _devices(agent: Agent, s: Summary) -> None:
    counts: dict[str, list[int]] = {}
    for c in agent.collectors:
        status = getattr(c, "status", None)
        if c.name == "snmp" and isinstance(status, dict):
            pdu_w = ups_w = None
            for st in list(status.values()):
                cls = st.device_class or "snmp"
                n = counts.setdefault(cls, [0, 0])
                n[1] += 1
                n[0] += 1 if st.up else 0
                r = st.reading
                if r is not None and r.power_w is not None and cls in ("pdu", "ups"):
                    if cls == "pdu":
                        pdu_w = (pdu_w or 0.0) + r.power_w
                    else:
                        ups_w = (ups_w or 0.0) + r.power_w
            s.pdu_power_w, s.ups_power_w = pdu_w, ups_w
        view: Any = getattr(c, "view", None)
        if c.name == "nvml" and view is not None:
            n = counts.setdefault("gpu", [0, 0])
            gpu_w = None
            for g in view.gpus:
                n[1] += 1
                n[0] += 1 if g.up else 0
                if g.reading is not None and g.reading.power_w is not None:
                    gpu_w = (gpu_w or 0.0) + g.reading.power_w
            s.gpu_power_w = gpu_w
    s.devices = {k: (v[0], v[1]) for k, v in counts.items()}
