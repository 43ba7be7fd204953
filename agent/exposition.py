"""Prometheus exposition rendered once per cycle from the latest readings, served from a cache.

Families are built fresh from the store each time (never gauges mutated in place). Sample lines are the same
in the Prometheus text format 0.0.4 and in OpenMetrics 1.0 — only the ``# TYPE``/``# HELP`` lines differ for
counters and info — so each family's samples are rendered once and both documents are joined from them.
prometheus_client's own generate_latest is several times slower at fleet sizes (issue: 20,000 miners), and is
used here only for the process collector's few series.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})


def escape(value: str) -> str:
    return value.translate(_ESCAPE)


def labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"


def fmt(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(slots=True)
class Family:
    """One metric family. ``name`` is the family name: for a counter without ``_total``, for info without
    ``_info``; samples carry the full sample name suffix implied by the type."""

    name: str
    type: str  # gauge | counter | info
    help: str
    lines: list[str] = field(default_factory=list)

    @property
    def sample_name(self) -> str:
        if self.type == "counter":
            return self.name + "_total"
        if self.type == "info":
            return self.name + "_info"
        return self.name

    def add(self, label_str: str, value: float) -> None:
        self.lines.append(f"{self.sample_name}{label_str} {fmt(value)}\n")


class Families:
    """An ordered set of families addressed by name, created on first use."""

    def __init__(self) -> None:
        self._by_name: dict[str, Family] = {}

    def get(self, name: str, type_: str, help_: str) -> Family:
        fam = self._by_name.get(name)
        if fam is None:
            fam = self._by_name[name] = Family(name, type_, help_)
        return fam

    def __iter__(self) -> Iterator[Family]:
        return iter(self._by_name.values())


@dataclass(slots=True)
class Rendered:
    text: bytes
    openmetrics: bytes
    _gzip: dict[bool, bytes] = field(default_factory=dict)

    def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        raw = self.openmetrics if openmetrics else self.text
        if not gzipped:
            return raw
        cached = self._gzip.get(openmetrics)
        if cached is None:
            # Level 1: at fleet sizes level 9 costs seconds for a few percent smaller body.
            cached = self._gzip[openmetrics] = gzip.compress(raw, compresslevel=1, mtime=0)
        return cached


def render(families: Iterable[Family]) -> Rendered:
    text_parts: list[str] = []
    om_parts: list[str] = []
    for fam in families:
        if not fam.lines:
            continue
        help_line = f"# HELP {{}} {fam.help}\n"
        body = "".join(fam.lines)
        if fam.type == "gauge":
            head = help_line.format(fam.name) + f"# TYPE {fam.name} gauge\n"
            text_parts.append(head + body)
            om_parts.append(head + body)
        else:
            sample = fam.sample_name
            text_parts.append(help_line.format(sample) + f"# TYPE {sample} {'counter' if fam.type == 'counter' else 'gauge'}\n" + body)
            om_parts.append(help_line.format(fam.name) + f"# TYPE {fam.name} {fam.type}\n" + body)
    om_parts.append("# EOF\n")
    return Rendered(text="".join(text_parts).encode(), openmetrics="".join(om_parts).encode())


class ProcessMetrics:
    """The agent's own process series (CPU, memory, open files) from prometheus_client's collectors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def families(self) -> list[Family]:
        out: list[Family] = []
        for metric in self.registry.collect():
            type_ = metric.type if metric.type in ("gauge", "counter", "info") else "gauge"
            fam = Family(metric.name, type_, metric.documentation)
            for s in metric.samples:
                if s.name.endswith("_created"):
                    continue
                fam.lines.append(f"{s.name}{labels(sorted(s.labels.items()))} {fmt(s.value)}\n")
            out.append(fam)
        return out
