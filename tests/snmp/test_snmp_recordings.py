"""Recordings of real devices from the snmpsim-data package, served as they are by snmpsim on loopback and polled as
``farmwatch poll snmp://COMMUNITY@IP:PORT`` polls them: no forced profile, sysObjectID first, then the probes.

Every expected value is decoded by hand from the recording's OIDs with the units of its MIB (PowerNet-MIB rPDU2,
GEIST-V4-MIB, LIEBERT-GP-AGENT/ENVIRONMENTAL-MIB, UPS-MIB RFC 1628, XUPS-MIB, MG-SNMP-UPS-MIB); the raw values are
quoted next to each assertion. Some snmpsim-data recordings animate values with snmpsim's ``numeric`` variation
(value = initial + scale x seconds since snmpsim started, wrapping at max): those are checked within the range
snmpsim can serve while the test runs, and exactly on a "frozen" copy that serves each at its ``initial`` value,
the value the device had when it was recorded.
"""

from __future__ import annotations

import asyncio
import bz2
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from collectors.snmp.cli import poll_snmp_url
from collectors.snmp.reading import SnmpReading
from simsite.snmp import RawDevice
from tests.support.snmp_helpers import read, rows, scrape, served

pytest.importorskip("snmpsim")
snmpsim_data = pytest.importorskip("snmpsim_data")

PORT = 16171
DATA = Path(snmpsim_data.__file__).parent / "data"
RECORDINGS = {  # community (snmpsim picks the recording by it) -> (loopback address, recording in snmpsim-data)
    "apc-7902b": ("127.61.5.1", "UPS/apc-7902b.snmprec"),
    "apc-8932": ("127.61.5.2", "UPS/apc-8932.snmprec"),
    "geist": ("127.61.5.3", "iot/geist-temperature-sensor.snmprec"),
    "vertiv": ("127.61.5.4", "UPS/vertiv-power.snmprec.bz2"),
    "eaton-93e": ("127.61.5.5", "UPS/eaton-93e-80.snmprec.bz2"),
    "eaton-9px": ("127.61.5.6", "UPS/eaton-9px-partial.snmprec.bz2"),
    "emerson": ("127.61.5.7", "UPS/emerson-network-power.snmprec.bz2"),
}
FROZEN = {"apc-7902b": "127.61.5.11", "apc-8932": "127.61.5.12", "geist": "127.61.5.13"}  # animated recordings

pytestmark = pytest.mark.asyncio(loop_scope="module")


def recording_text(rel: str, tmp: Path) -> str:
    src = DATA / rel
    if src.suffix != ".bz2":
        return src.read_text()
    out = tmp / src.stem  # decompressed at test time, never kept in the repository
    out.write_bytes(bz2.decompress(src.read_bytes()))
    return out.read_text()


def frozen(text: str) -> str:
    """Each ``TAG:numeric|initial=...,...`` line served as ``TAG|initial``: the value when the device was recorded."""
    lines = []
    for line in text.splitlines():
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        if tag.endswith(":numeric"):
            params = dict(p.split("=", 1) for p in value.split(","))
            line = f"{oid}|{tag.split(':')[0]}|{params['initial']}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class Polled:
    readings: dict[str, SnmpReading]  # community -> reading
    elapsed: float  # seconds from before snmpsim started to after the last reply: bounds the animated values


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def polled(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Polled]:
    tmp = tmp_path_factory.mktemp("snmprec")
    texts = {name: recording_text(rel, tmp) for name, (_, rel) in RECORDINGS.items()}
    devices = [RawDevice(ip=ip, name=name, text=texts[name], port=PORT) for name, (ip, _) in RECORDINGS.items()]
    devices += [RawDevice(ip=ip, name=f"{name}-frozen", text=frozen(texts[name]), port=PORT)
                for name, ip in FROZEN.items()]
    started = time.time()
    async with served(devices) as engine:
        got = await asyncio.gather(*(read(engine, d.ip, PORT, d.name) for d in devices))
        yield Polled({d.name: r for d, r in zip(devices, got, strict=True)}, time.time() - started)


