"""The cgminer-family RPC transport (TCP 4028): framing, narrow repairs of broken JSON, multi-command joins.

Protocol facts (cgminer API-README, api.c; real captures): one request per connection, the server writes its
reply, a NUL byte, and closes. A request that is not JSON gets the pipe-separated text format back. Joined
commands ``summary+stats`` answer ``{"summary": [reply], "stats": [reply], "id": 1}``. Firmwares that cannot
join (old cgminer, Whatsminer ``get_*``) are asked one command per connection instead.

Everything here reads; the only bytes ever sent are ``{"command": <read>}`` requests built by :func:`request`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from ..errors import (
    DeviceError,
    DeviceRefused,
    DeviceReset,
    DeviceTimeout,
    DeviceUnresolved,
    ParseError,
    ProtocolError,
    resource_error,
)
from .deadline import expires_at
from .fastjson import loads_object

DEFAULT_PORT = 4028
MAX_REPLY_BYTES = 4 * 1024 * 1024  # the largest real reply seen is ~40 kB; anything near this is a flood
_DECODER = json.JSONDecoder(strict=False)  # firmwares put raw newlines/tabs inside strings

Reply = dict[str, Any]

# Read commands (docs/architecture.md, "Read-only"): the transport refuses to send anything else.
READ_COMMANDS = frozenset(
    "summary stats estats litestats devs edevs devdetails pools version config fans temps power profiles "
    "tunerstatus coin events voltageget healthchipget get_version get_psu get_miner_info get_error_code "
    "status".split()
)


@functools.lru_cache(maxsize=256)  # the same few requests every cycle: encoded (and checked read-only) once
def request(command: str, parameter: str | None = None) -> bytes:
    parts = command.split("+")
    bad = [p for p in parts if p not in READ_COMMANDS]
    if bad:
        raise ValueError(f"refusing to send non-read command(s) {bad}")
    body: dict[str, str] = {"command": command}
    if parameter is not None:
        body["parameter"] = parameter
    return json.dumps(body, separators=(",", ":")).encode()


class _Exchange(asyncio.Protocol):
    """Writes one request and collects the reply until the NUL terminator or EOF.

    A bare Protocol rather than asyncio streams: at 20,000 miners a cycle the per-connection overhead of
    StreamReader/StreamWriter is a measurable share of the CPU budget.
    """

    def __init__(self, payload: bytes, max_bytes: int, done: asyncio.Future[bytes], nul_ends: bool = True) -> None:
        self.payload = payload
        self.nul_ends = nul_ends
        self.max_bytes = max_bytes
        self.done = done
        self.chunks: list[bytes] = []
        self.size = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it: no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self.size += len(data)
        if self.size > self.max_bytes:
            self.done.set_exception(ProtocolError(f"reply larger than {self.max_bytes} bytes"))
            return
        self.chunks.append(data)
        if self.nul_ends and data.endswith(b"\x00"):
            # cgminer ends every reply with one NUL and closes right after: the reply is complete.
            self.done.set_result(b"".join(self.chunks))

    def eof_received(self) -> bool:
        if not self.done.done():
            self.done.set_result(b"".join(self.chunks))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(b"".join(self.chunks))
        else:
            self.done.set_exception(exc)


async def exchange(
    host: str, port: int, payload: bytes, *, deadline: float, max_bytes: int = MAX_REPLY_BYTES,
    nul_ends: bool = True,
) -> bytes:
    """Send one request and read the reply to its end (the NUL, else EOF), all before ``deadline``
    (event-loop time). The reply may arrive in any number of pieces; only the NUL or EOF ends it. With
    ``nul_ends=False`` (HTTP read to EOF) a piece that happens to end in a NUL byte ends nothing."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    transport: asyncio.Transport | None = None
    ok = False
    try:
        async with expires_at(deadline):  # asyncio.timeout_at without a loop timer each (collectors/asic/deadline.py)
            transport, _ = await loop.create_connection(  # type: ignore[assignment]
                lambda: _Exchange(payload, max_bytes, done, nul_ends), host, port
            )
            reply = await done
            ok = True
            return reply
    except TimeoutError:
        raise DeviceTimeout(f"no complete reply from {host}:{port} before the deadline") from None
    except ConnectionRefusedError:
        raise DeviceRefused(f"connection refused by {host}:{port}") from None
    except (ConnectionResetError, BrokenPipeError):
        raise DeviceReset(f"connection reset by {host}:{port}") from None
    except socket.gaierror as e:
        raise DeviceUnresolved(f"cannot resolve {host}: {e.strerror}") from None
    except OSError as e:  # unreachable, no route, ... or this process out of descriptors
        raise resource_error(e, f"{host}:{port}") or DeviceRefused(f"{host}:{port}: {e.strerror or e}") from None
    finally:
        if transport is not None:
            if ok:
                transport.close()
            else:
                transport.abort()


def decode_reply(raw: bytes) -> Reply:
    """Bytes of one reply to a dict, repairing only the malformations real firmwares produce.

    Repairs: the trailing NUL; ``}{`` between joined objects (bmminer STATS); ``\\'`` escapes (Whatsminer);
    trailing commas; bytes after the first complete value. Values are never rewritten (no NaN -> 0).
    """
    stripped = raw.rstrip(b"\x00\r\n\t ")
    if stripped[:1] == b"{":
        fast = loads_object(stripped)  # orjson where its answer is the standard parser's; else as before
        if fast is not None:
            return fast
    text = stripped.decode("utf-8", errors="replace")
    if not text:
        raise ProtocolError("empty reply")
    if text[0] != "{":
        if text.startswith("STATUS="):
            return decode_text_reply(text)
        if text.lstrip()[:1] == "<" or text.startswith("HTTP/"):
            raise ProtocolError("HTTP/HTML reply where cgminer RPC was expected")
        raise ProtocolError(f"not a cgminer reply (starts {text[:16]!r})")
    try:
        obj: Any = json.loads(text)
    except RecursionError:
        raise ParseError("reply nested too deeply") from None
    except ValueError:
        obj = _repaired(text)
    if not isinstance(obj, dict):
        raise ParseError("reply is not a JSON object")
    return obj


