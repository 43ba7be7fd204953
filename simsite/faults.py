"""Fault names and the byte-level damage the transport faults do to a reply.

Transport faults: ``hang`` (accept and read, never answer), ``refuse`` (no listener: ECONNREFUSED), ``reset``
(half the reply, then RST via SO_LINGER 0), ``truncated`` (half the JSON, NUL, FIN), ``malformed`` (invalid UTF-8
and broken JSON), ``huge`` (a streamed reply of many MB, bounded), ``slow`` (extra latency). Data faults change
the miner's state instead: ``sleeping``, ``missing_board``, ``dead_fan``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from . import noise as n

TRANSPORT_FAULTS = frozenset(("hang", "refuse", "reset", "truncated", "malformed", "huge", "slow"))
DATA_FAULTS = frozenset(("sleeping", "missing_board", "dead_fan"))
FAULTS = TRANSPORT_FAULTS | DATA_FAULTS


def check(fault: str | None) -> None:
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")


def truncate(reply: bytes) -> bytes:
    """Half the reply (a firmware killed mid-write), still NUL-terminated."""
    body = reply.rstrip(b"\x00")
    return body[: len(body) // 2] + b"\x00"


def garble(reply: bytes, seed: int, index: int, epoch: int) -> bytes:
    """The reply with a run of invalid UTF-8 and stray bytes spliced in and its closing brackets lost."""
    body = reply.rstrip(b"\x00")
    cut = len(body) // 3 + int(n.unit(seed, index, epoch, n.CH_GARBAGE) * (len(body) // 3))
    junk = bytes((0xFF, 0xFE, 0xC3, 0x28, 0x80, 0x00, 0x7B, 0xE2, 0x82)) * 3
    return body[:cut] + junk + body[cut + 7 : -3] + b"\x00"


@cache
def _filler_block() -> bytes:
    # Whatsminer's error-list overflow is the real-world shape of an oversized reply.
    return "".join(f'"Error Code {k:d}":{100 + k % 400:d},' for k in range(3000)).encode()


def huge_chunks(desc: str, when: int, limit: int) -> Iterator[bytes]:
    """A syntactically plausible summary reply of about ``limit`` bytes, in 64 KiB-ish chunks, NUL last."""
    yield (
        f'{{"STATUS":[{{"STATUS":"S","When":{when:d},"Code":11,"Msg":"Summary","Description":"{desc}"}}],"SUMMARY":[{{'
    ).encode()
    block = _filler_block()
    sent = 0
    while sent + len(block) < limit:
        yield block
        sent += len(block)
    yield b'"Error Code Count":%d}],"id":1}\x00' % (sent // 20)
