"""The floor view in a real browser (Debian's headless Chromium) at phone width, on the demo's simulated site.

What a technician sees, checked the way they see it: the to-do list holds exactly the miners the simulator
broke (by its faults and ground truth); the rack-grid cell of a miner with a dead fan is red and names the fan;
the page fits 390 px without sideways scrolling; nothing is fetched from anywhere but the agent; and from `/`
two taps (the rack, then the red cell) or one (the to-do entry) open a page that says the miner's rack, shelf,
slot and what is wrong. Set FARMWATCH_SCREENSHOTS=docs to refresh the README's screenshots from this run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import aiohttp
import pytest

from agent.daemon import Agent
from agent.demo import run_demo, started
from simsite import SimSite
from simsite.miner import SimMiner
from tests.support.browser import CHROMIUM, Chromium

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Debian package chromium not installed"),
              pytest.mark.slow]

MINERS = 48  # two racks of 4 shelves x 6 slots
FAULTS = {"hang": 1 / MINERS, "refuse": 1 / MINERS, "malformed": 1 / MINERS, "sleeping": 1 / MINERS,
          "missing_board": 2 / MINERS, "dead_fan": 2 / MINERS}
RED = "rgb(224, 48, 43)"  # .bad in floor.css
GREEN = "rgb(46, 157, 79)"  # .hashing


def broken(site: SimSite) -> dict[str, tuple[SimMiner, str]]:
    """The simulator's broken miners and what its ground truth says is wrong with each."""
    out = {}
    for m in site.miners:
        device = f"{m.ip}:{m.port}"
        if m.fault in ("hang", "refuse", "malformed"):
            out[device] = (m, "down")
        elif m.fault in ("missing_board", "dead_fan"):
            truth = m.truth()
            if m.fault == "dead_fan" and 0 in truth["fans_rpm"]:
                out[device] = (m, f"fan {truth['fans_rpm'].index(0) + 1} dead")
            elif m.fault == "missing_board":
                empty = [b["index"] for b in truth["boards"] if b["chips"] == 0]
                out[device] = (m, f"board {empty[0] + 1} missing")
    return out


async def settled(base: str, expected_up: int, expected_down: int) -> None:
    """Until every miner has been polled, every PDU read, and the outlets' power is on the to-do list."""
    async with aiohttp.ClientSession() as http:
        for _ in range(240):
            async with http.get(f"{base}/api/v1/summary") as r:
                s = await r.json()
            if (s["miners_up"], s["miners_by_state"].get("down")) == (expected_up, expected_down) \
                    and s["devices_up"].get("pdu", {}).get("up") == 2:
                # The floor model joins outlet power when it rebuilds after a miner cycle: a PDU read after the
                # last rebuild is on the page only from the next one (seen under load).
                async with http.get(f"{base}/api/v1/todo") as r:
                    todo = (await r.json())["todo"]
                if todo and all(t["outlet_power_w"] is not None for t in todo):
                    return
            await asyncio.sleep(0.5)
    raise AssertionError(f"the demo did not settle: {s}")


async def test_a_technician_finds_the_broken_miners_on_a_phone(tmp_path: Path) -> None:
    sites: list[SimSite] = []
    got: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(run_demo(miners=MINERS, seed=7, listen="127.0.0.1:0", interval=3.0,
                                        base_ip="127.151.0.1", snmp_base_ip="127.151.2.1", snmp_port=16172,
                                        faults=FAULTS, on_site=sites.append, on_agent=got.set_result))
    try:
        agent = await started(demo, got)
        assert agent.bound is not None
        base = f"http://127.0.0.1:{agent.bound[1]}"
        wrong = broken(sites[0])
        fans = [d for d, (_m, why) in wrong.items() if why.startswith("fan")]
        assert fans and any(why.startswith("board") for _m, why in wrong.values())
        await settled(base, MINERS - 3, 3)
        victim = fans[0]
        fan_text = wrong[victim][1]

        async with Chromium(tmp_path) as browser:
            page = await browser.page()
            await page.phone()
            await page.goto(base + "/")
            shots = tmp_path / "shots"
            shots.mkdir()
            await page.screenshot(shots / "floor-phone.png")

            # The to-do list: exactly the simulator's broken miners, each with its place and reason.
            listed = await page.js("[...document.querySelectorAll('#todo li')].map(li => li.dataset.device)")
            assert sorted(listed) == sorted(wrong), (sorted(listed), sorted(wrong))
            item = await page.js(f"document.querySelector('#todo li[data-device=\"{victim}\"]').innerText")
            assert fan_text in item and "shelf" in item and "slot" in item and "draws" in item

            # The rack grid: the victim's cell is red and names the dead fan; a healthy miner's cell is green.
            cell = await page.js(f"""(() => {{ const td = document.querySelector('td[data-device="{victim}"]');
                return [getComputedStyle(td).backgroundColor, td.innerText]; }})()""")
            assert cell[0] == RED and fan_text in cell[1]
            healthy = next(f"{m.ip}:{m.port}" for m in sites[0].miners if m.fault is None)
            assert await page.js(f"""getComputedStyle(document.querySelector('td[data-device="{healthy}"]'))
                .backgroundColor""") == GREEN

            # Phone width: nothing wider than the screen (the page never scrolls sideways).
            width, scroll = await page.js("[window.innerWidth, document.documentElement.scrollWidth]")
            assert width == 390 and scroll <= width
            # It reloads itself once a poll interval (3 s here; at least every 5 s), keeping its filters.
            assert await page.js("document.querySelector('meta[http-equiv=refresh]').content") == "5"

            # Two taps from /: the victim's rack, then its red cell.
            m = wrong[victim][0]
            async with aiohttp.ClientSession() as http, http.get(f"{base}/api/v1/miners/{victim}") as r:
                loc = (await r.json())["location"]
            await page.goto(base + "/")
            await page.tap(f"#racks .rack h3 a[href*='rack={loc['rack']}']")
            await page.js("document.querySelector('#racks').scrollIntoView()")
            await page.screenshot(shots / "floor-rack.png")
            await page.tap(f"td[data-device='{victim}'] a")
            where = await page.js("document.querySelector('#where').innerText")
            assert f"rack {loc['rack']}, shelf {loc['shelf']}, slot {loc['slot']}" in where
            assert fan_text in where
            assert await page.js("location.pathname") == f"/miner/{m.ip}:{m.port}"
            assert await page.js("document.documentElement.scrollWidth") <= 390
            await page.screenshot(shots / "floor-miner.png")

            # One tap from /: the to-do entry opens the same page.
            await page.goto(base + "/")
            await page.tap(f"#todo li[data-device='{victim}'] a")
            assert f"shelf {loc['shelf']}, slot {loc['slot']}" in await page.js(
                "document.querySelector('#where').innerText")

            # No request leaves the agent, and the pages name no other host.
            assert page.requests and all(u.startswith(base + "/") or u.startswith("data:") for u in page.requests), \
                page.requests
            for path in ("/", f"/miner/{victim}"):
                await page.goto(base + path)
                urls = await page.js("[...document.querySelectorAll('[href],[src],[action]')].map("
                                     "el => el.href || el.src || el.action)")
                assert all(u.startswith(base + "/") or u.startswith("data:") for u in urls), urls
        if os.environ.get("FARMWATCH_SCREENSHOTS"):
            for png in shots.iterdir():
                shutil.copy(png, Path(os.environ["FARMWATCH_SCREENSHOTS"]) / png.name)
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)

