"""One poll of one miner: identify its firmware (once, cached), read it, parse, finalize.

A :class:`MinerSession` carries what is worth keeping between cycles for one device: the driver that
answered, the web credentials of its group, and the driver's per-miner state (identity replies re-read every
``identity_interval`` seconds, login tokens, which API the firmware answers on).

RPC drivers are polled declaratively (identity commands cached, joined commands, single commands); HTTP and
framed-TCP drivers provide ``fetch`` and may still use the RPC path through the :class:`FetchContext`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..errors import DeviceError, ParseError
from . import http, rpc
from .context import FetchContext
from .drivers import custom_signatures, get
from .http import WebCredentials
from .identify import IDENTIFY_COMMANDS, identify, identify_slot, match_driver
from .normalize import finalize
from .reading import MinerReading
from .session import MinerSession, address, use_driver

__all__ = ["IDENTIFY_COMMANDS", "MinerSession", "address", "identify", "match_driver", "poll", "poll_once",
           "use_driver"]


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


async def _poll(session: MinerSession, deadline: float, *, again: bool = True) -> MinerReading:
    driver = session.driver
    if driver is None:
        if session.driver_name:
            driver = get(session.driver_name)
        else:
            loop = asyncio.get_running_loop()
            queued = loop.time()
            async with identify_slot():  # bounded in flight (identify.IDENTIFY_LIMIT: memory)
                deadline += loop.time() - queued  # waiting for our own slot is not the device's time
                driver = await identify(session, deadline=deadline)
        use_driver(session, driver)
        session.state = {}
    ctx = FetchContext(session, driver, deadline)
    replies = await driver.fetch(ctx) if driver.fetch is not None else await ctx.rpc_cycle()
    if session.driver_name is None and not driver.custom and _custom_firmware_in(replies):
        # Re-flashed since identification (stock -> LuxOS/VNish/Braiins): the stock parser would still read
        # the bmminer-shaped replies, under the wrong firmware, until the identity interval ran out.
        session.driver = None
        if again:
            return await _poll(session, deadline, again=False)
    reading = driver.parse(replies, session.device)
    for n in ctx.notes:
        if all(n.part != m.part for m in reading.missing):
            reading.missing.append(n)
            reading.notes.append(f"{n.part} not read ({n.reason}): {n.message}")
    return finalize(reading, nameplate_power=session.nameplate_power)


def _custom_firmware_in(replies: Mapping[str, Any]) -> bool:
    """A custom firmware's signature in this cycle's STATUS descriptions or miner type strings (cheap: a few
    short strings per cycle, not the whole replies)."""
    seen: list[str] = []
    for reply in replies.values():
        if not isinstance(reply, dict):
            continue
        seen.append(rpc.description(reply))
        for section in ("STATS", "VERSION"):
            entries = reply.get(section)
            if isinstance(entries, list) and entries and isinstance(entries[0], dict):
                seen.append(str(entries[0].get("Type", "")))
    text = " ".join(seen).upper()
    return any(sig in text for sig in custom_signatures())


async def poll_once(
    host: str,
    port: int = rpc.DEFAULT_PORT,
    *,
    driver: str | None = None,
    timeout: float = 10.0,
    credentials: WebCredentials | None = None,
    auto_port: bool = False,
) -> MinerReading:
    """A one-off poll (``farmwatch poll``, tests): a fresh session and one deadline. ``auto_port``: ``port``
    is a default, replaced by the driver's primary API port once the driver is known."""
    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials, auto_port=auto_port)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        return await poll(session, deadline=deadline)
    finally:
        await http.close_session()
