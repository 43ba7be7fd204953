"""What is kept between cycles for one miner: the driver that answered, its group's web login, the driver's
per-miner state. Its own module so that the poll, the fetch context and identification all use it without
importing each other (tests/project/test_imports.py: no import cycles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import rpc
from .http import WebCredentials

if TYPE_CHECKING:
    from .driver import Driver


@dataclass(slots=True)
class MinerSession:
    host: str
    port: int = rpc.DEFAULT_PORT
    driver_name: str | None = None  # configured driver; None = identify automatically
    nameplate_power: bool = False
    identity_interval: float = 3600.0
    credentials: WebCredentials | None = None  # the group's web login (never logged)
    driver: Driver | None = None
    state: dict[str, Any] = field(default_factory=dict)  # the driver's per-miner cache (tokens, identity)
    # The target named no port (``port`` is a default): once the driver is known, the session moves to the
    # driver's primary API port, so an HTTP-only miner is polled and keyed as ``host:80`` (docs/architecture.md, ``device``).
    auto_port: bool = False
    configured_port: int = field(init=False, default=0)  # ``port`` as configured, before any such move
    # ``device`` built once per port: it is asked for ~10 times per poll, and each f-string was a new copy of
    # the same text, some of them kept (the store's and the finds' keys).
    _device: str = field(init=False, default="", repr=False, compare=False)
    _device_of: tuple[str, int] = field(init=False, default=("", -1), repr=False, compare=False)

    def __post_init__(self) -> None:
        self.configured_port = self.port

    @property
    def device(self) -> str:
        host, port = self._device_of
        if port != self.port or host is not self.host:
            self._device, self._device_of = address(self.host, self.port), (self.host, self.port)
        return self._device

    @property
    def target(self) -> str:
        """The device as configured (a config reload matches running sessions by it)."""
        return address(self.host, self.configured_port)


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def use_driver(session: MinerSession, driver: Driver) -> None:
    """Poll ``session`` with ``driver`` from now on: the one place a session learns its driver (poll, scan,
    rediscovery). A session without a configured port takes the driver's primary API port, so the same miner
    gets the same ``device`` whether it was polled, scanned or configured by address."""
    session.driver = driver
    if session.auto_port and session.port != driver.port:
        session.port = driver.port
