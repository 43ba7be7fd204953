"""Fault names and the byte-level damage the transport faults do to a reply.

Transport faults: ``hang`` (accept and read, never answer), ``refuse`` (no listener: ECONNREFUSED), ``reset``
(half the reply, then RST via SO_LINGER 0), ``truncated`` (half the JSON, NUL, FIN), ``short_body`` (the
whole reply, but its HTTP Content-Length or API 3 frame length promises 1,000 bytes more than are sent, then
FIN; a cgminer reply loses its second half and its NUL: the Content-Length lie of a firmware killed mid-write), ``malformed`` (invalid UTF-8
and broken JSON), ``huge`` (a streamed reply of many MB, bounded), ``slow`` (extra latency). Data faults change
the miner's state instead: ``sleeping``, ``missing_board``, ``dead_fan``.

Hostile devices (the reliability suite): ``slowloris`` (the reply one byte a second), ``gigabyte`` (a 1 GiB reply,
streamed, never held in memory), ``endless`` (bytes forever, no NUL), ``badutf8`` (valid JSON with invalid UTF-8
inside a string), ``nested`` (the reply plus a key nested 100,000 deep), ``nan`` (every number replaced by NaN,
1e999, -1e999 or Infinity), ``negative`` (every number negated). :func:`reboot` and :func:`reflash` change a
miner the way a power cycle (counters and uptime go backwards) and a firmware update (another firmware answers
on the same address) do.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from . import noise as n

if TYPE_CHECKING:
    from .miner import SimMiner

TRANSPORT_FAULTS = frozenset(
    ("hang", "refuse", "reset", "truncated", "short_body", "malformed", "huge", "slow")
)
DATA_FAULTS = frozenset(("sleeping", "missing_board", "dead_fan"))
HOSTILE_FAULTS = frozenset(("slowloris", "gigabyte", "endless", "badutf8", "nested", "nan", "negative"))
FAULTS = TRANSPORT_FAULTS | DATA_FAULTS | HOSTILE_FAULTS


def check(fault: str | None) -> None:
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")


def truncate(reply: bytes) -> bytes:
    """Half the reply (a firmware killed mid-write), still NUL-terminated."""
    body = reply.rstrip(b"\x00")
    return body[: len(body) // 2] + b"\x00"


def short_body(reply: bytes) -> bytes:
    """The reply whose own length announcement promises 1,000 bytes more than it carries (see module doc)."""
    if reply.startswith(b"HTTP/"):
        head, sep, body = reply.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if m is not None:
            promised = b"%d" % (int(m.group(1)) + 1000)
            return head[: m.start(1)] + promised + head[m.end(1) :] + sep + body
        return reply
    if len(reply) >= 4 and reply[:1] != b"{" and reply[2:4] == b"\0\0":  # API 3 frame
        size = int.from_bytes(reply[:4], "little")
        return (size + 1000).to_bytes(4, "little") + reply[4:]
    body = reply.rstrip(b"\x00")
    return body[: len(body) // 2]


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


# --- hostile devices ------------------------------------------------------------------------------------------

GIGABYTE = 1 << 30
NESTED_DEPTH = 100_000
# A JSON number after a key (bare, or quoted the way old bmminer writes them), followed by the end of the value.
_NUMBER = re.compile(rb'(":\s*"?)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?="?\s*[,}\]])')
_NOT_NUMBERS = (b"NaN", b"1e999", b"-1e999", b"Infinity")


def endless_chunks(desc: str, when: int) -> Iterator[bytes]:
    """A summary reply that never ends: the header, then the filler block forever, never a NUL."""
    head = next(huge_chunks(desc, when, 0))
    return itertools.chain((head,), itertools.repeat(_filler_block()))


def bad_utf8(reply: bytes) -> bytes:
    """Valid JSON whose description (else first string value) holds bytes that are not UTF-8."""
    for key in (b'"Description":"', b'"Msg":"', b'":"'):
        at = reply.find(key)
        if at >= 0:
            break
    else:
        return b"\xff\xfe" + reply
    at += len(key)
    return reply[:at] + b"\xff\xfe\xc3\x28\xe2\x82" + reply[at:]


def nested(reply: bytes, depth: int = NESTED_DEPTH) -> bytes:
    """The reply with one more key whose value is a list nested ``depth`` deep."""
    body = reply.rstrip(b"\x00")
    if not body.endswith(b"}"):
        return body + b"[" * depth + b"]" * depth + b"\x00"
    return body[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}\x00"


def not_numbers(reply: bytes) -> bytes:
    """Every number in the reply replaced by NaN, 1e999, -1e999 or Infinity (quoted ones by "nan" ...)."""
    counter = itertools.count()

    def repl(m: re.Match[bytes]) -> bytes:
        token = _NOT_NUMBERS[next(counter) % len(_NOT_NUMBERS)]
        return m.group(1) + (token.lower() if m.group(1).endswith(b'"') else token)

    return _NUMBER.sub(repl, reply)


def negative(reply: bytes) -> bytes:
    """Every number in the reply negated (counters, rates, uptime, temperatures alike)."""
    return _NUMBER.sub(
        lambda m: m.group(1) + (m.group(2)[1:] if m.group(2).startswith(b"-") else b"-" + m.group(2)), reply
    )


def reboot(m: SimMiner) -> None:
    """A power cycle: the miner starts again at its first poll with a short uptime, so uptime and every share
    counter go backwards while its virtual clock (``When``) keeps moving forward."""
    snap = m.snapshot()
    m.boot_when = snap.when - 30
    m.uptime0_s = 30
    m.epoch = 0
    m.invalidate()


def reflash(m: SimMiner, firmware: str) -> None:
    """Another firmware now answers on this miner's address (same hardware, MAC and pools)."""
    from .firmwares import get

    fw = get(firmware)  # KeyError for a firmware the simulator does not have
    m.firmware = firmware
    m.temp_step, m.fan_step = fw.temp_step, fw.fan_step
    fw.setup(m)  # the firmware's own identity strings (version, build dates)
    m.invalidate()
