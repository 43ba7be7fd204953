"""NVIDIA GPUs through NVML (nvidia-ml-py): the collector and ``poll nvml://`` (built from site.yaml by
``agent/collector_setup.py``)."""

from .collector import NvmlCollector
from .poll import poll_nvml
from .state import NvmlView
from .xid import XID_DESCRIPTIONS

__all__ = ["XID_DESCRIPTIONS", "NvmlCollector", "NvmlView", "poll_nvml"]
