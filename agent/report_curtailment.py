"""``farmwatch report curtailment``: a settlement record per curtailment window, from Prometheus's HTTP API.

Everything comes from what Prometheus recorded (rules/curtailment.rules.yml over the agent's series), sampled at
``--step`` over each window and its baseline period:

- baseline_kw: mean load over the baseline period before start; during_kw: mean load past the ramp the window
  allows, [start + ramp, end) (the programs measure delivered load after the deployment time; the ramp itself
  is in time_to_target_s); shed_kw = baseline_kw - during_kw. The load is each covered miner's best power source (PDU outlet first, then
  reported, estimated, nameplate); ``sources_kw`` splits the mean load by source so the record shows how much of
  it was metered.
- time_to_target_s: from start to the first sample at or under the target (null: never reached);
  target_held_ratio: the share of samples past the ramp at or under the target.
- did_not_sleep: covered miners awake (hashing or degraded) past the ramp and never asleep in the window;
  woke_early: miners that slept and were awake again before the end; residual: sleeping miners whose median
  draw while asleep is above ``--residual-w`` (a sleeping S19 at 300 W), and residual_kw, the mean draw of all the
  sleeping miners together.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import statistics
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .floor.model import natural

AWAKE = ("hashing", "degraded")


class ReportError(Exception):
    """Prometheus could not be read or answered an error: one line for the terminal."""


def parse_time(text: str) -> float:
    """``now``, Unix seconds, or ISO 8601 with a zone (``2026-12-05T14:00:00Z``)."""
    t = text.strip()
    if t == "now":
        return dt.datetime.now(dt.UTC).timestamp()
    try:
        return float(t)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'"{text}" is not a time (now, Unix seconds, or 2026-12-05T14:00:00Z)') from None
    if parsed.tzinfo is None:
        raise ValueError(f'"{text}": give the time zone (Z or +00:00)')
    return parsed.timestamp()


class PromApi:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.url}{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as exc:
            try:
                detail = json.load(exc).get("error", "")
            except (ValueError, OSError):
                detail = ""
            raise ReportError(f"prometheus at {self.url}: HTTP {exc.code} {detail}".rstrip()) from None
        except (OSError, ValueError) as exc:
            raise ReportError(f"prometheus at {self.url}: {getattr(exc, 'reason', None) or exc}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ReportError(f"prometheus at {self.url}: {body.get('error') if isinstance(body, dict) else body}")
        return body["data"]

    def instant(self, query: str, at: float) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/query", {"query": query, "time": f"{at:.3f}"})["result"])

    def range(self, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        # Prometheus refuses more than 11,000 points per series: the step grows with long windows.
        step = max(step, (end - start) / 10_000)
        data = self._get("/api/v1/query_range", {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:.3f}"})
        return list(data["result"])


@dataclass
class WindowRecord:
    window: str
    scope_kind: str
    scope: str
    start: str
    end: str
    target_kw: float | None
    baseline_kw: float | None
    during_kw: float | None
    shed_kw: float | None
    time_to_target_s: float | None
    target_held_ratio: float | None
    sources_kw: dict[str, float] = field(default_factory=dict)
    miners: int = 0
    did_not_sleep: list[str] = field(default_factory=list)
    woke_early: list[str] = field(default_factory=list)
    residual_kw: float | None = None
    residual: list[dict[str, Any]] = field(default_factory=list)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")


def _q(window: str) -> str:
    return 'window="' + window.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _points(series: dict[str, Any]) -> list[tuple[float, float]]:
    out = []
    for t, v in series.get("values", []):
        value = float(v)
        if math.isfinite(value):
            out.append((float(t), value))
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def windows(api: PromApi, t_from: float, t_to: float) -> list[dict[str, Any]]:
    """The windows declared in [from, to]: their facts as the agent exported them."""
    span = max(1, math.ceil(t_to - t_from))
    facts: dict[str, dict[str, Any]] = {}
    for name, key in (("farmwatch_curtailment_window_start_timestamp_seconds", "start"),
                      ("farmwatch_curtailment_window_end_timestamp_seconds", "end"),
                      ("farmwatch_curtailment_target_watts", "target"),
                      ("farmwatch_curtailment_ramp_seconds", "ramp"),
                      ("farmwatch_curtailment_baseline_seconds", "baseline")):
        for s in api.instant(f"max by (window) (last_over_time({name}[{span}s]))", t_to):
            facts.setdefault(s["metric"].get("window", ""), {})[key] = float(s["value"][1])
    for s in api.instant(f"max by (window, scope_kind, scope) (last_over_time(farmwatch_curtailment_window_info[{span}s]))",
                         t_to):
        f = facts.setdefault(s["metric"].get("window", ""), {})
        f["scope_kind"], f["scope"] = s["metric"].get("scope_kind", ""), s["metric"].get("scope", "")
    out = []
    for wid, f in sorted(facts.items(), key=lambda kv: (kv[1].get("start", 0.0), kv[0])):
        if {"start", "end", "target"} <= f.keys() and f["end"] > t_from and f["start"] < t_to:
            out.append({"window": wid, **f})
    return out


PREFERRED = "device:farmwatch_miner_power_watts:preferred"
JOIN = "on(site, instance, device) group_left()"


def settle(api: PromApi, w: dict[str, Any], step: float, residual_w: float, member: str | None = None) -> WindowRecord:
    """One window's record. ``member``: the covered miners as a vector keyed (site, instance, device); by default
    the agent's scope of the declared window."""
    start, end, target = w["start"], w["end"], w.get("target")
    ramp, baseline_s = w.get("ramp", 0.0), w.get("baseline", 1800.0)
    m = member or f'max by (site, instance, device) (farmwatch_miner_curtailment_scope_info{{{_q(w["window"])}}})'
    load: list[tuple[float, float]] = []
    for s in api.range(f"sum(max without(source) ({PREFERRED}) * {JOIN} {m})", start - baseline_s, end, step):
        load = _points(s)
    before = [v for t, v in load if t < start]
    during = [(t, v) for t, v in load if start <= t < end]
    baseline = _mean(before)
    enforced = [v for t, v in during if t >= start + ramp]
    mean_during = _mean(enforced)
    reached = next((t - start for t, v in during if v <= target), None) if target is not None else None
    held = (sum(1 for v in enforced if v <= target) / len(enforced)) if enforced and target is not None else None
    sources: dict[str, float] = {}
    for s in api.range(f"sum by (source) ({PREFERRED} * {JOIN} {m})", start + ramp, end - 1e-3, step):
        mean = _mean([v for _t, v in _points(s)])
        if mean is not None:
            sources[s["metric"].get("source", "")] = round(mean / 1000.0, 3)
    # Per miner: its state and best-source power at each step of the window.
    covered = {s["metric"]["device"] for s in api.range(f"max by (device) ({m})", start, end - 1e-3, step)}
    states: dict[str, dict[float, str]] = {}
    for s in api.range(f"max by (device, state) (farmwatch_miner_state * {JOIN} {m}) == 1", start, end - 1e-3, step):
        timeline = states.setdefault(s["metric"]["device"], {})
        for t, _v in _points(s):
            timeline[t] = s["metric"].get("state", "unknown")
    asleep_power: dict[str, list[float]] = {}
    residual_sum: dict[float, float] = {}
    for s in api.range(f"max by (device) ((max without(source) ({PREFERRED}) and on(site, instance, device) "
                       f'farmwatch_miner_state{{state="sleeping"}} == 1) * {JOIN} {m})', start, end - 1e-3, step):
        pts = _points(s)
        asleep_power[s["metric"]["device"]] = [v for _t, v in pts]
        for t, v in pts:
            residual_sum[t] = residual_sum.get(t, 0.0) + v
    did_not_sleep, woke_early = [], []
    for device in sorted(covered, key=natural):  # as the floor view lists them: .2 before .10
        seen = sorted(states.get(device, {}).items())
        slept = [t for t, st in seen if st == "sleeping"]
        if not slept:
            if any(st in AWAKE and t >= start + ramp for t, st in seen):
                did_not_sleep.append(device)
        elif any(st in AWAKE and t > slept[0] for t, st in seen):
            woke_early.append(device)
    # The median, not the mean: the miner says "sleeping" a poll before its outlet meter sees the drop, and those
    # first samples would make every sleeper look like it still draws.
    medians = {d: float(statistics.median(p)) for d, p in asleep_power.items() if p}
    residual = [{"device": d, "sleeping_w": round(medians[d], 1)} for d in sorted(medians, key=natural)
                if medians[d] > residual_w]
    during_samples = [t for t, _v in during]
    residual_kw = (sum(residual_sum.get(t, 0.0) for t in during_samples) / len(during_samples) / 1000.0
                   if during_samples and residual_sum else None)
    return WindowRecord(
        window=w["window"], scope_kind=w.get("scope_kind", ""), scope=w.get("scope", ""), start=_iso(start),
        end=_iso(end), target_kw=round(target / 1000.0, 3) if target is not None else None, baseline_kw=_r(baseline and baseline / 1000.0),
        during_kw=_r(mean_during and mean_during / 1000.0),
        shed_kw=_r((baseline - mean_during) / 1000.0) if baseline is not None and mean_during is not None else None,
        time_to_target_s=_r(reached, 1), target_held_ratio=_r(held), sources_kw=sources, miners=len(covered),
        did_not_sleep=did_not_sleep, woke_early=woke_early, residual_kw=_r(residual_kw), residual=residual)


