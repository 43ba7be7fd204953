"""The cgminer transport over real loopback sockets: framing, repairs, joins, deadlines, failures."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable

import pytest

from collectors.asic import rpc
from collectors.errors import DeviceRefused, DeviceReset, DeviceTimeout, ParseError, ProtocolError
from tests.support.replay import ReplayMiner

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

SUMMARY = b'{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary","Description":"cgminer 4.9.0"}],"SUMMARY":[{"Elapsed":10,"GHS 5s":"15656.60"}],"id":1}'
POOLS = b'{"STATUS":[{"STATUS":"S","When":1,"Code":7,"Msg":"1 Pool(s)","Description":"cgminer 4.9.0"}],"POOLS":[{"POOL":0,"URL":"stratum+tcp://p:3333"}],"id":1}'


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def deadline(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


def test_decode_repairs_only_known_malformations() -> None:
    joined = b'{"STATUS":[{"STATUS":"S"}],"STATS":[{"Type":"Antminer S9"}{"GHS 5s":"1.0"}],"id":1}\x00'
    assert rpc.decode_reply(joined)["STATS"][1]["GHS 5s"] == "1.0"
    trailing = b'{"STATUS":[{"STATUS":"S"}],"VERSION":[{"Type":"Antminer S9k"}],"id":1}"}'
    assert rpc.decode_reply(trailing)["VERSION"][0]["Type"] == "Antminer S9k"
    bad_escape = b'{"SUMMARY":[{"Firmware Version":"\\\'20200917.22.REL\\\'"}]}'
    assert rpc.decode_reply(bad_escape)["SUMMARY"][0]["Firmware Version"] == "'20200917.22.REL'"
    # NaN stays NaN (unknown downstream), never silently 0.
    assert rpc.decode_reply(b'{"SUMMARY":[{"MHS 1m":NaN}]}')["SUMMARY"][0]["MHS 1m"] != 0


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"", ProtocolError),
        (b"<html><body>401</body></html>", ProtocolError),
        (b'{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":1', ParseError),
        (b"\xff\xfe\x00garbage", ProtocolError),
        (b"[" * 100000, ProtocolError),
        (b'{"a":' * 100000, ParseError),
    ],
)
def test_decode_rejects_what_it_cannot_read(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        rpc.decode_reply(raw)


def test_text_format_reply() -> None:
    text = b"STATUS=S,When=1,Code=22,Msg=CGMiner versions,Description=cgminer 4.11.1|VERSION,CGMiner=4.11.1,PROD=Avalon Mini3,MAC=e0e1a93e2c7d|"
    reply = rpc.decode_reply(text)
    assert reply["VERSION"][0]["PROD"] == "Avalon Mini3"
    assert rpc.status_of(reply) == ("S", "CGMiner versions")


def test_request_refuses_writes() -> None:
    for command in ("ascset", "restart", "switchpool", "summary+restart", "quit"):
        with pytest.raises(ValueError):
            rpc.request(command)
    assert json.loads(rpc.request("summary+pools")) == {"command": "summary+pools"}


async def test_join_is_one_connection_and_fallback_to_singles() -> None:
    async with ReplayMiner({"summary": SUMMARY, "pools": POOLS}) as m:
        out = await rpc.fetch(m.host, m.port, ["summary", "pools"], deadline=deadline(2))
        assert out["summary"]["SUMMARY"][0]["GHS 5s"] == "15656.60"
        assert out["pools"]["POOLS"][0]["URL"] == "stratum+tcp://p:3333"
        assert [json.loads(r)["command"] for r in m.requests] == ["summary+pools"]
    async with ReplayMiner({"summary": SUMMARY, "pools": POOLS}, joins=False) as m:
        out = await rpc.fetch(m.host, m.port, ["summary", "pools"], deadline=deadline(2))
        assert set(out) == {"summary", "pools"}
        assert [json.loads(r)["command"] for r in m.requests] == ["summary+pools", "summary", "pools"]


async def test_rejected_command_is_left_out() -> None:
    async with ReplayMiner({"summary": SUMMARY}) as m:
        out = await rpc.fetch(m.host, m.port, ["summary", "devdetails"], deadline=deadline(2))
        assert set(out) == {"summary"}


async def test_hang_times_out_at_the_deadline() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server, port = await serve(hang)
    try:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout):
            await rpc.exchange("127.0.0.1", port, rpc.request("summary"), deadline=deadline(0.3))
        assert time.monotonic() - t0 < 1.0
    finally:
        server.close()


async def test_slowloris_bounded_by_the_deadline() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(100):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    server, port = await serve(drip)
    try:
        with pytest.raises(DeviceTimeout):
            await rpc.exchange("127.0.0.1", port, rpc.request("summary"), deadline=deadline(0.4))
    finally:
        server.close()


async def test_refused() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(DeviceRefused):
        await rpc.exchange("127.0.0.1", port, rpc.request("summary"), deadline=deadline(1))


async def test_reset_mid_reply() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(SUMMARY[:40])
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server, port = await serve(reset)
    try:
        with pytest.raises(DeviceReset):
            await rpc.exchange("127.0.0.1", port, rpc.request("summary"), deadline=deadline(1))
    finally:
        server.close()


async def test_flood_is_cut_at_the_size_limit() -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunk = b"x" * 65536
        try:
            for _ in range(200):  # 13 MB at most
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass

    server, port = await serve(flood)
    try:
        with pytest.raises(ProtocolError, match="larger than"):
            await rpc.exchange("127.0.0.1", port, rpc.request("summary"), deadline=deadline(5), max_bytes=1 << 20)
    finally:
        server.close()
