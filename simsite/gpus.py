"""Simulated NVIDIA GPUs at the ``pynvml`` function boundary, for tests, benchmarks and the demo.

:class:`FakeNvml` has the same function names and return shapes as nvidia-ml-py (real ctypes structures from
``pynvml``: ``nvmlPciInfo_t``, ``c_nvmlMemory_v2_t``, ``c_nvmlFieldValue_t`` arrays, ``c_nvmlEventData_t``; device
handles are real ``c_nvmlDevice_t`` pointers), raises the real ``pynvml.NVMLError_*`` classes, and answers in
NVML's own units (mW, mJ, MHz, %, µs, bytes, °C). What each model supports follows public ``nvidia-smi -q``
captures and NVIDIA documentation; numbers marked ~ are plausible stand-ins.

    nv = FakeNvml(["H100-SXM"] * 8, seed=1, mig={7: ("3g.40gb", "3g.40gb")})
    collector = NvmlCollector(nvml=nv)
    nv.advance(30)            # simulated time moves only when told (or realtime=True)
    nv.inject_xid(3, 48)      # an XID event on GPU 3
    nv.lose_gpu(5)            # GPU 5 falls off the bus: GpuIsLost from then on, plus XID 79
    nv.library = "missing"    # nvmlInit raises LibraryNotFound (also "no_driver", "ok")
"""

from __future__ import annotations

import ctypes
import random
import threading
import time
import uuid as uuidlib
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml as N

MIB = 2**20


@dataclass(frozen=True, slots=True)
class GpuModel:
    key: str
    name: str  # as nvmlDeviceGetName returns it
    memory_mib: int  # framebuffer total as NVML reports it
    power_default_w: int
    power_min_w: int
    power_max_w: int
    idle_w: int
    fans: int  # 0: passive board, GetNumFans NotSupported
    ecc: bool
    memory_temp: bool  # HBM boards report field 82; GDDR boards answer NotSupported
    mig: tuple[str, ...]  # MIG profiles the model offers; empty: GetMigMode NotSupported
    nvlink_links: int
    pcie: tuple[int, int]  # max generation, max width
    clocks_max_mhz: tuple[int, int, int, int]  # graphics, sm, memory, video
    thresholds_c: tuple[int, int, int, int | None]  # shutdown, slowdown, gpu_max, memory_max
    vbios: str
    serial: bool  # GeForce boards have no serial in NVML
    remapped_rows: bool
    encoders: bool


