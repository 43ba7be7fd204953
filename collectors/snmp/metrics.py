"""Metric families of SNMP devices (naming: docs/architecture.md, "Metrics"; the full list: collectors/snmp/README.md).

Value series are named by the device class the profile declares (``farmwatch_pdu_*``, ``farmwatch_ups_*``,
``farmwatch_sensor_*``, ``farmwatch_switch_*``) and keyed by ``device`` plus the table's own index label
(``outlet``, ``phase``, ``bank``, ``input``, ``sensor``, ``port``). Names and identity live on ``_info``.
A device that is down keeps only up, last success, error and ``farmwatch_snmp_device_info``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from collectors.errors import REASONS

from ..families import Families, add_health, labels
from .reading import Row, SnmpReading

if TYPE_CHECKING:
    from .status import DeviceStatus

# Table kind -> (index label, {field: (metric suffix, type, help)}).
_ELECTRICAL = {
    "power_w": ("power_watts", "gauge", "Active power, watts."),
    "current_a": ("current_amperes", "gauge", "RMS current, amperes."),
    "voltage_v": ("voltage_volts", "gauge", "RMS voltage, volts."),
    "energy_j": ("energy_joules", "counter", "Energy since the meter was last reset, joules."),
    "load_ratio": ("load_ratio", "gauge", "Load as a fraction of the rated capacity."),
    "rated_current_a": ("rated_current_amperes", "gauge", "Rated current of the line, bank or circuit, amperes."),
}
TABLES = {"outlets": "outlet", "phases": "phase", "banks": "bank", "inputs": "input"}
SENSOR_METRICS = {
    "temperature_c": ("temperature_celsius", "Temperature, degrees Celsius."),
    "humidity_ratio": ("humidity_ratio", "Relative humidity, 0-1."),
    "voltage_v": ("voltage_volts", "Voltage, volts."),
    "current_a": ("current_amperes", "Current, amperes."),
    "power_w": ("power_watts", "Power, watts."),
    "frequency_hz": ("frequency_hertz", "Frequency, hertz."),
    "fan_rpm": ("fan_speed_rpm", "Fan speed, revolutions per minute."),
}
PORT_METRICS = {
    "oper_up": ("port_up", "gauge", "1 when the port is operationally up (ifOperStatus up)."),
    "admin_up": ("port_admin_up", "gauge", "1 when the port is administratively enabled."),
    "in_errors": ("port_receive_errors", "counter", "Inbound packets with errors."),
    "out_errors": ("port_transmit_errors", "counter", "Outbound packets not sent because of errors."),
    "in_discards": ("port_receive_discards", "counter", "Inbound packets discarded."),
    "out_discards": ("port_transmit_discards", "counter", "Outbound packets discarded."),
    "in_bytes": ("port_receive_bytes", "counter", "Bytes received (64-bit counter)."),
    "out_bytes": ("port_transmit_bytes", "counter", "Bytes sent (64-bit counter)."),
    "speed_bytes": ("port_speed_bytes_per_second", "gauge", "Negotiated port speed, bytes per second."),
}
UPS_SCALARS = {
    "on_battery": ("on_battery", "1 while the output is fed from the battery."),
    "battery_charge_ratio": ("battery_charge_ratio", "Battery charge remaining, 0-1."),
    "runtime_s": ("runtime_seconds", "Estimated runtime on battery at the present load, seconds."),
    "seconds_on_battery": ("seconds_on_battery", "Seconds since the UPS switched to battery (0 on mains)."),
    "battery_voltage_v": ("battery_voltage_volts", "Battery DC voltage, volts."),
    "battery_temperature_c": ("battery_temperature_celsius", "Battery temperature, degrees Celsius."),
    "alarms": ("alarms", "Alarms present."),
}


def snmp_families(fams: Families, devices: Iterable[DeviceStatus]) -> None:
    g = fams.get
    up = g("farmwatch_snmp_up", "gauge", "1 when the SNMP device's last poll was read, else 0.")
    last = g("farmwatch_snmp_last_success_timestamp_seconds", "gauge", "Unix time of the last successful poll.")
    err = g("farmwatch_snmp_error", "info", "Why the SNMP device is down (present only while it is down); reason "
            "is one of " + ", ".join(REASONS) + ".")
    info = g("farmwatch_snmp_device", "info", "Identity of each SNMP device: profile, class, make, model, "
             "serial, name, firmware (value 1).")
    dur = g("farmwatch_snmp_poll_duration_seconds", "gauge", "Wall time of the device's last poll.")
    for st in devices:
        if not st.polled:
            continue
        d = add_health(up, last, err, ("device", st.device), st.up, st.last_success, st.error_reason)
        if st.error_reason == "unsupported" and st.sys_object_id:
            g("farmwatch_snmp_unsupported", "info", "A device no profile reads, with its sysObjectID (value 1): "
              "never given a guessed class.").add(
                labels((("device", st.device), ("sysobjectid", st.sys_object_id))), 1)
        if st.duration is not None:
            dur.add(d, round(st.duration, 4))
        if st.profile is not None:
            info.add(labels((("device", st.device), ("profile", st.profile), ("class", st.device_class or ""),
                             ("make", st.make or ""), ("model", st.model or ""), ("serial", st.serial or ""),
                             ("name", st.name or ""), ("firmware", st.firmware or ""))), 1)
        if st.reading is not None:
            reading_samples(fams, st.reading)


def _with(d: str, name: str, value: str) -> str:
    return d[:-1] + "," + labels(((name, value),))[1:]


def reading_samples(fams: Families, r: SnmpReading) -> None:
    g = fams.get
    d = labels((("device", r.device),))
    cls = r.device_class
    g("farmwatch_snmp_values", "gauge", "Values (varbinds) read in the device's last poll.").add(d, r.values)
    for table in r.incomplete:
        g("farmwatch_snmp_table_incomplete", "gauge", "1 when some rows of the table lacked columns other rows "
          "had (a half-answered walk).").add(_with(d, "table", table), 1)
    power = r.power_w
    if power is not None and cls in ("pdu", "ups"):
        g(f"farmwatch_{cls}_power_watts", "gauge", "Total active power of the device, watts.").add(d, power)
    rated = r.scalars.get("rated_current_a")
    if isinstance(rated, int | float) and cls in ("pdu", "ups"):
        g(f"farmwatch_{cls}_rated_current_amperes", "gauge", "Rated current per phase of the device, amperes.").add(
            d, rated)
    energy = r.scalars.get("energy_j")
    if isinstance(energy, int | float):
        g(f"farmwatch_{cls}_energy_joules", "counter", "Energy metered by the device, joules (resettable).").add(
            d, energy)
    for kind, label in TABLES.items():
        for row in r.rows(kind):
            _electrical(fams, cls, label, _with(d, label, row.index), row)
            if kind == "outlets":
                if (state := row.text("state")) is not None:
                    g(f"farmwatch_{cls}_outlet_on", "gauge", "1 when the outlet is switched on.").add(
                        _with(d, "outlet", row.index), 1 if state == "on" else 0)
                if (name := row.text("name")) is not None:
                    g(f"farmwatch_{cls}_outlet", "info", "Name the device gives each outlet (value 1).").add(
                        labels((("device", r.device), ("outlet", row.index), ("name", name))), 1)
    for row in r.rows("sensors"):
        sl = _with(d, "sensor", row.index)
        for field, (suffix, help_) in SENSOR_METRICS.items():
            if (v := row.num(field)) is not None:
                g(f"farmwatch_sensor_{suffix}", "gauge", help_).add(sl, v)
        if (name := row.text("name")) is not None:
            g("farmwatch_sensor", "info", "Name of each sensor (value 1).").add(
                labels((("device", r.device), ("sensor", row.index), ("name", name))), 1)
    for row in r.rows("ports"):
        pl = _with(d, "port", row.index)
        for field, (suffix, type_, help_) in PORT_METRICS.items():
            if (v := row.num(field)) is not None:
                g(f"farmwatch_switch_{suffix}", type_, help_).add(pl, v)
        g("farmwatch_switch_port", "info", "Names of each port: ifName, ifDescr, ifAlias (value 1).").add(
            labels((("device", r.device), ("port", row.index), ("name", row.text("name") or ""),
                    ("descr", row.text("descr") or ""), ("alias", row.text("alias") or ""))), 1)
    if cls == "ups":
        _ups(fams, d, r)


def _electrical(fams: Families, cls: str, label: str, lab: str, row: Row) -> None:
    for field, (suffix, type_, help_) in _ELECTRICAL.items():
        if (v := row.num(field)) is not None:
            fams.get(f"farmwatch_{cls}_{label}_{suffix}", type_, help_).add(lab, v)


def _ups(fams: Families, d: str, r: SnmpReading) -> None:
    g = fams.get
    for field, (suffix, help_) in UPS_SCALARS.items():
        v = r.scalars.get(field)
        if isinstance(v, int | float):
            g(f"farmwatch_ups_{suffix}", "gauge", help_).add(d, v)
    status = r.scalars.get("battery_status")
    if isinstance(status, str):
        g("farmwatch_ups_battery_status", "gauge", "1 on the current battery status: normal, low, depleted, "
          "unknown.").add(_with(d, "status", status), 1)
    loads = [x for row in r.rows("phases") if (x := row.num("load_ratio")) is not None]
    if loads:
        g("farmwatch_ups_load_ratio", "gauge", "Output load of the most loaded line, 0-1 of capacity.").add(
            d, max(loads))
