"""Reload like Prometheus (issue 12): ``POST /-/reload`` behind the web config's basic auth, GET answered 405,
``farmwatch_config_last_reload_successful`` / ``_success_timestamp_seconds``, and a warning naming each changed
key that needs a restart (``listen``, an SNMP interval) instead of "1 unchanged" and silence. The real
``farmwatch run`` process, over HTTP."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import bcrypt

ROOT = Path(__file__).resolve().parents[2]
AUTH = "Basic " + base64.b64encode(b"prometheus:s3cret").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(url: str, method: str = "GET", auth: bool = True) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, headers={"Authorization": AUTH} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, name
    return float(m[1])


def wait(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_post_reload_metrics_and_restart_warnings(tmp_path: Path) -> None:
    port = free_port()
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    (tmp_path / "community").write_text("public\n")
    cfg = tmp_path / "site.yaml"

    def write(listen: str, snmp_interval: str, miners: str = '["127.47.0.1"]') -> None:
        cfg.write_text(f'site: r\ngpus: {{enabled: false}}\nlisten: "{listen}"\nminers:\n  - targets: {miners}\n'
                       f'    interval: 30s\n    timeout: 1s\nsnmp:\n  - targets: ["127.47.1.1"]\n'
                       f"    interval: {snmp_interval}\n    timeout: 1s\n    community_file: community\n")

    write(f"127.0.0.1:{port}", "60s")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(cfg), "--web.config.file",
                             str(tmp_path / "web.yml")], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: request(f"{base}/metrics")[0] == 200)
        text = request(f"{base}/metrics")[1]
        assert metric(text, "farmwatch_config_last_reload_successful") == 1
        started = metric(text, "farmwatch_config_last_reload_success_timestamp_seconds")
        assert abs(started - time.time()) < 120

        assert request(f"{base}/-/reload")[0] == 405  # a GET must not reload
        assert request(f"{base}/-/reload", "POST", auth=False)[0] == 401  # behind the web config's auth

        # Keys a reload cannot apply: each named in a warning, and the running values stay.
        write(f"127.0.0.1:{free_port()}", "30s", '["127.47.0.1", "127.47.0.2"]')
        time.sleep(0.05)
        status, body = request(f"{base}/-/reload", "POST")
        assert (status, body) == (200, "config reloaded\n")
        text = request(f"{base}/metrics")[1]  # still listening where it was
        assert metric(text, "farmwatch_config_last_reload_successful") == 1
        assert metric(text, "farmwatch_config_last_reload_success_timestamp_seconds") > started
        assert 'farmwatch_devices{collector="asic",group="miners[0]"} 2' in text  # the miners' change applied
        ok_at = metric(text, "farmwatch_config_last_reload_success_timestamp_seconds")

        # A broken config: 500 with the problem, the metric says so, the old config keeps running.
        cfg.write_text("site: r\nminers:\n  - targets: [\"10.0.0.300\"]\n")
        status, body = request(f"{base}/-/reload", "POST")
        assert status == 500 and "10.0.0.300" in body
        text = request(f"{base}/metrics")[1]
        assert metric(text, "farmwatch_config_last_reload_successful") == 0
        assert metric(text, "farmwatch_config_last_reload_success_timestamp_seconds") == ok_at

        # SIGHUP with a good config again: successful.
        write(f"127.0.0.1:{port}", "60s")
        proc.send_signal(signal.SIGHUP)
        wait(lambda: metric(request(f"{base}/metrics")[1], "farmwatch_config_last_reload_successful") == 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        log = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert re.search(r"reload: listen \('127\.0\.0\.1:\d+' -> '127\.0\.0\.1:\d+'\) needs a restart", log), log
    assert "reload: snmp[0].interval (60s -> 30s) needs a restart" in log
    assert "1 unchanged" not in log.split("snmp[0].interval")[1].split("\n")[1]  # the line after: no false comfort
    # The last reload went back to the running values: nothing left to warn about.
    last = log.rsplit("SIGHUP", 1)[1]
    assert "needs a restart" not in last
    assert "Traceback" not in log
