"""Curtailment windows declared by the operator, and which miners each one covers (issue 18.1).

farmwatch never tells a miner to sleep: the operator (or the site's demand-response controller) does, and
declares the window in a file the agent watches (``curtailment: {file: ...}`` in site.yaml)::

    windows:
      - id: ercot-2026-12-05-a          # the settlement record's key
        start: 2026-12-05T14:00:00Z     # ISO 8601 with a zone, or Unix seconds
        end: 2026-12-05T16:00:00Z
        scope: site                     # or {domain: feed-A}, {rack: R1} (with container: C1 where racks repeat)
        target_kw: 120                  # the load the scope must stay at or under
        ramp: 10m                       # time allowed to reach the target (default 10m)
        baseline: 30m                   # the period before start the baseline is measured over (default 30m)

The agent exports each window from ``baseline`` before its start to ``AFTER_END`` after its end (facts:
start, end, target, ramp, baseline; and ``farmwatch_miner_curtailment_scope_info{device,window}`` for every
miner it covers); the measurement (load, shed, time to target, who stayed awake) is done by the recording rules
over the best power source per miner (rules/curtailment.rules.yml) and by ``farmwatch report curtailment``
over Prometheus's history. The file is re-read when it changes; a file with problems is logged with
file:line: key and the windows read before stay (never a half-read set).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from collectors.asic.store import DeviceState
from collectors.families import Families, labels
from collectors.power.domains import PowerDomain

from .yamlread import ConfigError, YamlReader, compose_yaml, is_null, read_text

log = logging.getLogger(__name__)

AFTER_END = 900.0  # seconds a window stays exported after its end, so late scrapes and the report see it whole
SCOPE_KINDS = ("site", "domain", "container", "rack")
_WINDOW_KEYS = ("id", "start", "end", "scope", "target_kw", "ramp", "baseline")


@dataclass(frozen=True, slots=True)
class Window:
    id: str
    start: float  # Unix seconds
    end: float
    scope_kind: str  # site | domain | container | rack
    scope: str  # "" for site; the domain, container or rack name
    container: str | None  # with a rack scope, the container the rack is in (racks may repeat between containers)
    target_w: float
    ramp_s: float = 600.0
    baseline_s: float = 1800.0
    origin: str = "file"  # file (the operator's file) or api (POST /api/v1/curtailment, agent/curtailment_api.py)

    def exported(self, now: float) -> bool:
        return self.start - self.baseline_s <= now <= self.end + AFTER_END

    def covers(self, dev: DeviceState, domains: dict[str, PowerDomain]) -> bool:
        loc = dev.location
        if self.scope_kind == "site":
            return True
        if self.scope_kind == "container":
            return loc.get("container") == self.scope
        if self.scope_kind == "rack":
            return loc.get("rack") == self.scope and (self.container is None or loc.get("container") == self.container)
        d = domains.get(self.scope)
        if d is None:
            return False
        return (bool(loc.get("pdu")) and loc.get("pdu") in d.pdus) \
            or (loc.get("container", ""), loc.get("rack", "")) in d.racks \
            or dev.host in d.miners or dev.device in d.miners


def _time(y: YamlReader, node: yaml.Node, key: str) -> float | None:
    value = y.scalar(node)
    if isinstance(value, dt.datetime):  # YAML's own timestamp type: a bare one is UTC by the YAML spec
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.timestamp()
    y.add(node, key, "expected a time with its zone (2026-12-05T14:00:00Z) or Unix seconds")
    return None


def parse_windows(path: Path) -> tuple[Window, ...]:
    """The windows of a curtailment file; raises ConfigError with every problem (file:line: key)."""
    y = YamlReader(str(path))
    text, problems = read_text(path, str(path))
    root = None
    if text is not None:
        root, problems = compose_yaml(text, str(path))
    if problems:
        raise ConfigError(problems)
    out: list[Window] = []
    seen: set[str] = set()
    if root is not None and not is_null(root):
        top = y.mapping(root, "", ("windows",)) or {}
        nodes = (y.sequence(top["windows"], "windows") or []) if "windows" in top else []
        for i, node in enumerate(nodes):
            w = read_window(y, node, f"windows[{i}]")
            if w is None:
                continue
            if w.id in seen:
                y.add(node, f"windows[{i}].id", f'"{w.id}" is used twice')
                continue
            seen.add(w.id)
            out.append(w)
    if y.problems:
        raise ConfigError(y.problems)
    return tuple(out)


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def read_window(y: YamlReader, node: yaml.Node, where: str) -> Window | None:
    """One window from its YAML node (the file's entry, or a POST's JSON body, agent/curtailment_api.py); its
    problems go to ``y`` under keys below ``where`` (none: the bare key names)."""
    m = y.mapping(node, where, _WINDOW_KEYS)
    if m is None:
        return None
    missing = [k for k in ("id", "start", "end", "scope", "target_kw") if k not in m]
    if missing:
        y.add(node, where, "missing " + ", ".join(missing))
        return None
    wid = y.string(m["id"], _key(where, "id"))
    start = _time(y, m["start"], _key(where, "start"))
    end = _time(y, m["end"], _key(where, "end"))
    target = y.scalar(m["target_kw"])
    if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target) or target < 0:
        y.add(m["target_kw"], _key(where, "target_kw"), "expected a number of kW, at least 0")
        target = None
    ramp = y.duration(m["ramp"], _key(where, "ramp")) if "ramp" in m else 600.0
    baseline = y.duration(m["baseline"], _key(where, "baseline")) if "baseline" in m else 1800.0
    scope = _scope(y, m["scope"], _key(where, "scope"))
    if start is not None and end is not None and end <= start:
        y.add(m["end"], _key(where, "end"), "must be after start")
        return None
    if None in (wid, start, end, target, ramp, baseline, scope) or not wid:
        return None
    assert scope is not None and start is not None and end is not None and target is not None
    kind, name, container = scope
    return Window(str(wid), start, end, kind, name, container, float(target) * 1000.0, float(ramp or 0.0),
                  float(baseline or 0.0))


def _scope(y: YamlReader, node: yaml.Node, key: str) -> tuple[str, str, str | None] | None:
    if y.scalar(node) == "site":
        return "site", "", None
    if not isinstance(node, yaml.MappingNode):
        y.add(node, key, "expected site, {domain: NAME}, {container: NAME} or {rack: NAME, container: NAME}")
        return None
    m = y.mapping(node, key, ("domain", "container", "rack")) or {}
    names = {k: y.string(v, f"{key}.{k}") for k, v in m.items()}
    if "rack" in names and names["rack"]:
        return "rack", names["rack"], names.get("container")
    if len(names) == 1 and next(iter(names.values())):
        kind, name = next(iter(names.items()))
        assert name is not None
        return kind, name, None
    y.add(node, key, "expected one of domain, container, rack (a rack may name its container)")
    return None


class CurtailmentFile:
    """The declared windows, re-read when the file changes (checked at most once per render)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.windows: tuple[Window, ...] = ()
        self.ok = True
        self.error = ""
        self._stamp: tuple[int, int] | None = None
        self.refresh()

    def refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self._stamp != (-1, -1):
                log.error("curtailment file %s: %s; the windows read before stay", self.path, exc.strerror or exc)
            self._stamp, self.ok, self.error = (-1, -1), False, str(exc.strerror or exc)
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.windows = parse_windows(self.path)
        except ConfigError as exc:
            self.ok, self.error = False, str(exc)
            log.error("curtailment file: %s; the windows read before stay", exc)
            return
        self.ok, self.error = True, ""
        log.info("curtailment file %s: %d window(s)", self.path, len(self.windows))


