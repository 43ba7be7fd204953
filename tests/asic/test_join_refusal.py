"""A stock Antminer whose RPC refuses joined commands (simsite variant ``no_join``, as some S19j Pro bmminer builds
answer "summary+stats" with "Invalid command") is read exactly, and from its second poll on without the doomed
join: one connection per command instead of one more each cycle (issue 16: CPU per miner on such fleets)."""

from __future__ import annotations

import asyncio

import pytest

from collectors.asic.poll import MinerSession, poll
from simsite import SimSite


async def test_a_join_refusing_antminer_is_read_and_not_asked_to_join_again() -> None:
    site = SimSite.build(count=6, seed=13, base_ip="127.118.16.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    m = next(x for x in site.miners if x.model != "S9")
    site.set_variant(m.ip, "no_join")
    async with site:
        session = MinerSession(host=m.ip, port=m.port)
        loop = asyncio.get_running_loop()
        first = await poll(session, deadline=loop.time() + 5)
        served = site.served
        second = await poll(session, deadline=loop.time() + 5)
        asked_second = site.served - served
        truth = m.truth()
    for r in (first, second):
        assert r.driver == "antminer" and r.notes == []
        assert r.hashrate_ths == pytest.approx(truth["hashrate_ths"], rel=1e-6)
        assert [b.chips for b in r.boards] == [b["chips"] for b in truth["boards"]]
    assert asked_second == len(session.driver.commands) + len(session.driver.single_commands)  # type: ignore[union-attr]


async def test_a_refused_identity_join_does_not_split_the_values_join() -> None:
    """btminer joins ``summary+devs+pools`` but refuses ``get_*`` inside a join, so its identity join is refused:
    that refusal is remembered for the identity join alone, and every cycle still reads the values in one joined
    connection plus its single commands (two for a hashing miner, not five)."""
    site = SimSite.build(count=4, seed=5, base_ip="127.118.17.1", mix={"whatsminer": 1.0}, latency_ms=(0.5, 1.0))
    m = site.miners[0]
    async with site:
        session = MinerSession(host=m.ip, port=m.port)
        loop = asyncio.get_running_loop()
        first = await poll(session, deadline=loop.time() + 5)
        asked = []
        for _ in range(2):
            site.clear_requests()
            r = await poll(session, deadline=loop.time() + 5)
            asked.append(sorted("+".join(req.commands) for req in site.requests))
        truth = m.truth()
    assert first.driver == r.driver == "whatsminer" and r.notes == []
    assert r.hashrate_ths == pytest.approx(truth["hashrate_ths"], rel=1e-6)
    assert r.model == first.model and r.mac == first.mac and r.model
    assert asked == [["get_error_code", "summary+devs+pools"]] * 2


async def test_a_hashing_whatsminer_is_not_asked_whether_it_is_switched_off() -> None:
    """btminer's ``status`` (mineroff) only tells a switched-off Whatsminer from a broken one, and both show a 5 s
    rate of 0: a miner hashing now is read without it (two connections a cycle: the joined values and
    ``get_error_code``); one that stops hashing is asked again, and one switched off reads as sleeping."""
    site = SimSite.build(count=4, seed=5, base_ip="127.118.18.1", mix={"whatsminer": 1.0}, latency_ms=(0.5, 1.0))
    m = site.miners[0]
    async with site:
        session = MinerSession(host=m.ip, port=m.port)
        loop = asyncio.get_running_loop()
        await poll(session, deadline=loop.time() + 5)  # identification and the first read
        site.clear_requests()
        hashing = await poll(session, deadline=loop.time() + 5)
        asked_hashing = [c for r in site.requests for c in r.commands]
        site.set_fault(m.ip, "sleeping")
        site.clear_requests()
        off = await poll(session, deadline=loop.time() + 5)
        asked_off = [c for r in site.requests for c in r.commands]
    assert hashing.state == "hashing" and not hashing.sleeping and hashing.notes == []
    assert hashing.firmware_version and hashing.errors is not None
    assert sorted(asked_hashing) == ["devs", "get_error_code", "pools", "summary"]
    assert off.sleeping and off.state == "sleeping"
    assert "status" in asked_off