async def test_apc_ap7902b_switched_pdu(polled: Polled) -> None:
    r = polled.readings["apc-7902b"]  # sysObjectID 318.1.3.4.8
    j = r.to_json()
    assert (r.driver, r.make, r.model, r.serial, r.firmware, r.name) == (
        "apc", "APC", "AP7902B", "5A1551F39430", "6.7.2", "pwr-dc01-pdu-rack01-01")  # rPDU2Ident 3, 6, 8, 9
    # rPDU2DeviceStatusPower/Energy = -1 (not measured on a switched-only PDU): no device power, no energy.
    assert r.power_w is None and r.scalars["energy_j"] is None and r.scalars["rated_current_a"] == 24
    # rPDU2PhaseStatusCurrent.1 = 16 (0.1 A), Voltage.1 = -1, Power.1 = -1; load against the 24 A rating.
    assert j["phases"] == [{"index": 1, "current_a": pytest.approx(1.6), "voltage_v": None, "power_w": None}]
    assert rows(r, "phases")["1"].num("load_ratio") == pytest.approx(1.6 / 24, abs=1e-4)
    # rPDU2BankStatusCurrent.1 = 0, .2 = 11 (0.1 A).
    assert {i: b.num("current_a") for i, b in rows(r, "banks").items()} == {"1": 0.0, "2": pytest.approx(1.1)}
    # 16 outlets, switched but not metered: names from rPDU2OutletSwitchedStatusName (no metered table).
    outlets = {o["index"]: o for o in j["outlets"]}
    assert sorted(outlets) == list(range(1, 17))
    assert (outlets[1]["name"], outlets[2]["name"], outlets[16]["name"]) == (
        "SW-CO-NY-3850-01", "SW-CO-NY-3850-02", "SW-CO-XFER-RACK-01-PRI")
    assert all(outlets[i]["name"] == f"Outlet {i}" for i in range(3, 16))
    assert all(o["power_w"] is None and o["current_a"] is None and o["energy_kwh"] is None for o in outlets.values())
    # rPDU2OutletSwitchedStatusState is animated (numeric, min 1 max 2): off(1) or on(2), never anything else.
    assert {o["state"] for o in outlets.values()} <= {"on", "off"}
    assert j["sensors"] == [] and j["errors"] == []  # rPDU2SensorTempHumidityTableSize = 0


async def test_apc_ap7902b_outlet_states_as_recorded(polled: Polled) -> None:
    outlets = polled.readings["apc-7902b-frozen"].to_json()["outlets"]
    # rPDU2OutletSwitchedStatusState initial=2 (on) for outlets 1-8, initial=1 (off) for 9-16.
    assert [o["state"] for o in outlets] == ["on"] * 8 + ["off"] * 8


async def test_apc_ap8932_switched_pdu(polled: Polled) -> None:
    r = polled.readings["apc-8932"]  # sysObjectID 318.1.3.4.6
    j = r.to_json()
    assert (r.driver, r.model, r.serial, r.name) == ("apc", "AP8932", "3F503A169043", "pwr-dc01-pdu-rack3-01")
    # rPDU2DeviceStatusPower.1 = 16 (0.01 kW), Energy.1 = 6426 (0.1 kWh).
    assert r.power_w == 160.0 and r.scalars["energy_j"] == pytest.approx(642.6 * 3.6e6)
    # rPDU2PhaseStatusCurrent.1 = 14 (0.1 A), Voltage.1 = 121 (V), Power.1 = 16 (0.01 kW).
    assert j["phases"] == [{"index": 1, "current_a": pytest.approx(1.4), "voltage_v": 121, "power_w": 160.0}]
    assert rows(r, "phases")["1"].num("load_ratio") == pytest.approx(1.4 / 24, abs=1e-4)  # MaxCurrentRating 24 A
    assert {i: b.num("current_a") for i, b in rows(r, "banks").items()} == {"1": pytest.approx(1.3), "2": 0.0}
    names = {o["index"]: o["name"] for o in j["outlets"]}
    assert len(names) == 24 and {k: names[k] for k in (1, 2, 9, 10, 13, 24)} == {
        1: "SW-DC01-WEST-01-B", 2: "FW-DC01-EXTERNAL-01-PRI", 9: "INT ROUTER", 10: "INT SWITCH",
        13: "PWR-DC01-XFER-RACK2-01", 24: "Outlet 24"}
    assert all(o["power_w"] is None for o in j["outlets"])  # no rPDU2OutletMetered table on this model
    # rPDU2SensorTempHumidityStatusCommStatus.1 = notInstalled(1), TempC.1 = -1: no sensor, not -0.1 degrees C.
    assert j["sensors"] == [] and rows(r, "sensors")["1"].values.get("temperature_c") is None
    assert j["errors"] == []


async def test_apc_ap8932_outlet_states_as_recorded(polled: Polled) -> None:
    outlets = polled.readings["apc-8932-frozen"].to_json()["outlets"]
    assert [o["index"] for o in outlets if o["state"] == "on"] == [1, 13]  # initial=2 only on outlets 1 and 13
    assert sum(o["state"] == "off" for o in outlets) == 22


