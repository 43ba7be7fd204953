"""Shared helpers for the NVML tests: render a collector's families and read samples back."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from agent.exposition import render
from collectors.families import Families
from collectors.nvml import NvmlCollector

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def exposition(c: NvmlCollector) -> str:
    fams = Families()
    c.families(fams)
    return render(fams).text.decode()


def samples(c: NvmlCollector, name: str, **match: str) -> list[tuple[dict[str, str], float]]:
    """Samples of ``name`` whose labels include ``match``."""
    out = []
    for line in exposition(c).splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        if all(labels.get(k) == v for k, v in match.items()):
            out.append((labels, float(m.group(3))))
    return out


def value(c: NvmlCollector, name: str, **match: str) -> float | None:
    found = samples(c, name, **match)
    assert len(found) <= 1, f"{name}{match} matched {len(found)} samples"
    return found[0][1] if found else None


def wait_for(cond: Callable[[], bool], timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def nvml_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("farmwatch-nvml") and t.is_alive()]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
