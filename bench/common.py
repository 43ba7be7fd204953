"""What the benchmarks share: this process's CPU time, and waiting for a simulated site to listen."""

from __future__ import annotations

import resource
import socket
import time


def cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_listening(ip: str, port: int, timeout: float) -> None:
    """Block until something accepts on ip:port (a simulator started in another process), or exit."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listening on {ip}:{port} after {timeout:.0f}s")
