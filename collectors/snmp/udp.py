"""SNMPv1/v2c requests over one shared UDP socket per address family, with our own narrow BER (``ber.py``).

v1/v2c has no session state: a request is a community and a PDU, a reply is matched by request-id and by the
address it came from. So these bypass pysnmp's engine (message-processing and dispatcher layers, pyasn1 encode and
decode), which was most of the CPU per value; SNMPv3 (USM keys, engine discovery, time windows, privacy) stays on
pysnmp's engine in ``client.py``. A retry resends the same request-id, so a late reply to the first send still
answers the request. Replies that do not decode, come from another address or match nothing pending are dropped
(counted in ``dropped``), as pysnmp does; a reply whose header decodes but whose varbinds do not fails its request
with a clear ``ProtocolError`` instead of waiting for the timeout.
"""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

from ..errors import DeviceTimeout, ProtocolError
from . import ber

RCVBUF = 4 * 1024 * 1024  # one socket for every device: the default buffer drops replies in a burst


class _Pending:
    __slots__ = ("future", "addr", "message", "tries_left", "timeout", "timer", "device")

    def __init__(self, future: asyncio.Future[ber.Response], addr: tuple[str, int], message: bytes,
                 tries_left: int, timeout: float, device: str) -> None:
        self.device = device
        self.future = future
        self.addr = addr
        self.message = message
        self.tries_left = tries_left
        self.timeout = timeout
        self.timer: asyncio.TimerHandle | None = None


class UdpClient(asyncio.DatagramProtocol):
    """One UDP socket (of one address family) shared by every v1/v2c device of an engine."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Pending] = {}
        self.dropped = 0
        self.resent = 0  # retries sent after a timeout (bench/snmp.py prints it: a loaded agent drops requests)
        self._next_id = random.randrange(1, 2**30)

    @classmethod
    async def open(cls, family: int) -> UdpClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        _, proto = await loop.create_datagram_endpoint(cls, sock=sock)
        return proto

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        for p in self.pending.values():
            if p.timer is not None:
                p.timer.cancel()
            if not p.future.done():
                p.future.cancel()
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            reply = ber.decode_response(data)
        except ber.BerError as e:
            p = self.pending.get(e.request_id) if e.request_id is not None else None
            if p is None or tuple(addr[:2]) != p.addr:
                self.dropped += 1
                return
            self._finish(e.request_id, exc=ProtocolError(f"{p.device}: malformed SNMP reply ({e})"))
            return
        p = self.pending.get(reply.request_id)
        if p is None or tuple(addr[:2]) != p.addr or reply.pdu != ber.RESPONSE:
            self.dropped += 1
            return
        self._finish(reply.request_id, reply=reply)

    def error_received(self, exc: Exception) -> None:  # ICMP errors: the request times out as with pysnmp
        pass

    def _finish(self, request_id: int | None, reply: ber.Response | None = None,
                exc: Exception | None = None) -> None:
        p = self.pending.pop(request_id, None) if request_id is not None else None
        if p is None:
            return
        if p.timer is not None:
            p.timer.cancel()
        if not p.future.done():
            if exc is not None:
                p.future.set_exception(exc)
            else:
                p.future.set_result(reply)  # type: ignore[arg-type]

    def _expire(self, request_id: int) -> None:
        p = self.pending.get(request_id)
        if p is None:
            return
        if p.tries_left > 0 and self.transport is not None:
            p.tries_left -= 1
            self.resent += 1
            self.transport.sendto(p.message, p.addr)
            p.timer = asyncio.get_running_loop().call_later(p.timeout, self._expire, request_id)
            return
        self._finish(request_id, exc=DeviceTimeout(f"{p.device}: no SNMP reply"))

    async def request(self, addr: tuple[str, int], version: int, community: bytes, pdu: int,
                      oids: tuple[ber.Oid, ...], max_repetitions: int, timeout: float,
                      retries: int, device: str) -> ber.Response:
        if self.transport is None or self.transport.is_closing():
            raise ProtocolError("SNMP socket closed")
        request_id = self._next_id
        self._next_id = request_id + 1 if request_id < 2**31 - 2 else 1
        message = ber.encode_request(version, community, pdu, request_id, oids, max_repetitions)
        loop = asyncio.get_running_loop()
        p = _Pending(loop.create_future(), addr, message, retries, timeout, device)
        self.pending[request_id] = p
        try:
            self.transport.sendto(message, addr)
            p.timer = loop.call_later(timeout, self._expire, request_id)
            return await p.future
        finally:  # cancelled (the poll's deadline) or done: nothing of this request stays behind
            if self.pending.pop(request_id, None) is not None and p.timer is not None:
                p.timer.cancel()
