"""The vendors without a stock-Antminer lineage and the generic cgminer reader, against the simulated site over
real loopback sockets (no ../shared needed): identification, the reading against ``truth()`` in normal and
faulty states, logins, and that nothing but reads was sent. Plus the generic reader's unit-per-key rule and
the read-only guard's new read endpoints, on hand-written replies."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collectors.asic import rpc
from collectors.asic.drivers import cgminer
from collectors.asic.http import PlainSecret, WebCredentials, check_read_only, close_session
from collectors.asic.normalize import finalize
from collectors.asic.poll import MinerSession, poll
from collectors.errors import AuthError
from simsite import SimSite
from tests.support.simulated import KEYS, approx_equal

VENDORS = ("cgminer", "minerva", "innosilicon", "sealminer", "hammer", "ibelink", "elphapex", "bitfury", "ebang")
PASSWORD_ONLY = ("sealminer", "bitfury", "ebang")  # no documented default password
_net = iter(range(10, 250))


def creds(fw: str) -> WebCredentials:
    if fw in PASSWORD_ONLY:
        return WebCredentials(password=PlainSecret("site-password"))
    return WebCredentials(use_default_password=True)


async def _site(fw: str, count: int = 3, fault: str | None = None) -> SimSite:
    site = SimSite.build(count=count, seed=7, base_ip=f"127.73.{next(_net)}.1", mix={fw: 1.0},
                         latency_ms=(0.0, 0.0), faults={fault: 1.0} if fault else None)
    await site.start()
    return site


async def read(m: Any, credentials: WebCredentials | None, driver: str | None = None) -> Any:
    return await read_at(m.ip, m.port, credentials, driver)


async def read_at(host: str, port: int, credentials: WebCredentials | None, driver: str | None = None) -> Any:
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials)
    return await poll(session, deadline=asyncio.get_running_loop().time() + 10)


def comparable(reading: dict[str, Any]) -> dict[str, Any]:
    for b in reading["boards"]:
        b.pop("expected_chips", None)
    for p in reading["pools"]:
        p.pop("index", None)
        p.pop("active", None)
    return reading


def assert_only_reads(site: SimSite) -> None:
    for r in site.requests:
        for c in r.commands:
            if r.raw[:1] == b"{":
                assert set(c.split("+")) <= rpc.READ_COMMANDS, c
            else:
                method, target = c.split(" ", 1)
                check_read_only(method, target)


@pytest.mark.parametrize("fault", [None, "sleeping", "missing_board", "dead_fan"])
@pytest.mark.parametrize("fw", VENDORS)
async def test_identified_and_read_as_the_firmware_shows(fw: str, fault: str | None) -> None:
    site = await _site(fw, fault=fault)
    try:
        for m in site.miners:
            reading = comparable((await read(m, creds(fw))).to_json())
            truth = m.truth()
            want = {k: truth[k] for k in KEYS if k in truth}
            assert approx_equal(reading, want) == [], (fw, fault, m.model)
            assert reading["driver"] == fw
        assert_only_reads(site)
    finally:
        await close_session()
        await site.stop()


async def test_the_generic_reader_says_what_it_is_and_what_it_cannot_read() -> None:
    site = await _site("cgminer", 1)
    try:
        r = await read(site.miners[0], None)
        assert r.driver == "cgminer" and r.notes == [cgminer.NOTE]  # devs is not asked when stats has chains
        assert r.power_w is None and r.expected_hashrate_ths is None and r.errors is None and r.mac is None
        assert r.algorithm == "unknown"  # no model to say which algorithm the figure counts
        # The same miner with its vendor's driver forced: the MinerVa reader reads the MAC from Netid.
        forced = await read(site.miners[0], None, "minerva")
        assert forced.driver == "minerva" and forced.mac == site.miners[0].mac and not forced.notes
        assert forced.hashrate_ths == pytest.approx(r.hashrate_ths)
    finally:
        await close_session()
        await site.stop()


async def test_equihash_and_scrypt_units_and_algorithms() -> None:
    for fw, algorithm, low, high in (("innosilicon", "equihash", 4e-8, 6e-8), ("hammer", "scrypt", 0.004, 0.006),
                                     ("elphapex", "scrypt", 0.012, 0.016)):
        site = await _site(fw, 1)
        try:
            r = await read(site.miners[0], creds(fw))
            assert r.algorithm == algorithm and low < (r.hashrate_ths or 0) < high, (fw, r.hashrate_ths)
        finally:
            await close_session()
            await site.stop()


@pytest.mark.parametrize("fw", ("bitfury", "ebang"))
async def test_login_only_vendors_need_a_configured_password(fw: str) -> None:
    site = await _site(fw, 1)
    try:
        with pytest.raises(AuthError):
            await read(site.miners[0], WebCredentials(use_default_password=True))
    finally:
        await close_session()
        await site.stop()


async def test_sealminer_without_credentials_reads_the_rpc_and_no_web() -> None:
    site = await _site("sealminer", 1)
    try:
        m = site.miners[0]
        r = await read(m, None)
        assert r.hashrate_ths and r.power_w and r.mac == m.mac and r.serial == m.serial  # stats' Ctrl Board SN
        assert not any("login.php" in c for req in site.requests for c in req.commands)
    finally:
        await close_session()
        await site.stop()


# --- the generic reader on hand-written replies ------------------------------------------------------------
def _reply(section: str, entries: str, desc: str = "cgminer 4.11.1") -> dict[str, Any]:
    head = '{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"x","Description":"' + desc + '"}]'
    return rpc.decode_reply(f'{head},"{section}":{entries},"id":1}}'.encode())


@pytest.mark.parametrize("summary, ths", [
    ('[{"GHS 5s":"13754.03","GHS av":14000.0}]', 13.75403),   # bmminer-style GH/s string
    ('[{"MHS 5s":50000000.0,"MHS 1m":49000000.0}]', 49.0),    # the 1-minute window wins over 5 s
    ('[{"KHS 5s":3000.0}]', 3e-6),                             # a KH/s miner: 3 MH/s
    ('[{"THS 5s":0.5}]', 0.5),
    ('[{"MHS(1m)":110000000.0,"MHS(Avg)":120000000.0}]', 110.0),
])
def test_generic_reader_decides_the_unit_per_key(summary: str, ths: float) -> None:
    r = cgminer.parse({"summary": _reply("SUMMARY", summary)}, "d")
    assert r.hashrate_ths == pytest.approx(ths)


def test_generic_reader_never_reports_the_since_boot_average() -> None:
    r = finalize(cgminer.parse({"summary": _reply("SUMMARY", '[{"MHS av":90000000.0,"Elapsed":60}]')}, "d"))
    assert r.hashrate_ths is None and r.state == "unknown" and cgminer.AVERAGE_ONLY_NOTE in r.notes
    assert r.uptime_s == 60


def test_generic_reader_reads_sgminer_numbered_sections_and_devs() -> None:
    stats = rpc.decode_reply(b'{"STATUS":[{"STATUS":"S","Description":"sgminer 4.4.2"}],'
                             b'"STATS0":[{"STATS":0,"Num active chips":12,"Temp":47.0}],"STATS1":[{"STATS":1}],'
                             b'"id":1}')
    pools = rpc.decode_reply(b'{"STATUS":[{"STATUS":"S"}],"POOL0":[{"POOL":0,"URL":"stratum+tcp://p:1",'
                             b'"Status":"Alive","Accepted":5}],"id":1}')
    r = cgminer.parse({"stats": stats, "pools": pools}, "d")
    assert [(b.chips, b.temp_c) for b in r.boards] == [(12, 47.0)]
    assert [(p.url, p.accepted, p.status) for p in r.pools] == [("stratum+tcp://p:1", 5, "alive")]
    devs = _reply("DEVS", '[{"ASC":0,"MHS 5s":1000000.0,"Asics":72,"Temperature":0.0},'
                          '{"ASC":1,"MHS 5s":2000000.0,"Asics":72,"Temperature":61.5}]')
    r = cgminer.parse({"devs": devs}, "d")  # no summary: the boards' current rates add up
    assert r.hashrate_ths == pytest.approx(3.0)
    assert [(b.chips, b.temp_c) for b in r.boards] == [(72, None), (72, 61.5)]  # 0.00 is no sensor


def test_generic_reader_reads_fans_once_and_never_duty_or_pwm() -> None:
    stats = _reply("STATS", '[{"ID":"C0","Chip Count":10,"Fan0 Speed":3090,"Fan1 Speed":3330,"Fan Duty":32},'
                            '{"ID":"C1","Chip Count":10,"Fan0 Speed":3090,"Fan1 Speed":3330,"Fan Duty":32}]')
    assert cgminer.parse({"stats": stats}, "d").fans_rpm == [3090, 3330]
    summary = _reply("SUMMARY", '[{"MHS 5s":1.0,"PWM":2520,"PWM1":2490,"fan_pwm":60}]')
    assert cgminer.parse({"summary": summary}, "d").fans_rpm == []


def test_read_only_guard_allows_the_new_vendors_reads_and_nothing_more() -> None:
    for path in ("/Cgminer/CgminerStatus", "/Status/getsystemstatus", "/alarm/GetAlarmLoop", "/Cgminer/CgminerGetVal"):
        check_read_only("POST", f"https://h{path}", {})  # Ebang's status pages: empty POSTs
        with pytest.raises(ValueError):
            check_read_only("POST", f"https://h{path}", {"Mip1": "stratum+tcp://evil:1"})
    for login in ("/user/login", "/api/login", "/cgi-bin/login.php"):
        check_read_only("POST", f"http://h{login}", {"username": "u"})
    for method, target in (("POST", "http://h/Cgminer/CgminerSetVal"), ("POST", "http://h/cgi-bin/set_mining_mode.php"),
                           ("POST", "http://h/api/om/miner/reboot"), ("GET", "http://h/cgi-bin/reboot.php")):
        with pytest.raises(ValueError):
            check_read_only(method, target, {"x": 1})


def test_ibelink_algorithm_by_family() -> None:
    from collectors.asic.drivers import ibelink
    assert [ibelink.algorithm_of(m) for m in ("BM-N1Max", "BM-K1+", "BM-KS Max", "BM-S1", "X1")] == [
        "eaglesong", "blake2s", "kheavyhash", "blake2b", "unknown"]


def test_innosilicon_t3_stats_power_and_sha256_units() -> None:
    """A T3-generation reply (written here from the documented keys): SHA-256 rates are MH/s as labelled, and
    the stats entries' "power" is the input power in watts."""
    from collectors.asic.drivers import innosilicon
    summary = _reply("SUMMARY", '[{"Elapsed":100,"MHS 1m":52000000.0,"MHS av":51000000.0}]', "innominer t3h+-1.0")
    stats = _reply("STATS", '[{"STATS":0,"ID":"HLT0","Chain ID":0,"Num chips":66,"Num active chips":66,'
                            '"Temp":70,"Temp max":82,"power":3300},{"STATS":1,"ID":"POOL0"}]', "innominer t3h+-1.0")
    r = finalize(innosilicon.parse({"summary": summary, "stats": stats}, "d"))
    assert (r.model, r.algorithm, r.hashrate_ths) == ("Innosilicon T3H+", "sha256", pytest.approx(52.0))
    assert (r.power_w, r.power_source) == (3300.0, "reported") and r.efficiency_jth == pytest.approx(63.462, abs=1e-3)
    assert [(b.chips, b.temp_c, b.chip_temp_c) for b in r.boards] == [(66, 70, 82)]


