"""Pure pieces of the web/API 3 drivers on hand-written bytes (no device, no ../shared)."""

from __future__ import annotations

import pytest

from collectors.asic import api3, http
from collectors.asic.drivers import bitaxe, epic, goldshell, iceriver, whatsminer
from collectors.asic.identify import match_web
from collectors.errors import ParseError, ProtocolError


def test_firmware_date_picks_api3() -> None:
    assert whatsminer.api_of("20251209.16.Rel2") == "v3"
    assert whatsminer.api_of("20241101.01.REL") == "v3"
    assert whatsminer.api_of("'20230803.11.REL'") == "v2"
    assert whatsminer.api_of(None) == "v2"


def test_api3_frames() -> None:
    body = b'{"code":0,"msg":{"x":1}}'
    assert api3.decode(len(body).to_bytes(4, "little") + body) == {"code": 0, "msg": {"x": 1}}
    with pytest.raises(ProtocolError):
        api3.decode((100).to_bytes(4, "little") + body)
    with pytest.raises(ParseError):
        api3.decode((3).to_bytes(4, "little") + b"abc")


def test_raw_http_response_with_chunks() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"
    resp = http.parse_raw_response(raw)
    assert resp.status == 200 and resp.headers["x-a"] == "b" and resp.json() == {"a": 1}
    with pytest.raises(ProtocolError):
        http.parse_raw_response(b"<html>")


def test_web_signatures_prefer_custom_firmware() -> None:
    assert match_web(401, {"www-authenticate": 'Digest realm="antMiner Configuration"'}, b"").name == "antminer"
    page = b"<html><title>Braiins OS</title> antminer </html>"
    assert match_web(200, {}, page).name == "braiins"
    assert match_web(200, {}, b"<title>AxeOS</title>").name == "bitaxe"
    assert match_web(200, {}, b"<html>nothing here</html>") is None


def test_unit_quirks() -> None:
    assert iceriver.rate("15011G") == pytest.approx(15.011)
    assert iceriver.rate("5160.37", "G") == pytest.approx(5.16037)
    assert iceriver.model_of("ICM168_3_2_10_ks5L_miner") == "KS5L"
    assert goldshell.fans("2940 rpm / 0 rpm / 2880 rpm") == [2940, 0, 2880]
    assert goldshell.algorithm_of("CK5") == "eaglesong"


def test_bitaxe_and_epic_from_hand_written_json() -> None:
    info = {"hashRate": 1000.0, "power": 15.0, "temp": 60, "vrTemp": 50, "asicCount": 1, "fanrpm": 4000,
            "macAddr": "AA-BB-CC-DD-EE-FF", "stratumURL": "pool.example", "stratumPort": 3333, "ASICModel": "BM1370"}
    r = bitaxe.parse({"system/info": info}, "d")
    assert (r.hashrate_ths, r.power_w, r.mac, r.pools[0].url) == (1.0, 15.0, "AA:BB:CC:DD:EE:FF",
                                                                 "stratum+tcp://pool.example:3333")
    s = {"Session": {"Uptime": 10}, "HBs": [{"Index": 0, "Hashrate": [2e6, 99], "Temperature": 70}],
         "Fans Rpm": {"Fans Speed 0": 3000, "Fans Speed 1": 0}, "Status": {"Operating State": "Idle"}}
    e = epic.parse({"summary": s}, "d")
    assert (e.hashrate_ths, e.fans_rpm, e.sleeping) == (2.0, [3000, 0], True)
    with pytest.raises(ParseError):
        epic.parse({"summary": {"x": 1}}, "d")
