"""Conformance: Braiins OS web-API captures in ../shared/fixtures/asic (values from SOURCES.md, batch 2).

- bOS 21.09 and bOS+ 24.09 / 25.03 / 25.05.1: legacy GraphQL (system, boards, pools) and the LuCI LAN status
  (MAC), served by :class:`ReplayBraiinsLegacy` next to a ReplayMiner for the RPC ``version``; polled with the
  group's credentials through the real driver, which must send nothing but the two logins and reads.
- bOS+ 25.11: the public REST API (details, stats, hashboards, cooling, pools, errors, tuner state, version,
  network) on a ReplayWeb; optional endpoints removed one by one leave the rest of the reading.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import _braiins_gql as gql
from collectors.asic.drivers import _braiins_rest as rest
from collectors.asic.drivers import braiins
from collectors.asic.http import WebCredentials, check_read_only, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from tests.conformance.braiins_web import ReplayBraiinsLegacy
from tests.support.replay import ReplayMiner, fixture, have_fixtures
from tests.support.replay_web import ReplayWeb

pytestmark = pytest.mark.skipif(not have_fixtures(), reason="../shared/fixtures/asic not present")
approx = pytest.approx
DEV = "192.0.2.12:80"
DEFAULTS = WebCredentials(use_default_password=True)
_net = iter(range(2, 250))

BOS2109 = "braiins_bos-21.09-s9_"
B2409 = "braiins_bosplus-24.09-s21pro_"
B2503 = "braiins_bosplus-25.03-s21plus_"
B2505 = "braiins_bosplus-25.05.1-s21plus_"
B2511 = "braiins_bosplus-25.11-s19xp_api-v1-"


def ip() -> str:
    return f"127.67.{next(_net)}.1"


def j(name: str) -> Any:
    return json.loads(fixture(name))


def gql_replies(prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {f"gql:{part}": j(f"{prefix}graphql-{part}.json") for part in ("system", "boards", "pools")}
    out["luci:lan"] = j(f"{prefix}web-iface-status-lan.json")
    return out


async def poll_at(host: str, port: int, driver: str | None = "braiins",
                  credentials: WebCredentials | None = DEFAULTS) -> Any:
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials)
    try:
        return await poll(session, deadline=asyncio.get_running_loop().time() + 10)
    finally:
        await close_session()


def assert_only_reads(host: str, srv: ReplayBraiinsLegacy | ReplayWeb) -> None:
    bodies = getattr(srv, "bodies", None)
    if bodies is None:
        for method, path in srv.requests:
            check_read_only(method, f"http://{host}{path}")
        return
    for method, path, body in bodies:
        check_read_only(method, f"http://{host}{path}", body)


# --- legacy GraphQL, one capture at a time ------------------------------------------------------------------
def test_temperature_names_of_every_release() -> None:
    kinds = {n: gql.temp_kind(n) for n in ("Board", "Chip", "Max Board", "Max Chip", "MAX_BOARD", "MAX_CHIP",
                                             "Inlet", "Outlet", "INLET", "OUTLET")}
    assert kinds == {"Board": "board", "Chip": "chip", "Max Board": "board", "Max Chip": "chip",
                     "MAX_BOARD": "board", "MAX_CHIP": "chip", "Inlet": None, "Outlet": None, "INLET": None,
                     "OUTLET": None}


def test_bos_21_09_s9_boards_alone() -> None:
    r = braiins.parse({"gql:boards": j(f"{BOS2109}graphql-boards.json")}, DEV)
    assert [b.index for b in r.boards] == [0, 1, 2]  # chains "6".."8"
    assert [b.chips for b in r.boards] == [63, 63, 63]
    assert [b.hashrate_ths for b in r.boards] == [approx(2.96695039), approx(3.02285855), approx(2.94686912)]
    assert r.hashrate_ths == approx(8.9367, abs=1e-4)  # no system reply: the boards' sum
    assert r.expected_hashrate_ths == approx(9.0530, abs=1e-4)
    assert [b.temp_c for b in r.boards] == [71, 75.375, 66.125]
    assert [b.chip_temp_c for b in r.boards] == [81.625, 89.25, 80]
    assert r.model is None and r.mac is None


def test_bosplus_24_09_s21pro() -> None:
    r = finalize(braiins.parse(gql_replies(B2409), DEV))
    assert (r.driver, r.firmware, r.firmware_version) == ("braiins", "braiins", "2024-10-17-0-75912fc7-24.09-plus")
    assert r.model is None  # the capture does not state it (S21 Pro is only inferred): not invented
    assert (r.hostname, r.uptime_s, r.mac) == ("IC078", 717641, "02:9B:85:41:7E:08")
    assert r.hashrate_ths == approx(230.7009, abs=1e-4)
    assert r.expected_hashrate_ths == approx(239.3135, abs=1e-4)
    assert (r.power_w, r.power_source, r.power_limit_w) == (3572, "estimated", 3500)
    assert r.efficiency_jth == approx(15.48, abs=0.01)
    assert r.fans_rpm == [6414, 6414, 6354, 6324]
    assert [b.index for b in r.boards] == [0, 1, 2] and [b.chips for b in r.boards] == [65, 65, 65]
    assert [b.hashrate_ths for b in r.boards] == [approx(74.0997, abs=1e-4), approx(82.5202, abs=1e-4),
                                                   approx(74.4577, abs=1e-4)]
    assert [b.temp_c for b in r.boards] == [56.4375, 53.375, 52.9375]
    assert [b.chip_temp_c for b in r.boards] == [71.4375, 68.375, 67.9375]
    assert [(p.url, p.status, p.active, p.accepted, p.rejected, p.stale) for p in r.pools] == [
        ("stratum+tcp://example.pool.com:3333", "alive", True, 111393, 239, None),
        ("stratum+tcp://example.pool2.com:3333", "alive", False, 13, 0, None)]
    assert r.state == "hashing"


def test_bosplus_25_03_s21plus_over_its_power_limit() -> None:
    r = finalize(braiins.parse(gql_replies(B2503), DEV))
    assert (r.firmware_version, r.hostname, r.uptime_s) == ("2025-04-07-0-424f9a7f-25.03-plus", "Antminer", 96949)
    assert r.model is None and r.mac == "02:34:98:9E:9F:E1"
    assert r.hashrate_ths == approx(251.2353, abs=1e-4) and r.expected_hashrate_ths == approx(259.1904, abs=1e-4)
    # the estimate is above the limit: both reported as the firmware gives them
    assert (r.power_w, r.power_source, r.power_limit_w) == (4448, "estimated", 3878)
    assert r.efficiency_jth == approx(17.70, abs=0.01)
    assert r.fans_rpm == [6418, 6448, 6328, 5998]
    assert [b.chips for b in r.boards] == [55, 55, 55]
    assert sum(b.hashrate_ths or 0 for b in r.boards) == approx(250.5029, abs=1e-3)
    # "Max Board"/"Max Chip" (inlet and outlet are neither)
    assert [b.temp_c for b in r.boards] == [60.0, 58.5, 57.5]
    assert [b.chip_temp_c for b in r.boards] == [75.0, 73.5, 72.5]
    assert [(p.active, p.status, p.accepted, p.rejected) for p in r.pools] == [(True, "alive", 10781, 24),
                                                                              (False, "alive", 0, 0)]


def test_bosplus_25_05_1_s21plus_upper_snake_names() -> None:
    r = finalize(braiins.parse(gql_replies(B2505), DEV))
    assert r.firmware_version == "2025-06-25-0-45f356ea-25.05.1-plus" and r.uptime_s == 693609
    assert r.mac == "02:B7:87:EE:7F:F5" and r.model is None
    assert r.hashrate_ths == approx(205.7496, abs=1e-4) and r.expected_hashrate_ths == approx(216.7224, abs=1e-4)
    assert (r.power_w, r.power_limit_w) == (3698, 3878) and r.efficiency_jth == approx(17.97, abs=0.01)
    assert r.fans_rpm == [6421, 6391, 6061, 6331]
    assert [b.hashrate_ths for b in r.boards] == [approx(64.8023, abs=1e-4), approx(73.4201, abs=1e-4),
                                                   approx(72.1999, abs=1e-4)]
    assert [b.temp_c for b in r.boards] == [51.5, 53.5, 54.5]  # MAX_BOARD
    assert [b.chip_temp_c for b in r.boards] == [66.5, 68.5, 69.5]  # MAX_CHIP
    assert [(p.url, p.user, p.active, p.accepted) for p in r.pools][2] == (
        "stratum+tcp://stratum.braiins.com:3333", "ICM", False, 6)
    assert [p.accepted for p in r.pools] == [92875, 18, 6] and r.pools[0].rejected == 164


# --- legacy GraphQL over loopback ---------------------------------------------------------------------------
def legacy(prefix: str, host: str) -> ReplayBraiinsLegacy:
    return ReplayBraiinsLegacy(
        graphql={part: fixture(f"{prefix}graphql-{part}.json") for part in ("system", "boards", "pools")},
        routes={"/cgi-bin/luci/admin/network/iface_status/lan": fixture(f"{prefix}web-iface-status-lan.json"),
                "/": b"<html><head><title>Braiins OS</title></head></html>"},
        host=host, port=80)


@pytest.mark.parametrize("prefix", [B2409, B2505])
async def test_bosplus_boser_identified_by_rpc_version_and_read_over_graphql(prefix: str) -> None:
    """24.09 and 25.05.1 answer ``version`` on 4028 as BOSer: identified by it, then read over GraphQL with the
    group's credentials (REST is absent on these releases: 404, tried first and remembered)."""
    host = ip()
    async with ReplayMiner({"version": fixture(f"{prefix}version.json")}, host=host, port=4028,
                           description="BOSer boser-buildroot 0.1.0") as miner, legacy(prefix, host) as web:
        r = await poll_at(host, 4028, driver=None)
    want = {B2409: ("2024-10-17-0-75912fc7-24.09-plus", "02:9B:85:41:7E:08", 230.7009),
            B2505: ("2025-06-25-0-45f356ea-25.05.1-plus", "02:B7:87:EE:7F:F5", 205.7496)}[prefix]
    assert (r.driver, r.firmware_version, r.mac) == ("braiins", want[0], want[1])
    assert r.hashrate_ths == approx(want[2], abs=1e-4) and len(r.boards) == 3 and len(r.pools) >= 2
    assert rpc.decode_reply(fixture(f"{prefix}version.json"))["VERSION"][0]["BOSer"].startswith("boser-buildroot")
    commands = [str(json.loads(q)["command"]) for q in miner.requests]
    assert all(part in rpc.READ_COMMANDS for c in commands for part in c.split("+"))
    assert_only_reads(host, web)
    posted = [b for m, p, b in web.bodies if m == "POST" and p == "/graphql"]
    assert sum("mutation" in str(b.get("query")) for b in posted) == 1  # the login, once