MODELS: dict[str, GpuModel] = {
    m.key: m
    for m in (
        GpuModel(
            "H100-SXM",
            "NVIDIA H100 80GB HBM3",
            81559,
            700,
            200,
            700,
            70,
            0,
            True,
            True,
            ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
            18,
            (5, 16),
            (1980, 1980, 2619, 1755),
            (92, 89, 87, 95),
            "96.00.99.00.01",
            True,
            True,
            True,
        ),
        GpuModel(
            "A100-SXM4-80GB",
            "NVIDIA A100-SXM4-80GB",
            81920,
            400,
            100,
            400,
            55,
            0,
            True,
            True,
            ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
            12,
            (4, 16),
            (1410, 1410, 1593, 1290),
            (92, 89, 85, 95),
            "92.00.45.00.06",
            True,
            True,
            True,
        ),
        GpuModel(
            "L40S",
            "NVIDIA L40S",
            46068,
            350,
            100,
            350,
            35,
            0,
            True,
            False,
            (),
            0,
            (4, 16),
            (2520, 2520, 9001, 1965),
            (98, 95, 93, None),
            "95.02.5D.00.01",
            True,
            True,
            True,
        ),  # ~thresholds
        GpuModel(
            "RTX-4090",
            "NVIDIA GeForce RTX 4090",
            24564,
            450,
            150,
            600,
            25,
            2,
            False,
            False,
            (),
            0,
            (4, 16),
            (3105, 3105, 10501, 2415),
            (97, 94, 90, None),
            "95.02.3C.40.8D",
            False,
            False,
            True,
        ),  # ~thresholds
    )
}
DRIVER_VERSION = "550.90.07"
CUDA_VERSION = 12040  # NVML's encoding of 12.4
SUPPORTED_REASONS = (
    N.nvmlClocksEventReasonGpuIdle
    | N.nvmlClocksEventReasonApplicationsClocksSetting
    | N.nvmlClocksEventReasonSwPowerCap
    | N.nvmlClocksEventReasonHwSlowdown
    | N.nvmlClocksEventReasonSyncBoost
    | N.nvmlClocksEventReasonSwThermalSlowdown
    | N.nvmlClocksEventReasonHwThermalSlowdown
    | N.nvmlClocksEventReasonHwPowerBrakeSlowdown
)
_PCI_BUSES = (0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB)  # where a DGX-class board puts its 8 GPUs
_HANDLE_BASE = 0x7F3A_0000_0000
_VALUE_MEMBER = {
    N.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
    N.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
    N.NVML_VALUE_TYPE_DOUBLE: "dVal",
}
_UINT, _ULL = N.NVML_VALUE_TYPE_UNSIGNED_INT, N.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
_NVLINK_FIELDS = {
    N.NVML_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL: "crc_flit",
    N.NVML_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL: "crc_data",
    N.NVML_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL: "replay",
    N.NVML_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL: "recovery",
    N.NVML_FI_DEV_NVLINK_ECC_DATA_ERROR_COUNT_TOTAL: "ecc_data",
}
_THROTTLE_FIELDS = {
    N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP: N.nvmlClocksEventReasonSwPowerCap,
    N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SYNC_BOOST: N.nvmlClocksEventReasonSyncBoost,
    N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN: N.nvmlClocksEventReasonSwThermalSlowdown,
    N.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN: N.nvmlClocksEventReasonHwThermalSlowdown,
    N.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN: N.nvmlClocksEventReasonHwPowerBrakeSlowdown,
}
_REMAP_FIELDS = (
    N.NVML_FI_DEV_REMAPPED_COR,
    N.NVML_FI_DEV_REMAPPED_UNC,
    N.NVML_FI_DEV_REMAPPED_PENDING,
    N.NVML_FI_DEV_REMAPPED_FAILURE,
)


def _err(code: int) -> N.NVMLError:
    return N.NVMLError(code)  # pynvml maps the code to its NVMLError_* subclass


def _handle(addr: int) -> Any:
    return ctypes.cast(ctypes.c_void_p(addr), N.c_nvmlDevice_t)


def _addr(handle: Any) -> int | None:
    try:
        return ctypes.cast(handle, ctypes.c_void_p).value
    except (TypeError, ctypes.ArgumentError):
        return None


@dataclass(slots=True)
class FakeMig:
    parent: FakeGpu
    slot: int
    profile: str
    gpu_instance_id: int
    uuid: str
    handle: Any
    used_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        gb = int(self.profile.split(".")[1].removesuffix("gb"))
        return int(gb * 1024 * 0.975) * MIB


