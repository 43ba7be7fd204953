"""A short soak (about 40 s, with config reloads) in `make test`; `make soak` runs tests/soak.py for an hour."""

from __future__ import annotations

import pytest

from tests.soak import check, soak


@pytest.mark.slow
async def test_short_soak_memory_fds_tasks_flat_and_no_device_lost() -> None:
    result = await soak(36.0, miners=100, spares=20, interval=2.0, timeout=1.5, churn_every=3, reload_every=5)
    problems = check(result)
    assert not problems, (problems, result.summary())
    assert result.moves >= 1 and result.reboots >= 1 and result.churned >= 5 and result.reloads >= 2
