"""Replies delivered the way a network delivers them (issue 11, finding 1).

Loopback hands a reply over in one piece; a LAN hands it over in 1,460-byte TCP segments that arrive
milliseconds apart. Every transport (cgminer RPC, HTTP through aiohttp, the bare HTTP/1.0 probe, Whatsminer
API 3) must read to the reply's end (NUL, Content-Length, last chunk, frame length or EOF) and must tell a reply
that was cut short (``protocol``) from one that was reset (``reset``)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from collectors.asic import api3, http, rpc
from collectors.asic.http import PlainSecret, WebCredentials, close_session
from collectors.asic.poll import MinerSession, poll
from collectors.errors import DeviceError
from simsite import SimSite
from simsite.firmwares import names

DEFAULTS = WebCredentials(use_default_password=True)
SEGMENT = 1400  # bytes per piece: a LAN segment's payload, rounded down
GAP_S = 0.03  # between pieces


def _every_firmware(net: int, per_firmware: int) -> SimSite:
    """``per_firmware`` miners of every simulated firmware (each model mix the firmware has), one site.
    poll_gap_s: the miners keep one poll's values for the whole test, so both reads see the same bytes."""
    miners = [m for i, fw in enumerate(names())
              for m in SimSite.build(count=per_firmware, seed=17 + i, base_ip=f"127.131.{net + i}.1",
                                     mix={fw: 1.0}, latency_ms=(0.0, 0.0)).miners]
    return SimSite(miners, poll_gap_s=1e9)


# Firmwares with no documented default password: the simulator takes any non-empty one.
SITE_PASSWORD = WebCredentials(password=PlainSecret("site-password"))


async def _read_all(site: SimSite) -> dict[str, dict[str, Any] | str]:
    loop = asyncio.get_running_loop()
    firmware = {m.ip: m.firmware for m in site.miners}

    async def one(ip: str, port: int) -> tuple[str, dict[str, Any] | str]:
        creds = SITE_PASSWORD if firmware[ip] in ("bitfury", "ebang") else DEFAULTS
        session = MinerSession(host=ip, port=port, credentials=creds)
        try:
            return ip, (await poll(session, deadline=loop.time() + 20)).to_json()
        except DeviceError as e:
            return ip, f"{e.reason}: {e}"

    return dict(await asyncio.gather(*(one(m.ip, m.port) for m in site.miners)))


@pytest.mark.parametrize(("segment", "gap_s", "net"), [(SEGMENT, GAP_S, 100), (200, 0.005, 130)])
async def test_every_firmware_reads_the_same_in_pieces(segment: int, gap_s: float, net: int) -> None:
    """The issue's "done": replies served in 1,400-byte pieces 30 ms apart read exactly as in one piece. The
    simulated web replies are mostly under 1,400 bytes, so 200-byte pieces split every one of them too (the real
    captures, several kB, are served in 1,400-byte pieces by the conformance servers)."""
    site = _every_firmware(net, 3)
    await site.start()
    try:
        whole = await _read_all(site)
        site.segment_bytes, site.segment_gap_s = segment, gap_s
        site.clear_requests()
        pieces = await _read_all(site)
        assert any(len(r.raw) and r.raw[:4] == b"GET " for r in site.requests)  # HTTP was exercised too
    finally:
        await close_session()
        await site.stop()
    assert all(isinstance(v, dict) for v in whole.values()), whole
    firmwares = {m.ip: m.firmware for m in site.miners}
    assert {firmwares[ip] for ip in whole} == set(names())
    for ip, reading in whole.items():
        assert pieces[ip] == reading, (firmwares[ip], ip)


async def _one_miner(fw: str, base_ip: str, fault: str | None = None, **kw: Any) -> SimSite:
    site = SimSite.build(count=1, seed=17, base_ip=base_ip, mix={fw: 1.0}, latency_ms=(0.0, 0.0),
                         poll_gap_s=1e9, segment_bytes=SEGMENT, segment_gap_s=0.01, **kw)
    await site.start()
    if fault is not None:
        site.set_fault(site.miners[0].ip, fault)
    return site


@pytest.mark.parametrize(("fw", "path"), [("bitaxe", "/api/system/info"), ("epic", "/summary")])
async def test_http_body_shorter_than_content_length_is_protocol_not_accepted(fw: str, path: str) -> None:
    site = await _one_miner(fw, "127.131.2.1" if fw == "bitaxe" else "127.131.3.1")
    m = site.miners[0]
    port = 80 if fw == "bitaxe" else 4028
    loop = asyncio.get_running_loop()
    try:
        whole = await http.request("GET", http.url(m.ip, port, path), deadline=loop.time() + 5)
        assert whole.json()  # the same reply, complete, reads
        site.set_fault(m.ip, "short_body")
        with pytest.raises(DeviceError) as e:
            await http.request("GET", http.url(m.ip, port, path), deadline=loop.time() + 5)
        assert e.value.reason == "protocol", e.value
        with pytest.raises(DeviceError) as e:  # the bare HTTP/1.0 probe that identification uses
            await http.raw_get(m.ip, port, path, deadline=loop.time() + 5)
        assert e.value.reason == "protocol", e.value
    finally:
        await close_session()
        await site.stop()