@dataclass(slots=True)
class FakeGpu:
    index: int
    model: GpuModel
    rng: random.Random
    uuid: str
    serial: str
    pci_bus_id: str
    handle: Any
    load: float = 0.0
    temp_c: float = 32.0
    energy_mj: int = 0
    power_mw: int = 0
    limit_mw: int = 0
    reasons: int = N.nvmlClocksEventReasonGpuIdle
    throttle_us: dict[int, int] = field(default_factory=dict)
    ecc: dict[tuple[int, int], int] = field(default_factory=dict)  # (error type, counter type) -> count
    remapped: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # cor, unc, pending, failure
    nvlink_errors: dict[str, int] = field(default_factory=dict)
    nvlink_down: set[int] = field(default_factory=set)
    pcie_replays: int = 0
    pcie_width: int = 16
    recovery_action: int = 0
    lost: bool = False
    migs: list[FakeMig] = field(default_factory=list)
    mig_enabled: bool = False

    def step(self, dt: float) -> None:
        m, rng = self.model, self.rng
        # A training job: mostly near full load, with idle gaps between jobs.
        target = 0.0 if rng.random() < 0.08 else rng.uniform(0.8, 1.0)
        self.load = max(0.0, min(1.0, self.load + (target - self.load) * min(1.0, dt / 20)))
        idle_mw, limit = m.idle_w * 1000, self.limit_mw
        want = idle_mw + self.load * (limit - idle_mw) * rng.uniform(0.92, 1.04)
        self.power_mw = int(min(want, limit))
        capped = want >= limit
        self.energy_mj += int(self.power_mw * dt)  # mW × s = mJ
        target_c = 30 + self.load * (52 if m.fans == 0 else 40)
        self.temp_c += (target_c - self.temp_c) * min(1.0, dt / 60)
        self.reasons = 0
        if self.load < 0.05:
            self.reasons |= N.nvmlClocksEventReasonGpuIdle
        if capped:
            self.reasons |= N.nvmlClocksEventReasonSwPowerCap
            fid = N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP
            self.throttle_us[fid] = self.throttle_us.get(fid, 0) + int(dt * 1e6 * rng.uniform(0.1, 0.6))
        if m.ecc and rng.random() < 0.002 * dt:
            for scope in (N.NVML_VOLATILE_ECC, N.NVML_AGGREGATE_ECC):
                key = (N.NVML_MEMORY_ERROR_TYPE_CORRECTED, scope)
                self.ecc[key] = self.ecc.get(key, 0) + 1
        for mig in self.migs:
            mig.used_bytes = int(mig.total_bytes * self.load * 0.8)

    def memory_used(self) -> int:
        return 600 * MIB + int(self.load * 0.85 * (self.model.memory_mib - 600) * MIB)


class _EventSet:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: deque[tuple[FakeGpu, int]] = deque()
        self.devices: set[int] = set()
        self.freed = False


