"""One SNMP device's reading in base units (W, A, V, J, ratio, s, celsius), and its ``poll --json`` shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

J_PER_KWH = 3.6e6
# Reading fields of a sensor row -> (kind, unit) in the poll --json "sensors" list.
SENSOR_FIELDS = {
    "temperature_c": ("temperature", "celsius"),
    "humidity_ratio": ("humidity", "ratio"),
    "voltage_v": ("voltage", "volts"),
    "current_a": ("current", "amperes"),
    "power_w": ("power", "watts"),
    "frequency_hz": ("frequency", "hertz"),
    "fan_rpm": ("fan", "rpm"),
}

Value = float | str | None


@dataclass(slots=True)
class Row:
    index: str  # the device's own index ("1", "2"; "1.3" for multi-unit tables)
    values: dict[str, Value] = field(default_factory=dict)

    def num(self, name: str) -> float | None:
        v = self.values.get(name)
        return v if isinstance(v, int | float) else None

    def text(self, name: str) -> str | None:
        v = self.values.get(name)
        return v if isinstance(v, str) else None


@dataclass(slots=True)
class SnmpReading:
    device: str
    driver: str  # the profile name
    device_class: str  # pdu | ups | sensor | switch
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    name: str | None = None
    firmware: str | None = None
    scalars: dict[str, Value] = field(default_factory=dict)
    tables: dict[str, list[Row]] = field(default_factory=dict)
    incomplete: dict[str, str] = field(default_factory=dict)  # table -> what was missing
    values: int = 0  # varbinds read in this poll

    def rows(self, kind: str) -> list[Row]:
        return self.tables.get(kind, [])

    @property
    def power_w(self) -> float | None:
        """Total power: the device's own figure, else the sum over inputs, phases or outlets."""
        v = self.scalars.get("power_w")
        if isinstance(v, int | float):
            return float(v)
        for kind in ("inputs", "phases", "outlets"):
            watts = [w for r in self.rows(kind) if (w := r.num("power_w")) is not None]
            if watts:
                return float(sum(watts))
        return None

    def outlet_power(self) -> dict[str, float]:
        return {r.index: w for r in self.rows("outlets") if (w := r.num("power_w")) is not None}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.device, "driver": self.driver, "make": self.make, "model": self.model,
            "serial": self.serial, "name": self.name, "power_w": self.power_w,
            "phases": [_phase(r) for r in self.rows("phases")],
            "outlets": [_outlet(r) for r in self.rows("outlets")],
            "sensors": [s for r in self.rows("sensors") for s in _sensors(r)],
        }
        if self.device_class == "ups":
            s = self.scalars
            loads = [x for r in self.rows("phases") if (x := r.num("load_ratio")) is not None]
            out["ups"] = {
                "on_battery": None if s.get("on_battery") is None else bool(s.get("on_battery")),
                "battery_charge_ratio": s.get("battery_charge_ratio"),
                "runtime_s": s.get("runtime_s"),
                "load_ratio": max(loads) if loads else None,
            }
        if self.rows("ports"):
            out["ports"] = [{"index": _index(r.index), **r.values} for r in self.rows("ports")]
        out["errors"] = [{"reason": "parse", "table": t, "message": m} for t, m in self.incomplete.items()]
        return out


def _index(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _phase(r: Row) -> dict[str, Any]:
    return {"index": _index(r.index), "current_a": r.num("current_a"), "voltage_v": r.num("voltage_v"),
            "power_w": r.num("power_w")}


def _outlet(r: Row) -> dict[str, Any]:
    energy = r.num("energy_j")
    return {"index": _index(r.index), "name": r.text("name"), "power_w": r.num("power_w"),
            "current_a": r.num("current_a"), "energy_kwh": None if energy is None else round(energy / J_PER_KWH, 3),
            "state": r.text("state")}


def _sensors(r: Row) -> list[dict[str, Any]]:
    name = r.text("name") or r.index
    return [{"name": name, "kind": kind, "value": r.num(f), "unit": unit}
            for f, (kind, unit) in SENSOR_FIELDS.items() if r.num(f) is not None]
