"""Metric families for the GPUs, built from the collector's last :class:`NvmlView` (names: README.md here).

Series are keyed by ``gpu`` (the GPU UUID); identity only on ``farmwatch_gpu_info``. A GPU that is down keeps
``up``, ``fallen_off_bus``, ``last_success_timestamp_seconds``, ``_info`` and its XID counters; its values go.
"""

from __future__ import annotations

from ..families import Families, add_health, labels
from .events import XidLog
from .readings import GpuReading
from .state import GpuState, NvmlView
from .xid import ALERTING, XID_DESCRIPTIONS, describe


def nvml_families(fams: Families, view: NvmlView, xids: XidLog) -> None:
    g = fams.get
    g("farmwatch_nvml_up", "gauge", "1 when NVML (the NVIDIA driver's management library) initialised here, else 0.").add(
        "", 1 if view.up else 0)
    if not view.up and view.reason:
        g("farmwatch_nvml_error", "info", "Why NVML is down (present only while it is down): NVML's error name, "
          "e.g. library_not_found, driver_not_loaded, lib_rm_version_mismatch.").add(
            labels((("reason", view.reason),)), 1)
    if view.gpu_count is not None:
        g("farmwatch_gpus", "gauge", "GPUs NVML enumerates on this host.").add("", view.gpu_count)
    errs = g("farmwatch_nvml_call_errors", "counter", "NVML calls that failed with an unexpected error, by call and "
             "NVML error name (unsupported queries are not errors: their series are absent).")
    for (call, error), n in sorted(view.call_errors.items()):
        errs.add(labels((("call", call), ("error", error))), n)
    up = g("farmwatch_gpu_up", "gauge", "1 when the GPU's last poll was read, else 0.")
    off = g("farmwatch_gpu_fallen_off_bus", "gauge",
            "1 when the GPU stopped answering (NVML GpuIsLost, or it no longer enumerates): XID 79 territory.")
    last = g("farmwatch_gpu_last_success_timestamp_seconds", "gauge", "Unix time of the GPU's last successful poll.")
    info = g("farmwatch_gpu", "info", "Identity of each GPU (value 1).")
    cost = g("farmwatch_gpu_poll_duration_seconds", "gauge", "Wall time of the GPU's last poll on the NVML thread.")
    why = g("farmwatch_gpu_error", "info", "Why a GPU is down (present only while it is down): gpu_is_lost, "
            "not_enumerated, nvml_down, or another NVML error name.")
    for st in view.gpus:
        ident = st.identity
        d = add_health(up, last, why, ("gpu", ident.uuid), st.up, st.last_success, st.error_reason)
        off.add(d, 1 if st.fallen_off_bus else 0)
        info.add(labels((
            ("gpu", ident.uuid), ("index", str(ident.index)), ("name", ident.name), ("pci_bus_id", ident.pci_bus_id),
            ("serial", ident.serial or ""), ("vbios_version", ident.vbios_version or ""),
            ("driver_version", ident.driver_version), ("cuda_version", ident.cuda_version or ""),
        )), 1)
        if st.reading is not None:
            cost.add(d, round(st.read_seconds, 6))
            _reading(fams, ident.uuid, d, st.reading)
    _xids(fams, view.gpus, xids)


def _with(d: str, **extra: str) -> str:
    """``{gpu="..."}`` plus more labels, without re-escaping the UUID."""
    return d[:-1] + "".join(f',{k}="{v}"' for k, v in extra.items()) + "}"