def _repaired(text: str) -> Any:
    fixed = text.replace("}{", "},{").replace("\\'", "'").replace(",}", "}").replace(",]", "]")
    fixed = fixed.replace("[,{", "[{")
    try:
        obj, _end = _DECODER.raw_decode(fixed)
    except RecursionError:
        raise ParseError("reply nested too deeply") from None
    except json.JSONDecodeError as e:
        raise ParseError(f"malformed JSON: {e.msg} at byte {e.pos}") from None
    except ValueError as e:  # not a JSONDecodeError: e.g. an integer longer than Python converts (4300 digits)
        raise ParseError(f"unreadable JSON value: {str(e)[:80]}") from None
    return obj


_TEXT_SECTIONS = {"POOL": "POOLS", "ASC": "DEVS", "PGA": "DEVS", "DEV": "DEVS", "STATS": "STATS"}


def decode_text_reply(text: str) -> Reply:
    """The cgminer text format (``STATUS=S,...|SECTION,k=v,...|``) as the JSON shape of the same reply."""
    out: dict[str, Any] = {}
    for segment in _split_escaped(text, "|"):
        if not segment:
            continue
        pairs = _split_escaped(segment, ",")
        head = pairs[0]
        name = head.split("=", 1)[0] if "=" in head else head
        entry: dict[str, str] = {}
        for pair in pairs if "=" in head else pairs[1:]:
            key, sep, value = pair.partition("=")
            if sep:
                entry[key] = value
        section = "STATUS" if name == "STATUS" else _TEXT_SECTIONS.get(name, name)
        out.setdefault(section, []).append(entry)
    if "STATUS" not in out:
        raise ParseError("text reply without STATUS")
    return out


def _split_escaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def status_of(reply: Mapping[str, Any]) -> tuple[str, str]:
    """(STATUS letter, Msg) of a reply: a list of one dict (cgminer), an object (web CGI) or flat (btminer)."""
    # type() first: isinstance against the Mapping ABC is the slow path, and every reply is a dict.
    if type(reply) is not dict and not isinstance(reply, Mapping):
        return "", ""
    st = reply.get("STATUS")
    if isinstance(st, list) and st and isinstance(st[0], dict):
        st = st[0]
    if isinstance(st, dict):
        return str(st.get("STATUS", "")), str(st.get("Msg", ""))
    if isinstance(st, str):
        msg = reply.get("Msg")
        return st, msg if isinstance(msg, str) else ""
    return "", ""


def speaks_cgminer(replies: Mapping[str, Reply]) -> bool:
    """Some command got a successful cgminer reply (a STATUS block with S/I/W and a section)."""
    for reply in replies.values():
        if status_of(reply)[0] in ("S", "I", "W") and isinstance(reply.get("STATUS"), list):
            return True
    return False


def description(reply: Mapping[str, Any]) -> str:
    if type(reply) is not dict and not isinstance(reply, Mapping):
        return ""
    st = reply.get("STATUS")
    if isinstance(st, list) and st and isinstance(st[0], dict):
        return str(st[0].get("Description", ""))
    return str(reply.get("Description", ""))


async def fetch(
    host: str,
    port: int,
    commands: Sequence[str],
    *,
    deadline: float,
    join: bool = True,
    keep_errors: bool = False,
    join_refused: Callable[[], None] | None = None,
) -> dict[str, Reply]:
    """Replies to ``commands`` keyed by command: one joined request when allowed, else one per command.

    A command the device rejects (``E`` status, "Access denied", "Invalid command") is left out of the
    result (kept with ``keep_errors``, for identification); the caller decides whether its absence
    matters. Transport failures raise DeviceError.
    """
    if join and len(commands) > 1:
        raw = await exchange(host, port, request("+".join(commands)), deadline=deadline)
        refused = join_refused
        try:
            joined = decode_reply(raw)
        except ParseError:
            joined = {}  # a join of replies one of which is broken: the singles may still decode
            refused = None  # broken this once is not a firmware that refuses joins
        if all(c in joined for c in commands):
            out: dict[str, Reply] = {}
            for c in commands:
                part = joined[c]
                if isinstance(part, list) and part and isinstance(part[0], dict):
                    part = part[0]
                if isinstance(part, dict) and (keep_errors or status_of(part)[0] not in ("E", "F")):
                    out[c] = part
            return out
        # Not understood as a join (old cgminer, btminer, some stock S19j Pro builds): ask one command per
        # connection; ``join_refused`` lets the caller skip the doomed join next time.
        if refused is not None:
            refused()
    result: dict[str, Reply] = {}
    for c in commands:
        reply = decode_reply(await exchange(host, port, request(c), deadline=deadline))
        if keep_errors or status_of(reply)[0] not in ("E", "F"):
            result[c] = reply
    return result


__all__ = [
    "DEFAULT_PORT",
    "DeviceError",
    "decode_reply",
    "decode_text_reply",
    "description",
    "exchange",
    "fetch",
    "request",
    "status_of",
]
