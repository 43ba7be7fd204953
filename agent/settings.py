"""The typed, frozen settings a ``site.yaml`` is read into (``agent/config.py`` reads it, ``agent/sections/`` reads
each section). Every field has the default that applies when its key is left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from collectors.asic.pools import PoolPolicy

from .secret import Secret
from .targets import MINER_PORT, SNMP_PORT, Target
from .yamlread import clip

if TYPE_CHECKING:
    from collectors.power.domains import PowerDomain

    from .sitemap import SiteMap

DEFAULT_LISTEN = ":10428"



@dataclass(frozen=True)
class Credentials:
    web_username: str | None = None  # None: the driver's firmware default
    web_password: Secret | None = None
    # The firmware's documented default password, only when the operator says so (never guessed otherwise).
    use_default_password: bool = False
    # The drivers the password is for; None: the group's driver, or any when the group's driver is auto.
    firmwares: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MinerGroup:
    # Expanded devices (kept out of repr: a /12 is a million of them) and the specs as written, for logs.
    targets: tuple[Target, ...] = field(repr=False)
    specs: tuple[str, ...] = ()
    driver: str = "auto"  # "auto" or one of driver_names()
    interval: float = 60.0  # seconds
    timeout: float = 10.0  # per-device deadline, seconds
    concurrency: int = 1000
    per_subnet_concurrency: int = 64  # per IPv4 /24
    port: int = MINER_PORT  # for specs without their own port
    # ``port:`` was written: every target keeps its port. Otherwise a target without its own port moves to its
    # driver's primary API port once identified (an HTTP-only miner is keyed by its web port).
    port_given: bool = False
    credentials: Credentials = field(default_factory=Credentials)
    line: int = 0  # where the group starts in site.yaml, for messages at run time

    @property
    def explicit(self) -> frozenset[str]:
        """The targets written as single addresses (expected miners; a CIDR or range is a scope), as
        ``MinerSession.target`` names them."""
        from .targets import expand_spec, is_scope

        return frozenset(str(t) for spec in self.specs if not is_scope(spec) for t in expand_spec(spec, self.port))


@dataclass(frozen=True)
class SnmpV3:
    user: str
    auth_protocol: str | None = None
    auth_password: Secret | None = None
    priv_protocol: str | None = None
    priv_password: Secret | None = None


@dataclass(frozen=True)
class SnmpGroup:
    # Expanded devices (kept out of repr: a /12 is a million of them) and the specs as written, for logs.
    targets: tuple[Target, ...] = field(repr=False)
    specs: tuple[str, ...] = ()
    profile: str = "auto"  # "auto" (from sysObjectID) or one of profile_names()
    interval: float = 60.0
    timeout: float = 10.0
    retries: int = 1
    concurrency: int = 256
    port: int = SNMP_PORT
    community: Secret | None = None  # exactly one of community and v3 is set
    v3: SnmpV3 | None = None
    line: int = 0


@dataclass(frozen=True)
class GpuConfig:
    enabled: bool | Literal["auto"] = "auto"  # auto: on when NVML loads
    interval: float = 30.0


@dataclass(frozen=True)
class PoolApiAccount:
    """One pool account whose stats API is read (``pool_api: {accounts: [...]}``; collectors/poolapi/)."""

    name: str  # the ``pool`` label
    api: str  # the API's kind: braiins
    url: str
    coin: str
    token: Secret
    normal_gap: float  # the pool-vs-miner gap that is normal for this account (0.03: 3 %)

    @property
    def host(self) -> str:  # the shard test's address: one agent of a sharded site reads each account
        return self.url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return 443 if self.url.startswith("https") else 80


@dataclass(frozen=True)
class PoolApiConfig:
    interval: float = 60.0
    timeout: float = 20.0
    accounts: tuple[PoolApiAccount, ...] = ()


@dataclass(frozen=True)
class PowerConfig:
    nameplate_fallback: bool = False  # report the model's nameplate power when nothing measures it


@dataclass(frozen=True)
class EconomicsConfig:
    """Prices and limits the agent exports for the profitability and contract-limit rules; None: not set."""

    hashprice_usd_per_th_day: float | None = None  # revenue per TH/s per day
    energy_price_usd_per_kwh: float | None = None
    site_power_limit_watts: float | None = None  # contracted site power limit


@dataclass(frozen=True)
class Config:
    path: Path
    site: str
    listen: str = DEFAULT_LISTEN
    miners: tuple[MinerGroup, ...] = ()
    snmp: tuple[SnmpGroup, ...] = ()
    gpus: GpuConfig = field(default_factory=GpuConfig)
    pool_api: PoolApiConfig = field(default_factory=PoolApiConfig)  # pools' stats APIs (collectors/poolapi/)
    power: PowerConfig = field(default_factory=PowerConfig)
    economics: EconomicsConfig = field(default_factory=EconomicsConfig)
    sitemap_path: Path | None = None
    sitemap: SiteMap | None = None  # loaded and checked with the config
    power_domains_path: Path | None = None
    power_domains: tuple[PowerDomain, ...] = ()  # loaded and checked with the config
    identity_interval: float = 3600.0
    # Re-sweep the CIDR/range targets this often for new or moved (DHCP) miners; None: never.
    rescan_interval: float | None = None
    shard: tuple[int, int] | None = None  # (i, n): this agent polls the targets with shard_of(t, n) == i
    # State directory (``storage: {path: ...}``, or --storage.path): miners found in CIDR/range scopes are kept
    # there across restarts (collectors/asic/expected.py). None: kept in memory only.
    storage_path: Path | None = None
    # The site's allowed pools and workers (``pools:``, collectors/asic/pools.py): a miner with any other pool
    # set is on the floor view's to-do list as "unknown pool", and farmwatch_miner_pool_allowed says it to the
    # alert rules (a hijacked or misconfigured miner hashes for someone else). Empty: not checked.
    pools: PoolPolicy = field(default_factory=PoolPolicy)
    # The operator's curtailment windows (``curtailment: {file: ...}``, agent/curtailment.py), re-read on change.
    curtailment_path: Path | None = None
    # The bearer token for POST /api/v1/curtailment (``curtailment: {api_token_file}``, agent/curtailment_api.py).
    curtailment_token: Secret | None = None
    # The share of the answering miners asleep together that counts as a curtailment nobody declared
    # (``curtailment: {infer_share}``, exported for the rules and the report; None: not inferred).
    curtailment_infer_share: float | None = None

    @property
    def listen_host(self) -> str:
        return split_listen(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_listen(self.listen)[1]




def split_listen(text: str) -> tuple[str, int]:
    """``host:port``, ``:port`` or ``[v6]:port`` into (host, port); host "" means every interface."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f'"{clip(text)}" is not a listen address (use :10428 or 0.0.0.0:10428)')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f'"{clip(text)}": put an IPv6 address in brackets, e.g. [::]:10428')
    return host, int(port)