def _reading(fams: Families, uuid: str, d: str, r: GpuReading) -> None:
    g = fams.get
    if r.power_w is not None:
        g("farmwatch_gpu_power_watts", "gauge",
          "Power draw as NVML reports it (1 s average on Ampere and newer except A100; instantaneous before).").add(d, r.power_w)
    if r.power_instant_w is not None:
        g("farmwatch_gpu_power_instant_watts", "gauge", "Instantaneous power draw.").add(d, r.power_instant_w)
    if r.energy_j is not None:
        g("farmwatch_gpu_energy_joules", "counter", "Energy used since the driver was last loaded.").add(d, r.energy_j)
    fam = g("farmwatch_gpu_power_limit_watts", "gauge", "Power limits: kind = enforced, default, min, max.")
    for kind, v in r.power_limits_w.items():
        fam.add(_with(d, kind=kind), v)
    fam = g("farmwatch_gpu_temperature_celsius", "gauge", "Temperature: sensor = gpu (die), memory (HBM; absent on GDDR boards).")
    for sensor, v in r.temperatures_c.items():
        fam.add(_with(d, sensor=sensor), v)
    fam = g("farmwatch_gpu_temperature_threshold_celsius", "gauge",
            "Temperature thresholds: shutdown, slowdown, gpu_max, memory_max.")
    for name, v in r.temperature_thresholds_c.items():
        fam.add(_with(d, threshold=name), v)
    fam = g("farmwatch_gpu_fan_speed_ratio", "gauge", "Intended fan speed as a fraction of maximum (may exceed 1); absent on passive boards.")
    for i, v in r.fans_ratio.items():
        fam.add(_with(d, fan=str(i)), v)
    fam = g("farmwatch_gpu_utilization_ratio", "gauge", "Fraction of the last sample period the engine was busy: engine = gpu "
            "(any kernel running), memory (device memory being read or written; not capacity), encoder, decoder.")
    for engine, v in r.utilization.items():
        fam.add(_with(d, engine=engine), v)
    for key in ("total", "used", "free", "reserved"):
        if key in r.memory_bytes:
            g(f"farmwatch_gpu_memory_{key}_bytes", "gauge", f"Device memory {key}.").add(d, r.memory_bytes[key])
    fam = g("farmwatch_gpu_clock_hertz", "gauge", "Current clock: clock = graphics, sm, memory, video.")
    for clock, v in r.clocks_hz.items():
        fam.add(_with(d, clock=clock), v)
    fam = g("farmwatch_gpu_clock_max_hertz", "gauge", "Maximum clock: clock = graphics, sm, memory, video.")
    for clock, v in r.clocks_max_hz.items():
        fam.add(_with(d, clock=clock), v)
    if r.performance_state is not None:
        g("farmwatch_gpu_performance_state", "gauge", "Performance state P0 (max) .. P15 (min).").add(d, r.performance_state)
    fam = g("farmwatch_gpu_clocks_event_active", "gauge",
            "1 while clocks are held back for this reason (reasons the GPU supports), else 0.")
    for reason, on in r.clocks_event_active.items():
        fam.add(_with(d, reason=reason), 1 if on else 0)
    fam = g("farmwatch_gpu_clocks_event_seconds", "counter", "Time clocks were held back, by reason.")
    for reason, v in r.clocks_event_s.items():
        fam.add(_with(d, reason=reason), v)
    if r.ecc_mode_enabled is not None:
        g("farmwatch_gpu_ecc_mode_enabled", "gauge", "1 when ECC is on.").add(d, 1 if r.ecc_mode_enabled else 0)
    fam = g("farmwatch_gpu_ecc_errors", "counter", "ECC errors: type = corrected, uncorrected; scope = volatile "
            "(since driver load), aggregate (lifetime).")
    for (type_, scope), n in r.ecc_errors.items():
        fam.add(_with(d, type=type_, scope=scope), n)
    fam = g("farmwatch_gpu_remapped_rows", "gauge", "Memory rows remapped, by the error type that caused it.")
    for type_, n in r.remapped_rows.items():
        fam.add(_with(d, type=type_), n)
    if r.remapped_rows_pending is not None:
        g("farmwatch_gpu_remapped_rows_pending", "gauge", "1 when a row remap waits for a GPU reset.").add(
            d, 1 if r.remapped_rows_pending else 0)
    if r.remapped_rows_failed is not None:
        g("farmwatch_gpu_remapped_rows_failed", "gauge", "1 when a row remap failed (replace the GPU).").add(
            d, 1 if r.remapped_rows_failed else 0)
    if r.recovery_action is not None:
        g("farmwatch_gpu_recovery_action", "gauge", "Driver's recommended action: 0 none, 1 GPU reset, 2 node reboot, "
          "3 drain P2P, 4 drain and reset, ...").add(d, r.recovery_action)
    if r.pcie_replay_errors is not None:
        g("farmwatch_gpu_pcie_replay_errors", "counter", "PCIe replays (link-level retransmissions).").add(d, r.pcie_replay_errors)
    for (kind, state), v in r.pcie_link.items():
        g(f"farmwatch_gpu_pcie_link_{kind}", "gauge", f"PCIe link {kind}: state = current, max.").add(_with(d, state=state), v)
    fam = g("farmwatch_gpu_nvlink_up", "gauge", "1 when the NVLink link is active.")
    for link, on in r.nvlink_up.items():
        fam.add(_with(d, link=str(link)), 1 if on else 0)
    fam = g("farmwatch_gpu_nvlink_errors", "counter",
            "NVLink errors over all links: type = crc_flit, crc_data, replay, recovery, ecc_data.")
    for type_, n in r.nvlink_errors.items():
        fam.add(_with(d, type=type_), n)
    if r.processes is not None:
        g("farmwatch_gpu_processes", "gauge", "Compute processes running on the GPU.").add(d, r.processes)
    if r.mig_mode_enabled is not None:
        g("farmwatch_gpu_mig_mode_enabled", "gauge", "1 when MIG mode is on (instances are listed beside the GPU).").add(
            d, 1 if r.mig_mode_enabled else 0)
    if r.migs:
        info = g("farmwatch_gpu_mig", "info", "MIG instance of a GPU (value 1): mig = instance UUID.")
        mem = {k: g(f"farmwatch_gpu_mig_memory_{k}_bytes", "gauge", f"MIG instance memory {k}.") for k in ("total", "used", "free")}
        for m in r.migs:
            info.add(labels((("gpu", uuid), ("mig", m.uuid),
                             ("gpu_instance_id", "" if m.gpu_instance_id is None else str(m.gpu_instance_id)),
                             ("compute_instance_id", "" if m.compute_instance_id is None else str(m.compute_instance_id)),
                             ("name", m.name or ""))), 1)
            ml = labels((("gpu", uuid), ("mig", m.uuid)))
            for k, mv in (("total", m.memory_total_bytes), ("used", m.memory_used_bytes), ("free", m.memory_free_bytes)):
                if mv is not None:
                    mem[k].add(ml, mv)


