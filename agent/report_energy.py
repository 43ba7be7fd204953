"""``farmwatch report energy``: kWh per day by energy source, by rack and by model, split into hashing, curtailed
(asleep) and idle (down, not hashing, unknown), from Prometheus's HTTP API.

Each miner's energy is its best power (PDU outlet first, then reported, estimated, nameplate; the same
``device:farmwatch_miner_power_watts:preferred`` the economics rules use) integrated over the bucket at ``--step``
(a Prometheus subquery: the sum of the samples times the step), with the miner's state at the same instants, so
the split follows the state minute by minute. The energy counters (``farmwatch_miner_energy_joules_total``, the
PDU registers as ``farmwatch_miner:energy_joules_total:pdu_register``) are for dashboards' ``increase()``; the
record integrates the same power the rules price, so energy, cost and margin agree.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass

from .report_curtailment import PromApi

POWER = "max without(source) (device:farmwatch_miner_power_watts:preferred)"
STATE = "on(site, instance, device) farmwatch_miner_state{{state=~\"{}\"}} == 1"
CLASSES = {
    "hashing": f'label_replace({POWER} and {STATE.format("hashing|degraded")}, "class", "hashing", "", "")',
    "curtailed": f'label_replace({POWER} and {STATE.format("sleeping")}, "class", "curtailed", "", "")',
    "idle": f'label_replace({POWER} unless {STATE.format("hashing|degraded|sleeping")}, "class", "idle", "", "")',
}
BY = {
    "source": ("source", "* on(site, instance, device) group_left(source) farmwatch_miner_energy_source_info"),
    "rack": ("container, rack", "* on(site, instance, device) group_left(container, rack) farmwatch_miner_info"),
    "model": ("model", "* on(site, instance, device) group_left(model) farmwatch_miner_info"),
}


@dataclass
class EnergyRow:
    day: str  # the bucket's start, ISO 8601 UTC
    by: str  # source | rack | model
    key: str  # grid, C1/R01, S19 Pro ...
    hashing_kwh: float
    curtailed_kwh: float
    idle_kwh: float
    total_kwh: float


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")


def energy_report(url: str, t_from: float, t_to: float, *, bucket: float = 86400.0, step: float = 60.0) -> list[EnergyRow]:
    api = PromApi(url)
    rows: list[EnergyRow] = []
    b = t_from
    while b < t_to - 1e-6:
        span = min(bucket, t_to - b)
        window = f"[{int(math.ceil(span))}s:{int(step)}s]"
        for by, (keys, join) in BY.items():
            acc: dict[str, dict[str, float]] = {}
            for cls, expr in CLASSES.items():
                q = f"sum by ({keys}) (sum_over_time(({expr} {join}){window})) * {step} / 3.6e6"
                for s in api.instant(q, b + span):
                    m = s["metric"]
                    key = f"{m.get('container', '')}/{m.get('rack', '')}" if by == "rack" else m.get(by, "")
                    acc.setdefault(key, dict.fromkeys(CLASSES, 0.0))[cls] += float(s["value"][1])
            for key, kwh in sorted(acc.items()):
                rows.append(EnergyRow(_iso(b), by, key, round(kwh["hashing"], 6), round(kwh["curtailed"], 6),
                                      round(kwh["idle"], 6), round(sum(kwh.values()), 6)))
        b += span
    return rows


def render(rows: list[EnergyRow], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([asdict(r) for r in rows], indent=2) + "\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ("day", "by", "key", "hashing_kwh", "curtailed_kwh", "idle_kwh", "total_kwh")
    w.writerow(cols)
    for r in rows:
        d = asdict(r)
        w.writerow([d[c] for c in cols])
    return buf.getvalue()
