"""Poll deadlines without a loop timer each (collectors/asic/deadline.py): a device that never answers times out at
its deadline, the earliest of many deadlines fires first whatever order they were armed in, a cancellation that is
not the deadline's (shutdown) goes through as a cancellation, nested deadlines each report their own, and what the
heap keeps stays bounded when thousands of exchanges finish in time. Over real sockets on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from collectors.asic import deadline, rpc
from collectors.errors import DeviceTimeout

pytestmark = pytest.mark.asyncio

SILENT = "127.97.0.1"  # accepts, reads, never answers
QUICK = "127.97.0.2"  # answers at once


@pytest.fixture
async def servers() -> AsyncIterator[None]:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    async def quick(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b'{"STATUS":[{"STATUS":"S","Msg":"Summary"}],"SUMMARY":[{"Elapsed":1}],"id":1}\x00')
        await writer.drain()
        writer.close()

    a = await asyncio.start_server(silent, SILENT, 4028)
    b = await asyncio.start_server(quick, QUICK, 4028)
    try:
        yield
    finally:
        for s in (a, b):
            s.close()
            await s.wait_closed()


async def test_a_device_that_never_answers_times_out_at_its_deadline(servers: None) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(DeviceTimeout, match="before the deadline"):
        await rpc.exchange(SILENT, 4028, rpc.request("summary"), deadline=start + 0.3)
    took = loop.time() - start
    assert 0.29 <= took < 2.0


async def test_the_earliest_deadline_fires_first_whatever_the_arming_order(servers: None) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    ended: dict[str, float] = {}

    async def wait(name: str, after: float) -> None:
        with pytest.raises(DeviceTimeout):
            await rpc.exchange(SILENT, 4028, rpc.request("summary"), deadline=start + after)
        ended[name] = loop.time() - start

    late = asyncio.create_task(wait("late", 1.2))
    await asyncio.sleep(0.05)  # armed after the late one, due before it: the loop timer is set earlier
    early = asyncio.create_task(wait("early", 0.3))
    await asyncio.gather(late, early)
    assert ended["early"] < 0.9 <= ended["late"]


async def test_a_cancellation_that_is_not_the_deadline_stays_a_cancellation(servers: None) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(rpc.exchange(SILENT, 4028, rpc.request("summary"), deadline=loop.time() + 5))
    await asyncio.sleep(0.1)
    task.cancel()  # the agent shutting down
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_nested_deadlines_each_report_their_own(servers: None) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    # The outer deadline (an optional part's share of the time) comes first: it is the outer one that fires, and
    # the exchange inside, whose own deadline is later, is simply cancelled.
    with pytest.raises(TimeoutError):
        async with deadline.expires_at(start + 0.2):
            await rpc.exchange(SILENT, 4028, rpc.request("summary"), deadline=start + 5)
    assert loop.time() - start < 2.0
    # The inner one comes first: the exchange reports its own timeout and the outer deadline stays quiet.
    with pytest.raises(DeviceTimeout):
        async with deadline.expires_at(start + 10):
            await rpc.exchange(SILENT, 4028, rpc.request("summary"), deadline=loop.time() + 0.2)
    # And after both, the task is not left with a cancel request: the next await runs normally.
    await asyncio.sleep(0.01)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_exchanges_that_finish_in_time_leave_a_bounded_heap_and_no_late_cancel(servers: None) -> None:
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(200)

    async def one() -> bytes:
        async with limit:
            return await rpc.exchange(QUICK, 4028, rpc.request("summary"), deadline=loop.time() + 30)

    replies = await asyncio.gather(*(one() for _ in range(6000)))
    assert all(r.endswith(b"\x00") for r in replies)
    wheel = deadline._wheel(loop)
    assert wheel.armed == 0
    # 6,000 finished exchanges whose deadlines are still 30 s away: what the heap keeps is compacted away.
    assert len(wheel.heap) <= deadline.COMPACT_FACTOR * 200 + deadline.COMPACT_FLOOR + 1
    await asyncio.sleep(0.05)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