def _xids(fams: Families, gpus: tuple[GpuState, ...], xids: XidLog) -> None:
    g = fams.get
    counts = xids.snapshot()
    watched = set(xids.watched)
    total = g("farmwatch_gpu_xid_errors", "counter", "XID errors the driver reported, by XID (see farmwatch_gpu_xid_info). "
              "Hardware XIDs (48, 61-64, 74, 79, 92, 94, 95, 119, 120, 140) start at 0 on watched GPUs.")
    stamp = g("farmwatch_gpu_xid_last_timestamp_seconds", "gauge", "Unix time of the last event of this XID.")
    watching = g("farmwatch_gpu_xid_events_watched", "gauge", "1 when the GPU's XID events are registered, else 0.")
    known = {st.identity.uuid for st in gpus}
    for st in gpus:
        uuid = st.identity.uuid
        watching.add(labels((("gpu", uuid),)), 1 if uuid in watched else 0)
        if uuid in watched:
            for xid in sorted(ALERTING):
                if (uuid, xid) not in counts:
                    total.add(labels((("gpu", uuid), ("xid", str(xid)))), 0)
    for (uuid, xid), c in sorted(counts.items()):
        if uuid not in known:
            continue
        lab = labels((("gpu", uuid), ("xid", str(xid))))
        total.add(lab, c.count)
        stamp.add(lab, round(c.last_timestamp, 3))
    if gpus:
        desc = g("farmwatch_gpu_xid", "info", "What each XID means (value 1).")
        seen = {xid for _, xid in counts}
        for xid in sorted(set(XID_DESCRIPTIONS) | seen):
            desc.add(labels((("xid", str(xid)), ("description", describe(xid)))), 1)