async def test_bosplus_25_03_identified_by_its_web_page() -> None:
    host = ip()
    async with legacy(B2503, host) as web:
        r = await poll_at(host, 80, driver=None)
    assert (r.driver, r.mac, r.firmware_version) == ("braiins", "02:34:98:9E:9F:E1", "2025-04-07-0-424f9a7f-25.03-plus")
    assert r.power_w == 4448 and r.fans_rpm == [6418, 6448, 6328, 5998]
    assert_only_reads(host, web)


async def test_legacy_without_luci_or_pools_is_read_without_them() -> None:
    """The MAC page and the pools query are optional: one that fails leaves its part unknown, not the miner."""
    host = ip()
    srv = legacy(B2409, host)
    srv.graphql = {k: v for k, v in srv.graphql.items() if k != "pools"}
    srv.routes = {}
    async with srv:
        r = await poll_at(host, 80)
    assert r.hashrate_ths == approx(230.7009, abs=1e-4) and r.mac is None and r.pools == []
    assert r.state == "hashing"
    assert sorted(n.split(" (")[0].split(":")[0] for n in r.notes) == [
        "devdetails not read", "events not read", "mac not read", "model unknown", "pools not read"]
    # no events recording, and no RPC on this address for the model


async def test_legacy_wrong_password_is_auth() -> None:
    from collectors.errors import AuthError

    host = ip()
    async with legacy(B2409, host):
        with pytest.raises(AuthError):
            await poll_at(host, 80, credentials=WebCredentials(username="root", password=_Secret("nope")))


