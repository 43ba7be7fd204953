"""The PDU and UPS profiles common on mining sites (ServerTech Sentry3, CyberPower CPS-MIB UPS and ePDU, Tripp Lite
TRIPPLITE-PRODUCTS, Schleifenbauer databus, Enlogic, Vertiv Geist V5, Eaton's rated current), MIB sentinels, and
devices no profile reads. Each device is a small recording of our own, written from the vendor's MIB (OIDs, index
shapes, SNMP types and units as the MIB defines them; made-up values), served by snmpsim on loopback and polled as
``farmwatch poll snmp://COMMUNITY@IP:PORT`` polls it: profile from sysObjectID, no forced profile. Every expected
value is decoded by hand next to its assertion.

Before: Sentry3, Schleifenbauer and Tripp Lite PDUs came out as profile if-mib, class switch, with no power; a
CyberPower UPS (CPS-MIB only, UPS-MIB identity) was a UPS with every value null and up 1; a UPS answering -1 for
its runtime exported -60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from collectors.errors import DeviceError
from collectors.snmp.client import Engine
from collectors.snmp.reading import SnmpReading
from simsite.snmp import RawDevice
from tests.support.snmp_helpers import read, rows, scrape, served, snmprec

pytest.importorskip("snmpsim")

REPO = Path(__file__).resolve().parents[2]
PORT = 16193
V3 = ("fwuser", "authkey123", "privkey123")
KWH = 3_600_000


def system(object_id: str, name: str) -> str:
    return (f"1.3.6.1.2.1.1.1.0|4|{name} agent\n1.3.6.1.2.1.1.2.0|6|{object_id}\n1.3.6.1.2.1.1.5.0|4|{name}\n"
            # every one of these devices also answers IF-MIB for its own network port
            "1.3.6.1.2.1.2.2.1.2.1|4|eth0\n1.3.6.1.2.1.2.2.1.7.1|2|1\n1.3.6.1.2.1.2.2.1.8.1|2|1\n")


S3 = "1.3.6.1.4.1.1718.3"
SENTRY3 = snmprec(system(S3 + ".2.6", "cdu-r12") + f"""
{S3}.1.1.0|4|Sentry Switched CDU Version 7.0p
{S3}.1.6.0|2|4321
{S3}.2.1.1.6.1|4|ABEF0012345
{S3}.2.1.1.7.1|4|CW-24V2-L30M
# infeedTable {{tower}}.{{infeed}}: load 0.01 A, capacity A, voltage 0.1 V, power W, energy 0.1 kWh, used 0.1 %
{S3}.2.2.1.7.1.1|2|1234
{S3}.2.2.1.10.1.1|2|30
{S3}.2.2.1.11.1.1|2|2081
{S3}.2.2.1.12.1.1|2|2500
{S3}.2.2.1.16.1.1|2|98765
{S3}.2.2.1.20.1.1|2|411
{S3}.2.2.1.7.1.2|2|-1
{S3}.2.2.1.10.1.2|2|30
{S3}.2.2.1.11.1.2|2|-1
{S3}.2.2.1.12.1.2|2|1821
{S3}.2.2.1.16.1.2|2|-1
{S3}.2.2.1.20.1.2|2|-1
# outletTable {{tower}}.{{infeed}}.{{outlet}}: name, status (1 on, 0 off), load 0.01 A, voltage 0.1 V, power W, Wh
{S3}.2.3.1.3.1.1.1|4|S19-r12-01
{S3}.2.3.1.5.1.1.1|2|1
{S3}.2.3.1.7.1.1.1|2|1512
{S3}.2.3.1.13.1.1.1|2|2081
{S3}.2.3.1.14.1.1.1|2|3140
{S3}.2.3.1.18.1.1.1|2|2500000
{S3}.2.3.1.3.1.1.2|4|spare
{S3}.2.3.1.5.1.1.2|2|0
{S3}.2.3.1.7.1.1.2|2|-1
{S3}.2.3.1.13.1.1.2|2|-1
{S3}.2.3.1.14.1.1.2|2|-1
{S3}.2.3.1.18.1.1.2|2|-1
# tempHumidSensorTable {{envMon}}.{{sensor}}: status found(0)/notFound(1), temperature 0.1 degree, humidity %
{S3}.2.5.1.3.1.1|4|Intake
{S3}.2.5.1.4.1.1|2|0
{S3}.2.5.1.6.1.1|2|815
{S3}.2.5.1.10.1.1|2|41
# tempHumidSensorTempScale fahrenheit(1), as in the LibreNMS recording: 81.5 F is 27.5 C
{S3}.2.5.1.13.1.1|2|1
{S3}.2.5.1.3.1.2|4|Exhaust
{S3}.2.5.1.4.1.2|2|1
{S3}.2.5.1.6.1.2|2|-1
{S3}.2.5.1.10.1.2|2|-1
""")

CPU = "1.3.6.1.4.1.3808.1.1.1"
# sysObjectID 3808.1.1.3, as the card in LibreNMS's tests/snmpsim/cyberpower.snmprec answers from a UPS: the
# same as the ePDUs'; which tree answers tells them apart.
CYBERPOWER_UPS = snmprec(system("1.3.6.1.4.1.3808.1.1.3", "ups-cp-1") + f"""
# UPS-MIB identity only, as on the cards that were read as a UPS with every value null
1.3.6.1.2.1.33.1.1.1.0|4|CyberPower
{CPU}.1.1.1.0|4|OL3000RTXL2U
{CPU}.1.1.2.0|4|UPS row A
{CPU}.1.2.1.0|4|CR01802BAH07
{CPU}.1.2.3.0|4|BHPPX2000123
{CPU}.1.2.8.0|2|240
{CPU}.2.1.1.0|2|2
{CPU}.2.1.2.0|67|0
{CPU}.2.2.1.0|66|97
{CPU}.2.2.2.0|2|547
{CPU}.2.2.3.0|66|29
{CPU}.2.2.4.0|67|126000
{CPU}.3.2.1.0|66|2310
{CPU}.4.1.1.0|2|2
{CPU}.4.2.1.0|66|2300
{CPU}.4.2.3.0|66|42
{CPU}.4.2.4.0|66|56
{CPU}.4.2.5.0|66|1180
{CPU}.4.2.6.0|66|4567
""")

CPP = "1.3.6.1.4.1.3808.1.1.3"
CYBERPOWER_PDU = snmprec(system(CPP, "pdu-cp-7") + f"""
{CPP}.1.1.0|4|PDU row 7
{CPP}.1.3.0|4|1.3.2
{CPP}.1.5.0|4|PDU81005
{CPP}.1.6.0|4|NL1234567890
# ePDULoadStatusTable: rows 1-2 phases (bank 0), row 3 a bank; load 0.1 A, voltage 0.1 V, power W, energy 0.1 kWh
{CPP}.2.3.1.1.2.1|66|125
{CPP}.2.3.1.1.5.1|2|0
{CPP}.2.3.1.1.6.1|2|2080
{CPP}.2.3.1.1.7.1|2|2470
{CPP}.2.3.1.1.10.1|2|3333
{CPP}.2.3.1.1.2.2|66|80
{CPP}.2.3.1.1.5.2|2|0
{CPP}.2.3.1.1.6.2|2|2075
{CPP}.2.3.1.1.7.2|2|1580
{CPP}.2.3.1.1.10.2|2|2222
{CPP}.2.3.1.1.2.3|66|60
{CPP}.2.3.1.1.5.3|2|1
{CPP}.2.3.1.1.6.3|2|2080
{CPP}.2.3.1.1.7.3|2|1150
{CPP}.2.3.1.1.10.3|2|1111
# ePDUOutletStatusTable: name, state (1 on, 2 off), load 0.1 A, power W
{CPP}.3.5.1.1.2.1|4|S21-r07-01
{CPP}.3.5.1.1.4.1|2|1
{CPP}.3.5.1.1.7.1|66|158
{CPP}.3.5.1.1.8.1|66|3290
{CPP}.3.5.1.1.2.2|4|S21-r07-02
{CPP}.3.5.1.1.4.2|2|2
{CPP}.3.5.1.1.7.2|66|0
{CPP}.3.5.1.1.8.2|66|0
""")

TL = "1.3.6.1.4.1.850.1"
TRIPPLITE_PDU = snmprec(system("1.3.6.1.4.1.850.1", "pdu-tl-3") + f"""
{TL}.1.1.2.1.4.1|4|Tripp Lite
{TL}.1.1.2.1.5.1|4|PDU3XEVSR6G32
{TL}.1.1.2.1.6.1|4|PDU row 3
{TL}.1.2.1.1.4.1|4|15.5.3
{TL}.1.2.1.1.5.1|4|2716AV0PD123456
{TL}.1.3.2.1.1.0|66|1
{TL}.1.3.2.2.1.1.9.1|66|5120
# tlpPduInputPhaseTable {{device}}.{{phase}}: voltage 0.1 V, current 0.01 A
{TL}.1.3.2.3.1.2.1.4.1.1|66|2301
{TL}.1.3.2.3.1.2.1.7.1.1|66|1190
{TL}.1.3.2.3.1.2.1.4.1.2|66|2298
{TL}.1.3.2.3.1.2.1.7.1.2|66|1035
# tlpPduCircuitTable: voltage 0.1 V, current and limit 0.01 A, power W, utilization 0.01 %
{TL}.1.3.2.3.4.1.1.3.1.1|2|2301
{TL}.1.3.2.3.4.1.1.4.1.1|2|1190
{TL}.1.3.2.3.4.1.1.5.1.1|2|1600
{TL}.1.3.2.3.4.1.1.8.1.1|2|2740
{TL}.1.3.2.3.4.1.1.10.1.1|66|7438
# tlpPduOutletTable: name, state (1 off, 2 on), voltage 0.1 V, current 0.01 A, power W
{TL}.1.3.2.3.3.1.1.2.1.1|4|L7-miner-1
{TL}.1.3.2.3.3.1.1.4.1.1|2|2
{TL}.1.3.2.3.3.1.1.7.1.1|66|2301
{TL}.1.3.2.3.3.1.1.8.1.1|66|1420
{TL}.1.3.2.3.3.1.1.9.1.1|66|3260
""")

# A Tripp Lite UPS: the same enterprise, no tlpPdu tree; it serves UPS-MIB.
TRIPPLITE_UPS = snmprec(system("1.3.6.1.4.1.850.1", "ups-tl-1") + """
1.3.6.1.2.1.33.1.1.1.0|4|Tripp Lite
1.3.6.1.2.1.33.1.1.2.0|4|SU3000RTXLCD3U
1.3.6.1.2.1.33.1.2.1.0|2|2
1.3.6.1.2.1.33.1.2.3.0|2|-1
1.3.6.1.2.1.33.1.2.4.0|2|100
1.3.6.1.2.1.33.1.2.7.0|2|-1
1.3.6.1.2.1.33.1.4.1.0|2|3
1.3.6.1.2.1.33.1.4.4.1.2.1|2|230
1.3.6.1.2.1.33.1.4.4.1.4.1|2|1900
1.3.6.1.2.1.33.1.4.4.1.5.1|2|63
""")

SB = "1.3.6.1.4.1.31034.12.1.1.2"
SCHLEIFENBAUER = snmprec(system("1.3.6.1.4.1.31034.11.1", "hpdu-r4") + f"""
{SB}.1.1.1.2.210|2|214
{SB}.1.1.1.5.210|4|DPM27/E
{SB}.1.1.1.6.210|4|SVNL00012345
{SB}.1.1.1.10.210|4|R4-A
{SB}.2.1.1.6.210|2|32
# sdbDevInTable {{device}}.{{input}}, the device at databus address 210 (as in LibreNMS's recording): kWh, current and voltage in hundredths, power W, name
{SB}.6.1.1.2.210.1|2|45678
{SB}.6.1.1.5.210.1|2|2215
{SB}.6.1.1.7.210.1|2|23011
{SB}.6.1.1.10.210.1|2|4930
{SB}.6.1.1.13.210.1|4|L1
{SB}.6.1.1.2.210.2|2|40000
{SB}.6.1.1.5.210.2|2|1604
{SB}.6.1.1.7.210.2|2|22987
{SB}.6.1.1.10.210.2|2|3560
{SB}.6.1.1.13.210.2|4|L2
# outlets: name, metered kWh / current / voltage / power, switched state
{SB}.7.1.1.2.210.1|4|T21-01
{SB}.7.2.1.2.210.1|2|3456
{SB}.7.2.1.5.210.1|2|1591
{SB}.7.2.1.7.210.1|2|23011
{SB}.7.2.1.11.210.1|2|3530
{SB}.7.3.1.2.210.1|2|1
""")

EN = "1.3.6.1.4.1.38446.1"
ENLOGIC = snmprec(system("1.3.6.1.4.1.38446", "pdu-en-9") + f"""
{EN}.1.2.1.10.1|4|EN2.0-B32
{EN}.1.2.1.11.1|4|EN2A12345678
{EN}.1.2.1.13.1|4|2.6.1
{EN}.2.3.1.2.1|4|R9 feed B
{EN}.2.4.1.4.1|2|6735
{EN}.2.4.1.9.1|2|123456
# pduInputPhaseStatusTable {{unit}}.{{phase}}: current 0.01 A, voltage V, power W
{EN}.3.4.1.5.1.1|2|1650
{EN}.3.4.1.6.1.1|2|231
{EN}.3.4.1.7.1.1|2|3700
{EN}.3.4.1.5.1.2|2|1320
{EN}.3.4.1.6.1.2|2|230
{EN}.3.4.1.7.1.2|2|3035
# metered outlets: name, current 0.01 A, power W; switched state (1 on)
{EN}.5.9.1.3.1.1|4|M30S-01
{EN}.5.9.1.5.1.1|2|1480
{EN}.5.9.1.6.1.1|2|3380
{EN}.5.4.1.4.1.1|2|1
""")

VG = "1.3.6.1.4.1.21239.5.2"
VERTIV_GEIST = snmprec(system(VG, "rpdu-v-2") + f"""
{VG}.1.2.0|4|5.10.4
{VG}.1.3.0|4|R2 PDU A
{VG}.1.8.0|4|VP8876
{VG}.1.10.0|4|0001234567
{VG}.3.1.1.9.1|66|6120
{VG}.3.1.1.12.1|66|8765432
# pduPhaseTable: voltage 0.1 V, current 0.01 A, power W, energy Wh
{VG}.3.2.1.4.1|66|2305
{VG}.3.2.1.8.1|66|2655
{VG}.3.2.1.12.1|66|6120
{VG}.3.2.1.15.1|66|8765432
# pduOutletMeterTable + pduOutletSwitchTable: label, voltage, current, power, energy; state 1 on
{VG}.3.6.1.3.1|4|S19XP-01
{VG}.3.6.1.4.1|66|2305
{VG}.3.6.1.8.1|66|1330
{VG}.3.6.1.12.1|66|3060
{VG}.3.6.1.15.1|66|4321000
{VG}.3.5.1.4.1|2|1
""")

# A UPS answering -1 for "unknown" runtime and battery temperature (UPS-MIB), and 2147483647 for battery voltage.
UPS_SENTINELS = snmprec(system("1.3.6.1.4.1.2254.2.4", "ups-unk") + """
1.3.6.1.2.1.33.1.1.1.0|4|Generic
1.3.6.1.2.1.33.1.2.1.0|2|2
1.3.6.1.2.1.33.1.2.3.0|2|-1
1.3.6.1.2.1.33.1.2.4.0|2|88
1.3.6.1.2.1.33.1.2.5.0|2|2147483647
1.3.6.1.2.1.33.1.2.7.0|2|-1
1.3.6.1.2.1.33.1.4.1.0|2|3
1.3.6.1.2.1.33.1.4.4.1.4.1|2|2500
""")

# No profile: an unknown enterprise that answers IF-MIB (a PDU of a vendor we do not know), and one that answers
# only UPS-MIB's identity.
UNKNOWN = snmprec(system("1.3.6.1.4.1.99999.7.1", "mystery-pdu"))
# Enlogic's enterprise, nothing of its MIB (LibreNMS's tests/snmpsim/enlogic-pdu.snmprec is just this).
ENLOGIC_EMPTY = snmprec(system("1.3.6.1.4.1.38446.1", "pdu-en-0"))
IDENTITY_ONLY = snmprec(system("1.3.6.1.4.1.99998.1", "mystery-ups") + "1.3.6.1.2.1.33.1.1.1.0|4|Mystery\n")

DEVICES = {  # community -> (loopback address, recording)
    "sentry3": ("127.61.9.1", SENTRY3),
    "cyberpower-ups": ("127.61.9.2", CYBERPOWER_UPS),
    "cyberpower-pdu": ("127.61.9.3", CYBERPOWER_PDU),
    "tripplite-pdu": ("127.61.9.4", TRIPPLITE_PDU),
    "tripplite-ups": ("127.61.9.5", TRIPPLITE_UPS),
    "schleifenbauer": ("127.61.9.6", SCHLEIFENBAUER),
    "enlogic": ("127.61.9.7", ENLOGIC),
    "vertiv-geist": ("127.61.9.8", VERTIV_GEIST),
    "ups-sentinels": ("127.61.9.9", UPS_SENTINELS),
    "unknown": ("127.61.9.10", UNKNOWN),
    "identity-only": ("127.61.9.11", IDENTITY_ONLY),
    "enlogic-empty": ("127.61.9.12", ENLOGIC_EMPTY),
}
UNREADABLE = {"unknown", "identity-only", "enlogic-empty"}

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def read_or_error(engine: Engine, ip: str, community: str) -> SnmpReading | DeviceError:
    try:
        return await read(engine, ip, PORT, community)
    except DeviceError as e:
        return e


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def readings() -> AsyncIterator[dict[str, SnmpReading | DeviceError]]:
    devices = [RawDevice(ip=ip, name=name, text=text, port=PORT) for name, (ip, text) in DEVICES.items()]
    async with served(devices, v3=V3) as engine:
        got = await asyncio.gather(*(read_or_error(engine, d.ip, d.name) for d in devices))
        yield {d.name: r for d, r in zip(devices, got, strict=True)}


def reading(readings: dict[str, SnmpReading | DeviceError], name: str) -> SnmpReading:
    r = readings[name]
    assert isinstance(r, SnmpReading), r
    return r


async def test_sentry3_infeeds_outlets_and_not_available(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "sentry3")
    assert (r.driver, r.device_class, r.make, r.model, r.serial) == (
        "sentry3", "pdu", "ServerTech", "CW-24V2-L30M", "ABEF0012345")
    assert r.power_w == 4321.0  # systemTotalPower
    a, b = rows(r, "phases")["1"], rows(r, "phases")["2"]
    # 1234 x 0.01 A, 30 A capacity, 2081 x 0.1 V, 2500 W, 98765 x 0.1 kWh, 411 x 0.1 %
    assert a.values == {"current_a": 12.34, "rated_current_a": 30, "voltage_v": 208.1, "power_w": 2500,
                        "energy_j": 98765 * 360000.0, "load_ratio": 0.411}
    # -1 everywhere the MIB says "not available": no value, not -0.01 A; power still read
    assert b.values == {"current_a": None, "rated_current_a": 30, "voltage_v": None, "power_w": 1821,
                        "energy_j": None, "load_ratio": None}
    o1, o2 = rows(r, "outlets")["1"], rows(r, "outlets")["2"]
    assert o1.values == {"name": "S19-r12-01", "state": "on", "current_a": 15.12, "voltage_v": 208.1,
                         "power_w": 3140, "energy_j": 2500000 * 3600.0}
    assert o2.num("power_w") is None and o2.text("state") == "off"
    assert [s for s in r.to_json()["sensors"]] == [
        {"name": "Intake", "kind": "temperature", "value": 27.5, "unit": "celsius"},  # 815 x 0.1 F
        {"name": "Intake", "kind": "humidity", "value": 0.41, "unit": "ratio"}]


async def test_cyberpower_ups_reads_cps_mib(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "cyberpower-ups")
    assert (r.driver, r.device_class, r.make, r.model, r.serial, r.firmware, r.name) == (
        "cyberpower-ups", "ups", "CyberPower", "OL3000RTXL2U", "BHPPX2000123", "CR01802BAH07", "UPS row A")
    j = r.to_json()
    # runtime 126000 ticks = 1260 s; capacity 97 %; output 1180 W, load 42 %; on line (2): not on battery
    assert j["ups"] == {"on_battery": False, "battery_charge_ratio": 0.97, "runtime_s": 1260, "load_ratio": 0.42}
    assert r.power_w == 1180.0
    assert r.scalars["battery_voltage_v"] == 54.7 and r.scalars["battery_temperature_c"] == 29
    assert r.scalars["battery_status"] == "normal" and r.scalars["rated_current_a"] == 24
    assert rows(r, "phases")["0"].values == {"voltage_v": 230.0, "current_a": 5.6, "load_ratio": 0.42}


async def test_cyberpower_pdu_phases_banks_outlets(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "cyberpower-pdu")
    assert (r.driver, r.model, r.name) == ("cyberpower-pdu", "PDU81005", "PDU row 7")
    # Rows 1-2 are phases (bank number 0), row 3 a bank: 125 x 0.1 A, 2080 x 0.1 V, 2470 W
    assert rows(r, "phases")["1"].values == {"current_a": 12.5, "voltage_v": 208.0, "power_w": 2470,
                                             "energy_j": 3333 * 360000.0}
    assert set(rows(r, "phases")) == {"1", "2"} and set(rows(r, "banks")) == {"3"}
    assert rows(r, "banks")["3"].num("current_a") == 6.0
    assert r.power_w == 2470.0 + 1580.0  # the phases, not the bank again
    assert r.outlet_power() == {"1": 3290, "2": 0}
    assert rows(r, "outlets")["2"].text("state") == "off"


async def test_tripplite_pdu_and_a_tripplite_ups_apart(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "tripplite-pdu")
    assert (r.driver, r.device_class, r.make, r.model, r.serial) == (
        "tripplite-pdu", "pdu", "Tripp Lite", "PDU3XEVSR6G32", "2716AV0PD123456")
    assert r.power_w == 5120.0
    assert rows(r, "phases")["1"].values == {"voltage_v": 230.1, "current_a": 11.9}
    # circuit: 1190 of a 1600 (0.01 A) limit; utilization 7438 x 0.01 % = 0.7438
    assert rows(r, "banks")["1"].values == {"voltage_v": 230.1, "current_a": 11.9, "rated_current_a": 16.0,
                                            "power_w": 2740, "load_ratio": 0.7438}
    assert rows(r, "outlets")["1"].values == {"name": "L7-miner-1", "state": "on", "voltage_v": 230.1,
                                              "current_a": 14.2, "power_w": 3260}
    ups = reading(readings, "tripplite-ups")  # same enterprise, no tlpPdu tree: its UPS-MIB
    assert (ups.driver, ups.device_class) == ("ups", "ups")


async def test_schleifenbauer_hundredths_and_rating(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "schleifenbauer")
    assert (r.driver, r.model, r.serial, r.name, r.firmware) == (
        "schleifenbauer", "DPM27/E", "SVNL00012345", "R4-A", "214")
    # 2215 hundredths = 22.15 A of the 32 A per phase rating; 23011 = 230.11 V; 45678 kWh
    assert rows(r, "phases")["1"].values == {"name": "L1", "current_a": 22.15, "voltage_v": 230.11,
                                             "power_w": 4930, "energy_j": 45678 * float(KWH),
                                             "load_ratio": round(22.15 / 32, 4)}
    assert r.power_w == 4930.0 + 3560.0
    assert rows(r, "outlets")["1"].values == {"name": "T21-01", "state": "on", "current_a": 15.91,
                                              "voltage_v": 230.11, "power_w": 3530, "energy_j": 3456 * float(KWH)}


async def test_enlogic_and_vertiv_geist(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "enlogic")
    assert (r.driver, r.model, r.name) == ("enlogic", "EN2.0-B32", "R9 feed B")
    assert r.power_w == 6735.0 and r.scalars["energy_j"] == 123456 * 360000.0
    assert rows(r, "phases")["2"].values == {"current_a": 13.2, "voltage_v": 230, "power_w": 3035}
    assert rows(r, "outlets")["1"].values == {"name": "M30S-01", "state": "on", "current_a": 14.8, "power_w": 3380}
    v = reading(readings, "vertiv-geist")
    assert (v.driver, v.make, v.model, v.name) == ("vertiv-geist-pdu", "Vertiv", "VP8876", "R2 PDU A")
    assert v.power_w == 6120.0
    assert rows(v, "phases")["1"].values == {"voltage_v": 230.5, "current_a": 26.55, "power_w": 6120,
                                             "energy_j": 8765432 * 3600.0}
    assert rows(v, "outlets")["1"].values == {"name": "S19XP-01", "state": "on", "voltage_v": 230.5,
                                              "current_a": 13.3, "power_w": 3060, "energy_j": 4321000 * 3600.0}


async def test_mib_sentinels_are_unknown(readings: dict[str, SnmpReading | DeviceError]) -> None:
    r = reading(readings, "ups-sentinels")
    j = r.to_json()["ups"]
    assert j["runtime_s"] is None  # -1 minutes: unknown, not -60 s
    assert r.scalars["battery_temperature_c"] is None  # -1: no sensor, not -1 C
    assert r.scalars["battery_voltage_v"] is None  # 2147483647: Integer32's "not available"
    assert j["battery_charge_ratio"] == 0.88 and j["on_battery"] is False


async def test_no_profile_is_unsupported_with_its_sysobjectid(readings: dict[str, SnmpReading | DeviceError]) -> None:
    for name, oid in (("unknown", "1.3.6.1.4.1.99999.7.1"), ("identity-only", "1.3.6.1.4.1.99998.1"),
                      ("enlogic-empty", "1.3.6.1.4.1.38446.1")):
        e = readings[name]
        assert isinstance(e, DeviceError) and e.reason == "unsupported", (name, e)
        assert oid in e.message


async def test_what_prometheus_gets(readings: dict[str, SnmpReading | DeviceError]) -> None:
    stats, text = await scrape({name: ip for name, (ip, _) in DEVICES.items()}, PORT)
    assert stats.devices == len(DEVICES) and stats.devices_up == len(DEVICES) - len(UNREADABLE)
    d = {name: f'device="{ip}:{PORT}"' for name, (ip, _) in DEVICES.items()}
    for line in (
        f'farmwatch_pdu_phase_load_ratio{{{d["sentry3"]},phase="1"}} 0.411',
        f'farmwatch_pdu_phase_rated_current_amperes{{{d["sentry3"]},phase="1"}} 30',
        f'farmwatch_pdu_outlet_power_watts{{{d["sentry3"]},outlet="1"}} 3140',
        f'farmwatch_ups_runtime_seconds{{{d["cyberpower-ups"]}}} 1260',
        f'farmwatch_ups_battery_status{{{d["cyberpower-ups"]},status="normal"}} 1',
        f'farmwatch_pdu_bank_load_ratio{{{d["tripplite-pdu"]},bank="1"}} 0.7438',
        f'farmwatch_pdu_phase_load_ratio{{{d["schleifenbauer"]},phase="1"}} 0.6922',
        f'farmwatch_pdu_rated_current_amperes{{{d["schleifenbauer"]}}} 32',
        f'farmwatch_snmp_up{{{d["unknown"]}}} 0',
        f'farmwatch_snmp_error_info{{{d["unknown"]},reason="unsupported"}} 1',
        f'farmwatch_snmp_unsupported_info{{{d["unknown"]},sysobjectid="1.3.6.1.4.1.99999.7.1"}} 1',
        f'farmwatch_snmp_up{{{d["identity-only"]}}} 0',
    ):
        assert line in text, line
    assert "farmwatch_ups_runtime_seconds{" + d["ups-sentinels"] not in text  # not -60
    assert "farmwatch_ups_battery_temperature_celsius{" + d["ups-sentinels"] not in text
    assert 'class="switch"' not in text  # every one of them answers IF-MIB; none is a switch


def farmwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=REPO)


async def test_poll_takes_a_community_file_and_v3(readings: dict[str, SnmpReading | DeviceError],
                                                  tmp_path: Path) -> None:
    """`farmwatch poll snmp://HOST` as a technician runs it: the community from a file (not the command line),
    or SNMPv3 with its passwords from files or the environment."""
    ip = DEVICES["sentry3"][0]
    (tmp_path / "community").write_text("sentry3\n")
    (tmp_path / "auth").write_text(V3[1] + "\n")
    (tmp_path / "priv").write_text(V3[2] + "\n")
    url = f"snmp://{ip}:{PORT}"
    done = await asyncio.to_thread(farmwatch, "poll", url, "--community-file", str(tmp_path / "community"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["driver"] == "sentry3"
    v3 = ("--snmp-user", V3[0], "--auth-protocol", "SHA", "--auth-password-file", str(tmp_path / "auth"),
          "--priv-protocol", "AES", "--snmp-context", "sentry3")
    done = await asyncio.to_thread(farmwatch, "poll", url, *v3, "--priv-password-env", "FW_PRIV", "--json",
                                   env={"FW_PRIV": V3[2]})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["power_w"] == 4321.0
    # A wrong v3 key is `auth`, one line, exit 1; usage errors are exit 2 and never echo a secret.
    (tmp_path / "bad").write_text("not-the-key-1\n")
    bad = [a if a != str(tmp_path / "auth") else str(tmp_path / "bad") for a in v3]
    done = await asyncio.to_thread(farmwatch, "poll", url, *bad, "--priv-password-env", "FW_PRIV", env={"FW_PRIV": V3[2]})
    assert done.returncode == 1 and "auth" in done.stderr and done.stderr.count("\n") == 1
    done = await asyncio.to_thread(farmwatch, "poll", f"snmp://sentry3@{ip}:{PORT}", *v3)
    assert done.returncode == 2 and "takes no community" in done.stderr
    done = await asyncio.to_thread(farmwatch, "poll", url, "--community-file", str(tmp_path / "missing"))
    assert done.returncode == 2 and "sentry3" not in done.stderr
