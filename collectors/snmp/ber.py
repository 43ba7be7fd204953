"""Narrow BER for SNMPv1/v2c: encode GET/GETNEXT/GETBULK requests, decode the GetResponse to them. Pure functions.

Why not pyasn1: decoding a reply through pysnmp's generic, schema-driven pyasn1 decoder cost ~80 % of our CPU per
value (README "Performance"). A reply to a request we sent has one fixed shape, so a decoder that knows only that
shape (and the SMI value types) is a few dict lookups and ``int.from_bytes`` per value. OIDs repeat from cycle to
cycle (same tables, same rows), so their decoded tuples are cached by their encoded bytes; request varbind lists
are cached by OID list, so a steady cycle encodes only the request-id and the header.

Values come out exactly as ``client.value_of`` gives them from pysnmp (int, bytes, OID tuple, dotted IPv4, ``None``
for NULL/noSuchObject/noSuchInstance/endOfMibView/unknown types): tests/snmp/test_snmp_ber.py checks that against
pyasn1's encoder and decoder, and fuzzes the decoder with arbitrary bytes (only ``BerError`` may come out).
"""

from __future__ import annotations

from dataclasses import dataclass

Oid = tuple[int, ...]
Raw = int | bytes | str | tuple[int, ...] | None

GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8
ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
                "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
                "resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable",
                "inconsistentName")
# Unsigned application types (RFC 2578): tag -> largest value. Counter32, Gauge32, TimeTicks, Counter64.
_UNSIGNED = {0x41: 2**32 - 1, 0x42: 2**32 - 1, 0x43: 2**32 - 1, 0x46: 2**64 - 1}
_CACHE_MAX = 200_000  # decoded OIDs kept: ~100 B each; a 2,000-PDU site's distinct OIDs fit many times over
_oid_cache: dict[bytes, Oid] = {}
_vbl_cache: dict[tuple[Oid, ...], bytes] = {}


class BerError(ValueError):
    """Bytes that are not a well-formed SNMPv1/v2c message; ``request_id`` when it could be read."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Response:
    version: int  # 0 = v1, 1 = v2c
    community: bytes
    pdu: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Raw]]

    @property
    def error_name(self) -> str:
        s = self.error_status
        return ERROR_STATUS[s] if 0 <= s < len(ERROR_STATUS) else f"error-status {s}"


# ---- encoding ------------------------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40) or any(s < 0 for s in oid):
        raise ValueError(f"not an OID: {oid}")
    out = bytearray()
    for sub in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.append(0x80 | (sub & 0x7F))
            sub >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def varbind_list(oids: tuple[Oid, ...]) -> bytes:
    """The request's varbind list (each OID with a NULL value), cached: a steady cycle asks the same lists."""
    got = _vbl_cache.get(oids)
    if got is None:
        got = _tlv(0x30, b"".join(_tlv(0x30, encode_oid(o) + b"\x05\x00") for o in oids))
        if len(_vbl_cache) >= _CACHE_MAX // 10:
            _vbl_cache.clear()
        _vbl_cache[oids] = got
    return got


def encode_request(version: int, community: bytes, pdu: int, request_id: int, oids: tuple[Oid, ...],
                   max_repetitions: int = 0) -> bytes:
    """A GET/GETNEXT (error-status and -index 0) or GETBULK (non-repeaters 0, ``max_repetitions``) message."""
    second = max_repetitions if pdu == GETBULK else 0
    body = _int(request_id) + b"\x02\x01\x00" + _int(second) + varbind_list(oids)
    return _tlv(0x30, _int(version) + _tlv(0x04, community) + _tlv(pdu, body))


# ---- decoding ------------------------------------------------------------------------------------------------