# --- a missing optional part leaves the rest of the reading, with a note ------------------------------------
async def test_hammer_without_its_web_ui_keeps_the_rpc_reading_with_a_note() -> None:
    site = await _site("hammer", 1)  # the simulated D10 serves no web UI: port 80 refuses
    try:
        m = site.miners[0]
        r = await read(m, WebCredentials(use_default_password=True))
        assert r.hashrate_ths and r.state == "hashing" and r.hostname is None
        assert any(n.startswith("identity (/cgi-bin/get_system_info.cgi) not read (refused)") for n in r.notes)
    finally:
        await close_session()
        await site.stop()


async def test_elphapex_without_pools_and_summary_pages() -> None:
    from tests.support.replay_web import ReplayWeb
    stats = (b'{"STATUS":{"STATUS":"S"},"INFO":{"type":"DG1+"},"STATS":[{"elapsed":60,"rate_5s":14000.0,'
             b'"rate_ideal":14229,"rate_unit":"MH/s","fan":["5400","5400","5400","5400"],"chain":['
             b'{"index":0,"asic_num":204,"rate_real":3500,"hashrate":3510.5,"temp_pcb":[60,58,0,0],'
             b'"temp_chip":["65250","","",""]}]}]}')
    host = f"127.73.{next(_net)}.1"
    async with ReplayWeb({"/cgi-bin/stats.cgi": stats}, digest=("Daoge", "root", "root"), host=host, port=80):
        try:
            r = await read_at(host, 80, WebCredentials(use_default_password=True))
        finally:
            await close_session()
    assert r.driver == "elphapex" and r.hashrate_ths == pytest.approx(0.014) and r.pools == [] and r.errors is None
    assert r.boards[0].hashrate_ths == pytest.approx(0.0035105) and r.boards[0].chip_temp_c == pytest.approx(65.25)
    parts = sorted(n.split(" not read")[0] for n in r.notes)
    assert parts == ["errors (/cgi-bin/summary.cgi)", "identity (/cgi-bin/get_system_info.cgi)",
                     "pools (/cgi-bin/pools.cgi)"]


