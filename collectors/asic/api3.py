"""Whatsminer API 3 (firmware from 2024-11): TCP 4433, each message a 4-byte little-endian length then JSON.

Request ``{"cmd": "get.miner.status", "param": "summary"}``; reply ``{"code": 0, "desc": ..., "msg": {...},
"when": ...}`` (``code`` other than 0 is an error). One request per connection, like the cgminer API. Only
``get.*`` commands are ever sent (docs/architecture.md, "Read-only": Whatsminer API 3 ``get.*``); ``set.*`` need a
salted token this client never computes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

from ..errors import (
    DeviceRefused,
    DeviceReset,
    DeviceTimeout,
    DeviceUnresolved,
    ParseError,
    ProtocolError,
    resource_error,
)
from .deadline import expires_at

PORT = 4433
MAX_FRAME = 4 * 1024 * 1024
_LEN = struct.Struct("<I")


def frame(cmd: str, param: str | None = None) -> bytes:
    """The bytes of one request; refuses anything but a ``get.*`` read."""
    if not cmd.startswith("get."):
        raise ValueError(f"refusing to send non-read API 3 command {cmd!r}")
    body: dict[str, Any] = {"cmd": cmd}
    if param is not None:
        body["param"] = param
    data = json.dumps(body, separators=(",", ":")).encode()
    return _LEN.pack(len(data)) + data


def decode(data: bytes) -> dict[str, Any]:
    """A reply's JSON from its frame (length prefix checked); errors as ParseError/ProtocolError."""
    if len(data) < 4:
        raise ProtocolError("API 3 reply shorter than its length prefix")
    (size,) = _LEN.unpack_from(data)
    if size > MAX_FRAME:
        raise ProtocolError(f"API 3 frame of {size} bytes announced")
    body = data[4 : 4 + size]
    if len(body) < size:
        raise ProtocolError(f"API 3 reply cut short ({len(body)} of {size} bytes)")
    text = body.decode("utf-8", errors="replace").rstrip("\x00")
    try:
        obj, _end = json.JSONDecoder(strict=False).raw_decode(text)
    except ValueError as e:
        raise ParseError(f"API 3 reply is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ParseError("API 3 reply is not a JSON object")
    return obj


async def call(host: str, cmd: str, param: str | None = None, *, deadline: float, port: int = PORT) -> dict[str, Any]:
    """One API 3 read before ``deadline``; a reply with ``code`` != 0 raises ProtocolError."""
    payload = frame(cmd, param)
    writer: asyncio.StreamWriter | None = None
    try:
        async with expires_at(deadline):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(payload)
            head = await reader.readexactly(4)
            (size,) = _LEN.unpack(head)
            if size > MAX_FRAME:
                raise ProtocolError(f"API 3 frame of {size} bytes announced by {host}:{port}")
            body = await reader.readexactly(size)
    except TimeoutError:
        raise DeviceTimeout(f"no API 3 reply from {host}:{port} before the deadline") from None
    except ConnectionRefusedError:
        raise DeviceRefused(f"connection refused by {host}:{port}") from None
    except asyncio.IncompleteReadError as e:
        # A clean close (FIN) before the frame's announced length: the reply lied about its size (a reset is
        # ConnectionResetError, below). readexactly() itself waits for every piece, however the bytes arrive.
        raise ProtocolError(
            f"{host}:{port}: API 3 reply cut short ({len(e.partial)} of {e.expected} bytes announced)"
        ) from None
    except (ConnectionResetError, BrokenPipeError):
        raise DeviceReset(f"connection reset by {host}:{port}") from None
    except socket.gaierror as e:
        raise DeviceUnresolved(f"cannot resolve {host}: {e.strerror}") from None
    except OSError as e:
        raise resource_error(e, f"{host}:{port}") or DeviceRefused(f"{host}:{port}: {e.strerror or e}") from None
    finally:
        if writer is not None:
            writer.close()
    reply = decode(head + body)
    code = reply.get("code")
    if code not in (0, "0", None):
        raise ProtocolError(f"API 3 {cmd} answered code {code}: {reply.get('msg')!r}")
    return reply
