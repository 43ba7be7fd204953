"""What the collector knows about each GPU, and the immutable view of a cycle that rendering reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from .readings import GpuIdentity, GpuReading


@dataclass(slots=True)
class GpuState:
    identity: GpuIdentity
    up: bool = False
    fallen_off_bus: bool = False
    error_reason: str | None = None  # why it is down: NVML's error name (gpu_is_lost), not_enumerated, nvml_down
    reading: GpuReading | None = None
    last_success: float | None = None  # wall clock
    read_seconds: float = 0.0
    read_cpu_seconds: float = 0.0
    next_probe: float = 0.0  # monotonic: when a lost GPU is tried again
    probe_backoff: float = 0.0


@dataclass(frozen=True, slots=True)
class NvmlView:
    """What the last cycle saw, built on the worker thread and swapped in whole: rendering never races a cycle."""

    up: bool = False
    reason: str | None = "not_initialised"
    message: str = ""
    driver_version: str | None = None
    cuda_version: str | None = None
    gpu_count: int | None = None
    gpus: tuple[GpuState, ...] = ()
    call_errors: dict[tuple[str, str], int] = field(default_factory=dict)
    init_attempts: int = 0