async def test_sealminer_refused_web_login_keeps_the_rpc_reading() -> None:
    from tests.support.replay import ReplayMiner
    from tests.support.replay_web import ReplayWeb
    host = f"127.73.{next(_net)}.1"
    replies = {  # written here: the bdminer keys the driver reads
        "summary": b'{"STATUS":[{"STATUS":"S","Description":"bdminer 4.11.1"}],"SUMMARY":[{"Elapsed":9,'
                   b'"MHS 1m":100000000.0}],"id":1}',
        "stats": b'{"STATUS":[{"STATUS":"S","Description":"bdminer 4.11.1"}],"STATS":[{"Model":"A2",'
                 b'"MHS(1m)":101000000.0,"PSU Input Power":1700,"Board Count":0,"Fan Count":0}],"id":1}'}
    async with ReplayMiner(replies, host=host, port=4028, description="bdminer 4.11.1"), ReplayWeb(
            {}, host=host, port=80):  # no login route: the login POST gets a 404
        try:
            r = await read_at(host, 4028, WebCredentials(password=PlainSecret("site-password")))
        finally:
            await close_session()
    assert r.driver == "sealminer" and r.model == "Sealminer A2"
    assert r.hashrate_ths == pytest.approx(101.0) and r.power_w == 1700.0 and r.serial is None
    assert any(n.startswith("identity (web UI) not read") for n in r.notes)


