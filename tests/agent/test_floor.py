"""The floor view (issue 17) against a simulated site over real loopback sockets, and its pure parts on readings.

What a technician relies on: the to-do list holds exactly the miners the simulator broke, each with its site-map
place and the reason in words (the dead fan's number, the missing board's number, why it does not answer); the
rack grid puts each miner at its shelf and slot; the JSON API says the same as the page; the pages sit behind
the same basic auth as /metrics; each miner keeps a bounded history of its last cycles.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import bcrypt
import pytest
import yaml

from agent.config import check_config
from agent.daemon import Agent
from agent.demo import DemoSiteMap
from agent.floor.history import DEPTH
from agent.floor.model import natural, todo
from agent.floor.pages import index_page, miner_page
from agent.floor.problems import reading_problems
from agent.runtime import agent_from_config
from agent.webconfig import load_web_config
from collectors.asic.group import MinerGroup
from collectors.asic.models import lookup
from collectors.asic.poll import MinerSession
from collectors.asic.reading import Board, MinerReading, Pool
from simsite import SimSite
from simsite.miner import SimMiner

# --- what is wrong with one reading ------------------------------------------------------------------------

def reading(**kw: object) -> MinerReading:
    base: dict[str, object] = dict(device="10.0.0.1:4028", driver="antminer", model="S19 Pro", state="hashing",
                                   hashrate_ths=110.0, expected_hashrate_ths=110.0, fans_rpm=[6000, 6000, 6000, 6000],
                                   boards=[Board(i, 36.0, 114, 114, 65.0, 75.0) for i in range(3)],
                                   pools=[Pool("stratum+tcp://a:3333", status="alive", index=0, active=True)])
    base.update(kw)
    return MinerReading(**base)  # type: ignore[arg-type]


def texts(r: MinerReading, fans: int | None = 4) -> list[str]:
    return [p.text for p in reading_problems(r, fans)]


def test_a_healthy_miner_has_nothing_to_do() -> None:
    assert texts(reading()) == []


def test_problems_are_named_the_way_the_machine_numbers_them() -> None:
    boards = [Board(0, 36.0, 114, 114, 65.0, 75.0), Board(1, None, 0, 114), Board(2, 30.0, 100, 114, 70.0, 95.4)]
    r = reading(state="degraded", hashrate_ths=66.0, fans_rpm=[6000, 6000, 0, 5900], boards=boards)
    assert texts(r) == ["board 2 missing", "board 3: 100 of 114 chips", "fan 3 dead", "95 °C chip"]
    assert {p.severity for p in reading_problems(r, 4)} == {"fault"}


def test_sleep_hydro_unknown_fans_and_a_dead_backup_pool_are_not_problems() -> None:
    asleep = reading(state="sleeping", hashrate_ths=0.0, fans_rpm=[0, 0, 0, 0],
                     boards=[Board(i, 0.0, 0, 114) for i in range(3)])
    assert texts(asleep) == []
    assert texts(reading(fans_rpm=[0, 0]), fans=0) == []  # a hydro model: no fan to be dead
    assert texts(reading(fans_rpm=[None, 6000, 6000, 6000])) == []  # unreadable is unknown, not stopped
    pools = [Pool("stratum+tcp://a:3333", status="alive", index=0, active=True),
             Pool("stratum+tcp://b:3333", status="dead", index=1, active=False)]
    assert texts(reading(pools=pools)) == []


def test_below_par_is_a_warning_and_no_pool_alive_a_fault() -> None:
    low = reading_problems(reading(state="degraded", hashrate_ths=80.0), 4)
    assert [(p.text, p.severity) for p in low] == [("hashrate 73 % of expected", "warn")]
    pools = [Pool("stratum+tcp://a:3333", status="dead", index=0, active=False),
             Pool("stratum+tcp://b:3333", status="alive", index=1, active=True)]
    assert texts(reading(pools=pools)) == ["on backup pool 1"]
    dead = [Pool("stratum+tcp://a:3333", status="dead", index=0, active=False)]
    assert texts(reading(state="not_hashing", hashrate_ths=0.0, pools=dead)) == ["not hashing", "no pool alive"]


# --- the agent's pages and API on a simulated site ----------------------------------------------------------

SHELVES, SLOTS = 3, 4


@pytest.fixture
async def site() -> AsyncIterator[SimSite]:
    s = SimSite.build(count=36, seed=17, base_ip="127.43.0.1", latency_ms=(1.0, 3.0))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def location(i: int) -> dict[str, str]:
    """Two racks of 3 shelves x 4 slots in container A, one rack in container B."""
    rack = i // (SHELVES * SLOTS)
    k = i % (SHELVES * SLOTS)
    return {"container": "A" if rack < 2 else "B", "rack": f"R{rack + 1}", "shelf": str(k // SLOTS + 1),
            "slot": str(k % SLOTS + 1), "pdu": f"pdu-{rack + 1}", "outlet": str(k + 1)}


def make_agent(site: SimSite, web_config: Path | None = None) -> tuple[Agent, MinerGroup]:
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="floor", sessions=sessions, interval=10.0, timeout=3.0)
    rows = {m.ip: location(i) for i, m in enumerate(site.miners)}
    agent = Agent(site="floor-test", groups=[group], listen="127.0.0.1:0", sitemap=DemoSiteMap(rows),
                  web_config=load_web_config(web_config) if web_config else None)
    return agent, group


def victims(site: SimSite) -> tuple[SimMiner, SimMiner, SimMiner, SimMiner]:
    """A dead fan and a pulled board on models whose firmware reports fans and boards; two dead miners."""
    def fans_and_boards(m: SimMiner) -> bool:
        facts = lookup(m.model)
        truth = m.truth()
        return (facts is not None and facts.fans > 0 and len(truth["fans_rpm"]) > 1 and len(truth["boards"]) > 1
                and all(b["chips"] for b in truth["boards"]))

    fit = [m for m in site.miners if fans_and_boards(m)]
    assert len(fit) >= 2
    fan, board = fit[0], fit[1]
    rest = [m for m in site.miners if m not in (fan, board)]
    return fan, board, rest[3], rest[-1]


async def broken_site(site: SimSite) -> dict[str, tuple[SimMiner, str]]:
    fan, board, hung, refused = victims(site)
    site.set_fault(fan.ip, "dead_fan")
    site.set_fault(board.ip, "missing_board")
    site.set_fault(hung.ip, "hang")
    site.set_fault(refused.ip, "refuse")
    return {f"{fan.ip}:{fan.port}": (fan, f"fan {fan.dead_fan + 1} dead"),
            f"{board.ip}:{board.port}": (board, f"board {board.missing_slot + 1} missing"),
            f"{hung.ip}:{hung.port}": (hung, "timeout"),
            f"{refused.ip}:{refused.port}": (refused, "refused")}


async def test_todo_holds_exactly_the_broken_miners_with_place_and_reason(site: SimSite) -> None:
    broken = await broken_site(site)
    index = {f"{m.ip}:{m.port}": i for i, m in enumerate(site.miners)}
    agent, group = make_agent(site)
    await agent.start()
    try:
        await agent.scheduler.run_cycle(group)
        await agent.refresh()
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/todo") as r:
                todo = await r.json()
            got = {t["device"]: ([p["text"] for p in t["problems"]], t["location"]) for t in todo["todo"]}
            assert set(got) == set(broken)
            for device, (_m, why) in broken.items():
                assert got[device][0] == [why], device
                loc = location(index[device])
                assert got[device][1] == loc
            down = [t for t in todo["todo"] if t["state"] == "down"]
            assert len(down) == 2 and all(t["since"] is not None for t in down)

            async with http.get(f"{base}/", headers={"Accept-Encoding": "gzip"}) as r:
                assert r.status == 200 and r.content_type == "text/html"
                assert r.headers["Content-Encoding"] == "gzip"  # a big site's page is 1.7 MB, 0.1 MB gzipped
                page = await r.text()
            assert "36</b> of 36 miners" not in page  # two are down
            assert "34</b> of 36 miners up" in page
            todo_html = page.split("<section id='todo'>")[1].split("</section>")[0]
            listed = re.findall(r"data-device='([^']+)'", todo_html)
            assert sorted(listed) == sorted(broken)
            for device, (_m, why) in broken.items():
                loc = location(index[device])
                item = todo_html.split(f"data-device='{device}'")[1].split("</li>")[0]
                assert f"rack {loc['rack']}, shelf {loc['shelf']}, slot {loc['slot']}" in item
                assert why in item

            # The rack grid: the miner's cell sits at its shelf's row and slot's column, and names the fault.
            fan_device = next(d for d, (_m, why) in broken.items() if why.startswith("fan"))
            loc = location(index[fan_device])
            async with http.get(f"{base}/api/v1/racks") as r:
                racks = (await r.json())["racks"]
            rack = next(x for x in racks if (x["container"], x["rack"]) == (loc["container"], loc["rack"]))
            assert rack["shelves"] == [str(s + 1) for s in range(SHELVES)]
            assert rack["slots"] == [str(s + 1) for s in range(SLOTS)]
            assert rack["grid"][int(loc["shelf"]) - 1][int(loc["slot"]) - 1] == fan_device
            cell = page.split(f"<td class='bad' data-device='{fan_device}'>")[1].split("</td>")[0]
            assert broken[fan_device][1] in cell

            # One miner's page: where it is, what is wrong, its boards and fans as read.
            async with http.get(f"{base}/miner/{fan_device}") as r:
                assert r.status == 200
                mpage = await r.text()
            assert f"rack {loc['rack']}, shelf {loc['shelf']}, slot {loc['slot']}" in mpage
            assert broken[fan_device][1] in mpage and "0 (stopped)" in mpage
            async with http.get(f"{base}/miner/10.9.9.9:4028") as r:
                assert r.status == 404
            async with http.get(f"{base}/api/v1/miners/{fan_device}") as r:
                one = await r.json()
            assert one["reading"]["fans_rpm"] == broken[fan_device][0].truth()["fans_rpm"]
            assert one["location"]["shelf"] == loc["shelf"]
    finally:
        await agent.stop()


async def test_filters_and_summary_agree_with_the_miners(site: SimSite) -> None:
    await broken_site(site)
    agent, group = make_agent(site)
    await agent.start()
    try:
        await agent.scheduler.run_cycle(group)
        await agent.refresh()
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/miners", params={"container": "B"}) as r:
                b = await r.json()
            assert b["count"] == 12 and {m["location"]["container"] for m in b["miners"]} == {"B"}
            async with http.get(f"{base}/api/v1/miners", params={"state": "down"}) as r:
                assert (await r.json())["count"] == 2
            async with http.get(f"{base}/api/v1/miners") as r:
                every = (await r.json())["miners"]
            model = next(m["model"] for m in reversed(every) if m["model"])
            async with http.get(f"{base}/api/v1/miners", params={"model": model}) as r:
                assert (await r.json())["count"] == sum(1 for m in every if m["model"] == model) >= 1
            async with http.get(f"{base}/api/v1/summary") as r:
                s = await r.json()
            assert (s["miners"], s["miners_up"], s["todo"]) == (36, 34, 4)
            assert s["miners_by_state"]["down"] == 2
            up = [m for m in site.miners if m.fault not in ("hang", "refuse")]
            assert s["hashrate_ths"] == pytest.approx(sum(m.truth()["hashrate_ths"] for m in up), rel=0.03)
            async with http.get(f"{base}/", params={"container": "B", "state": "hashing"}) as r:
                page = await r.text()
            assert "<section id='racks'>" in page and "/ R3" in page and "/ R1<" not in page
            async with http.get(f"{base}/floor.css") as r:
                assert r.status == 200 and r.content_type == "text/css"
    finally:
        await agent.stop()


async def test_history_is_kept_per_cycle_and_bounded(site: SimSite) -> None:
    agent, group = make_agent(site)
    victim = site.miners[5]
    device = f"{victim.ip}:{victim.port}"
    await agent.start()
    try:
        for k in range(DEPTH + 3):
            if k == DEPTH:
                site.set_fault(victim.ip, "refuse")
            await agent.scheduler.run_cycle(group)
            agent.floor.changed()
            agent.floor.current()
        points = agent.floor.points(device)
        assert len(points) == DEPTH
        assert [p.state for p in points[-3:]] == ["down"] * 3 and points[-1].reason == "refused"
        assert points[0].state != "down" and points[0].hashrate_ths is not None
        assert agent.floor.current().by_device[device].since is not None
    finally:
        await agent.stop()


async def test_floor_pages_need_the_same_basic_auth_as_metrics(site: SimSite, tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  tech: '{hashed}'\n")
    agent, group = make_agent(site, tmp_path / "web.yml")
    await agent.start()
    try:
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        device = f"{site.miners[0].ip}:{site.miners[0].port}"
        paths = ("/", "/floor.css", f"/miner/{device}", "/api/v1/summary", "/api/v1/miners", f"/api/v1/miners/{device}",
                 "/api/v1/racks", "/api/v1/todo")
        ok = {"Authorization": "Basic " + base64.b64encode(b"tech:pw").decode()}
        await agent.scheduler.run_cycle(group)
        async with aiohttp.ClientSession() as http:
            for path in paths:
                async with http.get(base + path) as r:
                    assert r.status == 401, path
                async with http.get(base + path, headers=ok) as r:
                    assert r.status == 200, path
                async with http.post(base + path, headers=ok) as r:
                    assert r.status == 405, path  # read-only: nothing is posted to the floor view
    finally:
        await agent.stop()


def test_a_pool_the_site_does_not_use_is_an_unknown_pool() -> None:
    site_pools = {"pool.example:3333", "backup.example"}
    ours = [Pool("stratum+tcp://Pool.Example:3333", status="alive", index=0, active=True),
            Pool("stratum+tcp://backup.example:443", status="alive", index=1, active=False)]
    assert texts(reading(pools=ours)) == []
    assert [p.text for p in reading_problems(reading(pools=ours), 4, site_pools)] == []
    hijacked = [Pool("stratum+tcp://w1@evil.example:3333", status="alive", index=0, active=True), ours[1]]
    got = reading_problems(reading(pools=hijacked), 4, site_pools)
    assert [(p.text, p.severity) for p in got] == [("unknown pool evil.example:3333", "fault")]


def test_pools_in_the_config_and_their_problems_name_file_line_key(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text('site: s\nminers:\n  - targets: ["10.0.0.1"]\n'
                                        'pools:\n  - stratum+tcp://ss.antpool.com:3333\n  - "not a url/"\n')
    problems = [str(p) for p in check_config(tmp_path / "site.yaml", check_secrets=False)]
    assert len(problems) == 1 and "site.yaml:6" in problems[0] and "pools[1]" in problems[0], problems


async def test_miners_on_pools_the_site_does_not_list_are_on_the_todo_list(site: SimSite, tmp_path: Path) -> None:
    listed = ["stratum+tcp://btc.global.luxor.tech:700", "ss.antpool.com:3333", "stratum.braiins.com:3333",
              "stratum+tcp://btc.f2pool.com:1314"]  # not sha256.poolbinance.com:443
    targets = [m.ip for m in site.miners[:12]]
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "pools", "listen": "127.0.0.1:10999", "gpus": {"enabled": False}, "pools": listed,
        "miners": [{"targets": targets, "timeout": "2s", "interval": "60s"}]}))
    agent = agent_from_config(tmp_path / "site.yaml")
    for g in agent.groups:
        await agent.scheduler.run_cycle(g)
    rows = {r.device: r for r in todo(agent.floor.current().rows)}
    expected = {f"{m.ip}:{m.port}" for m in site.miners[:12]
                if any("poolbinance" in p["url"] for p in m.truth()["pools"])}
    assert expected and set(rows) == expected
    assert all(r.reason == "unknown pool sha256.poolbinance.com:443" for r in rows.values())


async def test_without_a_site_map_the_miners_are_a_list_and_nothing_a_miner_says_becomes_markup(
        site: SimSite) -> None:
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners[:6]]
    group = MinerGroup(name="plain", sessions=sessions, interval=30.0, timeout=10.0)
    agent = Agent(site="<b>site</b>", groups=[group], listen="127.0.0.1:0")
    await agent.scheduler.run_cycle(group)
    state = agent.store.devices[sessions[0].device]
    assert state.reading is not None
    state.reading.pools[0].url = "stratum+tcp://x<script>alert(1)</script>:3333"
    state.identity.model = state.reading.model = "<img src=x onerror=alert(1)>"
    # The cycle's end already woke the floor thread, which may have built the model before the edits above: say
    # the store changed, as the agent does after each render, so the page is built from what the miner now says.
    agent.floor.changed()
    floor = agent.floor.current()
    agent.floor.close()
    page = index_page(floor, {})
    assert "Miners without a site-map location" in page and "<table class='grid" not in page
    assert page.count("href='/miner/") == 6
    mpage = miner_page(floor.by_device[sessions[0].device], state.reading.to_json(), [], 5.0)
    for text in (page, mpage):
        assert "<script>" not in text and "<img" not in text and "<b>site</b>" not in text
    assert "&lt;script&gt;" in mpage, mpage
    assert "&lt;img src=x" in page, page


def test_racks_and_shelves_sort_the_way_people_number_them() -> None:
    # Mixed names must sort without comparing a number to a word (a site map has "10", "A1" and "R9" alike).
    assert sorted(["R10", "R9", "A1", "1", "B", "10a", "10", ""], key=natural) == [
        "", "1", "10", "10a", "A1", "B", "R9", "R10"]
