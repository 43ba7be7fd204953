"""One miner cannot get the whole agent dropped by Prometheus (issue 11, finding 3): pools, boards, fans and
strings are bounded per device, what was cut is visible, and no two samples share a series.

The miner is read over a real socket: a replay server answers with a simulated Antminer's own replies, except
for the hostile part."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from agent.daemon import Agent
from agent.exposition import render
from collectors.asic import bounds, rpc
from collectors.asic.group import MinerGroup
from collectors.asic.metrics import miner_families
from collectors.asic.poll import MinerSession, poll
from collectors.asic.reading import MinerReading
from collectors.asic.store import MinerStore
from collectors.families import Families
from simsite import SimSite
from tests.support.prom import PROMETHEUS, Prometheus, eventually, scrape_config
from tests.support.replay import ReplayMiner

_COMMANDS = ("version", "devdetails", "stats", "summary", "pools", "estats", "config")


def _antminer_replies() -> dict[str, bytes]:
    site = SimSite.build(count=1, seed=5, base_ip="127.134.0.1", mix={"antminer": 1.0})
    m = site.miners[0]
    return {c: site.render(m, rpc.request(c)) for c in _COMMANDS}


def _pools_reply(entries: list[dict[str, object]]) -> bytes:
    status = [{"STATUS": "S", "When": 1, "Code": 7, "Msg": f"{len(entries)} Pool(s)", "Description": "cgminer 4.9.2"}]
    return json.dumps({"STATUS": status, "POOLS": entries, "id": 1}, separators=(",", ":")).encode()


def _pool(i: int, index: int | None = None, url: str | None = None) -> dict[str, object]:
    return {"POOL": i if index is None else index, "URL": url or f"stratum+tcp://p{i}.example:3333",
            "Status": "Alive", "User": "w", "Accepted": i, "Rejected": 0, "Stale": 0}


async def _read(pools_reply: bytes) -> MinerReading:
    replies = {**_antminer_replies(), "pools": pools_reply}
    async with ReplayMiner(replies, description="cgminer 1.0.0", pace=None) as srv:
        loop = asyncio.get_running_loop()
        return await poll(MinerSession(host=srv.host, port=srv.port, driver_name="antminer"), deadline=loop.time() + 20)


def _samples(reading: MinerReading) -> list[str]:
    store = MinerStore()
    store.record_success(reading.device, reading)
    fams = Families()
    miner_families(fams, store)
    text = render(list(fams)).text.decode()
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def _series(line: str) -> str:
    return line.rsplit(" ", 1)[0]


async def test_30000_pools_add_a_bounded_number_of_samples_and_say_so() -> None:
    normal = _samples(await _read(_pools_reply([_pool(i) for i in range(3)])))
    bomb = await _read(_pools_reply([_pool(i) for i in range(30_000)]))
    samples = _samples(bomb)
    assert len(bomb.pools) == bounds.MAX_POOLS
    assert len(samples) <= bounds.MAX_SAMPLES_PER_MINER
    assert len(samples) - len(normal) <= 6 * (bounds.MAX_POOLS - 3) + 1  # the pools kept, and the marker
    assert any(s.startswith("farmwatch_miner_truncated_info{") and 'part="pools"' in s for s in samples)
    assert any("30000 pools reported" in n for n in bomb.notes)
    assert len({_series(s) for s in samples}) == len(samples)


async def test_pools_sharing_one_index_never_make_duplicate_series() -> None:
    reading = await _read(_pools_reply([_pool(i, index=0) for i in range(5)]))
    samples = _samples(reading)
    pool_up = [s for s in samples if s.startswith("farmwatch_miner_pool_up{")]
    assert len(pool_up) == 5  # all five kept, each its own series
    assert len({_series(s) for s in samples}) == len(samples)
    assert any('part="pool_index"' in s for s in samples if s.startswith("farmwatch_miner_truncated_info{"))


async def test_a_3_5_mb_pool_url_never_reaches_a_label() -> None:
    reading = await _read(_pools_reply([_pool(0, url="stratum+tcp://" + "a" * 3_500_000)]))
    samples = _samples(reading)
    longest = max(len(v) for s in samples for v in re.findall(r'="((?:[^"\\]|\\.)*)"', s))
    assert longest <= bounds.MAX_STRING
    assert any('part="strings"' in s for s in samples if s.startswith("farmwatch_miner_truncated_info{"))
    assert sum(len(s) for s in samples) < 64 * 1024


def test_boards_and_fans_are_bounded_and_board_indexes_unique() -> None:
    from collectors.asic.normalize import finalize
    from collectors.asic.reading import Board

    r = MinerReading(device="127.0.0.9:4028", driver="antminer", hashrate_ths=1.0,
                     boards=[Board(index=i % 40) for i in range(400)], fans_rpm=[3000] * 5000)
    finalize(r)
    assert len(r.boards) == bounds.MAX_BOARDS and len({b.index for b in r.boards}) == bounds.MAX_BOARDS
    assert len(r.fans_rpm) == bounds.MAX_FANS
    assert {"boards", "fans"} <= set(r.truncated)
    samples = _samples(r)
    assert len(samples) <= bounds.MAX_SAMPLES_PER_MINER
    assert len({_series(s) for s in samples}) == len(samples)


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian package prometheus not installed")
async def test_a_real_prometheus_with_sample_limit_keeps_scraping_the_site(tmp_path: Path) -> None:
    """The README's sizing (``sample_limit`` = 60 per miner + 1,000) holds with one miner reporting 30,000
    pools and 1,000-character label limits: the agent stays up in Prometheus, the bomb miner's pools are cut."""
    site = SimSite.build(count=10, seed=12, base_ip="127.134.1.1", latency_ms=(1.0, 2.0))
    await site.start()
    replies = {**_antminer_replies(), "pools": _pools_reply([_pool(i) for i in range(30_000)])}
    bomb = ReplayMiner(replies, host="127.134.2.1", description="cgminer 1.0.0", pace=None)
    await bomb.__aenter__()
    sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners]
    sessions.append(MinerSession(host=bomb.host, port=bomb.port, driver_name="antminer"))
    group = MinerGroup(name="it", sessions=sessions, interval=2.0, timeout=1.5)
    agent = Agent(site="it", groups=[group], listen="127.0.0.1:0")
    await agent.start()
    assert agent.bound is not None
    config = scrape_config([f"127.0.0.1:{agent.bound[1]}"])
    limit = 60 * len(sessions) + 1000
    config["scrape_configs"][0].update(sample_limit=limit, label_value_length_limit=1024)
    prom = await asyncio.to_thread(Prometheus, tmp_path, config)
    try:
        await eventually(lambda: len(prom.query("farmwatch_miner_up == 1")) == len(sessions), timeout=40)
        assert prom.targets()[0]["health"] == "up"
        scraped = float(prom.query("scrape_samples_scraped")[0]["value"][1])
        assert scraped <= limit
        cut = prom.query(f'farmwatch_miner_truncated_info{{device="{bomb.host}:{bomb.port}",part="pools"}}')
        assert cut
    finally:
        await asyncio.to_thread(prom.stop)
        await agent.stop()
        await bomb.__aexit__()
        await site.stop()
