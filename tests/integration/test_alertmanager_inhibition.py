"""deploy/alertmanager.yml's inhibition, on a real Alertmanager (Debian's prometheus-alertmanager): alerts are
posted as Prometheus posts them, and Alertmanager's own API says which ones it mutes and by what.

A PDU that does not answer SNMP mutes the alerts of the miners the site map feeds from it (and the feed-lost
alert for it), not other PDUs' miners; a dead UPS does not page per outlet; a switch, which feeds no miner, mutes
nothing; a dead device's own value alerts are muted; NVML down mutes its host's GPU alerts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.alertmanager import ALERTMANAGER, Alertmanager

pytestmark = pytest.mark.skipif(ALERTMANAGER is None, reason="Debian package prometheus-alertmanager not installed")


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "site": "s", **labels}, "annotations": {}}


def post(port: int, alerts: list[dict[str, Any]]) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def state(port: int) -> dict[tuple[str, str], set[str]]:
    """(alertname, device or pdu or instance) -> the alertnames of what inhibits it (empty: it pages)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5) as r:
        alerts = json.load(r)
    fps = {a["fingerprint"]: a["labels"]["alertname"] for a in alerts}
    return {(a["labels"]["alertname"], a["labels"].get("device") or a["labels"].get("pdu")
             or a["labels"].get("instance", "")): {fps.get(f, f) for f in a["status"]["inhibitedBy"]}
            for a in alerts}


def test_dead_power_gear_pages_once(tmp_path: Path) -> None:
    am = Alertmanager(tmp_path)
    port = am.port
    try:
        post(port, [
            # PDU pdu-r01 dead: its miners down, the feed-lost alert, its own phase alert going stale.
            alert("FarmwatchSnmpDeviceDown", device="10.0.20.5:161", instance="a", pdu="pdu-r01", **{"class": "pdu"}),
            alert("FarmwatchMinerDown", device="10.0.0.1:4028", instance="a", pdu="pdu-r01", outlet="1"),
            alert("FarmwatchMinerDown", device="10.0.0.2:4028", instance="a", pdu="pdu-r01", outlet="2"),
            alert("FarmwatchPduFeedLost", pdu="pdu-r01"),
            alert("FarmwatchPduPhaseOverloaded", device="10.0.20.5:161", instance="a", phase="1"),
            # Another PDU's miner: not muted.
            alert("FarmwatchMinerDown", device="10.0.0.9:4028", instance="a", pdu="pdu-r02", outlet="1"),
            # A dead UPS feeding miners from its outlets: one page, not one per outlet.
            alert("FarmwatchSnmpDeviceDown", device="10.0.21.1:161", instance="a", pdu="ups-1", **{"class": "ups"}),
            alert("FarmwatchMinerDown", device="10.0.0.5:4028", instance="a", pdu="ups-1", outlet="1"),
            alert("FarmwatchMinerFanDead", device="10.0.0.6:4028", instance="a", pdu="ups-1", outlet="2"),
            alert("FarmwatchUpsOnBattery", device="10.0.21.1:161", instance="a"),
            # A dead switch feeds no miner: it mutes no miner without a PDU in the site map.
            alert("FarmwatchSnmpDeviceDown", device="10.0.22.1:161", instance="a", **{"class": "switch"}),
            alert("FarmwatchMinerDown", device="10.0.0.7:4028", instance="a"),
            # NVML down on one host: its GPU alerts muted, another host's not.
            alert("FarmwatchNvmlDown", instance="gpu-1"),
            alert("FarmwatchGpuTemperatureHigh", instance="gpu-1", gpu="GPU-A", sensor="gpu"),
            alert("FarmwatchGpuTemperatureHigh", instance="gpu-2", gpu="GPU-B", sensor="gpu"),
        ])
        got: dict[tuple[str, str], set[str]] = {}
        expected = {
            ("FarmwatchSnmpDeviceDown", "10.0.20.5:161"): set(),
            ("FarmwatchMinerDown", "10.0.0.1:4028"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchMinerDown", "10.0.0.2:4028"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchPduFeedLost", "pdu-r01"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchPduPhaseOverloaded", "10.0.20.5:161"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchMinerDown", "10.0.0.9:4028"): set(),
            ("FarmwatchSnmpDeviceDown", "10.0.21.1:161"): set(),
            ("FarmwatchMinerDown", "10.0.0.5:4028"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchMinerFanDead", "10.0.0.6:4028"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchUpsOnBattery", "10.0.21.1:161"): {"FarmwatchSnmpDeviceDown"},
            ("FarmwatchSnmpDeviceDown", "10.0.22.1:161"): set(),
            ("FarmwatchMinerDown", "10.0.0.7:4028"): set(),
            ("FarmwatchNvmlDown", "gpu-1"): set(),
            ("FarmwatchGpuTemperatureHigh", "gpu-1"): {"FarmwatchNvmlDown"},
            ("FarmwatchGpuTemperatureHigh", "gpu-2"): set(),
        }
        # Alertmanager names one inhibitor (a miner on a dead PDU is muted by the PDU and by its feed-lost alert):
        # compare what is muted, and that every inhibitor is one of the causes above.
        causes = {"FarmwatchSnmpDeviceDown", "FarmwatchPduFeedLost", "FarmwatchNvmlDown"}
        end = time.monotonic() + 20
        while time.monotonic() < end:
            got = state(port)
            if got.keys() == expected.keys() and {k for k, v in got.items() if v} == {k for k, v in expected.items() if v}:
                break
            time.sleep(0.3)
        assert {k for k, v in got.items() if v} == {k for k, v in expected.items() if v}
        assert got.keys() == expected.keys()
        assert all(v <= causes for v in got.values())
        assert got[("FarmwatchPduFeedLost", "pdu-r01")] == {"FarmwatchSnmpDeviceDown"}
    finally:
        am.stop()
