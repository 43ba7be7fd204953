"""Reads one GPU through an NVML module (``pynvml`` or a fake with the same function names).

Runs only on the collector's worker thread. Converts NVML units (mW, mJ, MHz, %, µs) to base units here and
nowhere else. A query that answers NotSupported/FunctionNotFound is remembered in ``absent`` and never asked
again for this GPU (until NVML is re-initialised), so its series is simply missing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import pynvml as N

from .errors import ABSENT, LIBRARY, LOST, SKIP, GpuLost, LibraryDown, error_name
from .fields import BY_ID, FIELDS, decode
from .readings import GpuIdentity, GpuReading, MigReading

log = logging.getLogger("farmwatch.nvml")

CLOCKS = (("graphics", N.NVML_CLOCK_GRAPHICS), ("sm", N.NVML_CLOCK_SM), ("memory", N.NVML_CLOCK_MEM),
          ("video", N.NVML_CLOCK_VIDEO))
THRESHOLDS = (("shutdown", N.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN), ("slowdown", N.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
              ("gpu_max", N.NVML_TEMPERATURE_THRESHOLD_GPU_MAX), ("memory_max", N.NVML_TEMPERATURE_THRESHOLD_MEM_MAX))
CLOCK_EVENT_REASONS = (
    ("gpu_idle", N.nvmlClocksEventReasonGpuIdle),
    ("applications_clocks_setting", N.nvmlClocksEventReasonApplicationsClocksSetting),
    ("sw_power_cap", N.nvmlClocksEventReasonSwPowerCap),
    ("hw_slowdown", N.nvmlClocksEventReasonHwSlowdown),
    ("sync_boost", N.nvmlClocksEventReasonSyncBoost),
    ("sw_thermal_slowdown", N.nvmlClocksEventReasonSwThermalSlowdown),
    ("hw_thermal_slowdown", N.nvmlClocksEventReasonHwThermalSlowdown),
    ("hw_power_brake_slowdown", N.nvmlClocksEventReasonHwPowerBrakeSlowdown),
    ("display_clock_setting", N.nvmlClocksEventReasonDisplayClockSetting),
)
PSTATE_UNKNOWN = 32
# Queries whose support depends on MIG mode: forget their absence when the mode changes.
_MIG_SENSITIVE_KEYS = frozenset({"utilization", "memory.v2", "memory", "processes", "encoder", "decoder"})
_MIG_SENSITIVE_FIELDS = frozenset({N.NVML_FI_DEV_REMAPPED_COR, N.NVML_FI_DEV_REMAPPED_UNC,
                                   N.NVML_FI_DEV_REMAPPED_PENDING, N.NVML_FI_DEV_REMAPPED_FAILURE})
_warned_missing: set[str] = set()  # FunctionNotFound is logged once per process: it is a driver/bindings skew


def as_str(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class GpuReader:
    def __init__(self, nvml: Any, handle: Any, index: int, *, batch: bool = True,
                 call_errors: Counter[tuple[str, str]] | None = None) -> None:
        self.nvml = nvml
        self.handle = handle
        self.index = index
        self.batch = batch
        self.call_errors: Counter[tuple[str, str]] = call_errors if call_errors is not None else Counter()
        self.absent: set[str] = set()
        self.absent_fields: set[int] = set()
        self.identity: GpuIdentity | None = None
        self._static = GpuReading()
        self._fans = 0
        self._reasons_mask = 0
        self._links: list[int] = []
        self._max_mig = 0
        self._mig_mode: int | None = None
        self._mig_ids: dict[str, tuple[int | None, int | None, str | None]] = {}
        self._field_ids: list[int] | None = None
        self.last_read_seconds = 0.0  # wall time of the last read()
        self.last_read_cpu_seconds = 0.0  # this thread's CPU time during it

    # -- calls ---------------------------------------------------------------------------------------------
    def _call(self, key: str, fn: str, *args: Any, handle: Any = None, **kw: Any) -> Any:
        if key in self.absent:
            return None
        try:
            return getattr(self.nvml, fn)(self.handle if handle is None else handle, *args, **kw)
        except N.NVMLError as e:
            return self._failed(key, fn, e.value)
        except AttributeError:  # bindings older than the call: same as the driver lacking it
            return self._failed(key, fn, N.NVML_ERROR_FUNCTION_NOT_FOUND)

    def _failed(self, key: str, fn: str, code: int) -> None:
        if code in ABSENT:
            self.absent.add(key)
            if code == N.NVML_ERROR_FUNCTION_NOT_FOUND and fn not in _warned_missing:
                _warned_missing.add(fn)
                log.info("NVML driver lacks %s (driver older than nvidia-ml-py); its series stay absent", fn)
            else:
                log.debug("gpu %d: %s %s: series absent", self.index, key, error_name(code))
            return None
        if code in SKIP:
            return None
        if code in LOST:
            raise GpuLost(code)
        if code in LIBRARY:
            raise LibraryDown(code)
        self.call_errors[(fn, error_name(code))] += 1
        return None

    # -- identity and static facts, once per NVML session ---------------------------------------------------
    def identify(self, driver_version: str, cuda_version: str | None) -> GpuIdentity:
        c = self._call
        uuid = c("uuid", "nvmlDeviceGetUUID")
        if uuid is None:
            raise GpuLost(N.NVML_ERROR_GPU_IS_LOST)  # no UUID, no key: treat as unreadable
        pci = c("pci", "nvmlDeviceGetPciInfo")
        serial = c("serial", "nvmlDeviceGetSerial")
        vbios = c("vbios", "nvmlDeviceGetVbiosVersion")
        self.identity = GpuIdentity(
            index=self.index, uuid=as_str(uuid), name=as_str(c("name", "nvmlDeviceGetName") or ""),
            pci_bus_id=as_str(pci.busId) if pci is not None else "",
            serial=as_str(serial) if serial else None, vbios_version=as_str(vbios) if vbios else None,
            driver_version=driver_version, cuda_version=cuda_version,
        )
        s = self._static
        if (v := c("power_limit.default", "nvmlDeviceGetPowerManagementDefaultLimit")) is not None:
            s.power_limits_w["default"] = v / 1000  # mW
        if (mm := c("power_limit.constraints", "nvmlDeviceGetPowerManagementLimitConstraints")) is not None:
            s.power_limits_w["min"], s.power_limits_w["max"] = mm[0] / 1000, mm[1] / 1000
        for name, t in THRESHOLDS:
            if (v := c(f"threshold.{name}", "nvmlDeviceGetTemperatureThreshold", t)) is not None:
                s.temperature_thresholds_c[name] = float(v)
        for name, clk in CLOCKS:
            if (v := c(f"clock_max.{name}", "nvmlDeviceGetMaxClockInfo", clk)) is not None:
                s.clocks_max_hz[name] = v * 1e6  # MHz
        if (v := c("pcie.max_gen", "nvmlDeviceGetMaxPcieLinkGeneration")) is not None:
            s.pcie_link[("generation", "max")] = int(v)
        if (v := c("pcie.max_width", "nvmlDeviceGetMaxPcieLinkWidth")) is not None:
            s.pcie_link[("width", "max")] = int(v)
        if (ecc := c("ecc_mode", "nvmlDeviceGetEccMode")) is not None:
            s.ecc_mode_enabled = bool(ecc[0])
        self._fans = int(c("fans", "nvmlDeviceGetNumFans") or 0)
        self._reasons_mask = int(c("clocks_event.supported", "nvmlDeviceGetSupportedClocksEventReasons") or 0)
        self._links = []
        for link in range(N.NVML_NVLINK_MAX_LINKS):  # links are numbered from 0: stop at the first that is not there
            if c(f"nvlink.{link}", "nvmlDeviceGetNvLinkState", link) is None:
                break
            self._links.append(link)
        self._max_mig = int(c("mig.max", "nvmlDeviceGetMaxMigDeviceCount") or 0)
        return self.identity

    # -- one poll ---------------------------------------------------------------------------------------------
    def read(self) -> GpuReading:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return self._read()
        finally:
            self.last_read_seconds = time.perf_counter() - t0
            self.last_read_cpu_seconds = time.thread_time() - c0

    def _read(self) -> GpuReading:
        c, s = self._call, self._static
        r = GpuReading(
            power_limits_w=dict(s.power_limits_w), temperature_thresholds_c=s.temperature_thresholds_c,
            clocks_max_hz=s.clocks_max_hz, pcie_link=dict(s.pcie_link), ecc_mode_enabled=s.ecc_mode_enabled,
        )
        self._read_mig(r)  # first: MIG mode decides what else is supported
        if (v := c("power", "nvmlDeviceGetPowerUsage")) is not None:
            r.power_w = v / 1000  # mW
        if (v := c("power_limit.enforced", "nvmlDeviceGetEnforcedPowerLimit")) is not None:
            r.power_limits_w["enforced"] = v / 1000
        t = c("temp.gpu", "nvmlDeviceGetTemperatureV", N.NVML_TEMPERATURE_GPU)
        if t is None and "temp.gpu" in self.absent:  # drivers before the V call: the deprecated one
            t = c("temp.gpu.legacy", "nvmlDeviceGetTemperature", N.NVML_TEMPERATURE_GPU)
        if t is not None:
            r.temperatures_c["gpu"] = float(t)
        if (u := c("utilization", "nvmlDeviceGetUtilizationRates")) is not None:
            r.utilization["gpu"] = u.gpu / 100  # %
            r.utilization["memory"] = u.memory / 100
        if (e := c("encoder", "nvmlDeviceGetEncoderUtilization")) is not None:
            r.utilization["encoder"] = e[0] / 100
        if (d := c("decoder", "nvmlDeviceGetDecoderUtilization")) is not None:
            r.utilization["decoder"] = d[0] / 100
        m = c("memory.v2", "nvmlDeviceGetMemoryInfo", version=N.nvmlMemory_v2)
        if m is None and "memory.v2" in self.absent:
            m = c("memory", "nvmlDeviceGetMemoryInfo")
        if m is not None:
            r.memory_bytes.update(total=int(m.total), used=int(m.used), free=int(m.free))
            if hasattr(m, "reserved"):
                r.memory_bytes["reserved"] = int(m.reserved)
        for name, clk in CLOCKS:
            if (v := c(f"clock.{name}", "nvmlDeviceGetClockInfo", clk)) is not None:
                r.clocks_hz[name] = v * 1e6  # MHz
        if (v := c("pstate", "nvmlDeviceGetPerformanceState")) is not None and v != PSTATE_UNKNOWN:
            r.performance_state = int(v)
        if self._reasons_mask and (mask := c("clocks_event", "nvmlDeviceGetCurrentClocksEventReasons")) is not None:
            for reason, bit in CLOCK_EVENT_REASONS:
                if self._reasons_mask & bit:
                    r.clocks_event_active[reason] = bool(mask & bit)
        for i in range(self._fans):
            if (v := c(f"fan.{i}", "nvmlDeviceGetFanSpeed_v2", i)) is not None:
                r.fans_ratio[i] = v / 100  # % of max; may exceed 1
        if (v := c("pcie.gen", "nvmlDeviceGetCurrPcieLinkGeneration")) is not None:
            r.pcie_link[("generation", "current")] = int(v)
        if (v := c("pcie.width", "nvmlDeviceGetCurrPcieLinkWidth")) is not None:
            r.pcie_link[("width", "current")] = int(v)
        for link in self._links:
            if (v := c(f"nvlink.{link}", "nvmlDeviceGetNvLinkState", link)) is not None:
                r.nvlink_up[link] = bool(v)
        if (p := c("processes", "nvmlDeviceGetComputeRunningProcesses")) is not None:
            r.processes = len(p)
        self._read_fields(r)
        return r

    def _read_fields(self, r: GpuReading) -> None:
        if "field_values" in self.absent:
            return
        if self._field_ids is None:
            self._field_ids = [f.id for f in FIELDS if f.id not in self.absent_fields]
        ids = self._field_ids
        chunks = [ids] if self.batch else [[i] for i in ids]
        changed = False
        for chunk in chunks:
            if not chunk:
                continue
            values = self._call("field_values", "nvmlDeviceGetFieldValues", chunk)
            if values is None:
                return
            for fv in values:
                ret = fv.nvmlReturn  # each field has its own return code; the call succeeds if any was filled
                spec = BY_ID.get(fv.fieldId)
                if spec is None:
                    continue
                if ret == N.NVML_SUCCESS:
                    spec.apply(r, decode(fv))
                elif ret in ABSENT:
                    self.absent_fields.add(fv.fieldId)
                    changed = True
                elif ret in LOST:
                    raise GpuLost(ret)
                elif ret in LIBRARY:
                    raise LibraryDown(ret)
                elif ret not in SKIP:
                    self.call_errors[(f"field:{spec.name}", error_name(ret))] += 1
        if changed:
            self._field_ids = None

    def _read_mig(self, r: GpuReading) -> None:
        mode = self._call("mig_mode", "nvmlDeviceGetMigMode")
        if mode is None:
            return
        current = int(mode[0])
        if self._mig_mode is not None and current != self._mig_mode:
            self.absent -= _MIG_SENSITIVE_KEYS
            self.absent_fields -= _MIG_SENSITIVE_FIELDS
            self._field_ids = None
        self._mig_mode = current
        r.mig_mode_enabled = current == N.NVML_DEVICE_MIG_ENABLE
        if not r.mig_mode_enabled:
            return
        seen: set[str] = set()
        for i in range(self._max_mig):
            mh = self._call("mig.handle", "nvmlDeviceGetMigDeviceHandleByIndex", i)
            if mh is None:
                continue  # empty slot
            uuid = self._call("mig.uuid", "nvmlDeviceGetUUID", handle=mh)
            if uuid is None:
                continue
            uuid = as_str(uuid)
            seen.add(uuid)
            ids = self._mig_ids.get(uuid)
            if ids is None:
                name = self._call("mig.name", "nvmlDeviceGetName", handle=mh)
                ids = self._mig_ids[uuid] = (
                    self._call("mig.gi", "nvmlDeviceGetGpuInstanceId", handle=mh),
                    self._call("mig.ci", "nvmlDeviceGetComputeInstanceId", handle=mh),
                    as_str(name) if name is not None else None,
                )
            mig = MigReading(uuid, *ids)
            if (m := self._call("mig.memory", "nvmlDeviceGetMemoryInfo", handle=mh)) is not None:
                mig.memory_total_bytes, mig.memory_used_bytes, mig.memory_free_bytes = int(m.total), int(m.used), int(m.free)
            r.migs.append(mig)
        for gone in set(self._mig_ids) - seen:
            del self._mig_ids[gone]
