"""The state kept for one SNMP device between cycles. Its own module: the collector writes it and the metric
families read it, and neither should import the other (tests/project/test_imports.py: no import cycles)."""

from __future__ import annotations

from dataclasses import dataclass

from .reading import SnmpReading


@dataclass
class DeviceStatus:
    """What the exposition needs of one device: identity survives a failure, the reading does not."""

    device: str
    up: bool = False
    polled: bool = False
    last_success: float | None = None
    error_reason: str | None = None
    error_message: str | None = None
    reading: SnmpReading | None = None
    profile: str | None = None
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    name: str | None = None
    firmware: str | None = None
    device_class: str | None = None
    sys_object_id: str | None = None  # of an ``unsupported`` device: what to write a profile for
    duration: float | None = None
    next_due: float = 0.0  # monotonic
    failures: int = 0  # in a row: dead devices back off like miners (agent.scheduler.backoff_seconds)
