"""Rack PDUs whose profiles were written from MIBs (Raritan PDU2, ServerTech Sentry4, Eaton ePDU), checked against
the structure of real-device recordings in the public LibreNMS repository and served here from small recordings of
our own: the same OIDs, index shapes, SNMP types and scaling as the device recorded, with made-up values. Served by
snmpsim on loopback and polled as ``farmwatch poll snmp://COMMUNITY@IP:PORT`` polls them (sysObjectID detection,
no forced profile). Every expected value is decoded by hand next to its assertion.

Recordings the structure was checked against (librenms/librenms):
- Raritan: tests/snmpsim/raritan-pdu_px2.snmprec (PX2) and tests/snmpsim/raritan-pdu_px3.snmprec (PX3-5493U):
  sysObjectID 13742.6; measurements{Inlet,Outlet}SensorValue (Gauge32) indexed {pdu}.{inlet|outlet}.{sensorType}
  with *SensorDecimalDigits (Gauge32) 3 for current (type 1), 0 for voltage (4), power (5), energy in Wh (8);
  outlet onOff sensor (14) state 7 (on) in measurementsOutletSensorState; external sensors {pdu}.{id}: type 10,
  units degreeC(7), 1 decimal digit, measurementsExternalSensorValue an Integer32, IsAvailable 1; pduModel,
  pduSerialNumber and boardFirmwareVersion.1.1.1 in the PDU2 configuration tree.
- ServerTech: tests/snmpsim/sentry4.snmprec: sysObjectID 1718.4; st4InputCord{ActivePower (W), Energy (0.1 kWh)}
  {unit}.{cord}; st4Line/st4Phase/st4Branch tables {unit}.{cord}.{n} (current 0.01 A, voltage 0.1 V, power W; a
  3-phase delta cord); temperature probes {unit}.{probe} reading -410 and humidity -1 where no probe is plugged.
  LibreNMS's tests/data/sentry4.json decodes the same scales (divisor 100 for currents, 10 for frequency).
- Eaton: tests/snmpsim/eatonpdu.snmprec holds only sysObjectID 534.6.6.7 ("ePDU MA 1P"): detection is checked; the
  table layout (separate voltage/current/power lists with a neutral current row and a "total" power row) is from
  EATON-EPDU-MIB and NUT's eaton-pdu-marlin driver, not from a recording.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from collectors.snmp.reading import SnmpReading
from simsite.snmp import RawDevice
from tests.support.snmp_helpers import read, rows, scrape, served, snmprec

pytest.importorskip("snmpsim")

PORT = 16171
J_PER_WH = 3600


RARITAN = snmprec("""
1.3.6.1.2.1.1.1.0|4|Raritan PDU PX3-5902V
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.13742.6
1.3.6.1.2.1.1.5.0|4|pdu-r07-a
# pduModel, pduSerialNumber, pduName, boardFirmwareVersion.{pdu 1}.{mainController 1}.{1}
1.3.6.1.4.1.13742.6.3.2.1.1.3.1|4|PX3-5902V
1.3.6.1.4.1.13742.6.3.2.1.1.4.1|4|QFB7C00421
1.3.6.1.4.1.13742.6.3.2.2.1.13.1|4|R07 feed A
1.3.6.1.4.1.13742.6.3.2.3.1.6.1.1.1|4|4.2.10.5-50321
# inletSensorDecimalDigits.{pdu}.{inlet}.{type}: rmsCurrent 3, rmsVoltage 0, activePower 0, activeEnergy 0
1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.1|66|3
1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.4|66|0
1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.5|66|0
1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.8|66|0
# outletName (outlet 2 has none)
1.3.6.1.4.1.13742.6.3.5.3.1.3.1.1|4|S19-r07-01
1.3.6.1.4.1.13742.6.3.5.3.1.3.1.2|4|
# outletSensorDecimalDigits.{pdu}.{outlet}.{type}
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.1|66|3
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.4|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.5|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.8|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.14|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.1|66|3
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.4|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.5|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.8|66|0
1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.14|66|0
# externalSensorType (10 temperature, 11 humidity, 43 door), Name, Units (7 degreeC, 9 percent, -1 none,
# 14 degreeF), DecimalDigits
1.3.6.1.4.1.13742.6.3.6.3.1.2.1.1|2|10
1.3.6.1.4.1.13742.6.3.6.3.1.2.1.2|2|11
1.3.6.1.4.1.13742.6.3.6.3.1.2.1.3|2|43
1.3.6.1.4.1.13742.6.3.6.3.1.2.1.4|2|10
1.3.6.1.4.1.13742.6.3.6.3.1.2.1.5|2|10
1.3.6.1.4.1.13742.6.3.6.3.1.4.1.1|4|R07 cold aisle
1.3.6.1.4.1.13742.6.3.6.3.1.4.1.2|4|R07 humidity
1.3.6.1.4.1.13742.6.3.6.3.1.4.1.3|4|R07 front door
1.3.6.1.4.1.13742.6.3.6.3.1.4.1.4|4|R07 hot aisle
1.3.6.1.4.1.13742.6.3.6.3.1.4.1.5|4|R07 spare probe
1.3.6.1.4.1.13742.6.3.6.3.1.16.1.1|2|7
1.3.6.1.4.1.13742.6.3.6.3.1.16.1.2|2|9
1.3.6.1.4.1.13742.6.3.6.3.1.16.1.3|2|-1
1.3.6.1.4.1.13742.6.3.6.3.1.16.1.4|2|14
1.3.6.1.4.1.13742.6.3.6.3.1.16.1.5|2|7
1.3.6.1.4.1.13742.6.3.6.3.1.17.1.1|66|1
1.3.6.1.4.1.13742.6.3.6.3.1.17.1.2|66|0
1.3.6.1.4.1.13742.6.3.6.3.1.17.1.3|66|0
1.3.6.1.4.1.13742.6.3.6.3.1.17.1.4|66|1
1.3.6.1.4.1.13742.6.3.6.3.1.17.1.5|66|1
# measurementsInletSensorValue.{pdu}.{inlet}.{type}
1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.1|66|14830
1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.4|66|231
1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5|66|3342
1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.8|66|51234567
# measurementsOutletSensorState (4 normal; onOff: 7 on, 8 off) and Value.{pdu}.{outlet}.{type}
1.3.6.1.4.1.13742.6.5.4.3.1.3.1.1.1|2|4
1.3.6.1.4.1.13742.6.5.4.3.1.3.1.1.14|2|7
1.3.6.1.4.1.13742.6.5.4.3.1.3.1.2.1|2|4
1.3.6.1.4.1.13742.6.5.4.3.1.3.1.2.14|2|8
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.1|66|13920
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.4|66|230
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.5|66|3185
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.8|66|18327024
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.14|66|0
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.1|66|0
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.4|66|230
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.5|66|0
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.8|66|96675
1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.14|66|0
# measurementsExternalSensorIsAvailable (1 true, 2 false) and Value (Integer32)
1.3.6.1.4.1.13742.6.5.5.3.1.2.1.1|2|1
1.3.6.1.4.1.13742.6.5.5.3.1.2.1.2|2|1
1.3.6.1.4.1.13742.6.5.5.3.1.2.1.3|2|1
1.3.6.1.4.1.13742.6.5.5.3.1.2.1.4|2|1
1.3.6.1.4.1.13742.6.5.5.3.1.2.1.5|2|2
1.3.6.1.4.1.13742.6.5.5.3.1.4.1.1|2|231
1.3.6.1.4.1.13742.6.5.5.3.1.4.1.2|2|41
1.3.6.1.4.1.13742.6.5.5.3.1.4.1.3|2|0
1.3.6.1.4.1.13742.6.5.5.3.1.4.1.4|2|752
1.3.6.1.4.1.13742.6.5.5.3.1.4.1.5|2|0
""")

SENTRY4 = snmprec("""
1.3.6.1.2.1.1.1.0|4|Sentry Switched PDU
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.1718.4
1.3.6.1.2.1.1.5.0|4|pdu-r07-b
# st4SystemFirmwareVersion, st4UnitProductSN.1, st4UnitModel.1
1.3.6.1.4.1.1718.4.1.1.1.3.0|4|Version 8.0q
1.3.6.1.4.1.1718.4.1.2.2.1.4.1|4|ABEF0012345
1.3.6.1.4.1.1718.4.1.2.2.1.5.1|4|C2WG30MS-DQHE2M1
# st4InputCordActivePower (W), st4InputCordEnergy (0.1 kWh).{unit}.{cord}
1.3.6.1.4.1.1718.4.1.3.3.1.3.1.1|2|6432
1.3.6.1.4.1.1718.4.1.3.3.1.10.1.1|2|89371
# st4LineCurrent.{unit}.{cord}.{line} (0.01 A): the supply lines of the delta cord, not read
1.3.6.1.4.1.1718.4.1.4.3.1.3.1.1.1|2|2080
1.3.6.1.4.1.1718.4.1.4.3.1.3.1.1.2|2|2096
1.3.6.1.4.1.1718.4.1.4.3.1.3.1.1.3|2|1354
# st4PhaseVoltage (0.1 V), st4PhaseCurrent (0.01 A), st4PhaseActivePower (W) for L1-L2, L2-L3, L3-L1
1.3.6.1.4.1.1718.4.1.5.3.1.3.1.1.1|2|2079
1.3.6.1.4.1.1718.4.1.5.3.1.3.1.1.2|2|2089
1.3.6.1.4.1.1718.4.1.5.3.1.3.1.1.3|2|2094
1.3.6.1.4.1.1718.4.1.5.3.1.6.1.1.1|2|1585
1.3.6.1.4.1.1718.4.1.5.3.1.6.1.1.2|2|792
1.3.6.1.4.1.1718.4.1.5.3.1.6.1.1.3|2|771
1.3.6.1.4.1.1718.4.1.5.3.1.8.1.1.1|2|3262
1.3.6.1.4.1.1718.4.1.5.3.1.8.1.1.2|2|1604
1.3.6.1.4.1.1718.4.1.5.3.1.8.1.1.3|2|1566
# st4BranchCurrent (0.01 A)
1.3.6.1.4.1.1718.4.1.7.3.1.3.1.1.1|2|1585
1.3.6.1.4.1.1718.4.1.7.3.1.3.1.1.2|2|792
1.3.6.1.4.1.1718.4.1.7.3.1.3.1.1.3|2|771
# st4OutletName; st4OutletState (1 on, 2 off), Current (0.01 A), Voltage (0.1 V), ActivePower (W), Energy (Wh)
1.3.6.1.4.1.1718.4.1.8.2.1.3.1.1.1|4|S19-r07-11
1.3.6.1.4.1.1718.4.1.8.2.1.3.1.1.2|4|S19-r07-12
1.3.6.1.4.1.1718.4.1.8.3.1.1.1.1.1|2|1
1.3.6.1.4.1.1718.4.1.8.3.1.1.1.1.2|2|2
1.3.6.1.4.1.1718.4.1.8.3.1.3.1.1.1|2|1563
1.3.6.1.4.1.1718.4.1.8.3.1.3.1.1.2|2|0
1.3.6.1.4.1.1718.4.1.8.3.1.6.1.1.1|2|2081
1.3.6.1.4.1.1718.4.1.8.3.1.6.1.1.2|2|2083
1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.1|2|3215
1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.2|2|0
1.3.6.1.4.1.1718.4.1.8.3.1.14.1.1.1|2|1826450
1.3.6.1.4.1.1718.4.1.8.3.1.14.1.1.2|2|0
# st4TempSensorName (probe 1 only), st4TempSensorValue (0.1 degree; -410: no reading)
1.3.6.1.4.1.1718.4.1.9.2.1.3.1.1|4|R07 exhaust
1.3.6.1.4.1.1718.4.1.9.3.1.1.1.1|2|254
1.3.6.1.4.1.1718.4.1.9.3.1.1.1.2|2|-410
# st4HumidSensorName, st4HumidSensorValue (%; -1: none), st4HumidSensorStatus (0 normal, 7 notFound)
1.3.6.1.4.1.1718.4.1.10.2.1.3.1.1|4|Humid_Sensor_A1
1.3.6.1.4.1.1718.4.1.10.2.1.3.1.2|4|Humid_Sensor_A2
1.3.6.1.4.1.1718.4.1.10.3.1.1.1.1|2|38
1.3.6.1.4.1.1718.4.1.10.3.1.1.1.2|2|-1
1.3.6.1.4.1.1718.4.1.10.3.1.2.1.1|2|0
1.3.6.1.4.1.1718.4.1.10.3.1.2.1.2|2|7
""")

SENTRY4_DUAL = snmprec("""
# A dual-input Sentry4 (two single-phase cords, AA and AB): every per-cord table has rows 1.1.n and 1.2.n.
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.1718.4
1.3.6.1.2.1.1.5.0|4|pdu-r08
1.3.6.1.4.1.1718.4.1.3.3.1.3.1.1|2|3180
1.3.6.1.4.1.1718.4.1.3.3.1.3.1.2|2|3150
1.3.6.1.4.1.1718.4.1.5.3.1.3.1.1.1|2|2301
1.3.6.1.4.1.1718.4.1.5.3.1.3.1.2.1|2|2298
1.3.6.1.4.1.1718.4.1.5.3.1.6.1.1.1|2|1402
1.3.6.1.4.1.1718.4.1.5.3.1.6.1.2.1|2|1389
1.3.6.1.4.1.1718.4.1.5.3.1.8.1.1.1|2|3180
1.3.6.1.4.1.1718.4.1.5.3.1.8.1.2.1|2|3150
1.3.6.1.4.1.1718.4.1.8.2.1.3.1.1.1|4|S21-r08-01
1.3.6.1.4.1.1718.4.1.8.2.1.3.1.2.1|4|S21-r08-02
1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.1|2|3170
1.3.6.1.4.1.1718.4.1.8.3.1.7.1.2.1|2|3140
""")

EATON_G3 = snmprec("""
1.3.6.1.2.1.1.1.0|4|Eaton ePDU MA 3P IN:IEC309 32A OUT:18xC13, 6xC19
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.534.6.6.7
1.3.6.1.2.1.1.5.0|4|pdu-r09-a
# inputVoltageMeasType (2-4: phase N to neutral), inputVoltage (mV).{unit 0}.{input 1}.{n}
1.3.6.1.4.1.534.6.6.7.3.2.1.2.0.1.1|2|2
1.3.6.1.4.1.534.6.6.7.3.2.1.2.0.1.2|2|3
1.3.6.1.4.1.534.6.6.7.3.2.1.2.0.1.3|2|4
1.3.6.1.4.1.534.6.6.7.3.2.1.3.0.1.1|2|230125
1.3.6.1.4.1.534.6.6.7.3.2.1.3.0.1.2|2|231002
1.3.6.1.4.1.534.6.6.7.3.2.1.3.0.1.3|2|229870
# inputCurrentMeasType (3-5: phase 1-3, 2: neutral), inputCurrent (mA)
1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.1|2|3
1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.2|2|4
1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.3|2|5
1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.4|2|2
1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.1|2|13980
1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.2|2|14210
1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.3|2|13870
1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.4|2|420
# inputPowerMeasType (1-3: phase, 4: total), inputWatts, inputWh
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.1|2|1
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.2|2|2
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.3|2|3
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.4|2|4
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.1|2|3190
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.2|2|3245
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.3|2|3168
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.4|2|9603
1.3.6.1.4.1.534.6.6.7.3.4.1.5.0.1.1|66|137001234
1.3.6.1.4.1.534.6.6.7.3.4.1.5.0.1.2|66|138202468
1.3.6.1.4.1.534.6.6.7.3.4.1.5.0.1.3|66|136998765
1.3.6.1.4.1.534.6.6.7.3.4.1.5.0.1.4|66|412202467
# inputTotalWatts, inputTotalWh.{unit}.{input}
1.3.6.1.4.1.534.6.6.7.3.5.1.4.0.1|2|9603
1.3.6.1.4.1.534.6.6.7.3.5.1.5.0.1|66|412202467
# outletName, outletVoltage (mV), outletCurrent (mA), outletWatts, outletWh, outletControlStatus (0 off, 1 on)
1.3.6.1.4.1.534.6.6.7.6.1.1.3.0.1|4|S19-r09-01
1.3.6.1.4.1.534.6.6.7.6.1.1.3.0.2|4|S19-r09-02
1.3.6.1.4.1.534.6.6.7.6.3.1.2.0.1|2|230125
1.3.6.1.4.1.534.6.6.7.6.3.1.2.0.2|2|231002
1.3.6.1.4.1.534.6.6.7.6.4.1.3.0.1|2|13950
1.3.6.1.4.1.534.6.6.7.6.4.1.3.0.2|2|0
1.3.6.1.4.1.534.6.6.7.6.5.1.3.0.1|2|3190
1.3.6.1.4.1.534.6.6.7.6.5.1.3.0.2|2|0
1.3.6.1.4.1.534.6.6.7.6.5.1.4.0.1|66|1204567
1.3.6.1.4.1.534.6.6.7.6.5.1.4.0.2|66|0
1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.1|2|1
1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.2|2|0
""")

EATON_G2 = snmprec("""
# A single-phase ePDU without inputTotalPowerTable: inputPowerTable row 2 is the total of row 1.
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.534.6.6.7
1.3.6.1.2.1.1.5.0|4|pdu-lab
1.3.6.1.4.1.534.6.6.7.3.2.1.2.0.1.1|2|1
1.3.6.1.4.1.534.6.6.7.3.2.1.3.0.1.1|2|120150
1.3.6.1.4.1.534.6.6.7.3.3.1.2.0.1.1|2|1
1.3.6.1.4.1.534.6.6.7.3.3.1.4.0.1.1|2|9870
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.1|2|1
1.3.6.1.4.1.534.6.6.7.3.4.1.2.0.1.2|2|4
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.1|2|1155
1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.2|2|1155
""")

DEVICES = {  # community (snmpsim picks the recording by it) -> (loopback address, recording text)
    "raritan-px3": ("127.61.6.1", RARITAN),
    "sentry4": ("127.61.6.2", SENTRY4),
    "sentry4-dual": ("127.61.6.3", SENTRY4_DUAL),
    "eaton-g3": ("127.61.6.4", EATON_G3),
    "eaton-g2": ("127.61.6.5", EATON_G2),
}

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def readings() -> AsyncIterator[dict[str, SnmpReading]]:
    devices = [RawDevice(ip=ip, name=name, text=text, port=PORT) for name, (ip, text) in DEVICES.items()]
    async with served(devices) as engine:
        got = await asyncio.gather(*(read(engine, d.ip, PORT, d.name) for d in devices))
        yield {d.name: r for d, r in zip(devices, got, strict=True)}


async def test_raritan_px3_inlet_outlets_and_identity(readings: dict[str, SnmpReading]) -> None:
    r = readings["raritan-px3"]  # sysObjectID 13742.6
    j = r.to_json()
    assert (r.driver, r.make, r.model, r.serial, r.firmware, r.name) == (
        "raritan", "Raritan", "PX3-5902V", "QFB7C00421", "4.2.10.5-50321", "R07 feed A")  # pduName over sysName
    # Inlet 1: 14830 x 10^-3 A, 231 V, 3342 W, 51234567 Wh (digits 3, 0, 0, 0).
    (inlet,) = r.rows("inputs")
    assert inlet.index == "1" and inlet.values == {
        "current_a": 14.83, "voltage_v": 231.0, "power_w": 3342.0, "energy_j": 51234567 * J_PER_WH}
    assert r.power_w == 3342.0  # the device's power is its inlets'
    # Outlet 1: 13920 x 10^-3 A, 230 V, 3185 W, 18327024 Wh = 18327.024 kWh, onOff state 7 (on); outlet 2 off (8),
    # no name, 96675 Wh. The rmsCurrent rows of the state column (4, normal) are not the outlet's state.
    assert j["outlets"] == [
        {"index": 1, "name": "S19-r07-01", "power_w": 3185.0, "current_a": 13.92, "energy_kwh": 18327.024,
         "state": "on"},
        {"index": 2, "name": None, "power_w": 0.0, "current_a": 0.0, "energy_kwh": 96.675, "state": "off"}]
    assert rows(r, "outlets")["1"].num("voltage_v") == 230.0
    assert j["phases"] == [] and j["errors"] == []


async def test_raritan_external_sensors_by_unit(readings: dict[str, SnmpReading]) -> None:
    r = readings["raritan-px3"]
    # Sensor 1: 231 x 10^-1 = 23.1 degrees C (units 7); 2: 41 % (units 9, 0 digits) = 0.41; 3: a door contact
    # (units none); 4: 752 x 10^-1 in degrees F (units 14): not read as Celsius; 5: not available (IsAvailable 2).
    assert [(s["name"], s["kind"], s["value"], s["unit"]) for s in r.to_json()["sensors"]] == [
        ("R07 cold aisle", "temperature", 23.1, "celsius"), ("R07 humidity", "humidity", 0.41, "ratio")]
    sensors = rows(r, "sensors")
    assert sorted(sensors) == ["1", "2", "3", "4", "5"]
    assert all(not any(isinstance(v, int | float) for v in sensors[i].values.values()) for i in ("3", "4", "5"))
    assert sensors["4"].text("name") == "R07 hot aisle" and sensors["5"].text("status") == "unavailable"


async def test_sentry4_cord_phases_branches_outlets(readings: dict[str, SnmpReading]) -> None:
    r = readings["sentry4"]  # sysObjectID 1718.4
    j = r.to_json()
    assert (r.driver, r.make, r.model, r.serial, r.firmware, r.name) == (
        "servertech", "ServerTech", "C2WG30MS-DQHE2M1", "ABEF0012345", "Version 8.0q", "pdu-r07-b")
    # Cord AA (index 1.1, labelled by cord): 6432 W, 89371 x 0.1 kWh = 8937.1 kWh.
    assert [(i.index, i.values) for i in r.rows("inputs")] == [
        ("1", {"power_w": 6432, "energy_j": pytest.approx(8937.1 * 3.6e6)})]
    assert r.power_w == 6432.0
    # Phases L1-L2, L2-L3, L3-L1: 2079/2089/2094 x 0.1 V, 1585/792/771 x 0.01 A, 3262/1604/1566 W (sum 6432 W).
    # The phase currents, not the line currents (20.80/20.96/13.54 A) of st4LineCurrent.
    assert j["phases"] == [
        {"index": 1, "current_a": 15.85, "voltage_v": 207.9, "power_w": 3262},
        {"index": 2, "current_a": 7.92, "voltage_v": 208.9, "power_w": 1604},
        {"index": 3, "current_a": 7.71, "voltage_v": 209.4, "power_w": 1566}]
    assert {i: b.num("current_a") for i, b in rows(r, "banks").items()} == {"1": 15.85, "2": 7.92, "3": 7.71}
    # Outlets indexed {unit}.{cord}.{outlet}, labelled by outlet: 1563 x 0.01 A, 2081 x 0.1 V, 3215 W, 1826450 Wh,
    # st4OutletState 1 (on); outlet 2 off (2).
    assert j["outlets"] == [
        {"index": 1, "name": "S19-r07-11", "power_w": 3215, "current_a": 15.63, "energy_kwh": 1826.45, "state": "on"},
        {"index": 2, "name": "S19-r07-12", "power_w": 0, "current_a": 0.0, "energy_kwh": 0.0, "state": "off"}]
    assert rows(r, "outlets")["1"].num("voltage_v") == 208.1
    assert j["errors"] == []


async def test_sentry4_probes_and_the_no_reading_value(readings: dict[str, SnmpReading]) -> None:
    r = readings["sentry4"]
    # Probe 1: 254 x 0.1 = 25.4 degrees, 38 % = 0.38. Probe 2: -410 (the MIB's "invalid reading", not -41.0
    # degrees) and -1 %; its name comes from the humidity table (no st4TempSensorName row).
    assert [(s["name"], s["kind"], s["value"]) for s in r.to_json()["sensors"]] == [
        ("R07 exhaust", "temperature", 25.4), ("R07 exhaust", "humidity", 0.38)]
    probe2 = rows(r, "sensors")["2"]
    assert probe2.values == {"name": "Humid_Sensor_A2", "temperature_c": None, "humidity_ratio": None}


async def test_sentry4_dual_cord_keeps_rows_apart(readings: dict[str, SnmpReading]) -> None:
    r = readings["sentry4-dual"]
    # Cords 1.1 and 1.2 are labelled 1 and 2; phases and outlets of the two cords would both be "1" once trimmed,
    # so those tables keep the full {unit}.{cord}.{n} index.
    assert {i.index: i.num("power_w") for i in r.rows("inputs")} == {"1": 3180, "2": 3150}
    assert r.power_w == 6330.0  # 3180 + 3150
    assert [(p["index"], p["current_a"], p["voltage_v"]) for p in r.to_json()["phases"]] == [
        ("1.1.1", 14.02, 230.1), ("1.2.1", 13.89, 229.8)]
    assert {o.index: (o.text("name"), o.num("power_w")) for o in r.rows("outlets")} == {
        "1.1.1": ("S21-r08-01", 3170), "1.2.1": ("S21-r08-02", 3140)}
    assert not r.incomplete


async def test_eaton_g3_total_row_is_not_a_phase(readings: dict[str, SnmpReading]) -> None:
    r = readings["eaton-g3"]  # sysObjectID 534.6.6.7
    j = r.to_json()
    assert (r.driver, r.make, r.name) == ("eaton", "Eaton", "pdu-r09-a")
    # inputTotalWatts 9603 W (= 3190 + 3245 + 3168), inputTotalWh 412202467 Wh. inputPowerTable's row 4 (total,
    # 9603 W) is not a fourth phase: counted as one, the PDU's power was 19206 W.
    assert r.power_w == 9603.0
    assert [(i.index, i.values) for i in r.rows("inputs")] == [
        ("1", {"power_w": 9603, "energy_j": 412202467 * J_PER_WH})]
    # Phases 1-3: 230125/231002/229870 mV, 13980/14210/13870 mA, 3190/3245/3168 W; the neutral current (row 4,
    # 420 mA) is left out with the total.
    assert j["phases"] == [
        {"index": 1, "current_a": 13.98, "voltage_v": 230.125, "power_w": 3190},
        {"index": 2, "current_a": 14.21, "voltage_v": 231.002, "power_w": 3245},
        {"index": 3, "current_a": 13.87, "voltage_v": 229.87, "power_w": 3168}]
    assert rows(r, "phases")["1"].num("energy_j") == 137001234 * J_PER_WH
    # Outlet 1: 13950 mA, 230125 mV, 3190 W, 1204567 Wh, outletControlStatus 1 (on); outlet 2 off (0).
    assert j["outlets"] == [
        {"index": 1, "name": "S19-r09-01", "power_w": 3190, "current_a": 13.95, "energy_kwh": 1204.567,
         "state": "on"},
        {"index": 2, "name": "S19-r09-02", "power_w": 0, "current_a": 0.0, "energy_kwh": 0.0, "state": "off"}]
    assert rows(r, "outlets")["1"].num("voltage_v") == 230.125
    assert j["errors"] == []


async def test_eaton_without_total_table_sums_the_phases_once(readings: dict[str, SnmpReading]) -> None:
    r = readings["eaton-g2"]
    # Row 1: 120150 mV, 9870 mA, 1155 W; row 2 is the total (inputPowerMeasType 4): 1155 W, not 2310 W.
    assert r.power_w == 1155.0 and r.rows("inputs") == []
    assert r.to_json()["phases"] == [{"index": 1, "current_a": 9.87, "voltage_v": 120.15, "power_w": 1155}]
    assert not r.incomplete


async def test_what_prometheus_gets(readings: dict[str, SnmpReading]) -> None:
    stats, text = await scrape({name: ip for name, (ip, _) in DEVICES.items()}, PORT)
    assert stats.devices == stats.devices_up == len(DEVICES)
    d = {name: f'device="{ip}:{PORT}"' for name, (ip, _) in DEVICES.items()}
    for line in (
        f'farmwatch_snmp_device_info{{{d["raritan-px3"]},profile="raritan",class="pdu",make="Raritan",'
        'model="PX3-5902V",serial="QFB7C00421",name="R07 feed A",firmware="4.2.10.5-50321"} 1',
        f'farmwatch_pdu_power_watts{{{d["raritan-px3"]}}} 3342',
        f'farmwatch_pdu_input_energy_joules_total{{{d["raritan-px3"]},input="1"}} 184444441200',  # 51234567 Wh
        f'farmwatch_pdu_outlet_on{{{d["raritan-px3"]},outlet="2"}} 0',
        f'farmwatch_sensor_temperature_celsius{{{d["raritan-px3"]},sensor="1"}} 23.1',
        f'farmwatch_pdu_outlet_energy_joules_total{{{d["sentry4"]},outlet="1"}} 6575220000',  # 1826450 Wh
        f'farmwatch_pdu_phase_current_amperes{{{d["sentry4"]},phase="3"}} 7.71',
        f'farmwatch_sensor_humidity_ratio{{{d["sentry4"]},sensor="1"}} 0.38',
        f'farmwatch_pdu_phase_current_amperes{{{d["sentry4-dual"]},phase="1.2.1"}} 13.89',
        f'farmwatch_pdu_power_watts{{{d["eaton-g3"]}}} 9603',
        f'farmwatch_pdu_outlet_voltage_volts{{{d["eaton-g3"]},outlet="1"}} 230.125',
        f'farmwatch_pdu_power_watts{{{d["eaton-g2"]}}} 1155',
    ):
        assert line in text, line
    assert f'{d["eaton-g3"]},phase="4"' not in text  # neither the neutral current nor the total power
    assert "farmwatch_sensor_temperature_celsius{" + d["sentry4"] + ',sensor="2"' not in text  # -410: no probe
    assert "farmwatch_snmp_table_incomplete" not in text
