"""Config, web-config and secret files where something else sits (issue 11, finding 7): a FIFO or a device
where the config should be, a password pasted where its file's name belongs, a secret anyone can rewrite."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.config import check_config
from agent.runtime import agent_from_config

ROOT = Path(__file__).resolve().parents[2]


def _check_config_cli(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "check-config", path], capture_output=True, text=True,
                          timeout=30, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_check_config_of_a_fifo_or_dev_zero_answers_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):  # before: the FIFO hung forever, /dev/zero grew to 3.8 GB
        out = _check_config_cli(path)
        assert out.returncode != 0 and "not a regular file" in out.stdout + out.stderr, out


async def test_a_reload_onto_a_fifo_keeps_the_running_config_and_does_not_hang(tmp_path: Path) -> None:
    cfg = tmp_path / "site.yaml"
    cfg.write_text("site: a\ngpus: {enabled: false}\nminers: []\n")
    agent = agent_from_config(cfg, listen="127.0.0.1:0")
    cfg.unlink()
    os.mkfifo(cfg)

    def unblock() -> None:  # so that the old behaviour (a blocking read) fails this test instead of hanging it
        with contextlib.suppress(OSError), open(cfg, "wb"):
            pass

    watchdog = threading.Timer(15.0, unblock)
    watchdog.start()
    try:
        assert await asyncio.wait_for(agent.reload(), 10) is False
    finally:
        watchdog.cancel()
    assert agent.site == "a"


def test_a_password_pasted_into_a_file_key_is_never_echoed(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        'site: s\nminers:\n  - targets: ["10.0.0.1"]\n    credentials: {web_password_file: "Tr0ub4dor&3xyz"}\n')
    problems = check_config(tmp_path / "site.yaml")
    assert problems and all("Tr0ub4dor" not in str(p) for p in problems)
    assert "web_password_file" in str(problems[0]) and ":4:" in str(problems[0])
    out = _check_config_cli(str(tmp_path / "site.yaml"))
    assert "Tr0ub4dor" not in out.stdout + out.stderr
    # A path as such is still named (it is not the password).
    (tmp_path / "b.yaml").write_text(
        'site: s\nminers:\n  - targets: ["10.0.0.1"]\n    credentials: {web_password_file: /run/nope/pw}\n')
    assert "/run/nope/pw" in str(check_config(tmp_path / "b.yaml")[0])


def test_a_world_writable_secret_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o666)
    (tmp_path / "site.yaml").write_text(
        'site: s\nminers:\n  - targets: ["10.0.0.1"]\n    credentials: {web_password_file: ./pw}\n')
    with caplog.at_level(logging.WARNING, logger="farmwatch.config"):
        assert check_config(tmp_path / "site.yaml") == []
    assert any("world-writable" in r.getMessage() for r in caplog.records)
    assert not any("secret\n" in r.getMessage() for r in caplog.records)
