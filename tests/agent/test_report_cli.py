"""``farmwatch report curtailment|energy``: the period flags are read the same way by both (one parser), and
each mistake is one line and exit 2 before Prometheus is asked; an unreachable Prometheus is exit 1."""

from __future__ import annotations

import pytest

from agent.cli import main
from tests.support.prom import free_port


@pytest.mark.parametrize("command", ["curtailment", "energy"])
def test_period_mistakes_are_usage_errors_and_a_dead_prometheus_is_exit_1(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    base = ["report", command, "--prometheus", url]
    assert main([*base, "--from", "2026-12-05T14:00:00Z", "--to", "2026-12-05T13:00:00Z"]) == 2
    assert capsys.readouterr().err.strip() == "farmwatch: --to must be after --from"
    assert main([*base, "--from", "2026-12-05T14:00:00"]) == 2
    assert "give the time zone" in capsys.readouterr().err
    assert main([*base, "--from", "1800000000", "--to", "1800000600", "--step", "soon"]) == 2
    assert '"soon" is not a duration' in capsys.readouterr().err
    other = "--baseline" if command == "curtailment" else "--bucket"
    assert main([*base, "--from", "1800000000", "--to", "1800000600", other, "0s"]) == 2
    assert "not a positive duration" in capsys.readouterr().err
    assert main([*base, "--from", "1800000000", "--to", "1800000600"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"farmwatch: prometheus at {url}")