SLEEPING_SHARE = ('sum(farmwatch_miner_state{state="sleeping"} == 1) / count(farmwatch_miner_state == 1)')


def inferred(api: PromApi, t_from: float, t_to: float, step: float, share: float) -> list[tuple[float, float]]:
    """Periods in which at least ``share`` of the answering miners were asleep together: curtailment nobody
    declared (start: the first sample at or over the share; end: the first one under it)."""
    out: list[tuple[float, float]] = []
    for s in api.range(f"({SLEEPING_SHARE}) or vector(0)", t_from, t_to, step):
        begin: float | None = None
        for t, v in _points(s):
            if v >= share and begin is None:
                begin = t
            elif v < share and begin is not None:
                out.append((begin, t))
                begin = None
        if begin is not None:
            out.append((begin, t_to))
    return out


def configured_share(api: PromApi, t_from: float, t_to: float) -> float | None:
    """The site's ``curtailment: {infer_share}`` as Prometheus recorded it over the period (the largest, where it
    changed or shards disagree); None where none was configured."""
    span = max(1, math.ceil(t_to - t_from))
    got = api.instant(f"max(max_over_time(farmwatch_curtailment_infer_share[{span}s]))", t_to)
    return float(got[0]["value"][1]) if got else None


def curtailment_report(url: str, t_from: float, t_to: float, *, step: float = 15.0, residual_w: float = 100.0,
                       infer_share: float | None = None, baseline_s: float = 1800.0) -> list[WindowRecord]:
    """The declared windows in [from, to]; with ``infer_share``, also one site-wide record per period in which
    that share of the miners slept together (scope_kind "inferred", no target)."""
    api = PromApi(url)
    records = [settle(api, w, step, residual_w) for w in windows(api, t_from, t_to)]
    if infer_share is None:
        infer_share = configured_share(api, t_from, t_to)
    if infer_share is not None:
        everyone = "max by (site, instance, device) (farmwatch_miner_state)"
        for n, (a, b) in enumerate(inferred(api, t_from, t_to, step, infer_share), start=1):
            w = {"window": f"inferred-{n}", "scope_kind": "inferred", "scope": "site", "start": a, "end": b,
                 "target": None, "ramp": 0.0, "baseline": baseline_s}
            records.append(settle(api, w, step, residual_w, member=everyone))
    return records


CSV_COLUMNS = ("window", "scope_kind", "scope", "start", "end", "target_kw", "baseline_kw", "during_kw", "shed_kw",
               "time_to_target_s", "target_held_ratio", "sources_kw", "miners", "did_not_sleep", "woke_early",
               "residual_kw", "residual")


def render(records: list[WindowRecord], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([asdict(r) for r in records], indent=2) + "\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in records:
        row = asdict(r)
        row["sources_kw"] = " ".join(f"{k}={v}" for k, v in sorted(r.sources_kw.items()))
        row["did_not_sleep"] = " ".join(r.did_not_sleep)
        row["woke_early"] = " ".join(r.woke_early)
        row["residual"] = " ".join(f"{x['device']}={x['sleeping_w']}W" for x in r.residual)
        w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return buf.getvalue()