async def test_geist_watchdog_15_internal_sensor_and_remote_probes(polled: Polled) -> None:
    r = polled.readings["geist"]  # sysObjectID 21239.42.1.31, data in the GEIST-V4-MIB tree 21239.5.1
    assert (r.driver, r.make, r.model, r.firmware, r.name) == (
        "geist", "Geist", "Geist WD15", "3.4.0", "pwr-dc01-temp-rack1-01")  # productTitle, productVersion, sysName
    sensors = rows(r, "sensors")
    assert {i: s.text("name") for i, s in sensors.items()} == {
        "1": "Watchdog Rack 01", "2": "Above Rack 02", "3": "Above Rack 03"}  # internalName.1, tempSensorName.2/.3
    # internalTemp.1 initial 154, tempSensorTemp.2/.3 initial 185/180, in 0.1 degree (temperatureUnits.0 = 1,
    # Celsius), each rising 5 per second (numeric scale=5) from snmpsim's start; max 300 is 23 s away at least.
    rise = 0.5 * polled.elapsed
    for index, initial in (("1", 15.4), ("2", 18.5), ("3", 18.0)):
        temp = sensors[index].num("temperature_c")
        assert temp is not None and initial - 1e-9 <= temp <= initial + rise + 1e-9, (index, temp, rise)
    # internalHumidity.1: %, numeric min 25 max 50 with wrap: 25..75 % whatever the time; a ratio, not percent.
    humidity = sensors["1"].num("humidity_ratio")
    assert humidity is not None and 0.25 <= humidity <= 0.75
    assert sensors["2"].num("humidity_ratio") is None and not r.incomplete  # remote probes measure temperature only


async def test_geist_values_as_recorded(polled: Polled) -> None:
    j = polled.readings["geist-frozen"].to_json()
    assert [(s["name"], s["kind"], pytest.approx(s["value"]), s["unit"]) for s in j["sensors"]] == [
        ("Watchdog Rack 01", "temperature", 15.4, "celsius"), ("Watchdog Rack 01", "humidity", 0.39, "ratio"),
        ("Above Rack 02", "temperature", 18.5, "celsius"), ("Above Rack 03", "temperature", 18.0, "celsius")]


async def test_liebert_pex_cooling_unit(polled: Polled) -> None:
    r = polled.readings["vertiv"]  # sysObjectID 476.1.42: the generic Liebert card OID, here on a PEX cooling unit
    assert (r.driver, r.make, r.model, r.firmware, r.name) == (
        "vertiv", "Liebert Corporation", "Liebert PEX", "PAL 1.04.026.STD", "DUMSYS-22")  # lgpAgentDevice*.1
    # lgpEnvTemperatureMeasurementDegC.{1,3,4,5} = 23, 23, 29, 37 (whole degrees; the DegF table says 73, 73, 84,
    # 98 F); row 2 (supply air) has a set point but no measurement.
    assert {i: s.num("temperature_c") for i, s in rows(r, "sensors").items()} == {"1": 23, "3": 23, "4": 29, "5": 37}
    assert r.power_w is None and r.outlet_power() == {} and not r.incomplete  # no LIEBERT-GP-PDU-MIB objects


async def test_eaton_93e_ups_mib(polled: Polled) -> None:
    r = polled.readings["eaton-93e"]  # sysObjectID 705.1: no profile by OID, UPS-MIB probe answers
    j = r.to_json()
    assert (r.driver, r.make, r.model, r.firmware, r.name) == (
        "ups", "EATON", "EATON 93E 80", "INV: 2.08.0011", "ID: 4K234LXX06 , Msg: 9ET08CC50411010")
    # upsOutputSource = normal(3), upsEstimatedChargeRemaining = 100 %, upsEstimatedMinutesRemaining = 1092,
    # the most loaded of upsOutputPercentLoad 21/16/12 %.
    assert j["ups"] == {"on_battery": False, "battery_charge_ratio": 1.0, "runtime_s": 1092 * 60, "load_ratio": 0.21}
    # upsBatteryStatus 2, upsSecondsOnBattery 0, upsBatteryVoltage 5210 (0.1 V), upsBatteryTemperature 25, alarms 0.
    s = r.scalars
    assert (s["battery_status"], s["seconds_on_battery"], s["battery_voltage_v"], s["battery_temperature_c"],
            s["alarms"]) == ("normal", 0, pytest.approx(521.0), 25, 0)
    # upsOutputVoltage 220 V, upsOutputCurrent 270/180/150 (0.1 A), upsOutputPower 5100/3600/2700 W.
    assert [(p["voltage_v"], p["current_a"], p["power_w"]) for p in j["phases"]] == [
        (220, pytest.approx(27.0), 5100), (220, pytest.approx(18.0), 3600), (220, pytest.approx(15.0), 2700)]
    # The UPS's power is its output: upsInputTruePower answers 0 on all three input lines of this card.
    assert r.power_w == 11400.0
    assert [(i.num("voltage_v"), i.num("current_a"), i.num("power_w")) for i in r.rows("inputs")] == [
        (227, pytest.approx(21.0), None), (227, pytest.approx(21.0), None), (233, pytest.approx(21.0), None)]


