"""A real Alertmanager (Debian's prometheus-alertmanager) with the shipped deploy/alertmanager.yml, on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.prom import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager")
REPO = Path(__file__).resolve().parents[2]


class Alertmanager:
    """Started on free loopback ports (web and cluster) with its storage and log in ``workdir``; ready when the
    constructor returns."""

    def __init__(self, workdir: Path) -> None:
        assert ALERTMANAGER is not None
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = (workdir / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen([ALERTMANAGER, f"--config.file={REPO / 'deploy' / 'alertmanager.yml'}",
                                      f"--storage.path={workdir}", f"--web.listen-address=127.0.0.1:{self.port}",
                                      f"--cluster.listen-address=127.0.0.1:{free_port()}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1):
                    return
            except OSError:
                assert self.proc.poll() is None, (workdir / "alertmanager.log").read_text()
                assert time.monotonic() < end, "alertmanager not ready"
                time.sleep(0.2)

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds now (resolved ones are not listed), with their state."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/alerts", timeout=5) as r:
            return list(json.load(r))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()
