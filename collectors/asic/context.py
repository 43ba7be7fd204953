"""What a driver's ``fetch`` works with: the session (host, credentials, per-miner state kept between cycles),
the poll's deadline, and the transports (RPC, HTTP, API 3) already bound to both.

Per-miner state (``session.state``) holds what is worth keeping between cycles: login tokens with their
expiry, cookies, the Digest middleware (nonce reuse), which API a firmware answered on, identity replies
and when they were read. It never holds a password: those are read from the credentials when a login needs
them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..errors import AuthError, DeviceError, DeviceRefused, LoginNeeded
from . import api3, http, rpc
from .deadline import expires_at
from .http import WebCredentials
from .reading import Note

T = TypeVar("T")



class SessionView(Protocol):
    """What a fetch reads of the miner's session (a :class:`~.session.MinerSession`). A protocol, not the class:
    the session holds the driver, whose ``fetch`` takes this context, and naming the class here would make
    driver, context and session import each other."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def state(self) -> dict[str, Any]: ...
    @property
    def credentials(self) -> WebCredentials | None: ...
    @property
    def identity_interval(self) -> float: ...


class DriverView(Protocol):
    """What the context reads of the driver polling (a :class:`~.driver.Driver`; a protocol for the same reason)."""

    @property
    def name(self) -> str: ...
    @property
    def commands(self) -> tuple[str, ...]: ...
    @property
    def single_commands(self) -> tuple[str, ...]: ...
    @property
    def identity_commands(self) -> tuple[str, ...]: ...
    @property
    def join(self) -> bool: ...

HTTP_PORTS = (80, 443, 8080)
# What poll and the daemon say when the RPC port is closed and the firmware's web API would answer, but the
# group has no web login (issue 13, class 6): the fix is a login, not a network problem.
LOGIN_NEEDED = "RPC refused; the web API needs a login"


