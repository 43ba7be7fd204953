"""The readings of the devices that measure power for others (PDUs, whose outlets feed miners and GPU servers):
what the power joins, the floor view and the energy accounts read, whichever collector polled them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from ..snmp.reading import SnmpReading


@runtime_checkable
class PowerMeters(Protocol):
    """A collector whose devices measure power (the SNMP collector)."""

    def readings(self) -> Mapping[str, SnmpReading]:
        """The current reading of every device that is up, by ``device``."""
        ...


def meter_readings(collectors: Iterable[object]) -> dict[str, SnmpReading]:
    """Every power-measuring device's current reading, from every collector that has such devices."""
    out: dict[str, SnmpReading] = {}
    for c in collectors:
        if isinstance(c, PowerMeters):
            out.update(c.readings())
    return out


def pdu_index(readings: Mapping[str, SnmpReading]) -> dict[str, SnmpReading]:
    """Every name a site map may use for a PDU: ``host:port``, host, and its name (sysName or own name)."""
    out: dict[str, SnmpReading] = {}
    for device, r in readings.items():
        host = device.rsplit(":", 1)[0].strip("[]")
        for key in (device, host, r.name):
            if key:
                out.setdefault(key, r)
    return out
