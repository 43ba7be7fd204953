"""XID events: one thread blocked in ``nvmlEventSetWait_v2`` with a bounded timeout, so it can stop.

Events are counted (never a last-value gauge): two identical XIDs in a row count two. Counts live in an
:class:`XidLog` owned by the collector, so they stay monotonic across NVML re-initialisations.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvml as N

from .errors import LIBRARY, LOST, error_name

log = logging.getLogger("farmwatch.nvml")


def handle_key(handle: Any) -> int | None:
    """Identity of an NVML device handle (an opaque pointer): its address. Event data carries the handle."""
    try:
        return ctypes.cast(handle, ctypes.c_void_p).value
    except (TypeError, ctypes.ArgumentError):
        return id(handle)


@dataclass(slots=True)
class XidCount:
    count: int = 0
    last_timestamp: float = 0.0


class XidLog:
    """Thread-safe XID counts per (GPU UUID, XID)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], XidCount] = {}
        self._clock = clock
        self.watched: set[str] = set()  # GPUs whose XID events are registered right now

    def record(self, uuid: str, xid: int) -> None:
        with self._lock:
            c = self._counts.setdefault((uuid, xid), XidCount())
            c.count += 1
            c.last_timestamp = self._clock()

    def snapshot(self) -> dict[tuple[str, int], XidCount]:
        with self._lock:
            return {k: XidCount(v.count, v.last_timestamp) for k, v in self._counts.items()}


class XidWatcher:
    """Registers the GPUs for XID events (on the caller's thread, the collector's worker) and waits for them on
    its own thread. ``stop()`` returns within about one wait timeout."""

    def __init__(self, nvml: Any, handles: dict[str, Any], xids: XidLog, *, wait_ms: int = 500) -> None:
        self.nvml = nvml
        self.xids = xids
        self.wait_ms = wait_ms
        self._by_handle: dict[int | None, str] = {}
        self._set: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handles = handles

    def start(self) -> bool:
        """Register every GPU that supports XID events; start the thread if any does."""
        try:
            self._set = self.nvml.nvmlEventSetCreate()
        except (N.NVMLError, AttributeError) as e:
            log.info("XID events unavailable: %s", error_name(getattr(e, "value", N.NVML_ERROR_FUNCTION_NOT_FOUND)))
            return False
        for uuid, h in self._handles.items():
            try:
                supported = self.nvml.nvmlDeviceGetSupportedEventTypes(h)
                if not supported & N.nvmlEventTypeXidCriticalError:
                    continue
                self.nvml.nvmlDeviceRegisterEvents(h, N.nvmlEventTypeXidCriticalError, self._set)
            except N.NVMLError as e:
                log.info("gpu %s: XID events not watched: %s", uuid, error_name(e.value))
                continue
            self._by_handle[handle_key(h)] = uuid
            self.xids.watched.add(uuid)
        if not self._by_handle:
            self._free()
            return False
        self._thread = threading.Thread(target=self._run, name="farmwatch-nvml-xid", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        lost_logged = False
        while not self._stop.is_set():
            try:
                data = self.nvml.nvmlEventSetWait_v2(self._set, self.wait_ms)
            except N.NVMLError as e:
                if e.value == N.NVML_ERROR_TIMEOUT:
                    continue
                if e.value in LIBRARY:
                    log.warning("XID watcher stopped: NVML %s", error_name(e.value))
                    return
                if e.value in LOST and not lost_logged:
                    lost_logged = True
                    log.warning("XID watcher: a GPU is lost; still watching the others")
                self._stop.wait(self.wait_ms / 1000)  # never spin on a persistent error
                continue
            if data.eventType & N.nvmlEventTypeXidCriticalError:
                uuid = self._by_handle.get(handle_key(data.device))
                if uuid is not None:
                    self.xids.record(uuid, int(data.eventData))
                    log.warning("gpu %s: XID %d", uuid, int(data.eventData))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_ms / 1000 * 4 + 1)
            if self._thread.is_alive():
                # Freeing the set under a thread still inside the wait would crash it: leak it instead.
                log.warning("XID watcher did not stop within its wait timeout")
                self._set = None
            self._thread = None
        self.xids.watched.difference_update(self._by_handle.values())
        self._free()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _free(self) -> None:
        if self._set is not None:
            with contextlib.suppress(N.NVMLError):
                self.nvml.nvmlEventSetFree(self._set)
            self._set = None
