"""Which firmware a host runs: the RPC and HTTP probes race under one deadline per host.

Probes (all reads):

- RPC on 4028: ``version``, ``devdetails``, ``stats``; the replies' upper-cased text is matched against every
  driver's ``signatures`` (custom firmware first). A 4028 that answers HTTP is ePIC (``GET :4028/capabilities``);
  a refused 4028 is tried as Whatsminer API 3 (``get.device.info`` on 4433).
- HTTP on 80: ``GET /``; a 401 whose ``WWW-Authenticate`` realm names antMiner is stock Antminer, otherwise the
  page is matched against every driver's ``web_signatures`` (and a 401's realm against its ``web_realms``).

Custom firmware (Braiins, LuxOS, VNish) runs on Antminer hardware, so its pages and replies also carry stock
strings. The first custom match wins at once; after a stock match the race waits :data:`CUSTOM_WAIT_S` more
for a custom one (asic-rs does the same). A cgminer RPC that answered but matched no signature is read by the
generic cgminer reader (``cgminer``), after waiting for the web probe up to half the time left (a page naming
the firmware still wins: Goldshell's and IceRiver's RPC replies match nothing). Nothing matched and no cgminer
answered: :class:`UnsupportedDevice` saying what each probe saw, never a guess.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import (
    DeviceError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnresolved,
    ProtocolError,
    UnsupportedDevice,
)
from . import api3, http, rpc
from .driver import Driver
from .drivers import get, identification_order

if TYPE_CHECKING:
    from .session import MinerSession

IDENTIFY_COMMANDS = ("version", "devdetails", "stats")
SECOND_LOOK = ("devs",)  # asked only of a cgminer that matched no signature
CUSTOM_WAIT_S = 0.3
_UNREACHED = ("refused", "timeout", "reset", "resolve")

_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)

# Identifications in flight at once in one process (the agent's polls: collectors/asic/poll.py), whatever the
# groups' concurrency. One in flight holds two probe connections, their tasks and replies (~18 kB of heap,
# measured by bench/memory.py), and a fleet's first cycle identifies every miner at once: at a concurrency of
# 2,000 that transient heap, interleaved with what the cycle keeps, raised the first cycle's peak above the steady
# one (issue 16). A count, not a byte budget: the probes' replies are capped (rpc.MAX_REPLY_BYTES, the web
# probe's page), so the count bounds the bytes. 1,024: 512 doubled the first cycle's wall time at 5,000 miners
# (identification waits on the devices, ~1 s each, not on CPU), and at 1,024 a 20,000-miner first cycle stays
# CPU-bound (bench/memory.py, README "Performance").
IDENTIFY_LIMIT = 1024
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary())


def identify_slot() -> asyncio.Semaphore:
    """The running loop's identification slots (``async with identify_slot(): await identify(...)``)."""
    loop = asyncio.get_running_loop()
    held = _slots.get(loop)
    if held is None or held[0] != IDENTIFY_LIMIT:
        held = _slots[loop] = (IDENTIFY_LIMIT, asyncio.Semaphore(IDENTIFY_LIMIT))
    return held[1]


@dataclass(slots=True)
class Seen:
    probe: str
    driver: Driver | None
    note: str
    error: DeviceError | None = None  # the probe reached nothing (refused, timeout, reset)
    # A well-formed cgminer RPC answered but no signature matched: the generic cgminer reader can read it.
    cgminer: bool = False


def match_driver(replies: dict[str, rpc.Reply]) -> Driver | None:
    """The driver whose signature appears in the replies; custom firmware before stock."""
    haystack = json.dumps(replies, ensure_ascii=False).upper()
    for driver in identification_order():
        if any(sig in haystack for sig in driver.signatures):
            return driver
    return None


def match_web(status: int, headers: dict[str, str], body: bytes) -> Driver | None:
    realm = headers.get("www-authenticate", "").lower() if status == 401 else ""
    text = body[:65536].decode("utf-8", errors="replace").lower()
    # identification_order puts custom firmware first: its pages also carry the stock strings.
    for driver in identification_order():
        if any(needle in text for needle in driver.web_signatures) or any(r in realm for r in driver.web_realms):
            return driver
    return None


async def _rpc_probe(host: str, port: int, deadline: float) -> Seen:
    try:
        replies = await rpc.fetch(host, port, IDENTIFY_COMMANDS, deadline=deadline, keep_errors=True)
    except ProtocolError as e:
        if "HTTP" in e.message:
            return await _epic_probe(host, port, deadline)
        return Seen("rpc", None, f"rpc {port}: {e.message}")
    except DeviceError as e:
        if e.reason == "refused":
            return await _api3_probe(host, deadline, f"rpc {port}: refused", e)
        return Seen("rpc", None, f"rpc {port}: {e.reason}", e if e.reason in _UNREACHED else None)
    driver = match_driver(replies)
    desc = rpc.description(replies.get("version", {})) or "no description"
    generic = driver is None and rpc.speaks_cgminer(replies)
    if generic:
        # Some vendors name the model only per device (iBeLink's DEVS "Name"): one more read before settling
        # for the generic reader.
        try:
            driver = match_driver(await rpc.fetch(host, port, SECOND_LOOK, deadline=deadline))
        except DeviceError:
            driver = None
    return Seen("rpc", driver, f"rpc {port}: {desc!r}", cgminer=generic and driver is None)