def _header(data: bytes, i: int, end: int) -> tuple[int, int, int]:
    """Tag, content start, content end of the TLV at ``i``; every length checked against ``end``."""
    if i + 2 > end:
        raise BerError("truncated")
    tag = data[i]
    n = data[i + 1]
    i += 2
    if n >= 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or i + k > end:
            raise BerError("bad length")
        n = int.from_bytes(data[i : i + k], "big")
        i += k
    if i + n > end:
        raise BerError("truncated")
    return tag, i, i + n


def _integer(data: bytes, i: int, end: int) -> tuple[int, int]:
    tag, s, e = _header(data, i, end)
    if tag != 0x02 or s == e:
        raise BerError("INTEGER expected")
    return int.from_bytes(data[s:e], "big", signed=True), e


def decode_oid(body: bytes) -> Oid:
    got = _oid_cache.get(body)
    if got is not None:
        return got
    if not body or body[-1] & 0x80:
        raise BerError("bad OID")
    subs: list[int] = []
    v = 0
    fresh = True
    for b in body:
        if fresh and b == 0x80:
            raise BerError("bad OID (non-minimal sub-identifier)")
        v = (v << 7) | (b & 0x7F)
        fresh = not b & 0x80
        if fresh:
            subs.append(v)
            v = 0
    first = subs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    oid = head + tuple(subs[1:])
    if len(_oid_cache) >= _CACHE_MAX:
        _oid_cache.clear()
    _oid_cache[bytes(body)] = oid
    return oid


def _value(tag: int, body: bytes) -> Raw:
    if tag == 0x02:
        if not body:
            raise BerError("empty INTEGER")
        return int.from_bytes(body, "big", signed=True)
    if tag == 0x04 or tag == 0x44:  # OCTET STRING, Opaque
        return body
    top = _UNSIGNED.get(tag)
    if top is not None:
        if not body:
            raise BerError("empty unsigned value")
        n = int.from_bytes(body, "big")
        # An agent that drops the leading zero of a large Counter32 still means the unsigned value; one beyond the
        # type's range is no reading.
        return n if n <= top else None
    if tag == 0x06:
        return decode_oid(body)
    if tag == 0x40:  # IpAddress
        if len(body) != 4:
            raise BerError("IpAddress not 4 octets")
        return ".".join(map(str, body))
    return None  # NULL, noSuchObject, noSuchInstance, endOfMibView, and types we do not read: unknown


def decode_response(data: bytes) -> Response:
    """A v1/v2c message carrying a PDU with varbinds. Raises ``BerError`` (with the request-id once it is known)."""
    end = len(data)
    tag, i, e = _header(data, 0, end)
    if tag != 0x30 or e != end:
        raise BerError("not an SNMP message")
    version, i = _integer(data, i, end)
    if version not in (0, 1):
        raise BerError(f"SNMP version {version} is not v1/v2c")
    tag, s, i = _header(data, i, end)
    if tag != 0x04:
        raise BerError("community expected")
    community = data[s:i]
    pdu, i, end = _header(data, i, end)
    if pdu & 0xE0 != 0xA0 or end != len(data):
        raise BerError("PDU expected")
    request_id, i = _integer(data, i, end)
    try:
        status, i = _integer(data, i, end)
        index, i = _integer(data, i, end)
        tag, i, e = _header(data, i, end)
        if tag != 0x30 or e != end:
            raise BerError("varbind list expected")
        varbinds: list[tuple[Oid, Raw]] = []
        append = varbinds.append
        cache = _oid_cache
        while i < end:
            tag, i, vb_end = _header(data, i, end)
            if tag != 0x30:
                raise BerError("varbind expected")
            tag, s, i = _header(data, i, vb_end)
            if tag != 0x06:
                raise BerError("OID expected")
            key = data[s:i]
            oid = cache.get(key)
            if oid is None:
                oid = decode_oid(key)
            tag, s, i = _header(data, i, vb_end)
            if i != vb_end:
                raise BerError("varbind has extra content")
            append((oid, _value(tag, data[s:i])))
    except BerError as err:
        raise BerError(str(err), request_id) from None
    return Response(version, community, pdu, request_id, status, index, varbinds)
