"""One poll of one miner: identify its firmware (once, cached), read its commands, parse, finalize.

A :class:`MinerSession` carries what is worth keeping between cycles for one device: the driver that
answered and the identity replies (model, MAC, serial), re-read every ``identity_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from ..errors import DeviceError, ParseError, UnsupportedDevice
from . import rpc
from .driver import Driver
from .drivers import get, identification_order
from .normalize import finalize
from .reading import MinerReading

IDENTIFY_COMMANDS = ("version", "devdetails", "stats")


@dataclass(slots=True)
class MinerSession:
    host: str
    port: int = rpc.DEFAULT_PORT
    driver_name: str | None = None  # configured driver; None = identify automatically
    nameplate_power: bool = False
    identity_interval: float = 3600.0
    driver: Driver | None = None
    identity: dict[str, rpc.Reply] = field(default_factory=dict)
    identity_at: float = 0.0

    @property
    def device(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def match_driver(replies: dict[str, rpc.Reply]) -> Driver | None:
    """The driver whose signature appears in the replies; custom firmware before stock."""
    haystack = json.dumps(replies, ensure_ascii=False).upper()
    for driver in identification_order():
        if any(sig in haystack for sig in driver.signatures):
            return driver
    return None


async def identify(host: str, port: int, *, deadline: float) -> Driver:
    replies = await rpc.fetch(host, port, IDENTIFY_COMMANDS, deadline=deadline, keep_errors=True)
    driver = match_driver(replies)
    if driver is None:
        seen = rpc.description(replies.get("version", {})) or "no description"
        raise UnsupportedDevice(f"unknown firmware at {host}:{port} (version says {seen!r})")
    return driver


async def poll(session: MinerSession, *, deadline: float) -> MinerReading:
    """Read one miner before ``deadline`` (event-loop time). Raises DeviceError; nothing else escapes."""
    try:
        return await _poll(session, deadline)
    except DeviceError:
        if session.driver_name is None:
            session.driver = None  # the device may have changed firmware: identify again next time
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError) as e:
        if session.driver_name is None:
            session.driver = None
        raise ParseError(f"unreadable reply ({type(e).__name__}: {e})") from e


async def _poll(session: MinerSession, deadline: float) -> MinerReading:
    host, port = session.host, session.port
    if session.driver is None:
        session.driver = get(session.driver_name) if session.driver_name else await identify(
            host, port, deadline=deadline
        )
        session.identity = {}
    driver = session.driver
    now = time.monotonic()
    if driver.identity_commands and (not session.identity or now - session.identity_at > session.identity_interval):
        session.identity = await rpc.fetch(host, port, driver.identity_commands, deadline=deadline, join=driver.join)
        session.identity_at = now
    replies: dict[str, rpc.Reply] = dict(session.identity)
    replies.update(await rpc.fetch(host, port, driver.commands, deadline=deadline, join=driver.join))
    for command in driver.single_commands:
        replies.update(await rpc.fetch(host, port, (command,), deadline=deadline, join=False))
    reading = driver.parse(replies, session.device)
    return finalize(reading, nameplate_power=session.nameplate_power)


async def poll_once(
    host: str, port: int = rpc.DEFAULT_PORT, *, driver: str | None = None, timeout: float = 10.0
) -> MinerReading:
    """A one-off poll (``farmwatch poll``, tests): a fresh session and one deadline."""
    session = MinerSession(host=host, port=port, driver_name=driver)
    deadline = asyncio.get_running_loop().time() + timeout
    return await poll(session, deadline=deadline)
