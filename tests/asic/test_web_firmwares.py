"""Every HTTP / API 3 firmware of the simulated site polled over real loopback sockets: identification, the
reading against ``truth()``, logins, and that nothing but reads was ever sent."""

from __future__ import annotations

import asyncio

import pytest

from collectors.asic import rpc
from collectors.asic.http import WebCredentials, check_read_only, close_session
from collectors.asic.poll import MinerSession, poll
from collectors.errors import AuthError
from simsite import SimSite
from tests.support.simulated import KEYS, approx_equal, sent_body

NEW = ("antminer_web", "whatsminer3", "braiins_rest", "braiins_gql", "vnish_rest", "epic", "goldshell", "auradine",
       "bitaxe", "iceriver")
DEFAULTS = WebCredentials(use_default_password=True)
_net = iter(range(10, 250))


async def _site(fw: str, count: int = 3) -> SimSite:
    site = SimSite.build(count=count, seed=7, base_ip=f"127.88.{next(_net)}.1", mix={fw: 1.0}, latency_ms=(0.0, 0.0))
    await site.start()
    return site


@pytest.mark.parametrize("fw", NEW)
async def test_identify_and_poll_matches_truth(fw: str) -> None:
    site = await _site(fw)
    try:
        for m in site.miners:
            session = MinerSession(host=m.ip, port=m.port, credentials=DEFAULTS)
            loop = asyncio.get_running_loop()
            reading = (await poll(session, deadline=loop.time() + 10)).to_json()
            truth = m.truth()
            for key in ("boards", "pools"):
                for entry in reading[key]:
                    entry.pop("expected_chips", None)
                    entry.pop("index", None) if key == "pools" else None
                    entry.pop("active", None)
            want = {k: truth[k] for k in KEYS if k in truth}
            for p in want.get("pools", []):
                p.pop("index", None)
            assert approx_equal(reading, want) == [], (fw, m.model)
        for r in site.requests:
            for c in r.commands:
                if r.raw[:1] == b"{":
                    assert set(c.split("+")) <= rpc.READ_COMMANDS
                elif " " in c:
                    method, target = c.split(" ", 1)
                    check_read_only(method, target, sent_body(r.raw))
                else:
                    assert c.startswith("get."), c
    finally:
        await close_session()
        await site.stop()


@pytest.mark.parametrize("fw", ("goldshell", "iceriver"))
async def test_login_firmwares_need_configured_credentials(fw: str) -> None:
    site = await _site(fw, 1)
    try:
        m = site.miners[0]
        session = MinerSession(host=m.ip, port=m.port)
        with pytest.raises(AuthError):
            await poll(session, deadline=asyncio.get_running_loop().time() + 5)
    finally:
        await close_session()
        await site.stop()


async def test_antminer_without_credentials_reads_rpc_only() -> None:
    site = await _site("antminer_web", 1)
    try:
        m = site.miners[0]
        session = MinerSession(host=m.ip, port=m.port)
        r = await poll(session, deadline=asyncio.get_running_loop().time() + 5)
        assert r.mac is None and r.hashrate_ths and not any(req.port == 80 and "cgi" in str(req.commands)
                                                            for req in site.requests)
    finally:
        await close_session()
        await site.stop()


def test_read_only_guard() -> None:
    check_read_only("GET", "http://h/cgi-bin/stats.cgi")
    check_read_only("POST", "http://h/api/v1/auth/login")
    check_read_only("POST", "http://h/user/userpanel?post=4")
    check_read_only("GET", "http://h/mcb/cgminer?cgminercmd=devs")
    check_read_only("GET", "http://h/mcb/setting")  # reading the settings page is a read
    check_read_only("POST", "http://h/graphql", {"query": "{ bosminer { info { modelName } } }"})
    for method, target, body in (
        ("POST", "http://h/cgi-bin/set_miner_conf.cgi", {}),
        ("POST", "http://h/cgi-bin/blink.cgi", {"blink": "true"}),
        ("PUT", "http://h/mcb/newpool", {}),
        ("POST", "http://h/user/userpanel?post=5&locate=1", None),
        ("POST", "http://h/token", {"command": "password"}),
        ("POST", "http://h/api/v1/mining/stop", None),
        ("DELETE", "http://h/x", None),
        ("GET", "http://h/cgi-bin/reboot.cgi", None),
        ("GET", "http://h/mcb/cgminer?cgminercmd=restart", None),
        ("GET", "http://h/mcb/cgminer?cgminercmd=devs%2Bascset", None),
        ("POST", "http://h/graphql", {"query": "query A { x } mutation B { y }"}),
    ):
        with pytest.raises(ValueError):
            check_read_only(method, target, body)


@pytest.mark.parametrize("fw", NEW)
async def test_a_paused_miner_reads_as_the_firmware_shows_it(fw: str) -> None:
    """Curtailment pauses miners by the hundred: where the firmware says so, the reading is ``sleeping``
    (not a broken miner at 0 TH/s); where it cannot, the truth says what the firmware shows."""
    site = SimSite.build(count=2, seed=7, base_ip=f"127.88.{next(_net)}.1", mix={fw: 1.0}, latency_ms=(0.0, 0.0),
                         faults={"sleeping": 1.0})
    await site.start()
    try:
        states = set()
        for m in site.miners:
            session = MinerSession(host=m.ip, port=m.port, credentials=DEFAULTS)
            reading = (await poll(session, deadline=asyncio.get_running_loop().time() + 10)).to_json()
            assert reading["state"] == m.truth()["state"], (fw, m.model)
            states.add(reading["state"])
        if fw in ("braiins_rest", "vnish_rest", "antminer_web"):
            assert states == {"sleeping"}
    finally:
        await close_session()
        await site.stop()