class FakeNvml:
    """One host's NVML. Not thread-hostile: the collector's worker and XID threads may call it together."""

    def __init__(
        self,
        models: Sequence[str] = ("H100-SXM",) * 8,
        *,
        seed: int = 1,
        mig: Mapping[int, Sequence[str]] | None = None,
        realtime: bool = False,
        xid_rate_per_hour: float = 0.0,
    ) -> None:
        rng = random.Random(seed)
        self.library = "ok"  # "missing" (no libnvidia-ml.so), "no_driver" (kernel module not loaded)
        self.missing_functions: set[str] = set()  # answer FunctionNotFound: a driver older than the bindings
        self.unsupported: set[tuple[int, str]] = set()  # (gpu index, function name) forced NotSupported
        self.field_errors: dict[tuple[int, int], int] = {}  # (gpu index, field id) -> per-field nvmlReturn
        self.calls: Counter[str] = Counter()
        self.calls_by_gpu: Counter[tuple[str, int]] = Counter()
        self.field_requests: Counter[tuple[int, int]] = Counter()  # (gpu index, field id) asked for
        self.threads: set[str] = set()  # names of the threads that called in
        self.inits = 0
        self.realtime = realtime
        self.xid_rate_per_hour = xid_rate_per_hour
        self._refs = 0
        self._lock = threading.Lock()
        self._sets: list[_EventSet] = []
        self._by_addr: dict[int, FakeGpu | FakeMig] = {}
        self._last_sync = time.monotonic()
        self.gpus: list[FakeGpu] = []
        for i, key in enumerate(models):
            model = MODELS[key]
            g_rng = random.Random(rng.getrandbits(64))
            addr = _HANDLE_BASE + (i + 1) * 0x10000
            gpu = FakeGpu(
                index=i,
                model=model,
                rng=g_rng,
                uuid="GPU-" + str(uuidlib.UUID(int=g_rng.getrandbits(128), version=4)),
                serial=str(1650000000000 + g_rng.randrange(10**9)),
                pci_bus_id=f"00000000:{_PCI_BUSES[i % len(_PCI_BUSES)] + i // len(_PCI_BUSES):02X}:00.0",
                handle=_handle(addr),
                limit_mw=model.power_default_w * 1000,
                energy_mj=g_rng.randrange(10**9, 10**11),
            )
            self._by_addr[addr] = gpu
            self.gpus.append(gpu)
        for i, profiles in (mig or {}).items():
            self.enable_mig(i, profiles)
        self.advance(1.0)

    # -- scenario levers ------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move simulated time: power, energy, temperatures, throttle counters, occasional ECC."""
        with self._lock:
            for g in self.gpus:
                if not g.lost:
                    g.step(seconds)
                    if self.xid_rate_per_hour and g.rng.random() < self.xid_rate_per_hour * seconds / 3600:
                        self._queue_xid(g, g.rng.choice((13, 31, 43, 45, 94)))

    def enable_mig(self, index: int, profiles: Iterable[str]) -> None:
        g = self.gpus[index]
        if not g.model.mig:
            raise ValueError(f"{g.model.key} has no MIG")
        g.mig_enabled, g.migs = True, []
        for slot, profile in enumerate(profiles):
            if profile not in g.model.mig:
                raise ValueError(f"{g.model.key} has no MIG profile {profile}")
            addr = _addr(g.handle)
            assert addr is not None
            mig = FakeMig(
                g,
                slot,
                profile,
                slot + 1,
                "MIG-" + str(uuidlib.UUID(int=g.rng.getrandbits(128), version=4)),
                _handle(addr + (slot + 1) * 0x100),
            )
            g.migs.append(mig)
            self._by_addr[addr + (slot + 1) * 0x100] = mig

    def inject_xid(self, index: int, xid: int) -> None:
        with self._lock:
            self._queue_xid(self.gpus[index], xid)

    def lose_gpu(self, index: int) -> None:
        """The GPU falls off the bus: XID 79, then GpuIsLost on every call that touches it."""
        with self._lock:
            self._queue_xid(self.gpus[index], 79)
            self.gpus[index].lost = True

    def recover_gpu(self, index: int) -> None:
        self.gpus[index].lost = False

    def _queue_xid(self, g: FakeGpu, xid: int) -> None:
        addr = _addr(g.handle)
        for s in self._sets:
            if addr in s.devices:
                with s.cond:
                    s.queue.append((g, xid))
                    s.cond.notify_all()

    # -- plumbing -------------------------------------------------------------------------------------------
    def _check(self, fn: str) -> None:
        with self._lock:
            self.calls[fn] += 1
            self.threads.add(threading.current_thread().name)
        if self.library != "ok":
            raise _err(
                N.NVML_ERROR_LIBRARY_NOT_FOUND
                if self.library == "missing"
                else N.NVML_ERROR_DRIVER_NOT_LOADED
            )
        if self._refs <= 0:
            raise _err(N.NVML_ERROR_UNINITIALIZED)
        if fn in self.missing_functions:
            raise _err(N.NVML_ERROR_FUNCTION_NOT_FOUND)

    def _dev(self, fn: str, handle: Any) -> FakeGpu:
        """The GPU a handle names (a MIG handle's parent), after the common checks."""
        obj = self._target(fn, handle)
        return obj.parent if isinstance(obj, FakeMig) else obj

    def _target(self, fn: str, handle: Any) -> FakeGpu | FakeMig:
        self._check(fn)
        obj = self._by_addr.get(_addr(handle) or 0)
        if obj is None:
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        gpu = obj.parent if isinstance(obj, FakeMig) else obj
        with self._lock:
            self.calls_by_gpu[(fn, gpu.index)] += 1
        if gpu.lost:
            raise _err(N.NVML_ERROR_GPU_IS_LOST)
        if (gpu.index, fn) in self.unsupported:
            raise _err(N.NVML_ERROR_NOT_SUPPORTED)
        if self.realtime and (now := time.monotonic()) - self._last_sync >= 1.0:
            dt, self._last_sync = now - self._last_sync, now
            self.advance(dt)
        return obj

    @staticmethod
    def _require(ok: bool) -> None:
        if not ok:
            raise _err(N.NVML_ERROR_NOT_SUPPORTED)

    # -- library and system ---------------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        with self._lock:
            self.calls["nvmlInit"] += 1
        if self.library == "missing":
            raise _err(N.NVML_ERROR_LIBRARY_NOT_FOUND)
        if self.library == "no_driver":
            raise _err(N.NVML_ERROR_DRIVER_NOT_LOADED)
        self._refs += 1
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self._check("nvmlShutdown")
        self._refs -= 1

    @property
    def initialised(self) -> bool:
        return self._refs > 0

    def nvmlSystemGetDriverVersion(self) -> str:
        self._check("nvmlSystemGetDriverVersion")
        return DRIVER_VERSION

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        self._check("nvmlSystemGetCudaDriverVersion_v2")
        return CUDA_VERSION

    def nvmlDeviceGetCount(self) -> int:
        self._check("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        self._check("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        return self.gpus[index].handle

    # -- identity -------------------------------------------------------------------------------------------
    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        obj = self._target("nvmlDeviceGetUUID", handle)
        return obj.uuid

    def nvmlDeviceGetName(self, handle: Any) -> str:
        obj = self._target("nvmlDeviceGetName", handle)
        if isinstance(obj, FakeMig):
            return f"{obj.parent.model.name} MIG {obj.profile}"
        return obj.model.name

    def nvmlDeviceGetSerial(self, handle: Any) -> str:
        g = self._dev("nvmlDeviceGetSerial", handle)
        self._require(g.model.serial)
        return g.serial

    def nvmlDeviceGetVbiosVersion(self, handle: Any) -> str:
        return self._dev("nvmlDeviceGetVbiosVersion", handle).model.vbios

    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any:
        g = self._dev("nvmlDeviceGetPciInfo", handle)
        info = N.nvmlPciInfo_t()
        info.busId = g.pci_bus_id.encode()
        info.busIdLegacy = g.pci_bus_id[4:].encode()
        info.bus = int(g.pci_bus_id.split(":")[1], 16)
        return info

    # -- power and energy -------------------------------------------------------------------------------------
    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetTotalEnergyConsumption", handle).energy_mj

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetEnforcedPowerLimit", handle).limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetPowerManagementDefaultLimit", handle).model.power_default_w * 1000

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: Any) -> list[int]:
        m = self._dev("nvmlDeviceGetPowerManagementLimitConstraints", handle).model
        return [m.power_min_w * 1000, m.power_max_w * 1000]

    # -- thermal, fans, clocks ---------------------------------------------------------------------------------
    def nvmlDeviceGetTemperatureV(self, handle: Any, sensor: int) -> int:
        return int(self._dev("nvmlDeviceGetTemperatureV", handle).temp_c)

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return int(self._dev("nvmlDeviceGetTemperature", handle).temp_c)

    def nvmlDeviceGetTemperatureThreshold(self, handle: Any, threshold: int) -> int:
        m = self._dev("nvmlDeviceGetTemperatureThreshold", handle).model
        by = {
            N.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN: m.thresholds_c[0],
            N.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN: m.thresholds_c[1],
            N.NVML_TEMPERATURE_THRESHOLD_GPU_MAX: m.thresholds_c[2],
            N.NVML_TEMPERATURE_THRESHOLD_MEM_MAX: m.thresholds_c[3],
        }
        value = by.get(threshold)
        self._require(value is not None)
        assert value is not None
        return value

    def nvmlDeviceGetNumFans(self, handle: Any) -> int:
        m = self._dev("nvmlDeviceGetNumFans", handle).model
        self._require(m.fans > 0)
        return m.fans

    def nvmlDeviceGetFanSpeed_v2(self, handle: Any, fan: int) -> int:
        g = self._dev("nvmlDeviceGetFanSpeed_v2", handle)
        self._require(g.model.fans > 0)
        if fan >= g.model.fans:
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        return int(30 + g.load * 50) + fan  # % of max, intended speed

    def nvmlDeviceGetClockInfo(self, handle: Any, clock: int) -> int:
        g = self._dev("nvmlDeviceGetClockInfo", handle)
        top = g.model.clocks_max_mhz[clock]
        if g.load < 0.05:
            return {N.NVML_CLOCK_MEM: 405}.get(clock, 210)
        if clock == N.NVML_CLOCK_MEM:
            return top
        return int(top * (0.85 if g.reasons & N.nvmlClocksEventReasonSwPowerCap else 1.0))

    def nvmlDeviceGetMaxClockInfo(self, handle: Any, clock: int) -> int:
        return self._dev("nvmlDeviceGetMaxClockInfo", handle).model.clocks_max_mhz[clock]

    def nvmlDeviceGetPerformanceState(self, handle: Any) -> int:
        return 0 if self._dev("nvmlDeviceGetPerformanceState", handle).load >= 0.05 else 8

    def nvmlDeviceGetSupportedClocksEventReasons(self, handle: Any) -> int:
        self._dev("nvmlDeviceGetSupportedClocksEventReasons", handle)
        return SUPPORTED_REASONS

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetCurrentClocksEventReasons", handle).reasons

    # -- utilization, memory, processes ------------------------------------------------------------------------
    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        g = self._dev("nvmlDeviceGetUtilizationRates", handle)
        self._require(not g.mig_enabled)  # NVML: not supported on MIG-enabled GPUs
        u = N.c_nvmlUtilization_t()
        u.gpu, u.memory = round(g.load * 100), round(g.load * 55)
        return u

    def nvmlDeviceGetEncoderUtilization(self, handle: Any) -> list[int]:
        g = self._dev("nvmlDeviceGetEncoderUtilization", handle)
        self._require(g.model.encoders and not g.mig_enabled)
        return [0, 167000]

    def nvmlDeviceGetDecoderUtilization(self, handle: Any) -> list[int]:
        g = self._dev("nvmlDeviceGetDecoderUtilization", handle)
        self._require(g.model.encoders and not g.mig_enabled)
        return [0, 167000]

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: int | None = None) -> Any:
        obj = self._target("nvmlDeviceGetMemoryInfo", handle)
        if isinstance(obj, FakeMig):
            total, used = obj.total_bytes, obj.used_bytes
            reserved = 0
        else:
            total, used, reserved = obj.model.memory_mib * MIB, obj.memory_used(), 512 * MIB
        mem: Any
        if version:
            mem = N.c_nvmlMemory_v2_t()
            mem.version, mem.reserved = version, reserved
        else:
            mem = N.c_nvmlMemory_t()
        mem.total, mem.used, mem.free = total, used, total - used
        return mem

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[Any]:
        g = self._dev("nvmlDeviceGetComputeRunningProcesses", handle)
        if g.load < 0.05:
            return []
        return [
            SimpleNamespace(
                pid=4000 + g.index,
                usedGpuMemory=g.memory_used() - 600 * MIB,
                gpuInstanceId=0xFFFFFFFF,
                computeInstanceId=0xFFFFFFFF,
            )
        ]

    # -- ECC, PCIe, NVLink ---------------------------------------------------------------------------------------
    def nvmlDeviceGetEccMode(self, handle: Any) -> list[int]:
        g = self._dev("nvmlDeviceGetEccMode", handle)
        self._require(g.model.ecc)
        return [N.NVML_FEATURE_ENABLED, N.NVML_FEATURE_ENABLED]

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, error_type: int, counter_type: int) -> int:
        g = self._dev("nvmlDeviceGetTotalEccErrors", handle)
        self._require(g.model.ecc)
        return g.ecc.get((error_type, counter_type), 0)

    def nvmlDeviceGetRemappedRows(self, handle: Any) -> tuple[int, int, int, int]:
        g = self._dev("nvmlDeviceGetRemappedRows", handle)
        self._require(g.model.remapped_rows and not (g.mig_enabled and g.migs))
        cor, unc, pending, failure = g.remapped
        return (cor, unc, pending, failure)

    def nvmlDeviceGetPcieReplayCounter(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetPcieReplayCounter", handle).pcie_replays

    def nvmlDeviceGetCurrPcieLinkGeneration(self, handle: Any) -> int:
        g = self._dev("nvmlDeviceGetCurrPcieLinkGeneration", handle)
        return g.model.pcie[0] if g.load >= 0.05 else 1  # links train down when idle

    def nvmlDeviceGetMaxPcieLinkGeneration(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetMaxPcieLinkGeneration", handle).model.pcie[0]

    def nvmlDeviceGetCurrPcieLinkWidth(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetCurrPcieLinkWidth", handle).pcie_width

    def nvmlDeviceGetMaxPcieLinkWidth(self, handle: Any) -> int:
        return self._dev("nvmlDeviceGetMaxPcieLinkWidth", handle).model.pcie[1]

    def nvmlDeviceGetNvLinkState(self, handle: Any, link: int) -> int:
        g = self._dev("nvmlDeviceGetNvLinkState", handle)
        self._require(g.model.nvlink_links > 0)
        if link >= g.model.nvlink_links:
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        return N.NVML_FEATURE_DISABLED if link in g.nvlink_down else N.NVML_FEATURE_ENABLED

    # -- MIG -------------------------------------------------------------------------------------------------------
    def nvmlDeviceGetMigMode(self, handle: Any) -> list[int]:
        g = self._dev("nvmlDeviceGetMigMode", handle)
        self._require(bool(g.model.mig))
        mode = N.NVML_DEVICE_MIG_ENABLE if g.mig_enabled else N.NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        g = self._dev("nvmlDeviceGetMaxMigDeviceCount", handle)
        self._require(bool(g.model.mig))
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> Any:
        g = self._dev("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        self._require(bool(g.model.mig))
        if index >= 7:
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        if not g.mig_enabled or index >= len(g.migs):
            raise _err(N.NVML_ERROR_NOT_FOUND)
        return g.migs[index].handle

    def nvmlDeviceGetGpuInstanceId(self, handle: Any) -> int:
        obj = self._target("nvmlDeviceGetGpuInstanceId", handle)
        if not isinstance(obj, FakeMig):
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        return obj.gpu_instance_id

    def nvmlDeviceGetComputeInstanceId(self, handle: Any) -> int:
        obj = self._target("nvmlDeviceGetComputeInstanceId", handle)
        if not isinstance(obj, FakeMig):
            raise _err(N.NVML_ERROR_INVALID_ARGUMENT)
        return 0

    # -- field values ------------------------------------------------------------------------------------------------
    def nvmlDeviceGetFieldValues(self, handle: Any, field_ids: Sequence[int | tuple[int, int]]) -> Any:
        g = self._dev("nvmlDeviceGetFieldValues", handle)
        values = (N.c_nvmlFieldValue_t * len(field_ids))()
        stamp = int(time.time() * 1e6)
        for i, spec in enumerate(field_ids):
            fid, scope = spec if isinstance(spec, tuple) else (spec, 0)
            self.field_requests[(g.index, fid)] += 1
            fv = values[i]
            fv.fieldId, fv.scopeId, fv.timestamp, fv.latencyUsec = fid, scope, stamp, 0
            ret = self.field_errors.get((g.index, fid))
            answer = self._field(g, fid) if ret is None else None
            if answer is None:
                fv.nvmlReturn = ret if ret is not None else N.NVML_ERROR_NOT_SUPPORTED
                continue
            vtype, value = answer
            fv.nvmlReturn, fv.valueType = N.NVML_SUCCESS, vtype
            setattr(fv.value, _VALUE_MEMBER[vtype], value)
        return values

    def _field(self, g: FakeGpu, fid: int) -> tuple[int, int] | None:
        """(valueType, value) of one field, or None when this GPU does not support it."""
        m = g.model
        if fid == N.NVML_FI_DEV_POWER_INSTANT:
            return _UINT, int(g.power_mw * g.rng.uniform(0.97, 1.03))
        if fid == N.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
            return _ULL, g.energy_mj
        if fid == N.NVML_FI_DEV_MEMORY_TEMP:
            return (_UINT, int(g.temp_c + 6)) if m.memory_temp else None
        if fid in _THROTTLE_FIELDS:
            return _ULL, g.throttle_us.get(fid, 0)
        ecc = {
            N.NVML_FI_DEV_ECC_SBE_VOL_TOTAL: (N.NVML_MEMORY_ERROR_TYPE_CORRECTED, N.NVML_VOLATILE_ECC),
            N.NVML_FI_DEV_ECC_DBE_VOL_TOTAL: (N.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, N.NVML_VOLATILE_ECC),
            N.NVML_FI_DEV_ECC_SBE_AGG_TOTAL: (N.NVML_MEMORY_ERROR_TYPE_CORRECTED, N.NVML_AGGREGATE_ECC),
            N.NVML_FI_DEV_ECC_DBE_AGG_TOTAL: (N.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, N.NVML_AGGREGATE_ECC),
        }.get(fid)
        if ecc is not None:
            return (_ULL, g.ecc.get(ecc, 0)) if m.ecc else None
        if fid == N.NVML_FI_DEV_PCIE_REPLAY_COUNTER:
            return _UINT, g.pcie_replays
        if fid in _REMAP_FIELDS:
            if not m.remapped_rows or (g.mig_enabled and g.migs):
                return None
            return _UINT, g.remapped[_REMAP_FIELDS.index(fid)]
        if fid in _NVLINK_FIELDS:
            return (_ULL, g.nvlink_errors.get(_NVLINK_FIELDS[fid], 0)) if m.nvlink_links else None
        if fid == N.NVML_FI_DEV_GET_GPU_RECOVERY_ACTION:
            return _UINT, g.recovery_action
        return None

    # -- events ------------------------------------------------------------------------------------------------------
    def nvmlEventSetCreate(self) -> Any:
        self._check("nvmlEventSetCreate")
        s = _EventSet()
        with self._lock:
            self._sets.append(s)
        return s

    def nvmlDeviceGetSupportedEventTypes(self, handle: Any) -> int:
        g = self._dev("nvmlDeviceGetSupportedEventTypes", handle)
        ecc = (N.nvmlEventTypeSingleBitEccError | N.nvmlEventTypeDoubleBitEccError) if g.model.ecc else 0
        return N.nvmlEventTypeXidCriticalError | N.nvmlEventTypePState | ecc

    def nvmlDeviceRegisterEvents(self, handle: Any, event_types: int, event_set: Any) -> None:
        g = self._dev("nvmlDeviceRegisterEvents", handle)
        event_set.devices.add(_addr(g.handle))

    def nvmlEventSetWait_v2(self, event_set: Any, timeout_ms: int) -> Any:
        self._check("nvmlEventSetWait_v2")
        s: _EventSet = event_set
        with s.cond:
            if not s.queue:
                s.cond.wait(timeout_ms / 1000)
            if not s.queue or s.freed:
                raise _err(N.NVML_ERROR_TIMEOUT)
            g, xid = s.queue.popleft()
        data = N.c_nvmlEventData_t()
        data.device = g.handle
        data.eventType = N.nvmlEventTypeXidCriticalError
        data.eventData = xid
        data.gpuInstanceId = data.computeInstanceId = 0xFFFFFFFF
        return data

    def nvmlEventSetFree(self, event_set: Any) -> None:
        self._check("nvmlEventSetFree")
        s: _EventSet = event_set
        with s.cond:
            s.freed = True
            s.cond.notify_all()
        with self._lock:
            if s in self._sets:
                self._sets.remove(s)

    @property
    def open_event_sets(self) -> int:
        return len(self._sets)


def demo_host(seed: int = 1) -> FakeNvml:
    """An 8× H100 SXM server for ``farmwatch demo``: GPU 7 split into two MIG instances, time moving with the
    wall clock, and now and then an application XID."""
    return FakeNvml(
        ["H100-SXM"] * 8, seed=seed, mig={7: ("3g.40gb", "3g.40gb")}, realtime=True, xid_rate_per_hour=0.5
    )
