"""What a driver's ``fetch`` works with: the session (host, credentials, per-miner state kept between cycles),
the poll's deadline, and the transports (RPC, HTTP, API 3) already bound to both.

Per-miner state (``session.state``) holds what is worth keeping between cycles: login tokens with their
expiry, cookies, the Digest middleware (nonce reuse), which API a firmware answered on, identity replies
and when they were read. It never holds a password: those are read from the credentials when a login needs
them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DeviceError, LoginNeeded
from . import api3, http, rpc
from .http import WebCredentials

if TYPE_CHECKING:
    from .driver import Driver
    from .poll import MinerSession

HTTP_PORTS = (80, 443, 8080)


@dataclass(slots=True)
class FetchContext:
    session: MinerSession
    driver: Driver
    deadline: float

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
        self.state[key] = value
        self.state[f"{key}@"] = time.monotonic()
        return value

    def forget(self, *keys: str) -> None:
        for key in keys:
            self.state.pop(key, None)
            self.state.pop(f"{key}@", None)

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
        return await self.rpc_cycle()

    async def rpc(self, commands: tuple[str, ...], *, join: bool = True) -> dict[str, rpc.Reply]:
        return await rpc.fetch(self.host, self.rpc_port, commands, deadline=self.deadline, join=join)

    async def rpc_cycle(self) -> dict[str, Any]:
        """The declarative RPC poll of the driver: identity (cached), joined commands, single commands."""
        d = self.driver
        replies: dict[str, Any] = {}
        if d.identity_commands:
            if self.due("rpc-identity") or not self.state.get("rpc-identity"):
                self.remember("rpc-identity", await self.rpc(d.identity_commands, join=d.join))
            replies.update(self.state["rpc-identity"])
        replies.update(await self.rpc(d.commands, join=d.join))
        for command in d.single_commands:
            replies.update(await self.rpc((command,), join=False))
        return replies

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
        found = self.credentials.login(default_user, default_password)
        if found is None:
            raise LoginNeeded(f"{self.driver.name} at {self.host} needs a web login")
        return found
