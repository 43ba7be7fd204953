"""One client connection on a raw non-blocking socket, driven by the event loop's reader/writer callbacks.

Asyncio transports cost a task, several callbacks and objects per accepted connection; thousands of miners
answering benchmark traffic make that the simulator's main cost, so connections here are plain sockets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .http import complete as http_complete

if TYPE_CHECKING:
    from .miner import SimMiner

_LINGER_RST = struct.pack("ii", 1, 0)
_EMPTY = memoryview(b"")
_MAX_REQUEST = 64 * 1024
_DECODER = json.JSONDecoder(strict=False)


def request_complete(buf: bytearray) -> bool:
    """True once ``buf`` holds a whole request: a complete JSON object, or any text (cgminer reads once)."""
    if len(buf) > _MAX_REQUEST:
        return True
    start = 0
    while start < len(buf) and buf[start] in b" \t\r\n":
        start += 1
    if start == len(buf):
        return False
    if buf[start] != 0x7B:  # not '{': the text API answers whatever one recv() brought
        return http_complete(buf)  # ... except HTTP requests and API 3 frames, read whole
    if 0x7D not in buf:
        return False
    try:
        _DECODER.raw_decode(buf[start:].decode("utf-8", "replace"))
    except ValueError:
        return False
    return True


class Conn:
    __slots__ = (
        "sock",
        "fd",
        "loop",
        "buf",
        "timer",
        "open",
        "reading",
        "pending",
        "stream",
        "writing",
        "on_request",
        "on_close",
        "miner",
    )

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        miner: SimMiner,
        read_timeout_s: float,
        on_request: Callable[[Conn], None],
        on_close: Callable[[Conn], None],
    ) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.loop = loop
        self.miner = miner
        self.buf = bytearray()
        self.open = True
        self.reading = True
        self.writing = False
        self.pending = _EMPTY
        self.stream: Iterator[bytes] | None = None
        self.on_request = on_request
        self.on_close = on_close
        self.timer: asyncio.TimerHandle | None = loop.call_later(read_timeout_s, self.complete)
        loop.add_reader(self.fd, self._readable)

    # --- reading the request ---
    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:  # EOF: a half-closed client still gets its answer; one that left while waiting is gone
            self.loop.remove_reader(self.fd)
            if self.reading:
                self.complete()
            elif not self.writing:
                self.close()
            return
        if self.reading:
            self.buf += data
            if request_complete(self.buf):
                self.complete()

    def complete(self) -> None:
        if not self.reading:
            return
        self.reading = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.on_request(self)

    # --- answering ---
    def send(self, data: bytes) -> None:
        """Write ``data`` then close (FIN), as cgminer does after every reply."""
        self.stream = iter((data,))
        self._flush()

    def send_stream(self, chunks: Iterator[bytes]) -> None:
        self.stream = chunks
        self._flush()

    def send_drip(self, data: bytes, interval_s: float) -> None:
        """Write ``data`` one byte every ``interval_s`` (slowloris), then close; the timer dies with close()."""
        if not self.open:
            return
        if not data:
            self.close()
            return
        try:
            self.sock.send(data[:1])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.close()
            return
        self.timer = self.loop.call_later(interval_s, self.send_drip, data[1:], interval_s)

    def send_paced(self, data: bytes, segment: int, gap_s: float, *, reset: bool = False) -> None:
        """Write ``data`` the way a network delivers it: ``segment`` bytes (one TCP segment's worth, ~1,400 on
        Ethernet), then ``gap_s`` of nothing, and so on; then close (FIN), or reset (RST) with ``reset``.
        A client that takes the first piece it reads for the whole reply fails here as it does on a LAN."""
        if not self.open:
            return
        if not data:
            if reset:
                self.reset(b"")
            else:
                self.close()
            return
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece leaves at once
            n = self.sock.send(data[:segment])
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self.close()
            return
        self.timer = self.loop.call_later(gap_s, self._paced_next, data[n:], segment, gap_s, reset)

    def _paced_next(self, data: bytes, segment: int, gap_s: float, reset: bool) -> None:
        self.send_paced(data, segment, gap_s, reset=reset)

    def reset(self, partial: bytes) -> None:
        """Send ``partial`` then reset the connection (SO_LINGER 0 turns close() into RST)."""
        if not self.open:
            return
        try:
            self.sock.send(partial)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        except OSError:
            pass
        self.close()

    def _flush(self) -> None:
        while self.open:
            if not self.pending:
                chunk = next(self.stream, None) if self.stream is not None else None
                if chunk is None:
                    self.close()
                    return
                self.pending = memoryview(chunk)
            try:
                n = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close()
                return
            self.pending = self.pending[n:]
            if self.pending:  # kernel buffer full: continue when writable (flow control for huge replies)
                if not self.writing:
                    self.writing = True
                    self.loop.add_writer(self.fd, self._flush)
                return

    def close(self) -> None:
        if not self.open:
            return
        self.open = False
        self.reading = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.loop.remove_reader(self.fd)
        if self.writing:
            self.loop.remove_writer(self.fd)
        self.sock.close()
        self.on_close(self)
