"""The agent's own metric families: its identity, the render, and the cycle statistics of every collector's timers
(``farmwatch_cycle_*{collector,group}``, ``farmwatch_collector_success``). The miners' families are
``collectors/asic/metrics.py``; names: docs/architecture.md, "Metrics"."""

from __future__ import annotations

from collections.abc import Iterable

from collectors.asic.group import MinerGroup
from collectors.asic.metrics import scope_families
from collectors.asic.store import MinerStore
from collectors.collector import Collector, Timed, success, timers
from collectors.errors import REASONS
from collectors.families import Families, labels

__all__ = ["agent_families", "collector_families"]


def agent_families(fams: Families, *, site: str, version: str, render_seconds: float,
                   groups: Iterable[MinerGroup] = (), store: MinerStore | None = None) -> None:
    """The agent's identity and render time. ``groups`` and ``store``: also the cycle and scope series of those
    miner groups (what the agent gets from its miner collector; for callers that build families without one)."""
    g = fams.get
    g("farmwatch_agent", "info", "The agent: site and version (value 1).").add(
        labels((("site", site), ("version", version))), 1)
    groups = list(groups)
    if groups and store is not None:
        scope_families(fams, [gr.name for gr in groups if gr.explicit is not None], store)
        for gr in groups:
            gr.stats.devices = len(gr.sessions)
            gr.stats.devices_up = sum(1 for s in gr.sessions if (d := store.get(s.device)) is not None and d.up)
            timer_families(fams, "asic", gr)
    g("farmwatch_render_duration_seconds", "gauge", "Time to render the previous exposition.").add("", round(render_seconds, 4))


def timer_families(fams: Families, collector: str, t: Timed) -> None:
    """One timer's cycle statistics, labelled with its collector and its group (its own name)."""
    g = fams.get
    st = t.stats
    lab = labels((("collector", collector), ("group", t.name)))
    if st.cycles:
        g("farmwatch_cycle_duration_seconds", "gauge", "Wall time of the last completed poll cycle.").add(
            lab, round(st.last_duration, 4))
        g("farmwatch_cycle_last_completed_timestamp_seconds", "gauge", "Unix time the last cycle completed.").add(
            lab, round(st.last_completed, 3))
    g("farmwatch_cycle_interval_seconds", "gauge", "Configured poll interval.").add(lab, t.interval)
    g("farmwatch_cycles", "counter", "Poll cycles completed.").add(lab, st.cycles)
    g("farmwatch_cycle_overruns", "counter", "Cycles that took longer than their interval.").add(lab, st.overruns)
    errors = g("farmwatch_poll_errors", "counter", "Failed device polls by reason.")
    for reason in REASONS:
        errors.add(labels((("collector", collector), ("group", t.name), ("reason", reason))), st.errors[reason])
    g("farmwatch_devices", "gauge", "Devices configured for polling.").add(lab, st.devices)
    g("farmwatch_devices_up", "gauge", "Devices whose last poll succeeded.").add(lab, st.devices_up)
    g("farmwatch_devices_backoff", "gauge", "Dead devices skipped this cycle while backing off.").add(
        lab, st.devices_backoff)


def collector_families(fams: Families, collectors: Iterable[Collector]) -> None:
    """Cycle statistics of every collector's timers, and each collector's own health."""
    g = fams.get
    for c in collectors:
        for t in timers(c):
            timer_families(fams, c.name, t)
        one = labels((("collector", c.name),))
        ok = success(c)
        if ok is not None:  # before the first cycle: unknown, so absent (never 0)
            g("farmwatch_collector_success", "gauge",
              "1 when the collector's last cycle ran and its metric families were built, 0 when either failed "
              "(a device that is down is not a collector failure: see farmwatch_poll_errors_total).").add(
                one, 1 if ok else 0)
        g("farmwatch_collector_family_errors", "counter",
          "Renders in which building the collector's metric families raised (its series were left out).").add(
            one, c.stats.family_errors)