async def test_http_reset_mid_body_is_reset() -> None:
    site = await _one_miner("bitaxe", "127.131.4.1", "reset")
    m = site.miners[0]
    loop = asyncio.get_running_loop()
    try:
        with pytest.raises(DeviceError) as e:
            await http.request("GET", http.url(m.ip, 80, "/api/system/info"), deadline=loop.time() + 5)
        assert e.value.reason == "reset", e.value
    finally:
        await close_session()
        await site.stop()


async def test_api3_frame_longer_than_what_arrives_is_protocol_and_reset_is_reset() -> None:
    site = await _one_miner("whatsminer3", "127.131.5.1")
    m = site.miners[0]
    loop = asyncio.get_running_loop()
    try:
        ok = await api3.call(m.ip, "get.device.info", deadline=loop.time() + 5)
        assert ok["code"] == 0
        site.set_fault(m.ip, "short_body")
        with pytest.raises(DeviceError) as e:
            await api3.call(m.ip, "get.device.info", deadline=loop.time() + 5)
        assert e.value.reason == "protocol", e.value
        site.set_fault(m.ip, "reset")
        with pytest.raises(DeviceError) as e:
            await api3.call(m.ip, "get.device.info", deadline=loop.time() + 5)
        assert e.value.reason == "reset", e.value
    finally:
        await site.stop()


async def test_rpc_reply_in_pieces_is_read_to_its_nul_and_reset_is_reset() -> None:
    site = await _one_miner("antminer", "127.131.6.1")
    m = site.miners[0]
    loop = asyncio.get_running_loop()
    try:
        raw = await rpc.exchange(m.ip, m.port, rpc.request("summary+stats+pools"), deadline=loop.time() + 5)
        assert len(raw) > 2 * SEGMENT and raw.endswith(b"\x00")
        assert set(rpc.decode_reply(raw)) >= {"summary", "stats", "pools"}
        site.set_fault(m.ip, "reset")
        with pytest.raises(DeviceError) as e:
            await rpc.exchange(m.ip, m.port, rpc.request("stats"), deadline=loop.time() + 5)
        assert e.value.reason == "reset", e.value
    finally:
        await site.stop()


async def test_a_body_that_trickles_past_the_deadline_is_a_timeout() -> None:
    # Reading to the end must stay under the poll's deadline: 1,400-byte pieces 0.5 s apart, 1 s to read.
    site = SimSite.build(count=1, seed=17, base_ip="127.131.7.1", mix={"epic": 1.0}, latency_ms=(0.0, 0.0),
                         poll_gap_s=1e9, segment_bytes=200, segment_gap_s=0.5)
    await site.start()
    m = site.miners[0]
    loop = asyncio.get_running_loop()
    try:
        with pytest.raises(DeviceError) as e:
            await http.request("GET", http.url(m.ip, 4028, "/summary"), deadline=loop.time() + 1.0)
        assert e.value.reason == "timeout", e.value
    finally:
        await close_session()
        await site.stop()


def test_raw_http_response_shorter_than_announced_is_protocol() -> None:
    """The bare HTTP/1.0 probe reads to EOF; what arrived must still be what the headers promised."""
    whole = b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}'
    assert http.parse_raw_response(whole).json() == {"a": 1}
    with pytest.raises(DeviceError) as e:
        http.parse_raw_response(b'HTTP/1.1 200 OK\r\nContent-Length: 70\r\n\r\n{"a":1}')
    assert e.value.reason == "protocol"
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n'
    with pytest.raises(DeviceError) as e:  # no last (zero-size) chunk: the connection closed mid-body
        http.parse_raw_response(chunked)
    assert e.value.reason == "protocol"
    assert http.parse_raw_response(chunked + b"0\r\n\r\n").json() == {"a": 1}


async def test_chunked_reply_in_pieces_reads_whole() -> None:
    from tests.support.replay_web import ReplayWeb

    body = json.dumps({"pools": [{"url": f"stratum+tcp://pool{i}.example:3333", "accepted": i} for i in range(300)]})
    assert len(body) > 10 * SEGMENT
    loop = asyncio.get_running_loop()
    try:
        async with ReplayWeb({"/pools": body.encode()}, chunked=True, pace=(SEGMENT, 0.01)) as srv:
            got = await http.get_json(http.url(srv.host, srv.port, "/pools"), deadline=loop.time() + 5)
    finally:
        await close_session()
    assert got == json.loads(body)


async def test_idle_keep_alive_sockets_to_miners_are_released_after_the_poll() -> None:
    """A keep-alive connection left idle after a poll holds a descriptor outside the polling budget: released
    within seconds, not kept for a later poll it cannot serve (intervals are 15-60 s)."""
    from tests.support.replay_web import ReplayWeb

    def established(port: int) -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd")
                   if _peer_port(fd) == port)

    loop = asyncio.get_running_loop()
    try:
        async with ReplayWeb({"/x": b'{"a":1}'}, pace=None) as srv:
            await http.get_json(http.url(srv.host, srv.port, "/x"), deadline=loop.time() + 5)
            assert established(srv.port) == 1  # kept for the rest of the poll
            for _ in range(40):
                if established(srv.port) == 0:
                    break
                await asyncio.sleep(0.25)
            assert established(srv.port) == 0
    finally:
        await close_session()


def _peer_port(fd: str) -> int | None:
    import socket as socketmod

    try:
        s = socketmod.socket(fileno=int(fd))
    except OSError:
        return None
    try:
        return int(s.getpeername()[1]) if s.family == socketmod.AF_INET else None
    except OSError:
        return None
    finally:
        s.detach()
