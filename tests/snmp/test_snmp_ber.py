"""Our narrow SNMPv1/v2c BER (collectors/snmp/ber.py) against pyasn1/pysnmp, byte for byte and value for value, and
the v1/v2c socket path (collectors/snmp/udp.py) against agents on loopback that misbehave.

Differential: every reply pysnmp encodes decodes with ``ber.decode_response`` to exactly what pysnmp's own decoder and
``client.value_of`` give; every request we encode is what pysnmp decodes as that request. Fuzz: arbitrary bytes and
mutated replies raise ``BerError`` or decode, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v1, v2c

from collectors.errors import DeviceTimeout, ProtocolError
from collectors.snmp import ber
from collectors.snmp.client import Auth, Engine, value_of
from tests.support.fuzz_support import EXAMPLES

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

oids = st.builds(lambda a, b, rest: (a, b, *rest), st.integers(0, 2), st.integers(0, 39),
                 st.lists(st.integers(0, 2**32 - 1), max_size=14))
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    st.binary(max_size=300).map(rfc1902.OctetString),
    oids.map(rfc1902.ObjectName),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.integers(0, 2**32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
    st.integers(0, 2**32 - 1).map(rfc1902.TimeTicks),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    st.binary(max_size=20).map(rfc1902.Opaque),
    st.sampled_from([v2c.null, rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView]),
)


def _pysnmp_reply(request_id: int, community: bytes, status: int, varbinds: list[tuple[tuple[int, ...], object]]
                  ) -> bytes:
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, status)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


@FUZZ
@given(st.integers(0, 2**31 - 1), st.binary(max_size=40), st.integers(0, 18),
       st.lists(st.tuples(oids, values), max_size=30))
def test_reply_decodes_to_what_pysnmp_decodes(request_id: int, community: bytes, status: int,
                                              varbinds: list[tuple[tuple[int, ...], object]]) -> None:
    wire = _pysnmp_reply(request_id, community, status, varbinds)
    mine = ber.decode_response(wire)
    theirs, _ = decoder.decode(wire, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(theirs)
    assert (mine.version, mine.community, mine.pdu) == (1, community, ber.RESPONSE)
    assert (mine.request_id, mine.error_status, mine.error_index) == (request_id, status, 0)
    assert mine.varbinds == [(tuple(o), value_of(v)) for o, v in v2c.apiPDU.get_varbinds(pdu)]


@FUZZ
@given(st.sampled_from([ber.GET, ber.GETNEXT, ber.GETBULK]), st.integers(0, 2**31 - 1), st.integers(0, 100),
       st.lists(oids, min_size=1, max_size=20))
def test_requests_are_what_pysnmp_reads(pdu: int, request_id: int, reps: int, asked: list[tuple[int, ...]]
                                        ) -> None:
    for _ in range(2):  # the second encoding comes from the varbind-list cache
        wire = ber.encode_request(1, b"public", pdu, request_id, tuple(asked), reps)
        msg, rest = decoder.decode(wire, asn1Spec=v2c.Message())
        assert rest == b""
        got = v2c.apiMessage.get_pdu(msg)
        assert got.tagSet[0][2] == pdu & 0x1F
        assert int(v2c.apiPDU.get_request_id(got)) == request_id
        assert [tuple(o) for o, _ in v2c.apiPDU.get_varbinds(got)] == asked
        if pdu == ber.GETBULK:
            assert int(v2c.apiBulkPDU.get_max_repetitions(got)) == reps
            assert int(v2c.apiBulkPDU.get_non_repeaters(got)) == 0


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_ber_error(data: bytes) -> None:
    with contextlib.suppress(ber.BerError):
        ber.decode_response(data)


@FUZZ
@given(st.lists(st.tuples(oids, values), min_size=1, max_size=10), st.data())
def test_mutated_replies_raise_only_ber_error(varbinds: list[tuple[tuple[int, ...], object]],
                                              data: st.DataObject) -> None:
    wire = bytearray(_pysnmp_reply(7, b"public", 0, varbinds))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(wire) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            wire[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del wire[at:]
            if not wire:
                wire.append(0)
        else:
            wire.insert(at, data.draw(st.integers(0, 255)))
    try:
        got = ber.decode_response(bytes(wire))
    except ber.BerError:
        return
    for _oid, value in got.varbinds:
        assert value is None or isinstance(value, int | bytes | str | tuple)


def test_counter32_without_its_leading_zero_is_still_unsigned() -> None:
    # Some agents encode 4294967295 as ff ff ff ff (no 00): pyasn1 reads -1 and pysnmp drops the whole reply.
    vb = bytes.fromhex("300c06042b060104" "4104ffffffff")
    body = bytes.fromhex("020101020100020100") + bytes((0x30, len(vb))) + vb
    pdu = bytes((0xA2, len(body))) + body
    inner = bytes.fromhex("020101") + bytes.fromhex("0406") + b"public" + pdu
    msg = bytes((0x30, len(inner))) + inner
    assert ber.decode_response(msg).varbinds == [((1, 3, 6, 1, 4), 4294967295)]


class _Agent(asyncio.DatagramProtocol):
    """A loopback 'agent' that answers every request with ``reply(request)``; None answers nothing."""

    def __init__(self, reply) -> None:  # type: ignore[no-untyped-def]
        self.reply = reply
        self.seen: list[bytes] = []

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(data)
        out = self.reply(data)
        if out is not None:
            self.transport.sendto(out, addr)


async def _serve(reply) -> tuple[_Agent, asyncio.DatagramTransport, int]:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    transport, agent = await loop.create_datagram_endpoint(lambda: _Agent(reply), local_addr=("127.0.0.1", 0),
                                                           family=socket.AF_INET)
    return agent, transport, transport.get_extra_info("sockname")[1]


def _request_id(data: bytes) -> int:
    msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
    return int(v2c.apiPDU.get_request_id(v2c.apiMessage.get_pdu(msg)))


async def test_a_reply_with_broken_varbinds_is_a_clear_protocol_error_not_a_timeout() -> None:
    def broken(data: bytes) -> bytes:
        good = _pysnmp_reply(_request_id(data), b"public", 0, [((1, 3, 6, 1, 2, 1, 1, 5, 0), v2c.OctetString(b"x"))])
        return good[:-3] + b"\x06\x09\xff"  # the varbind's value is cut short
    agent, transport, port = await _serve(broken)
    engine = Engine()
    try:
        t = await engine.target("127.0.0.1", port, Auth(community="public"), timeout=5.0, retries=0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ProtocolError, match="malformed SNMP reply"):
            await t.get([(1, 3, 6, 1, 2, 1, 1, 5, 0)])
        assert loop.time() - started < 4.0
    finally:
        engine.close()
        transport.close()


async def test_a_retry_resends_the_same_request_and_a_late_reply_still_counts() -> None:
    def second_only(data: bytes) -> bytes | None:
        if len(agent.seen) < 2:
            return None  # the first send is lost
        return _pysnmp_reply(_request_id(data), b"public", 0, [((1, 3, 6, 1, 2, 1, 1, 5, 0), v2c.OctetString(b"pdu"))])
    agent, transport, port = await _serve(second_only)
    engine = Engine()
    try:
        t = await engine.target("127.0.0.1", port, Auth(community="public"), timeout=0.3, retries=1)
        assert await t.get([(1, 3, 6, 1, 2, 1, 1, 5, 0)]) == {(1, 3, 6, 1, 2, 1, 1, 5, 0): b"pdu"}
        assert len(agent.seen) == 2 and agent.seen[0] == agent.seen[1]
        with pytest.raises(DeviceTimeout, match="no SNMP reply"):
            agent.seen.clear()
            t.retries = 0
            await t.get([(1, 3, 6, 1, 2, 1, 1, 5, 0)])
    finally:
        engine.close()
        transport.close()


async def test_a_reply_from_another_address_is_not_taken() -> None:
    agent, transport, port = await _serve(lambda data: None)  # silent; a stranger answers instead
    engine = Engine()
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))
    try:
        t = await engine.target("127.0.0.1", port, Auth(community="public"), timeout=0.5, retries=0)
        task = asyncio.ensure_future(t.get([(1, 3, 6, 1, 2, 1, 1, 5, 0)]))
        while not agent.seen:
            await asyncio.sleep(0.01)
        client_port = engine._udp[socket.AF_INET].transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        stranger.sendto(_pysnmp_reply(_request_id(agent.seen[0]), b"public", 0,
                                      [((1, 3, 6, 1, 2, 1, 1, 5, 0), v2c.OctetString(b"spoofed"))]),
                        ("127.0.0.1", client_port))
        with pytest.raises(DeviceTimeout):
            await task
    finally:
        stranger.close()
        engine.close()
        transport.close()


async def test_snmpv1_walks_with_getnext_and_ends_on_no_such_name() -> None:
    column = (1, 3, 6, 1, 4, 1, 9, 1)
    rows = {1: 10, 2: 20}

    def v1_agent(data: bytes) -> bytes:
        request = ber.decode_response(data)  # the request has the same shape as a reply
        assert request.version == 0
        assert request.pdu == ber.GETNEXT  # never a GETBULK to a v1 agent
        (asked, _), = request.varbinds
        after = [i for i in sorted(rows) if column + (i,) > asked]
        status, vb = (0, [(column + (after[0],), v1.Integer(rows[after[0]]))]) if after else \
            (2, [(asked, v1.null)])
        reply = v1.GetResponsePDU()
        v1.apiPDU.set_defaults(reply)
        v1.apiPDU.set_request_id(reply, request.request_id)
        v1.apiPDU.set_error_status(reply, status)
        v1.apiPDU.set_varbinds(reply, vb)
        out = v1.Message()
        v1.apiMessage.set_defaults(out)
        v1.apiMessage.set_community(out, b"public")
        v1.apiMessage.set_pdu(out, reply)
        return encoder.encode(out)

    _agent, transport, port = await _serve(v1_agent)
    engine = Engine()
    try:
        t = await engine.target("127.0.0.1", port, Auth(community="public", version=1), timeout=2.0, retries=0)
        assert await t.walk([column]) == {column: {(1,): 10, (2,): 20}}
    finally:
        engine.close()
        transport.close()
