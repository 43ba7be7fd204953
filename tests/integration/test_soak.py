"""A short soak (about 75 s, with config reloads) in `make test`, and one that leaks on purpose to show the heap
check can fail; `make soak` runs tests/support/soak.py for an hour.

It runs in its own interpreter, as the daemon does: heap, fd and task counts sampled inside the test process
would also see what earlier tests left behind (closing sockets, collected loops), which is not the agent's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_soak_memory_fds_tasks_flat_and_no_device_lost(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.soak", "--duration", "72", "--miners", "100", "--spares", "20",
         "--interval", "2", "--churn-every", "3", "--reload-every", "5", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stderr[-3000:], run.stdout[-3000:])
    summary = json.loads(out.read_text())["summary"]
    assert summary["final_up"] == summary["expected_up"] == 100 and summary["lost"] == []
    assert summary["dhcp_moves"] >= 1 and summary["reboots"] >= 1 and summary["churned"] >= 5
    assert summary["reloads"] >= 2


@pytest.mark.slow
def test_the_soak_fails_an_agent_that_leaks_one_reading_a_cycle() -> None:
    # The heap check must be able to fail: the same soak, keeping one copy of a live reading every cycle as a leak
    # in the agent would (~1,100 blocks a minute at a 2 s interval against the bound of 400).
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.soak", "--duration", "36", "--miners", "100", "--spares", "20",
         "--interval", "2", "--churn-every", "3", "--reload-every", "5", "--leak-readings", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, (run.stderr[-3000:], run.stdout[-3000:])
    assert "FAIL: blocks grows" in run.stderr and "lost devices" not in run.stderr, run.stderr[-3000:]
