"""The fake NVML keeps pynvml's contract: real error classes, init rules, units, shapes, determinism."""

from __future__ import annotations

import ctypes

import pynvml as N
import pytest

from simsite.gpus import MODELS, FakeNvml


def test_errors_are_the_real_pynvml_classes() -> None:
    nv = FakeNvml(["H100-SXM"], seed=1)
    with pytest.raises(N.NVMLError_Uninitialized):
        nv.nvmlDeviceGetCount()
    nv.nvmlInit()
    h = nv.nvmlDeviceGetHandleByIndex(0)
    assert isinstance(h, N.c_nvmlDevice_t)
    with pytest.raises(N.NVMLError_NotSupported):
        nv.nvmlDeviceGetNumFans(h)  # passive board
    nv.lose_gpu(0)
    with pytest.raises(N.NVMLError_GpuIsLost) as lost:
        nv.nvmlDeviceGetPowerUsage(h)
    assert lost.value.value == N.NVML_ERROR_GPU_IS_LOST
    nv.nvmlShutdown()
    nv.library = "missing"
    with pytest.raises(N.NVMLError_LibraryNotFound):
        nv.nvmlInit()


def test_shapes_and_units_match_pynvml() -> None:
    nv = FakeNvml(["L40S"], seed=2)
    nv.nvmlInit()
    h = nv.nvmlDeviceGetHandleByIndex(0)
    assert nv.nvmlDeviceGetPciInfo(h).busId == "00000000:18:00.0"  # str, as pynvml's structures return
    mem = nv.nvmlDeviceGetMemoryInfo(h, version=N.nvmlMemory_v2)
    assert isinstance(mem, N.c_nvmlMemory_v2_t) and mem.total == MODELS["L40S"].memory_mib * 2**20
    assert nv.nvmlDeviceGetPowerManagementLimitConstraints(h) == [100_000, 350_000]  # mW
    assert nv.nvmlDeviceGetMaxClockInfo(h, N.NVML_CLOCK_SM) == 2520  # MHz
    values = nv.nvmlDeviceGetFieldValues(h, [N.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, N.NVML_FI_DEV_MEMORY_TEMP])
    assert isinstance(values[0], N.c_nvmlFieldValue_t)
    assert values[0].nvmlReturn == N.NVML_SUCCESS and values[0].value.ullVal > 0  # mJ
    assert values[1].nvmlReturn == N.NVML_ERROR_NOT_SUPPORTED  # GDDR: no memory temperature
    with pytest.raises(N.NVMLError_NotSupported):
        nv.nvmlDeviceGetMigMode(h)
    with pytest.raises(N.NVMLError_Timeout):
        nv.nvmlEventSetWait_v2(nv.nvmlEventSetCreate(), 10)


def test_event_data_names_the_device_handle() -> None:
    nv = FakeNvml(["A100-SXM4-80GB"] * 2, seed=3)
    nv.nvmlInit()
    s = nv.nvmlEventSetCreate()
    h1 = nv.nvmlDeviceGetHandleByIndex(1)
    nv.nvmlDeviceRegisterEvents(h1, N.nvmlEventTypeXidCriticalError, s)
    nv.inject_xid(0, 13)  # GPU 0 is not registered on this set
    nv.inject_xid(1, 74)
    data = nv.nvmlEventSetWait_v2(s, 100)
    assert data.eventData == 74 and data.eventType == N.nvmlEventTypeXidCriticalError
    assert ctypes.cast(data.device, ctypes.c_void_p).value == ctypes.cast(h1, ctypes.c_void_p).value
    nv.nvmlEventSetFree(s)


def test_deterministic_with_a_seed() -> None:
    a, b, c = (FakeNvml(["H100-SXM"] * 2, seed=s) for s in (5, 5, 6))
    for nv in (a, b, c):
        nv.advance(300)
    assert [g.uuid for g in a.gpus] == [g.uuid for g in b.gpus] != [g.uuid for g in c.gpus]
    assert [(g.power_mw, g.energy_mj) for g in a.gpus] == [(g.power_mw, g.energy_mj) for g in b.gpus]


def test_mig_handles_and_empty_slots() -> None:
    nv = FakeNvml(["H100-SXM"], seed=4, mig={0: ("3g.40gb",)})
    nv.nvmlInit()
    h = nv.nvmlDeviceGetHandleByIndex(0)
    assert nv.nvmlDeviceGetMigMode(h) == [N.NVML_DEVICE_MIG_ENABLE, N.NVML_DEVICE_MIG_ENABLE]
    m = nv.nvmlDeviceGetMigDeviceHandleByIndex(h, 0)
    assert nv.nvmlDeviceGetUUID(m).startswith("MIG-") and nv.nvmlDeviceGetGpuInstanceId(m) == 1
    with pytest.raises(N.NVMLError_NotFound):
        nv.nvmlDeviceGetMigDeviceHandleByIndex(h, 1)
    with pytest.raises(N.NVMLError_NotSupported):
        nv.nvmlDeviceGetUtilizationRates(h)
    with pytest.raises(ValueError):
        FakeNvml(["L40S"], mig={0: ("1g.10gb",)})
