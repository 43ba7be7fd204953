"""Helpers for tests against the simulated site (simsite): an agent polling its miners, a reading compared with
a simulated miner's ``truth()``, and the body of a request a simulated device received."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from agent.daemon import Agent
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite
from simsite import http as simhttp

# The fields of `poll --json` that a simulated miner's truth() states, compared by approx_equal.
KEYS = ("device", "driver", "mac", "serial", "hostname", "state", "hashrate_ths", "expected_hashrate_ths",
        "power_w", "power_source", "fans_rpm", "boards", "pools", "uptime_s")


def make_agent(site: SimSite, *, timeout: float = 2.0) -> tuple[Agent, MinerGroup]:
    """An agent (not started) with one group polling every miner of ``site``; run a cycle with
    ``agent.scheduler.run_cycle(group)``."""
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="t", sessions=sessions, interval=5.0, timeout=timeout)
    return Agent(site="test", groups=[group], listen="127.0.0.1:0"), group


def approx_equal(got: Any, want: Any, path: str = "") -> list[str]:
    """Where ``got`` differs from ``want`` (floats to 1e-6 relative), one line a difference; [] when equal."""
    if isinstance(want, dict):
        return [e for k, v in want.items() for e in approx_equal(got.get(k) if isinstance(got, dict) else None, v,
                                                                 f"{path}.{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: {got!r} != {want!r}"]
        return [e for i, (g, w) in enumerate(zip(got, want, strict=True)) for e in approx_equal(g, w, f"{path}[{i}]")]
    if isinstance(want, float) and isinstance(got, int | float):
        return [] if got == pytest.approx(want, rel=1e-6, abs=1e-9) else [f"{path}: {got!r} != {want!r}"]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def sent_body(raw: bytes) -> Any:
    """The body of an HTTP request as the guard sees it: decoded JSON, a form as a dict, else None."""
    req = simhttp.parse(raw)
    if req is None or not req.body:
        return None
    found = req.json()
    if found is not None:
        return found
    return dict(parse_qsl(req.body.decode("latin-1")))