class _Secret:
    def __init__(self, v: str) -> None:
        self.v = v

    def reveal(self) -> str:
        return self.v


# --- bOS+ 25.11 public REST ---------------------------------------------------------------------------------
REST_FILES = {"miner/stats": "miner-stats", "miner/hw/hashboards": "miner-hw-hashboards",
              "cooling/state": "cooling-state", "pools/": "pools", "miner/errors": "miner-errors",
              "miner/details": "miner-details", "performance/tuner-state": "performance-tuner-state",
              "network": "network"}


def rest_replies() -> dict[str, Any]:
    return {f"rest:{k}": j(f"{B2511}{v}.json") for k, v in REST_FILES.items()}


def test_bosplus_25_11_scaled_back() -> None:
    r = finalize(braiins.parse(rest_replies(), DEV))
    assert (r.model, r.serial, r.mac) == ("S19 XP", "YNAHEAUBCJCBA03GL", "90:34:86:54:14:C0")
    assert (r.firmware_version, r.hostname, r.uptime_s) == ("2025-11-21-0-eb658dcd-25.11-plus", "Antminer", 20359)
    # last_1m, never the averages that still hold the pre-scaling rate (1h 140.2, since restart 143.4)
    assert r.hashrate_ths == approx(119.9950, abs=1e-4)
    assert r.expected_hashrate_ths == approx(119.9678, abs=1e-4)  # tuned profile, not the 141.0 sticker
    assert r.state == "hashing"  # scaled back by the tuner is not degraded
    assert (r.power_w, r.power_source) == (2472, "estimated") and r.efficiency_jth == approx(20.60, abs=0.01)
    assert r.power_limit_w == 2431  # the active (scaled) target; the operator's profile target is 3031
    assert r.fans_rpm == [5879, 5819, 5909, 5909]
    assert [b.chips for b in r.boards] == [110, 110, 110]
    assert [b.hashrate_ths for b in r.boards] == [approx(41.4437, abs=1e-4), approx(39.6216, abs=1e-4),
                                                   approx(38.7815, abs=1e-4)]
    assert [b.temp_c for b in r.boards] == [56.5, 54.5, 56.0] and [b.chip_temp_c for b in r.boards] == [71.5, 69.5, 71.0]
    assert [(p.active, p.status, p.accepted, p.rejected, p.stale) for p in r.pools] == [
        (True, "alive", 5048, 10, 0), (False, "alive", 0, 0, 0)]  # pool 1's last_share_time is null
    assert r.errors is None  # history without the miner's clock: unknown
    assert r.notes and r.notes[0].startswith("errors unknown: miner/errors is the firmware's error history")


