"""How the collector treats each NVML return code.

    absent   NotSupported, FunctionNotFound, NoPermission, ArgumentVersionMismatch: the query cannot work on
             this GPU/driver; remembered per GPU and query, never retried, no series (never a 0)
    skip     NotFound, InvalidArgument, NoData: nothing there this time (an empty MIG slot, a missing link)
    lost     GpuIsLost, GpuNotFound, ResetRequired: this GPU dropped off; the others keep reporting
    library  Uninitialized, DriverNotLoaded, LibraryNotFound, LibRmVersionMismatch: NVML itself is down;
             shut down and re-initialise with backoff
    other    counted in farmwatch_nvml_call_errors_total{call,error} and retried next cycle
"""

from __future__ import annotations

import pynvml

ABSENT = frozenset({
    pynvml.NVML_ERROR_NOT_SUPPORTED,
    pynvml.NVML_ERROR_FUNCTION_NOT_FOUND,
    pynvml.NVML_ERROR_NO_PERMISSION,
    pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
})
SKIP = frozenset({pynvml.NVML_ERROR_NOT_FOUND, pynvml.NVML_ERROR_INVALID_ARGUMENT, pynvml.NVML_ERROR_NO_DATA})
LOST = frozenset({pynvml.NVML_ERROR_GPU_IS_LOST, pynvml.NVML_ERROR_GPU_NOT_FOUND, pynvml.NVML_ERROR_RESET_REQUIRED})
LIBRARY = frozenset({
    pynvml.NVML_ERROR_UNINITIALIZED,
    pynvml.NVML_ERROR_DRIVER_NOT_LOADED,
    pynvml.NVML_ERROR_LIBRARY_NOT_FOUND,
    pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH,
})

_NAMES = {
    getattr(pynvml, n): n.removeprefix("NVML_ERROR_").lower()
    for n in dir(pynvml)
    if n.startswith("NVML_ERROR_") and isinstance(getattr(pynvml, n), int)
}


def error_name(code: int) -> str:
    """``gpu_is_lost``, ``not_supported``, ...: stable label values from NVML's own constant names."""
    return _NAMES.get(code, f"code_{code}")


class GpuLost(Exception):
    """One GPU answered GpuIsLost (or equivalent): mark it fallen off the bus."""

    def __init__(self, code: int) -> None:
        super().__init__(error_name(code))
        self.code = code


class LibraryDown(Exception):
    """NVML as a whole stopped working (driver unloaded, library gone, version mismatch)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or error_name(code))
        self.code = code
        self.reason = error_name(code)
