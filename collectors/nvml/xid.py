"""XID codes the NVIDIA driver reports, with a short description an operator can act on.

Written from NVIDIA's public XID catalogue in our own words. The codes in ``ALERTING`` (hardware, memory and
interconnect faults, as opposed to application faults) get an explicit zero on ``farmwatch_gpu_xid_errors_total``
for each GPU whose XID events are watched, so ``increase()`` sees the first event and an alert does not depend
on the series existing.
"""

from __future__ import annotations

XID_DESCRIPTIONS: dict[int, str] = {
    13: "Graphics engine exception: usually an application fault (illegal address or instruction)",
    31: "GPU memory page fault: an application accessed memory it does not own",
    32: "Invalid or corrupted push buffer stream: driver or PCIe problem",
    38: "Driver firmware error",
    43: "GPU stopped processing: a user application faulted, the GPU recovered",
    45: "Preemptive cleanup: channels torn down after an earlier error or a killed process",
    48: "Double-bit (uncorrectable) ECC error: drain and reset the GPU",
    61: "Internal micro-controller breakpoint or warning",
    62: "Internal micro-controller halt: reset the GPU",
    63: "ECC page retirement or row remapping recorded",
    64: "ECC page retirement or row remapping failed to record: reset, then check remapped rows",
    68: "Video decoder (NVDEC) exception",
    69: "Graphics engine class error",
    74: "NVLink error: check the NVLink error counters and cabling/baseboard",
    79: "GPU has fallen off the bus: it no longer answers; node reboot or reseat needed",
    92: "High single-bit ECC error rate",
    94: "Contained ECC error: the affected application was stopped, the GPU keeps running",
    95: "Uncontained ECC error: all applications on the GPU are affected; reset the GPU",
    109: "Context switch timeout",
    119: "GSP (GPU System Processor) RPC timeout: reset the GPU",
    120: "GSP error: reset the GPU",
    121: "C2C (chip-to-chip) link error",
    140: "Unrecovered ECC error",
    154: "GPU recovery action changed: see farmwatch_gpu_recovery_action",
}

ALERTING = frozenset({48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140})


def describe(xid: int) -> str:
    return XID_DESCRIPTIONS.get(xid, "Unlisted XID: see NVIDIA's XID catalogue")