def declared(cfile: CurtailmentFile | None, posted: Iterable[Window]) -> list[Window]:
    """Every declared window: the file's, then those POSTed to the API (an id the file uses wins: the API
    refuses such an id, so this happens only when the file takes it up later)."""
    out = list(cfile.windows) if cfile is not None else []
    ids = {w.id for w in out}
    out.extend(w for w in posted if w.id not in ids)
    return out


def curtailment_families(fams: Families, cfile: CurtailmentFile | None, posted: Iterable[Window],
                         devices: Iterable[DeviceState], domains: Iterable[PowerDomain], now: float,
                         infer_share: float | None = None) -> None:
    g = fams.get
    if infer_share is not None:
        g("farmwatch_curtailment_infer_share", "gauge", "The share of the site's answering miners asleep together "
          "that counts as a curtailment nobody declared (curtailment: {infer_share}).").add("", infer_share)
    if cfile is not None:
        g("farmwatch_curtailment_file_ok", "gauge", "1 when the curtailment file was last read without problems, "
          "0 when not (the windows read before stay).").add("", 1 if cfile.ok else 0)
    windows = [w for w in declared(cfile, posted) if w.exported(now)]
    if not windows:
        return
    info = g("farmwatch_curtailment_window", "info", "A declared curtailment window (value 1), exported from its "
             "baseline period to 15 minutes after its end: scope_kind site, domain, container or rack; origin "
             "file or api.")
    start = g("farmwatch_curtailment_window_start_timestamp_seconds", "gauge", "Start of the window, Unix time.")
    end = g("farmwatch_curtailment_window_end_timestamp_seconds", "gauge", "End of the window, Unix time.")
    target = g("farmwatch_curtailment_target_watts", "gauge", "The load the window's scope must stay at or under.")
    ramp = g("farmwatch_curtailment_ramp_seconds", "gauge", "Time allowed after start to reach the target.")
    base = g("farmwatch_curtailment_baseline_seconds", "gauge", "Period before start the baseline is measured over.")
    for w in windows:
        k = labels((("window", w.id),))
        info.add(labels((("window", w.id), ("scope_kind", w.scope_kind), ("scope", w.scope),
                         ("container", w.container or ""), ("origin", w.origin))), 1)
        start.add(k, w.start)
        end.add(k, w.end)
        target.add(k, w.target_w)
        ramp.add(k, w.ramp_s)
        base.add(k, w.baseline_s)
    by_name = {d.name: d for d in domains}
    scope = g("farmwatch_miner_curtailment_scope", "info", "A miner the window's scope covers (value 1).")
    for dev in devices:
        if not dev.polled:
            continue
        for w in windows:
            if w.covers(dev, by_name):
                scope.add(labels((("device", dev.device), ("window", w.id))), 1)