@dataclass(slots=True)
class FetchContext:
    session: SessionView
    driver: DriverView
    deadline: float
    # What could not be read this cycle (optional commands and endpoints); poll.py puts them on the reading.
    notes: list[Note] = field(default_factory=list)
    identity_tried: bool = False  # the RPC identity was asked this cycle (it is asked once at most)

    @property
    def host(self) -> str:
        return self.session.host

    @property
    def state(self) -> dict[str, Any]:
        return self.session.state

    @property
    def credentials(self) -> WebCredentials:
        return self.session.credentials or http.NO_CREDENTIALS

    @property
    def rpc_port(self) -> int:
        port = self.session.port
        return rpc.DEFAULT_PORT if port in HTTP_PORTS else port

    def web_port(self, default: int = 80) -> int:
        """The configured port when it is a web port, else the driver's own (a target written as ``ip:4028``
        for an HTTP-only miner still reaches its web API)."""
        port = self.session.port
        return port if port in HTTP_PORTS else default

    # --- caching ---
    def due(self, key: str, interval: float | None = None) -> bool:
        """True when the cached item ``key`` is missing or older than ``interval`` (identity interval)."""
        at = self.state.get(f"{key}@")
        every = self.session.identity_interval if interval is None else interval
        return at is None or time.monotonic() - at > every

    def remember(self, key: str, value: Any) -> Any:
        value = shared(value)
        self.state[key] = value
        self.state[f"{key}@"] = time.monotonic()
        return value

    def forget(self, *keys: str) -> None:
        for key in keys:
            self.state.pop(key, None)
            self.state.pop(f"{key}@", None)

    # --- optional parts ---
    def note(self, part: str, reason: str, message: str) -> None:
        if not any(n.part == part for n in self.notes):
            self.notes.append(Note(part=part, reason=reason, message=message))

    async def optional(
        self, part: str, read: Awaitable[T], *, share: float = 1.0, reraise: tuple[str, ...] = ()
    ) -> T | None:
        """``read``, or None with a note when it fails: a missing piece (404, "Invalid command", a timeout, a
        refused login) is not a dead miner. ``share`` of the time left bounds it, so that an optional read that
        hangs leaves time for the reads after it. Errors whose reason is in ``reraise`` are raised (a refused
        port says more about the device than about the part)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        until = min(self.deadline, now + max(self.deadline - now, 0.0) * share)
        try:
            async with expires_at(until):
                return await read
        except TimeoutError:
            self.note(part, "timeout", "no reply in time")
        except DeviceError as e:
            if e.reason in reraise:
                raise
            self.note(part, e.reason, e.message)
        return None

    # --- transports ---
    async def rest_else_rpc(self, rest: Callable[[FetchContext], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The REST API when credentials are configured and the firmware has one, else the RPC cycle. A
        firmware without REST (404, closed port) is remembered and re-checked every identity interval."""
        return await self.web_else_rpc(("rest", rest))

    async def web_else_rpc(self, *apis: tuple[str, Callable[[FetchContext], Awaitable[dict[str, Any]]]]) -> dict[str, Any]:
        """The first of the firmware's web APIs (in the order given) that it has, when credentials are
        configured, else the RPC cycle. An API the firmware lacks (404, closed port, not its JSON) is remembered
        and re-checked every identity interval (an upgrade adds it); one that answered before and fails now
        fails the poll (the miner is down, not a different firmware)."""
        if self.credentials.configured:
            for name, read in apis:
                if self.state.get(name) is False and not self.due(name):
                    continue
                try:
                    replies = await read(self)
                    self.remember(name, True)
                    return replies
                except DeviceError as e:
                    if self.state.get(name) is True or e.reason not in ("refused", "protocol", "parse"):
                        raise
                    self.remember(name, False)
        try:
            return await self.rpc_cycle()
        except DeviceRefused as e:
            if self.credentials.configured:
                raise
            raise await self.refused_needs_login(e) from None

    async def refused_needs_login(self, refused: DeviceRefused, port: int = 80) -> DeviceError:
        """What to raise when the RPC port refused and no web login is configured: :data:`LOGIN_NEEDED` (an
        AuthError) when the web port answers HTTP at all (its API needs a login on every such firmware), else
        the refusal as it was (the host is down or closed everywhere)."""
        try:
            await http.raw_get(self.host, self.web_port(port), "/", deadline=self.deadline)
        except DeviceError:
            return refused
        # LoginNeeded: the daemon's message names the credentials: keys, the CLI's its flags (agent.output).
        return LoginNeeded(f"{self.driver.name} at {self.host}: {LOGIN_NEEDED}")

    async def rpc(self, commands: tuple[str, ...], *, join: bool = True) -> dict[str, rpc.Reply]:
        return await rpc.fetch(self.host, self.rpc_port, commands, deadline=self.deadline, join=join)

    async def rpc_cycle(self, *, unneeded: Callable[[str, dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The declarative RPC poll of the driver: identity (cached), joined commands, single commands.

        Only the joined commands decide whether the miner is read: identity (kept from the last read when it
        fails) and single commands are optional parts, and a command the firmware rejects ("Invalid command",
        "Access denied") is left out of the replies with a note. ``unneeded(command, replies)``: a single command
        the replies so far make unnecessary this cycle is not sent (one connection less)."""
        d = self.driver
        replies: dict[str, Any] = await self.rpc_identity()
        replies.update(await self._rpc_noted(d.commands, d.join))
        for command in d.single_commands:
            if unneeded is not None and unneeded(command, replies):
                continue
            replies.update(await self.optional(command, self._rpc_noted((command,), False)) or {})
        return replies

    async def rpc_identity(self, *, reraise: tuple[str, ...] = ()) -> dict[str, Any]:
        """The driver's identity replies: read at the first poll and once per identity interval (kept when a
        later read fails), asked at most once per cycle, given at most half the time left (identity that hangs
        must not starve the values); what is missing from them is noted every cycle."""
        d = self.driver
        if not d.identity_commands:
            return {}
        if not self.identity_tried and (self.due("rpc-identity") or not self.state.get("rpc-identity")):
            self.identity_tried = True
            ident = await self.optional(
                "identity (" + "+".join(d.identity_commands) + ")", self._rpc_noted(d.identity_commands, d.join),
                share=0.5, reraise=reraise,
            )
            if ident:
                self.remember("rpc-identity", ident)
                self.state["rpc-identity-notes"] = [n for n in self.notes if n.part in d.identity_commands]
        for n in self.state.get("rpc-identity-notes") or ():
            self.note(n.part, n.reason, n.message)  # still missing from the cached identity
        return dict(self.state.get("rpc-identity") or {})

    async def _rpc_noted(self, commands: tuple[str, ...], join: bool) -> dict[str, Any]:
        """Replies to ``commands``; one the firmware rejects (E/F status) is left out, with a note."""
        # A firmware that refused a join is asked command by command until the identity interval runs out (then the
        # join is tried again: an upgrade may have brought it): the refused join was one wasted connection a cycle.
        # The refusal is kept per join: btminer refuses ``get_*`` inside its identity join but joins its values, and
        # one shared flag split the values into three connections a cycle.
        key = "rpc-no-join:" + "+".join(commands)
        join = join and len(commands) > 1 and self.due(key)
        got = await rpc.fetch(self.host, self.rpc_port, commands, deadline=self.deadline, join=join, keep_errors=True,
                              join_refused=lambda: self.remember(key, True))
        out: dict[str, Any] = {}
        for command, reply in got.items():
            status, msg = rpc.status_of(reply)
            if status in ("E", "F"):
                self.note(command, "protocol", msg or f"error status {status}")
            else:
                out[command] = reply
        return out

    async def api3(self, cmd: str, param: str | None = None) -> dict[str, Any]:
        return await api3.call(self.host, cmd, param, deadline=self.deadline)

    def url(self, port: int, path: str) -> str:
        return http.url(self.host, port, path)

    async def get(self, port: int, path: str, **kw: Any) -> http.Response:
        return await http.request("GET", self.url(port, path), deadline=self.deadline, **kw)

    async def post(self, port: int, path: str, **kw: Any) -> http.Response:
        return await http.request("POST", self.url(port, path), deadline=self.deadline, **kw)

    def login(self, default_user: str, default_password: str | None) -> tuple[str, str]:
        """(user, password) for a login, or AuthError naming what to configure (never the password)."""
        found = self.credentials.login(default_user, default_password, self.driver.name)
        if found is None:
            if self.credentials.password is not None and not self.credentials.allows(self.driver.name):
                allowed = ", ".join(sorted(self.credentials.firmwares or ()))
                raise AuthError(f"{self.driver.name} at {self.host} needs a web login; the group's password is "
                                f"for {allowed} only (credentials.firmwares) and is not sent to it")
            raise LoginNeeded(f"{self.driver.name} at {self.host} needs a web login")
        return found


SHARED_MAX_LEN = 64


def shared(value: Any, depth: int = 0) -> Any:
    """``value`` (a decoded reply kept between polls: identity, web info) rebuilt with its keys and short strings
    interned. Every miner of a fleet keeps the same keys and mostly the same values ("STATUS", "CGMiner", "S",
    its model and firmware strings) for an hour; decoded per miner, each is its own object, ~3 kB a miner kept
    (20,000 miners: ~60 MB before fragmentation; bench/memory.py). Interned strings are freed with their last
    reference, so a device's unique strings (serial, MAC) cost nothing extra once it is gone."""
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= SHARED_MAX_LEN and type(value) is str else value
    if depth > 32:  # a hostile reply nested deeper is kept as it came, not rebuilt level by level
        return value
    if type(value) is dict:  # exactly: another mapping type (a driver's own) is kept as it is
        return {(sys.intern(k) if type(k) is str and len(k) <= SHARED_MAX_LEN else k): shared(v, depth + 1)
                for k, v in value.items()}
    if type(value) is list:
        return [shared(v, depth + 1) for v in value]
    return value
