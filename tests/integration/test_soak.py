"""A short soak (about 90 s, with config reloads) in `make test`, and one that leaks on purpose to show the heap
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
        # 90 s, not 72: the heap slope's run-to-run spread falls with the run's length (~140 blocks/min at 72 s,
        # about 1 % of clean runs over the 400 bound; ~100 at 90 s, far fewer).
        [sys.executable, "-m", "tests.support.soak", "--duration", "90", "--miners", "100", "--spares", "20",
         "--interval", "2", "--churn-every", "3", "--reload-every", "5", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stderr[-3000:], run.stdout[-3000:])
    summary = json.loads(out.read_text())["summary"]
    assert summary["final_up"] == summary["expected_up"] == 100 and summary["lost"] == []
    assert summary["dhcp_moves"] >= 1 and summary["reboots"] >= 1 and summary["churned"] >= 5
    assert summary["reloads"] >= 2


@pytest.mark.slow
def test_the_soak_fails_an_agent_that_leaks_readings_every_cycle() -> None:
    # The heap check must be able to fail: the same soak, keeping three copies of a live reading every cycle as a
    # leak in the agent would (~3,300 blocks a minute at a 2 s interval against the bound of 400). One copy a
    # cycle (~1,100 a minute) was caught by most 36 s runs but not all: a clean CI run passed it once, the short
    # run's slope spreading by several hundred blocks a minute.
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.soak", "--duration", "36", "--miners", "100", "--spares", "20",
         "--interval", "2", "--churn-every", "3", "--reload-every", "5", "--leak-readings", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, (run.stderr[-3000:], run.stdout[-3000:])
    assert "FAIL: blocks grows" in run.stderr and "lost devices" not in run.stderr, run.stderr[-3000:]
