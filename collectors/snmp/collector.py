"""The SNMP collector: every configured PDU, UPS, sensor and switch on one shared engine, one cycle at a time.

Each device is polled when its own interval is due, under a global limit of in-flight devices (one engine is
one UDP socket: hundreds of concurrent walks only queue in its buffer and cost retransmits). Implements
:class:`collectors.collector.Collector`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..collector import CycleStats, backoff_seconds
from ..errors import DeviceError, ParseError
from ..families import Families
from .client import Engine
from .metrics import snmp_families
from .poll import SnmpDevice, poll, unwrap_counters
from .reading import SnmpReading
from .status import DeviceStatus

log = logging.getLogger("farmwatch.snmp")


def record_success(st: DeviceStatus, r: SnmpReading) -> None:
    """A device read: its reading and identity (kept through later failures), failures reset."""
    st.up, st.polled, st.reading, st.last_success = True, True, r, time.time()
    st.failures = 0
    st.error_reason = st.error_message = None
    st.profile, st.device_class = r.driver, r.device_class
    st.make, st.model, st.serial, st.name, st.firmware = r.make, r.model, r.serial, r.name, r.firmware


class SnmpCollector:
    name = "snmp"

    def __init__(self, devices: list[SnmpDevice], *, interval: float | None = None, concurrency: int = 32) -> None:
        self.devices = devices
        self.interval = interval or min((d.interval for d in devices), default=60.0)
        self.timeout = max((d.timeout for d in devices), default=10.0)
        self.concurrency = concurrency
        self.stats = CycleStats()
        self.status: dict[str, DeviceStatus] = {d.device: DeviceStatus(d.device) for d in devices}
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:  # created inside the running loop: an engine is bound to its loop
            self._engine = Engine()
        return self._engine

    async def run_cycle(self) -> None:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(self.concurrency)
        now = time.monotonic()
        due = [d for d in self.devices if self.status[d.device].next_due <= now + 0.5]
        self.stats.devices_backoff = sum(1 for d in self.devices
                                         if self.status[d.device].failures >= 2 and d not in due)

        async def one(dev: SnmpDevice) -> None:
            async with limit:
                st = self.status[dev.device]
                st.next_due = time.monotonic() + dev.interval
                started = loop.time()
                try:
                    reading = await poll(self.engine, dev, deadline=started + dev.timeout)
                except DeviceError as e:
                    self._failed(st, e, dev.interval)
                    st.sys_object_id = dev.sys_object_id if e.reason == "unsupported" else None
                except Exception as e:  # a bug must stay inside this one device
                    log.exception("unexpected error polling %s", dev.device)
                    self._failed(st, ParseError(f"internal error: {type(e).__name__}: {e}"), dev.interval)
                else:
                    unwrap_counters(dev, reading)
                    self._succeeded(st, reading)
                st.duration = loop.time() - started

        await asyncio.gather(*(one(d) for d in due))
        self.stats.devices = len(self.devices)
        self.stats.devices_up = sum(1 for s in self.status.values() if s.up)

    def _failed(self, st: DeviceStatus, e: DeviceError, interval: float) -> None:
        self.stats.errors[e.reason] += 1
        st.failures += 1
        # A dead PDU costs its whole timeout and retries every cycle; back off as the miner scheduler does.
        st.next_due = max(st.next_due, time.monotonic() + backoff_seconds(st.failures, interval))
        st.up, st.polled, st.reading = False, True, None
        st.error_reason, st.error_message = e.reason, e.message
        log.debug("snmp %s down: %s", st.device, e.message)

    def _succeeded(self, st: DeviceStatus, r: SnmpReading) -> None:
        record_success(st, r)

    def readings(self) -> dict[str, SnmpReading]:
        """The current reading of every device that is up, by ``device``."""
        return {d: s.reading for d, s in self.status.items() if s.reading is not None}

    def families(self, fams: Families) -> None:
        snmp_families(fams, self.status.values())  # the power-domain members it measures: collectors/power/

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
