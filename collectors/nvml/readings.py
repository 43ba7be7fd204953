"""Typed GPU readings in base units (W, J, °C, bytes, Hz, s, ratios 0..1). NVML units are converted once, in
:mod:`collectors.nvml.reader`; everything after that (metrics, ``poll`` output) only formats these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GpuIdentity:
    index: int
    uuid: str
    name: str
    pci_bus_id: str
    serial: str | None
    vbios_version: str | None
    driver_version: str
    cuda_version: str | None


@dataclass(slots=True)
class MigReading:
    uuid: str
    gpu_instance_id: int | None
    compute_instance_id: int | None
    name: str | None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None


@dataclass(slots=True)
class GpuReading:
    """One poll of one GPU. ``None`` or a missing dict key: not supported or not read (never 0)."""

    power_w: float | None = None
    power_instant_w: float | None = None
    energy_j: float | None = None
    power_limits_w: dict[str, float] = field(default_factory=dict)  # kind: enforced, default, min, max
    temperatures_c: dict[str, float] = field(default_factory=dict)  # sensor: gpu, memory
    temperature_thresholds_c: dict[str, float] = field(default_factory=dict)
    fans_ratio: dict[int, float] = field(default_factory=dict)
    utilization: dict[str, float] = field(default_factory=dict)  # engine: gpu, memory, encoder, decoder
    memory_bytes: dict[str, int] = field(default_factory=dict)  # total, used, free, reserved
    clocks_hz: dict[str, float] = field(default_factory=dict)
    clocks_max_hz: dict[str, float] = field(default_factory=dict)
    performance_state: int | None = None
    clocks_event_active: dict[str, bool] = field(default_factory=dict)
    clocks_event_s: dict[str, float] = field(default_factory=dict)
    ecc_mode_enabled: bool | None = None
    ecc_errors: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, scope)
    remapped_rows: dict[str, int] = field(default_factory=dict)  # correctable, uncorrectable
    remapped_rows_pending: bool | None = None
    remapped_rows_failed: bool | None = None
    recovery_action: int | None = None
    pcie_replay_errors: int | None = None
    pcie_link: dict[tuple[str, str], int] = field(default_factory=dict)  # (generation|width, current|max)
    nvlink_up: dict[int, bool] = field(default_factory=dict)
    nvlink_errors: dict[str, int] = field(default_factory=dict)  # type: crc_flit, crc_data, replay, ...
    mig_mode_enabled: bool | None = None
    migs: list[MigReading] = field(default_factory=list)
    processes: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "power_w": self.power_w,
            "power_instant_w": self.power_instant_w,
            "energy_j": self.energy_j,
            "power_limits_w": _keys(self.power_limits_w, ("enforced", "default", "min", "max")),
            "temperatures_c": _keys(self.temperatures_c, ("gpu", "memory")),
            "temperature_thresholds_c": dict(self.temperature_thresholds_c),
            "fans_ratio": [self.fans_ratio[i] for i in sorted(self.fans_ratio)],
            "utilization_ratio": _keys(self.utilization, ("gpu", "memory", "encoder", "decoder")),
            "memory_bytes": _keys(self.memory_bytes, ("total", "used", "free", "reserved")),
            "clocks_hz": dict(self.clocks_hz),
            "clocks_max_hz": dict(self.clocks_max_hz),
            "performance_state": self.performance_state,
            "clocks_event_active": sorted(r for r, on in self.clocks_event_active.items() if on),
            "clocks_event_s": dict(self.clocks_event_s),
            "ecc_mode_enabled": self.ecc_mode_enabled,
            "ecc_errors": [{"type": t, "scope": s, "count": n} for (t, s), n in sorted(self.ecc_errors.items())],
            "remapped_rows": dict(self.remapped_rows),
            "remapped_rows_pending": self.remapped_rows_pending,
            "remapped_rows_failed": self.remapped_rows_failed,
            "recovery_action": self.recovery_action,
            "pcie_replay_errors": self.pcie_replay_errors,
            "pcie_link": {f"{k}_{s}": v for (k, s), v in sorted(self.pcie_link.items())},
            "nvlink_up": {str(k): v for k, v in sorted(self.nvlink_up.items())},
            "nvlink_errors": dict(self.nvlink_errors),
            "mig_mode_enabled": self.mig_mode_enabled,
            "migs": [
                {"uuid": m.uuid, "gpu_instance_id": m.gpu_instance_id, "compute_instance_id": m.compute_instance_id,
                 "name": m.name, "memory_total_bytes": m.memory_total_bytes,
                 "memory_used_bytes": m.memory_used_bytes, "memory_free_bytes": m.memory_free_bytes}
                for m in self.migs
            ],
            "processes": self.processes,
        }


def _keys(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The fixed keys (``None`` when not read) followed by any others, so JSON shapes do not vary by model."""
    out: dict[str, Any] = {k: d.get(k) for k in keys}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out
