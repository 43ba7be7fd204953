"""The NVML collector: the agent's ``Collector`` for this host's NVIDIA GPUs.

Every NVML call except the XID wait runs on one dedicated worker thread (a single-thread executor), so the
event loop never blocks on the driver. Lifecycle, per research on dcgm-exporter's failures:

* NVML missing or the driver not loaded: ``farmwatch_nvml_up 0`` with a reason; the agent runs on; ``nvmlInit``
  is retried with exponential backoff.
* One GPU answering GpuIsLost: that GPU ``up 0`` and ``fallen_off_bus 1``, its values disappear (never
  repeated); the other GPUs keep reporting; the lost one is probed again with backoff.
* A query a GPU does not support: its series is absent, and the query is not retried (see ``reader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pynvml as N

from ..collector import CycleStats
from ..families import Families
from .errors import LIBRARY, LOST, GpuLost, LibraryDown, error_name
from .events import XidLog, XidWatcher
from .families import nvml_families
from .reader import GpuReader, as_str
from .state import GpuState, NvmlView

log = logging.getLogger("farmwatch.nvml")


def cuda_version_str(v: int) -> str:
    """NVML encodes CUDA 12.4 as 12040."""
    return f"{v // 1000}.{v % 1000 // 10}"


class NvmlCollector:
    name = "nvml"

    def __init__(
        self,
        interval: float = 30.0,
        nvml: Any = None,
        *,
        timeout: float | None = None,
        batch: bool = True,
        xid_events: bool = True,
        xid_wait_ms: int = 500,
        backoff_min: float = 5.0,
        backoff_max: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.timeout = timeout if timeout is not None else min(10.0, interval / 2)
        self.stats = CycleStats()
        self.batch = batch
        self.xid_events = xid_events
        self.xid_wait_ms = xid_wait_ms
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.xids = XidLog()
        self.view = NvmlView()
        self._nvml = nvml  # None: the real pynvml, imported on the worker thread
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="farmwatch-nvml")
        self._job: Future[None] | None = None
        self._closed = False
        # Worker-thread state below: touched only by jobs on the executor.
        self._readers: list[GpuReader] | None = None
        self._initialised = False
        self._gpus: dict[str, GpuState] = {}
        self._uuid_by_index: dict[int, str] = {}
        self._watcher: XidWatcher | None = None
        self._up = False
        self._reason: str | None = "not_initialised"
        self._message = ""
        self._driver: str | None = None
        self._cuda: str | None = None
        self._count: int | None = None
        self._call_errors: Counter[tuple[str, str]] = Counter()
        self._next_init = 0.0
        self._backoff = backoff_min
        self._init_attempts = 0
        self._probing = False  # start_sync(probe=True): a failure is the caller's to report, not a warning

    # -- Collector protocol -----------------------------------------------------------------------------
    async def run_cycle(self) -> None:
        if self._closed:
            return
        if self._job is not None and not self._job.done():
            # An NVML call is hung (a wedged driver): do not queue more work behind it.
            log.warning("nvml: previous cycle still running on the worker thread; skipping this one")
            return
        self._job = self._executor.submit(self._cycle)
        await asyncio.wrap_future(self._job)
        v = self.view
        self.stats.devices = len(v.gpus)
        self.stats.devices_up = sum(1 for g in v.gpus if g.up)

    def families(self, fams: Families) -> None:
        nvml_families(fams, self.view, self.xids)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.wrap_future(self._executor.submit(self._teardown))
        self._executor.shutdown(wait=False)

    def close_sync(self) -> None:
        """``close`` for callers outside an event loop (config-time probing, scripts)."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._teardown).result(timeout=30)
        self._executor.shutdown(wait=False)

    def start_sync(self, timeout: float = 30.0, *, probe: bool = False) -> bool:
        """Initialise NVML now (on the worker thread); True when it came up. ``probe``: NVML may well be absent
        (``gpus.enabled: auto`` on a host without GPUs), so a failure is not logged as a warning here."""
        self._probing = probe
        try:
            self._executor.submit(self._cycle, False).result(timeout=timeout)
        finally:
            self._probing = False
        return self.view.up

    # -- worker thread ------------------------------------------------------------------------------------
    def _module(self) -> Any:
        if self._nvml is None:
            self._nvml = N  # importing nvidia-ml-py needs no driver; nvmlInit loads libnvidia-ml.so.1
        return self._nvml

    def _cycle(self, read: bool = True) -> None:
        try:
            now = self._clock()
            if self._readers is None and (now < self._next_init or not self._init()):
                return
            if read:
                self._read_all(now)
        except LibraryDown as e:
            self._teardown()
            self._down(e.reason, f"NVML stopped answering: {e}")
        finally:
            self._publish()

    def _read_all(self, now: float) -> None:
        for rd in self._readers or ():
            ident = rd.identity
            assert ident is not None
            st = self._gpus[ident.uuid]
            if st.fallen_off_bus and now < st.next_probe:
                continue
            try:
                reading = rd.read()
            except GpuLost as e:
                self._lost(st, now, e.code)
                continue
            finally:
                st.read_seconds, st.read_cpu_seconds = rd.last_read_seconds, rd.last_read_cpu_seconds
            if st.fallen_off_bus:
                log.warning("gpu %s (index %d) answers again", ident.uuid, ident.index)
            st.up, st.fallen_off_bus, st.reading, st.error_reason = True, False, reading, None
            st.last_success = time.time()
            st.probe_backoff = 0.0

    def _lost(self, st: GpuState, now: float, code: int) -> None:
        if not st.fallen_off_bus:
            log.error("gpu %s (index %d, %s) fell off the bus: %s", st.identity.uuid, st.identity.index,
                      st.identity.pci_bus_id, error_name(code))
        self.stats.errors["reset"] += 1
        st.up, st.fallen_off_bus, st.reading, st.error_reason = False, True, None, error_name(code)
        st.probe_backoff = min(max(st.probe_backoff * 2, self.backoff_min), self.backoff_max)
        st.next_probe = now + st.probe_backoff

    def _init(self) -> bool:
        self._init_attempts += 1
        nv = self._module()
        try:
            nv.nvmlInit()
        except N.NVMLError as e:
            self._down(error_name(e.value), str(e))
            return False
        except OSError as e:  # the library file exists but cannot be loaded
            self._down("library_not_found", str(e))
            return False
        self._initialised = True
        try:
            self._enumerate(nv)
        except LibraryDown as e:
            self._teardown()
            self._down(e.reason, str(e))
            return False
        except N.NVMLError as e:
            self._teardown()
            self._down(error_name(e.value), str(e))
            return False
        if not self._up:
            log.info("NVML up: driver %s, CUDA %s, %d GPU(s)", self._driver, self._cuda, self._count or 0)
        self._up, self._reason, self._message = True, None, ""
        self._backoff = self.backoff_min
        return True

    def _enumerate(self, nv: Any) -> None:
        self._driver = as_str(nv.nvmlSystemGetDriverVersion())
        try:
            self._cuda = cuda_version_str(int(nv.nvmlSystemGetCudaDriverVersion_v2()))
        except N.NVMLError:
            self._cuda = None
        self._count = int(nv.nvmlDeviceGetCount())
        readers: list[GpuReader] = []
        found: set[str] = set()
        for i in range(self._count):
            try:
                h = nv.nvmlDeviceGetHandleByIndex(i)
                rd = GpuReader(nv, h, i, batch=self.batch, call_errors=self._call_errors)
                ident = rd.identify(self._driver, self._cuda)
            except N.NVMLError as e:
                if e.value in LIBRARY:
                    raise LibraryDown(e.value) from None
                if e.value not in LOST:
                    log.warning("gpu index %d: cannot open: %s", i, error_name(e.value))
                self._lost_at_enumeration(i, e.value)
                continue
            except GpuLost as e:
                self._lost_at_enumeration(i, e.code)
                continue
            readers.append(rd)
            found.add(ident.uuid)
            self._uuid_by_index[i] = ident.uuid
            old = self._gpus.get(ident.uuid)
            self._gpus[ident.uuid] = GpuState(
                ident, fallen_off_bus=bool(old and old.fallen_off_bus), error_reason=old.error_reason if old else None,
                last_success=old.last_success if old else None, probe_backoff=old.probe_backoff if old else 0.0)
        # A GPU seen earlier that no longer enumerates has gone: keep it, down and off the bus.
        for uuid, st in self._gpus.items():
            if uuid not in found and not st.fallen_off_bus:
                log.error("gpu %s (index %d) no longer enumerates", uuid, st.identity.index)
                st.up, st.fallen_off_bus, st.reading, st.error_reason = False, True, None, "not_enumerated"
        self._readers = readers
        if self.xid_events and readers:
            handles = {rd.identity.uuid: rd.handle for rd in readers if rd.identity is not None}
            self._watcher = XidWatcher(nv, handles, self.xids, wait_ms=self.xid_wait_ms)
            if not self._watcher.start():
                self._watcher = None

    def _lost_at_enumeration(self, index: int, code: int) -> None:
        uuid = self._uuid_by_index.get(index)
        if uuid is not None and uuid in self._gpus:
            self._lost(self._gpus[uuid], self._clock(), code)
        else:
            log.error("gpu index %d is not readable (%s) and was never identified", index, error_name(code))

    def _down(self, reason: str, message: str) -> None:
        if (self._up or self._reason != reason) and not self._probing:
            log.warning("NVML unavailable (%s): %s; GPU metrics off, retrying in %.0fs", reason, message, self._backoff)
        self._up, self._reason, self._message = False, reason, message
        for st in self._gpus.values():
            st.up, st.reading, st.error_reason = False, None, "nvml_down"
        self._next_init = self._clock() + self._backoff
        self._backoff = min(self._backoff * 2, self.backoff_max)

    def _teardown(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self._readers = None
        if self._initialised:
            self._initialised = False
            with contextlib.suppress(N.NVMLError):
                self._module().nvmlShutdown()
        self._publish()

    def _publish(self) -> None:
        self.view = NvmlView(
            up=self._up, reason=self._reason, message=self._message, driver_version=self._driver,
            cuda_version=self._cuda, gpu_count=self._count if self._up else None,
            gpus=tuple(dataclasses.replace(st) for st in sorted(self._gpus.values(), key=lambda s: s.identity.index)),
            call_errors=dict(self._call_errors), init_attempts=self._init_attempts,
        )
