"""A cgminer-RPC server on loopback that answers from recorded replies (real captures or hand-written ones).

It behaves as cgminer's api.c does: reads one JSON request, answers the command's recorded bytes, a NUL,
and closes. Joined commands (``a+b``) are answered the way api.c builds them, by wrapping each recorded
reply in ``"cmd":[...]``; an unknown command gets the firmware's "Invalid command" reply. Every request is
recorded so tests can check that only reads were sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

SHARED = Path(__file__).resolve().parents[3] / "shared"
FIXTURES = SHARED / "fixtures" / "asic"

INVALID = (
    b'{"STATUS":[{"STATUS":"E","When":0,"Code":14,"Msg":"Invalid command","Description":"%s"}],"id":1}'
)


# How the replay servers deliver a reply unless told otherwise: the way a LAN does, in 1,400-byte pieces with a
# pause between them (issue 11), not in the one piece loopback would hand over. A transport that reads only the
# first piece fails every conformance test, as it would on a real site. ``pace=None`` sends in one write.
PACE: tuple[int, float] | None = (1400, 0.03)


async def deliver(writer: asyncio.StreamWriter, data: bytes, pace: tuple[int, float] | None) -> None:
    """Write ``data`` in ``pace`` = (bytes, seconds apart) pieces, each drained before the pause."""
    if pace is None:
        writer.write(data)
        await writer.drain()
        return
    size, gap = pace
    for at in range(0, len(data), size):
        if at:
            await asyncio.sleep(gap)
        writer.write(data[at : at + size])
        await writer.drain()


class LoopbackServer:
    """``async with``: serve ``_handle`` on ``host:port`` (port 0: a free one, written back to ``port``)."""

    host: str
    port: int
    _server: asyncio.Server | None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@dataclass
class ReplayMiner(LoopbackServer):
    """Serves ``replies`` (command -> raw reply bytes, NUL or not) on ``host:port``."""

    replies: Mapping[str, bytes]
    host: str = "127.0.0.1"
    port: int = 0
    description: str = "cgminer 4.9.0"
    joins: bool = True
    requests: list[bytes] = field(default_factory=list)
    pace: tuple[int, float] | None = PACE
    hang_on: bytes | None = None  # a request holding these bytes is never answered (a hung read), nor recorded
    _server: asyncio.Server | None = None

    def _answer(self, command: str) -> bytes:
        raw = self.replies.get(command)
        if raw is None:
            return INVALID % self.description.encode()
        return raw.rstrip(b"\x00")

    def _refused(self, parts: list[str] | None) -> bytes | None:
        """The reply to a request that is not JSON with a command (``parts`` None) or to a join this firmware
        refuses; None when the request is answered."""
        if parts is None or (len(parts) > 1 and not self.joins):
            return INVALID % self.description.encode()
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await asyncio.wait_for(reader.read(65536), 5)
            if self.hang_on is not None and self.hang_on in data:
                await asyncio.sleep(30)
                return
            self.requests.append(data)
            try:
                parts = str(json.loads(data)["command"]).split("+")
            except (ValueError, KeyError, TypeError):
                writer.write((self._refused(None) or b"") + b"\x00")
                return
            refused = self._refused(parts)
            if refused is not None:
                body = refused
            elif len(parts) == 1:
                body = self._answer(parts[0])
            else:
                sections = b",".join(b'"%s":[%s]' % (p.encode(), self._answer(p)) for p in parts)
                body = b"{" + sections + b',"id":1}'
            await deliver(writer, body + b"\x00", self.pace)
        finally:
            writer.close()


def fixture_set(prefix: str) -> dict[str, bytes]:
    """Replies of one captured device: files ``<prefix>_<command>.<ext>`` keyed by command."""
    out: dict[str, bytes] = {}
    for path in sorted(FIXTURES.glob(f"{prefix}_*")):
        command = path.name[len(prefix) + 1 :].rsplit(".", 1)[0]
        out[command] = path.read_bytes()
    return out


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def have_fixtures() -> bool:
    return FIXTURES.is_dir()
