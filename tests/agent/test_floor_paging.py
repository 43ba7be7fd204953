"""The floor view's JSON lists in pages, over real HTTP on loopback against a simulated site.

What a tool walking a big site relies on: following ``next`` from the first page returns every miner exactly
once, in a fixed order, with its filters kept; a miner fixed while the tool walks the to-do list makes it skip
nobody; a small site still gets everything in one reply; a bad ``limit`` or ``cursor`` is a clear 400.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from agent.daemon import Agent
from agent.demo import DemoSiteMap
from agent.floor.model import natural
from agent.floor.paging import DEFAULT_LIMIT, MAX_LIMIT
from collectors.asic.group import MinerGroup
from collectors.asic.poll import MinerSession
from simsite import SimSite

COUNT = 30


@pytest.fixture
async def running() -> AsyncIterator[tuple[SimSite, Agent, MinerGroup, str]]:
    site = SimSite.build(count=COUNT, seed=23, base_ip="127.167.0.1", latency_ms=(1.0, 3.0))
    for i in (2, 11, 17, 25):  # four miners on the to-do list: two refusing, two answering garbage
        site.set_fault(site.miners[i].ip, "refuse" if i % 2 else "malformed")
    await site.start()
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    group = MinerGroup(name="paging", sessions=sessions, interval=10.0, timeout=3.0)
    # Containers A (miners 0-19) and B; every miner on its own rack and shelf so the to-do order is by place.
    rows = {m.ip: {"container": "A" if i < 20 else "B", "rack": f"R{i // 10 + 1}", "shelf": str(i % 10 + 1),
                   "slot": "1"} for i, m in enumerate(site.miners)}
    agent = Agent(site="paging-test", groups=[group], listen="127.0.0.1:0", sitemap=DemoSiteMap(rows))
    await agent.start()
    try:
        await agent.scheduler.run_cycle(group)
        await agent.refresh()
        assert agent.bound is not None
        yield site, agent, group, f"http://127.0.0.1:{agent.bound[1]}"
    finally:
        await agent.stop()
        await site.stop()


async def walk(http: aiohttp.ClientSession, base: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every page from the first, following ``next`` as a client would."""
    pages = []
    url: str | None = base + path
    first = True
    while url is not None:
        async with http.get(url, params=params if first else None) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        first = False
        pages.append(body)
        assert len(pages) <= COUNT + 1, "the pages never end"
        url = base + body["next"] if body["next"] is not None else None
        assert (body["next"] is None) == (body["next_cursor"] is None)
    return pages


async def test_following_next_returns_every_miner_once_in_device_order(
        running: tuple[SimSite, Agent, MinerGroup, str]) -> None:
    site, _agent, _group, base = running
    every = sorted((f"{m.ip}:{m.port}" for m in site.miners), key=lambda d: (natural(d), d))
    async with aiohttp.ClientSession() as http:
        pages = await walk(http, base, "/api/v1/miners", {"limit": "7"})
        assert [len(p["miners"]) for p in pages] == [7, 7, 7, 7, 2]
        assert all(p["count"] == COUNT and p["limit"] == 7 for p in pages)
        assert [m["device"] for p in pages for m in p["miners"]] == every  # 127.167.0.2 before 127.167.0.10

        # A small site gets everything in one reply, as before paging: no limit needed, no next page.
        async with http.get(f"{base}/api/v1/miners") as r:
            whole = await r.json()
        assert COUNT < DEFAULT_LIMIT
        assert [m["device"] for m in whole["miners"]] == every and whole["next"] is None and whole["limit"] == DEFAULT_LIMIT

        # Filters stay on every page: the next link carries them.
        pages = await walk(http, base, "/api/v1/miners", {"container": "B", "limit": "4"})
        got = [m for p in pages for m in p["miners"]]
        assert len(got) == 10 and {m["location"]["container"] for m in got} == {"B"}
        assert all("container=B" in p["next"] for p in pages[:-1]) and len(pages) == 3
        pages = await walk(http, base, "/api/v1/miners", {"state": "down", "limit": "1"})
        assert [m["state"] for p in pages for m in p["miners"]] == ["down"] * 4


async def test_a_miner_fixed_while_walking_the_todo_list_makes_nobody_skipped(
        running: tuple[SimSite, Agent, MinerGroup, str]) -> None:
    site, agent, group, base = running
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/v1/todo") as r:
            full = [t["device"] for t in (await r.json())["todo"]]
        assert len(full) == 4
        async with http.get(f"{base}/api/v1/todo", params={"limit": "2"}) as r:
            first = await r.json()
        assert [t["device"] for t in first["todo"]] == full[:2] and first["count"] == 4
        # The technician fixes the first miner of the list; the next cycle drops it from the to-do list.
        fixed = next(m for m in site.miners if f"{m.ip}:{m.port}" == full[0])
        site.set_fault(fixed.ip, None)
        agent.store.devices[full[0]].next_attempt = 0.0  # poll it now, not after its backoff
        await agent.scheduler.run_cycle(group)
        await agent.refresh()
        async with http.get(base + first["next"]) as r:
            second = await r.json()
        # With offsets the list shifted by one under the walk and the third entry was never shown.
        assert [t["device"] for t in second["todo"]] == full[2:] and second["count"] == 3
        assert second["next"] is None


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "-3"}, {"limit": "ten"}, {"limit": str(MAX_LIMIT + 1)},
                                   {"cursor": "not a cursor"}, {"cursor": "W10"}, {"cursor": "WzEsMiwzXQ"}, {"cursor": "WzVd"}])
async def test_a_bad_limit_or_cursor_is_a_clear_400(running: tuple[SimSite, Agent, MinerGroup, str],
                                                    query: dict[str, str]) -> None:
    _site, _agent, _group, base = running
    async with aiohttp.ClientSession() as http:
        for path in ("/api/v1/miners", "/api/v1/todo"):
            async with http.get(base + path, params=query) as r:
                assert r.status == 400, (path, query)
                error = (await r.json())["error"]
            assert ("limit must be a whole number from 1 to" in error) if "limit" in query else error.startswith("bad cursor")
        # A cursor from one list is no cursor for the other.
        async with http.get(f"{base}/api/v1/miners", params={"limit": "1"}) as r:
            cursor = (await r.json())["next_cursor"]
        async with http.get(f"{base}/api/v1/todo", params={"cursor": cursor}) as r:
            assert r.status == 400
        async with http.get(f"{base}/api/v1/miners", params={"limit": str(MAX_LIMIT), "cursor": cursor}) as r:
            assert r.status == 200 and len((await r.json())["miners"]) == COUNT - 1