async def test_eaton_9px_xups_mib(polled: Polled) -> None:
    r = polled.readings["eaton-9px"]  # sysObjectID 705.1, no UPS-MIB in this partial walk: XUPS-MIB probe answers
    j = r.to_json()
    assert (r.driver, r.device_class, r.make, r.model, r.firmware, r.serial) == (
        "xups", "ups", "Eaton", "Eaton 9PX 2200i RT 3U", "INV: 01.17.4945", "GX13G45099")
    # xupsOutputSource = normal(3), xupsBatCapacity = 100 %, xupsBatTimeRemaining = 17218 s (upsmgBatteryRemaining
    # Time agrees); xupsOutputLoad 9 % is one figure for the whole UPS, not per output line: not read.
    assert j["ups"] == {"on_battery": False, "battery_charge_ratio": 1.0, "runtime_s": 17218, "load_ratio": None}
    # xupsBatVoltage 78 V (upsmgBatteryVoltage says 780 dV), xupsAlarms 0.
    assert (r.scalars["battery_voltage_v"], r.scalars["alarms"]) == (78, 0)
    # xupsOutputVoltage.1 231 V, xupsOutputCurrent.1 0 A (whole amps), xupsOutputWatts.1 50 W; input 243 V, 0 A.
    assert j["phases"] == [{"index": 1, "current_a": 0, "voltage_v": 231, "power_w": 50}] and r.power_w == 50.0
    assert [i.values for i in r.rows("inputs")] == [{"voltage_v": 243, "current_a": 0}]


async def test_eaton_9px_through_the_poll_command(polled: Polled, capsys: pytest.CaptureFixture[str]) -> None:
    ip, _ = RECORDINGS["eaton-9px"]
    assert await poll_snmp_url(f"snmp://eaton-9px@{ip}:{PORT}", driver=None, as_json=True, timeout=4) == 0
    assert '"driver": "xups"' in capsys.readouterr().out  # was "unsupported": no profile for sysObjectID 705.1


async def test_emerson_ups_identity_only(polled: Polled) -> None:
    r = polled.readings["emerson"]  # sysObjectID 13400.2.1; no MIB known for its values
    j = r.to_json()
    assert (r.driver, r.device_class, r.make, r.model, r.firmware, r.name) == (
        "emerson-ups", "ups", "EMERSON", "US11R0030L", "13.00", "DUMSYS-65")
    assert j["ups"] == {"on_battery": None, "battery_charge_ratio": None, "runtime_s": None, "load_ratio": None}
    assert r.power_w is None and "ports" not in j and not any(r.tables.values())  # not taken for a 2-port switch


async def test_what_prometheus_gets(polled: Polled) -> None:
    stats, text = await scrape({name: ip for name, (ip, _) in RECORDINGS.items()}, PORT)
    assert stats.devices == stats.devices_up == len(RECORDINGS)
    d = {name: f'device="{ip}:{PORT}"' for name, (ip, _) in RECORDINGS.items()}
    for line in (
        f'farmwatch_pdu_power_watts{{{d["apc-8932"]}}} 160',
        f'farmwatch_pdu_energy_joules_total{{{d["apc-8932"]}}} 2313360000',
        f'farmwatch_pdu_outlet_info{{{d["apc-7902b"]},outlet="16",name="SW-CO-XFER-RACK-01-PRI"}} 1',
        f'farmwatch_sensor_info{{{d["geist"]},sensor="2",name="Above Rack 02"}} 1',
        f'farmwatch_sensor_temperature_celsius{{{d["vertiv"]},sensor="5"}} 37',
        f'farmwatch_ups_power_watts{{{d["eaton-93e"]}}} 11400',
        f'farmwatch_ups_runtime_seconds{{{d["eaton-9px"]}}} 17218',
        f'farmwatch_ups_on_battery{{{d["eaton-9px"]}}} 0',
        f'farmwatch_snmp_device_info{{{d["emerson"]},profile="emerson-ups",class="ups",make="EMERSON",'
        'model="US11R0030L",serial="",name="DUMSYS-65",firmware="13.00"} 1',
    ):
        assert line in text, line
    assert "farmwatch_pdu_power_watts{" + d["apc-7902b"] not in text  # -1: not measured, not -10 W
    assert "farmwatch_sensor_temperature_celsius{" + d["apc-8932"] not in text  # no probe installed
    emerson = {ln.split("{")[0] for ln in text.splitlines() if d["emerson"] in ln}
    assert emerson == {"farmwatch_snmp_up", "farmwatch_snmp_last_success_timestamp_seconds",
                       "farmwatch_snmp_poll_duration_seconds", "farmwatch_snmp_device_info", "farmwatch_snmp_values"}
