"""NVIDIA GPUs through NVML (nvidia-ml-py): the collector, its config hook and ``poll nvml://``."""

from .collector import NvmlCollector, gpu_collector_from_config
from .poll import poll_nvml
from .state import NvmlView
from .xid import XID_DESCRIPTIONS

__all__ = ["XID_DESCRIPTIONS", "NvmlCollector", "NvmlView", "gpu_collector_from_config", "poll_nvml"]
