"""The SNMP collector from the ``snmp:`` section of site.yaml: one collector for all its groups, holding the
devices of this agent's shard (n shards poll each PDU and UPS once between them, split exactly as the miners are).

The section is read through the protocols below, what this module needs of the agent's parsed config, so the
collector imports nothing from the agent. The SNMP modules (pysnmp) are imported when a collector is built, not
when the registry is read: checking a config must stay quick."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ..registry import Addressed, CollectorKind, Setup

if TYPE_CHECKING:
    from .client import Auth
    from .collector import SnmpCollector
    from .poll import SnmpDevice


class SecretValue(Protocol):
    def reveal(self) -> str:
        """The secret's value, read from its file or variable (raises the agent's SecretError)."""
        ...


class V3Section(Protocol):
    @property
    def user(self) -> str: ...
    @property
    def auth_protocol(self) -> str | None: ...
    @property
    def auth_password(self) -> SecretValue | None: ...
    @property
    def priv_protocol(self) -> str | None: ...
    @property
    def priv_password(self) -> SecretValue | None: ...


class SnmpGroupSection(Protocol):
    """One group of ``snmp:`` as the config loader checked it (``agent.config.SnmpGroup``)."""

    @property
    def targets(self) -> Sequence[Addressed]: ...
    @property
    def profile(self) -> str: ...
    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def community(self) -> SecretValue | None: ...
    @property
    def v3(self) -> V3Section | None: ...


def auth_from_group(g: SnmpGroupSection) -> Auth:
    """Credentials of a config group (the secrets are read here; the agent's SecretError passes through)."""
    from .client import Auth

    if g.v3 is not None:
        v = g.v3
        return Auth(user=v.user, auth_protocol=v.auth_protocol,
                    auth_key=v.auth_password.reveal() if v.auth_password else None,
                    priv_protocol=v.priv_protocol,
                    priv_key=v.priv_password.reveal() if v.priv_password else None)
    return Auth(community=g.community.reveal() if g.community is not None else "public")


def device_factory(g: SnmpGroupSection, identity_interval: float = 3600.0) -> Callable[[str, int], SnmpDevice]:
    """Devices of one config group (for /probe): its credentials, profile, timeout and retries."""
    from .poll import SnmpDevice

    auth = auth_from_group(g)

    def make(host: str, port: int) -> SnmpDevice:
        return SnmpDevice(host=host, port=port, auth=auth, profile_name=None if g.profile == "auto" else g.profile,
                          timeout=g.timeout, retries=g.retries, interval=g.interval,
                          identity_interval=identity_interval)

    return make


def configure(groups: Sequence[SnmpGroupSection], setup: Setup) -> list[SnmpCollector]:
    """One collector for every group's devices in this shard; none when there is none. Concurrency is the
    largest a group asks for, at least 32 and at most 64 (one engine serves them all)."""
    from .collector import SnmpCollector

    devices: list[SnmpDevice] = []
    concurrency = 32
    for g in groups:
        make = device_factory(g, setup.identity_interval)
        concurrency = min(max(concurrency, g.concurrency), 64)
        devices.extend(make(t.host, t.port) for t in g.targets if setup.in_shard(t))
    return [SnmpCollector(devices, concurrency=concurrency)] if devices else []


KIND = CollectorKind(
    name="snmp", section="snmp", configure=configure,
    summary="PDUs, UPSes, environment sensors and switches over SNMP v1/v2c/v3; profiles as data",
)