async def _epic_probe(host: str, port: int, deadline: float) -> Seen:
    try:
        caps = (await http.raw_get(host, port, "/capabilities", deadline=deadline)).json()
    except DeviceError as e:
        return Seen("rpc", None, f"http on {port}: {e.reason}")
    if isinstance(caps, dict) and ("Model" in caps or "Default Hashrate" in caps):
        return Seen("rpc", get("epic"), f"http on {port}: ePIC {caps.get('Model')!r}")
    return Seen("rpc", None, f"http on {port}: unknown JSON")


async def _api3_probe(host: str, deadline: float, before: str, rpc_error: DeviceError) -> Seen:
    try:
        info = await api3.call(host, "get.device.info", deadline=deadline)
    except DeviceError as e:
        return Seen("rpc", None, f"{before}; api3 {api3.PORT}: {e.reason}", rpc_error)
    msg = info.get("msg") if isinstance(info.get("msg"), dict) else {}
    return Seen("rpc", get("whatsminer"), f"api3: {(msg or {}).get('miner', {}).get('type')!r}")


async def _http_probe(host: str, port: int, deadline: float) -> Seen:
    try:
        resp = await http.raw_get(host, port, "/", deadline=deadline)
    except DeviceError as e:
        return Seen("http", None, f"http {port}: {e.reason}", e if e.reason in _UNREACHED else None)
    driver = match_web(resp.status, dict(resp.headers), resp.body)
    m = _TITLE.search(resp.body[:8192].decode("utf-8", errors="replace"))
    title = m.group(1).strip()[:60] if m else ""
    return Seen("http", driver, f"http {port}: {resp.status} {title!r}")


def address_error(host: str, exc: BaseException) -> DeviceError:
    """What a transport raises for an address it cannot use, as the DeviceError it means: a name that does not
    encode (a DNS label over 63 characters: UnicodeError from the IDNA codec) or does not resolve, a port out of
    range (OverflowError), any other OSError before a connection exists: nothing was reached."""
    if isinstance(exc, TimeoutError):
        return DeviceTimeout(f"no answer from {host} before the deadline")
    what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    if isinstance(exc, UnicodeError | socket.gaierror):
        return DeviceUnresolved(f"cannot resolve {host}: {what}")
    return DeviceRefused(f"cannot connect to {host}: {what}")


async def _guarded(probe: str, host: str, coro: Coroutine[object, object, Seen]) -> Seen:
    """A probe whose address errors come back as what it saw (an unreached host), never as an exception left
    in a task: the other probe's result still counts, and nothing is logged as "never retrieved"."""
    try:
        return await coro
    except (OSError, OverflowError) as e:
        err = address_error(host, e)
    except UnicodeError as e:
        if isinstance(e, UnicodeDecodeError):  # a reply's bytes, not the address: the protocol is wrong
            return Seen(probe, None, f"{probe}: undecodable reply", None)
        err = address_error(host, e)
    return Seen(probe, None, f"{probe}: {err.reason}", err)


async def identify(session: MinerSession, *, deadline: float) -> Driver:
    """The driver for ``session``'s host, or UnsupportedDevice with what each probe saw."""
    host, port = session.host, session.port
    rpc_port = rpc.DEFAULT_PORT if port in (80, 443, 8080) else port
    web_port = port if port in (80, 8080) else 80
    loop = asyncio.get_running_loop()
    tasks = {
        asyncio.ensure_future(_guarded("rpc", host, _rpc_probe(host, rpc_port, deadline))),
        asyncio.ensure_future(_guarded("http", host, _http_probe(host, web_port, deadline))),
    }
    seen: list[Seen] = []
    best: Driver | None = None
    stock_until: float | None = None
    pending = set(tasks)
    try:
        while pending:
            until = deadline if stock_until is None else min(deadline, stock_until)
            wait = until - loop.time()
            if wait <= 0:
                break
            done, pending = await asyncio.wait(pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            for t in done:
                s = t.result()
                seen.append(s)
                if s.driver is None:
                    if s.cgminer and stock_until is None:
                        # A web page that names the firmware (Goldshell, IceRiver ... whose RPC matches nothing)
                        # still wins: wait for it up to half the time left, and leave the rest for the poll.
                        now = loop.time()
                        stock_until = now + max(CUSTOM_WAIT_S, (deadline - now) / 2)
                    continue
                if s.driver.custom:
                    return s.driver
                if best is None or (s.probe == "rpc" and best.name != s.driver.name and s.driver.priority < best.priority):
                    best = s.driver
                    stock_until = loop.time() + CUSTOM_WAIT_S
    finally:
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for t in tasks:  # a probe that failed unexpectedly next to one that returned: retrieved, not leaked
            if t.done() and not t.cancelled():
                t.exception()
    if best is not None:
        return best
    if any(s.cgminer for s in seen):
        # A cgminer-API miner of a vendor without a dedicated driver: read what the standard API carries (the
        # generic reader says so in every reading) rather than report it unsupported.
        return get("cgminer")
    exhausted = next((s.error for s in seen if s.error is not None and s.error.reason == "resource"), None)
    if exhausted is not None:  # a probe could not even open its socket: nothing is known about the host
        raise exhausted
    if all(s.error is not None for s in seen):
        # Nothing answered at all: the host is down or silent, not an unknown firmware (the reason says which).
        notes = "; ".join(s.note for s in seen) or "no probe finished"
        if len(seen) < len(tasks):
            raise DeviceTimeout(f"no answer from {host} before the deadline ({notes})")
        first = next((s.error for s in seen if s.probe == "rpc" and s.error is not None), seen[0].error)
        assert first is not None
        raise type(first)(f"{first.message} ({notes})")
    what = "; ".join(s.note for s in sorted(seen, key=lambda s: s.probe)) or "no probe answered in time"
    raise UnsupportedDevice(f"unknown firmware at {host} ({what})")