async def test_generic_reader_asks_devs_only_without_chains_and_notes_when_it_is_missing() -> None:
    from tests.support.replay import ReplayMiner
    from tests.support.replay_btminer import sent_commands
    host = f"127.73.{next(_net)}.1"
    replies = {"summary": b'{"STATUS":[{"STATUS":"S","Description":"acme 1.0"}],"SUMMARY":[{"Elapsed":5,'
                          b'"GHS 5s":"900.5"}],"id":1}',
               "stats": b'{"STATUS":[{"STATUS":"S","Description":"acme 1.0"}],"STATS":[{"ID":"X0"}],"id":1}'}
    async with ReplayMiner(replies, host=host, port=4028, description="acme 1.0") as miner:
        try:
            r = await read_at(host, 4028, None)
        finally:
            await close_session()
    assert r.driver == "cgminer" and r.hashrate_ths == pytest.approx(0.9005) and r.boards == []
    assert "devs" in sent_commands(miner.requests)
    assert any(n.startswith("devs not read") for n in r.notes) and cgminer.NOTE in r.notes


async def test_a_slow_web_page_naming_the_firmware_beats_the_generic_fallback() -> None:
    """An RPC that matches no signature must not win over a web page that names the firmware but answers later
    (a busy controller): the generic reader is only the fallback."""
    from aiohttp import web

    from collectors.asic.identify import identify
    from tests.support.replay import ReplayMiner
    host = f"127.73.{next(_net)}.1"

    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(0.8)
        return web.Response(text="<html><title>cloud-box</title></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 80).start()
    version = (b'{"STATUS":[{"STATUS":"S","Description":"bfgminer 5.5.0"}],"VERSION":[{"BFGMiner":"5.5.0"}],'
               b'"id":1}')
    try:
        async with ReplayMiner({"version": version}, host=host, port=4028, description="bfgminer 5.5.0"):
            session = MinerSession(host=host, port=4028)
            driver = await identify(session, deadline=asyncio.get_running_loop().time() + 5)
    finally:
        await runner.cleanup()
    assert driver.name == "goldshell"


def test_innosilicon_algorithm_by_product_line_without_a_facts_row() -> None:
    from collectors.asic.drivers import innosilicon
    got = [innosilicon.algorithm_of(f"Innosilicon {m}") for m in ("A9++", "A10", "A6+", "T2Thf", "D9", "Q1")]
    assert got == ["equihash", "ethash", "scrypt", "sha256", "blake256", "unknown"]
    # An A9++ (no facts row) still reads its "MHS" figures as Sol/s, as the A9 does.
    summary = _reply("SUMMARY", '[{"MHS 1m":135000.0}]', "innominer a9++-1.2.0")
    r = finalize(innosilicon.parse({"summary": summary}, "d"))
    assert (r.model, r.algorithm, r.hashrate_ths) == ("Innosilicon A9++", "equihash", pytest.approx(1.35e-7))
