"""The NVML field values read in one ``nvmlDeviceGetFieldValues`` call per GPU, and how each lands in a
:class:`GpuReading` in base units. Field ids come from the installed nvidia-ml-py, which tracks the newest
driver; a driver that does not know an id answers that field alone with NotSupported (then it is absent)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvml as N

from .readings import GpuReading

# c_nvmlValue_t member for each nvmlValueType_t (0..6).
VALUE_MEMBER = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    id: int
    name: str  # for logs and call-error labels
    apply: Callable[[GpuReading, float], None]


def _usable(v: float) -> bool:
    """A value a driver could mean: finite (``int(nan)`` raises) and not negative (every field here is a power,
    an energy or time counter, an error count, an enum or a temperature of running memory). Anything else leaves
    the field absent rather than exporting a broken gauge or a counter that went below zero."""
    return math.isfinite(v) and v >= 0


def _into(attr: str, key: Any, scale: float = 1.0, cast: Callable[[float], Any] = float) -> Callable[[GpuReading, float], None]:
    def apply(r: GpuReading, v: float) -> None:
        if _usable(v * scale):
            getattr(r, attr)[key] = cast(v * scale)
    return apply


def _set(attr: str, scale: float = 1.0, cast: Callable[[float], Any] = float) -> Callable[[GpuReading, float], None]:
    def apply(r: GpuReading, v: float) -> None:
        if _usable(v * scale):
            setattr(r, attr, cast(v * scale))
    return apply


MILLI = 1e-3


def _milli(v: float) -> float:
    return round(v, 3)  # mW/mJ are integers: keep 1234.567, not 1234.5670000000002

MICRO = 1e-6

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(N.NVML_FI_DEV_POWER_INSTANT, "power_instant", _set("power_instant_w", MILLI, _milli)),  # mW
    FieldSpec(N.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, "energy", _set("energy_j", MILLI, _milli)),  # mJ
    FieldSpec(N.NVML_FI_DEV_MEMORY_TEMP, "memory_temp", _into("temperatures_c", "memory")),  # °C
    # Cumulative time clocks were held back for each reason, µs.
    FieldSpec(N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP, "clocks_event_sw_power_cap",
              _into("clocks_event_s", "sw_power_cap", MICRO)),
    FieldSpec(N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SYNC_BOOST, "clocks_event_sync_boost",
              _into("clocks_event_s", "sync_boost", MICRO)),
    FieldSpec(N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN, "clocks_event_sw_thermal",
              _into("clocks_event_s", "sw_thermal_slowdown", MICRO)),
    FieldSpec(N.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN, "clocks_event_hw_thermal",
              _into("clocks_event_s", "hw_thermal_slowdown", MICRO)),
    FieldSpec(N.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN, "clocks_event_hw_power_brake",
              _into("clocks_event_s", "hw_power_brake_slowdown", MICRO)),
    # Single-bit errors are the corrected ones, double-bit the uncorrected; volatile resets at driver load.
    FieldSpec(N.NVML_FI_DEV_ECC_SBE_VOL_TOTAL, "ecc_sbe_volatile", _into("ecc_errors", ("corrected", "volatile"), cast=int)),
    FieldSpec(N.NVML_FI_DEV_ECC_DBE_VOL_TOTAL, "ecc_dbe_volatile", _into("ecc_errors", ("uncorrected", "volatile"), cast=int)),
    FieldSpec(N.NVML_FI_DEV_ECC_SBE_AGG_TOTAL, "ecc_sbe_aggregate", _into("ecc_errors", ("corrected", "aggregate"), cast=int)),
    FieldSpec(N.NVML_FI_DEV_ECC_DBE_AGG_TOTAL, "ecc_dbe_aggregate", _into("ecc_errors", ("uncorrected", "aggregate"), cast=int)),
    FieldSpec(N.NVML_FI_DEV_PCIE_REPLAY_COUNTER, "pcie_replay", _set("pcie_replay_errors", cast=int)),
    FieldSpec(N.NVML_FI_DEV_REMAPPED_COR, "remapped_correctable", _into("remapped_rows", "correctable", cast=int)),
    FieldSpec(N.NVML_FI_DEV_REMAPPED_UNC, "remapped_uncorrectable", _into("remapped_rows", "uncorrectable", cast=int)),
    FieldSpec(N.NVML_FI_DEV_REMAPPED_PENDING, "remapped_pending", _set("remapped_rows_pending", cast=bool)),
    FieldSpec(N.NVML_FI_DEV_REMAPPED_FAILURE, "remapped_failure", _set("remapped_rows_failed", cast=bool)),
    # NVLink error totals over all links.
    FieldSpec(N.NVML_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL, "nvlink_crc_flit", _into("nvlink_errors", "crc_flit", cast=int)),
    FieldSpec(N.NVML_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL, "nvlink_crc_data", _into("nvlink_errors", "crc_data", cast=int)),
    FieldSpec(N.NVML_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL, "nvlink_replay", _into("nvlink_errors", "replay", cast=int)),
    FieldSpec(N.NVML_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL, "nvlink_recovery", _into("nvlink_errors", "recovery", cast=int)),
    FieldSpec(N.NVML_FI_DEV_NVLINK_ECC_DATA_ERROR_COUNT_TOTAL, "nvlink_ecc_data", _into("nvlink_errors", "ecc_data", cast=int)),
    FieldSpec(N.NVML_FI_DEV_GET_GPU_RECOVERY_ACTION, "recovery_action", _set("recovery_action", cast=int)),
)
BY_ID: dict[int, FieldSpec] = {f.id: f for f in FIELDS}


def decode(fv: Any) -> float:
    """The number in one ``c_nvmlFieldValue_t``, by its ``valueType``."""
    member = VALUE_MEMBER[fv.valueType] if 0 <= fv.valueType < len(VALUE_MEMBER) else "ullVal"
    return float(getattr(fv.value, member))
