"""``farmwatch poll nvml://``: one read of this host's GPUs, as a table for a person or as JSON."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from .collector import NvmlCollector
from .events import XidLog
from .state import GpuState, NvmlView
from .xid import describe


def gpu_json(st: GpuState, xids: XidLog) -> dict[str, Any]:
    ident = st.identity
    out: dict[str, Any] = {
        "gpu": ident.uuid, "index": ident.index, "name": ident.name, "pci_bus_id": ident.pci_bus_id,
        "serial": ident.serial, "vbios_version": ident.vbios_version, "up": st.up,
        "fallen_off_bus": st.fallen_off_bus, "poll_s": round(st.read_seconds, 6),
    }
    out.update(st.reading.to_json() if st.reading is not None else {})
    out["xid_errors"] = [
        {"xid": xid, "count": c.count, "last_timestamp_s": c.last_timestamp, "description": describe(xid)}
        for (uuid, xid), c in sorted(xids.snapshot().items()) if uuid == ident.uuid
    ]
    return out


def view_json(view: NvmlView, xids: XidLog) -> dict[str, Any]:
    return {
        "device": "nvml://", "driver": "nvml", "driver_version": view.driver_version,
        "cuda_version": view.cuda_version, "gpu_count": view.gpu_count,
        "gpus": [gpu_json(st, xids) for st in view.gpus],
    }


def _f(v: float | None, scale: float = 1.0, digits: int = 0) -> str:
    return "-" if v is None else f"{v * scale:.{digits}f}"


def table(view: NvmlView, xids: XidLog) -> str:
    lines = [f"NVML        driver {view.driver_version}  CUDA {view.cuda_version or '-'}  GPUs {view.gpu_count}",
             "idx  name                       W   limit  °C  mem°C  util  mem used/total GiB  SM MHz  pcie  state"]
    for st in view.gpus:
        i, r = st.identity, st.reading
        if r is None:
            state = "FELL OFF THE BUS" if st.fallen_off_bus else "down"
            lines.append(f"{i.index:<4} {i.name[:24]:<24} {state}")
            continue
        mem = r.memory_bytes
        used_total = (f"{_f(mem.get('used'), 2**-30, 1)}/{_f(mem.get('total'), 2**-30, 1)}" if mem else "-")
        pcie = (f"g{r.pcie_link.get(('generation', 'current'), '-')}x{r.pcie_link.get(('width', 'current'), '-')}")
        active = [k for k, on in r.clocks_event_active.items() if on and k != "gpu_idle"]
        state = ("MIG " if r.mig_mode_enabled else "") + (",".join(active) or "ok")
        lines.append(
            f"{i.index:<4} {i.name[:24]:<24} {_f(r.power_w):>5} {_f(r.power_limits_w.get('enforced')):>6}"
            f" {_f(r.temperatures_c.get('gpu')):>3} {_f(r.temperatures_c.get('memory')):>6}"
            f" {_f(r.utilization.get('gpu'), 100):>4}% {used_total:>19}  {_f(r.clocks_hz.get('sm'), 1e-6):>6}"
            f"  {pcie:<5} {state}")
        for m in r.migs:
            lines.append(f"       MIG {m.name or '-'}  GI {m.gpu_instance_id} CI {m.compute_instance_id}  {m.uuid}")
    lines.append("identity")
    for st in view.gpus:
        i = st.identity
        lines.append(f"  {i.index}  {i.uuid}  bus {i.pci_bus_id}  serial {i.serial or '-'}  vbios {i.vbios_version or '-'}")
    for (uuid, xid), c in sorted(xids.snapshot().items()):
        lines.append(f"XID {xid} on {uuid}: {c.count}x, {describe(xid)}")
    return "\n".join(lines)


async def poll_nvml(*, as_json: bool, nvml: Any = None) -> int:
    """Print this host's GPUs; 0 when read, 1 (one line on stderr) when NVML is unavailable or finds no GPU."""
    collector = NvmlCollector(interval=30.0, nvml=nvml, xid_events=False)
    quiet = logging.getLogger("farmwatch.nvml")
    was_disabled, quiet.disabled = quiet.disabled, True  # the one-line answer below says it all
    try:
        await collector.run_cycle()
    finally:
        await collector.close()
        quiet.disabled = was_disabled
    view = collector.view
    if not view.up:
        print(f"nvml://: NVML unavailable ({view.reason}): {view.message or 'no NVIDIA driver on this host'}",
              file=sys.stderr)
        return 1
    if not any(g.up for g in view.gpus):
        if not view.gpu_count:
            print(f"nvml://: NVML (driver {view.driver_version}) found no GPUs", file=sys.stderr)
        else:
            print(f"nvml://: NVML lists {view.gpu_count} GPU(s) but none answers (fell off the bus or needs a reset)",
                  file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(view_json(view, collector.xids), indent=2))
    else:
        print(table(view, collector.xids))
    return 0
