"""Metric families as the collectors and the agent build them: one :class:`Family` per metric name, its samples
rendered to lines as they are added. The agent's exposition (``agent/exposition.py``) joins and compresses them;
this module is in ``collectors/`` so that a collector builds its families without importing the agent."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

# The label-value escapes of the exposition formats, for str.translate.
ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})


def labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    table = ESCAPE  # str.translate inline: an escape() call per value was a tenth of a render
    return "{" + ",".join([f'{k}="{v.translate(table)}"' for k, v in pairs]) + "}"


def add_health(up: Family, last: Family, error: Family, key: tuple[str, str], is_up: bool,
               last_success: float | None, reason: str | None) -> str:
    """The lifecycle samples every device kind shares (miner, SNMP device, GPU): ``up``, the time of its last
    good poll, and, only while it is down, why. A down device keeps these and never its stale values. Returns
    the device's label set (``{device="..."}``) for its other samples."""
    d = labels((key,))
    up.add(d, 1 if is_up else 0)
    if last_success is not None:
        last.add(d, round(last_success, 3))
    if not is_up and reason:
        error.add(labels((key, ("reason", reason))), 1)
    return d


def fmt(value: float) -> str:
    t = type(value)
    if t is int:  # the common cases first: this runs once per sample (~1M a cycle at 20,000 miners)
        return str(value)
    if t is float and value - value == 0.0:  # finite
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
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


# A family's lines are joined into one string every CHUNK_LINES lines: at 20,000 miners a cycle has ~1M sample
# lines, and a million small str objects cost ~120 MB where the same text in few large strings costs ~80 MB.
CHUNK_LINES = 4096
# With a sink (the agent's streaming render, agent/exposition.py) each chunk leaves the family as soon as it is
# joined and is compressed off the event loop while the families are still being built, so smaller chunks keep
# less text waiting: the whole exposition is never held as text at once (80 MB at 20,000 miners).
SINK_CHUNK_LINES = 1024

# Called with the family and one chunk of its sample lines, in order; the family keeps nothing of a chunk it sinks.
Sink = Callable[["Family", str], None]


@dataclass(slots=True)
class Family:
    """One metric family. ``name`` is the family name: for a counter without ``_total``, for info without
    ``_info``; samples carry the full sample name suffix implied by the type."""

    name: str
    type: str  # gauge | counter | info
    help: str
    lines: list[str] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)
    sink: Sink | None = None
    sunk: int = 0  # chunks handed to the sink
    _sample: str = ""  # the sample name, set once (add() runs ~50 times per miner per render)
    _limit: int = CHUNK_LINES  # lines per chunk: SINK_CHUNK_LINES with a sink

    def __post_init__(self) -> None:
        self._sample = (self.name + "_total" if self.type == "counter"
                        else self.name + "_info" if self.type == "info" else self.name)
        self._limit = CHUNK_LINES if self.sink is None else SINK_CHUNK_LINES

    def _chunk(self) -> None:
        chunk = "".join(self.lines)
        self.lines.clear()
        if self.sink is None:
            self.chunks.append(chunk)
        else:
            self.sunk += 1
            self.sink(self, chunk)

    @property
    def sample_name(self) -> str:
        return self._sample

    def add(self, label_str: str, value: float) -> None:
        t = type(value)
        # fmt()'s common cases inline: this runs ~50 times per miner per render. An int goes into the f-string as
        # it is (formatting an exact int there is str() without the call).
        if t is int:
            line = f"{self._sample}{label_str} {value}\n"
        elif t is float and value - value == 0.0:  # finite
            line = (f"{self._sample}{label_str} {int(value)}\n" if value.is_integer() and -1e15 < value < 1e15
                    else f"{self._sample}{label_str} {value!r}\n")
        else:
            line = f"{self._sample}{label_str} {fmt(value)}\n"
        lines = self.lines
        lines.append(line)
        if len(lines) >= self._limit:
            self._chunk()

    def __bool__(self) -> bool:
        return bool(self.lines or self.chunks or self.sunk)

    def body(self) -> str:
        """The sample lines not handed to a sink (all of them without one)."""
        if self.lines:
            self.chunks.append("".join(self.lines))
            self.lines.clear()
        return "".join(self.chunks)


class Families:
    """An ordered set of families addressed by name, created on first use."""

    def __init__(self, sink: Sink | None = None) -> None:
        self._by_name: dict[str, Family] = {}
        self.sink = sink

    def get(self, name: str, type_: str, help_: str) -> Family:
        fam = self._by_name.get(name)
        if fam is None:
            fam = self._by_name[name] = Family(name, type_, help_, sink=self.sink)
        return fam

    def __iter__(self) -> Iterator[Family]:
        return iter(self._by_name.values())