def test_bosplus_25_11_error_history_is_not_current() -> None:
    log = rest.error_log(j(f"{B2511}miner-errors.json"))
    assert len(log) == 54
    coded = [e.message for _t, e in log if e.message.startswith(("H2", "V2"))]
    assert len(coded) == 2 and coded[0].startswith("H2: Hashboard stopped sending hashes")
    replies = rest_replies()
    # the miner's clock at 2026-04-17 (after every entry), BOSminer up 20359 s: nothing logged in this run
    replies["rest:clock"] = datetime(2026, 4, 17, 17, 0, tzinfo=UTC).timestamp()
    assert braiins.parse(replies, DEV).errors == []
    # a clock just after the last entry: the entries of this run are current (the V2 one is from 2026-04-01)
    replies["rest:clock"] = datetime(2026, 4, 1, 12, 0, tzinfo=UTC).timestamp() + 20359
    current = braiins.parse(replies, DEV).errors
    assert current is not None and 0 < len(current) < 54


@pytest.mark.parametrize("gone", ["miner/errors", "performance/tuner-state", "network", "miner/hw/hashboards",
                                  "cooling/state", "pools", "miner/details"])
async def test_bosplus_25_11_over_loopback_optional_endpoint_missing(gone: str) -> None:
    host = ip()
    routes = {f"/api/v1/{k}": fixture(f"{B2511}{v}.json") for k, v in REST_FILES.items()}
    routes["/api/v1/version"] = fixture(f"{B2511}version.json")
    routes = {p: b for p, b in routes.items() if p.rstrip("/") != f"/api/v1/{gone}"}
    async with ReplayWeb(routes, login={"/api/v1/auth/login": b'{"token":"t0k","timeout_s":3600}'},
                         host=host, port=80) as srv:
        r = await poll_at(host, 4028)
    assert r.hashrate_ths == approx(119.9950, abs=1e-4) and r.state == "hashing"
    assert (r.power_limit_w is None) == (gone == "performance/tuner-state")
    # hashboards gone: the model's three slots are unknown (chips null), not missing boards
    assert all(b.chips is None for b in r.boards) == (gone == "miner/hw/hashboards") and len(r.boards) == 3
    assert (r.fans_rpm == []) == (gone == "cooling/state")
    assert (r.pools == []) == (gone == "pools")
    # details gone: the MAC still comes from network; network gone: from details
    assert r.mac == "90:34:86:54:14:C0"
    assert (r.model is None) == (gone == "miner/details")
    # a missing part is noted, except network, which only stands in for what details lacks
    assert any(n.startswith(gone) for n in r.notes) == (gone != "network"), r.notes
    if gone != "miner/details":
        # the replay's Date header is today's clock: nothing in the 2026 history is from this run
        assert r.errors == ([] if gone != "miner/errors" else None)
    assert_only_reads(host, srv)


async def test_bosplus_25_11_without_stats_is_down() -> None:
    """miner/stats carries the hashrate: without it the miner is not read (the RPC is tried; nothing there)."""
    from collectors.errors import DeviceError

    host = ip()
    routes = {f"/api/v1/{k}": fixture(f"{B2511}{v}.json") for k, v in REST_FILES.items() if k != "miner/stats"}
    async with ReplayWeb(routes, login={"/api/v1/auth/login": b'{"token":"t0k","timeout_s":3600}'},
                         host=host, port=80):
        with pytest.raises(DeviceError):
            await poll_at(host, 4028)


def test_rest_version_reply() -> None:
    assert j(f"{B2511}version.json") == {"major": 1, "minor": 1, "patch": 0}
