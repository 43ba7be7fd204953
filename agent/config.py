"""``site.yaml``: load it into typed, frozen settings, or check it and report every problem at once.

Problems carry file, line and key (``site.yaml:12: miners[0].interval: "60x" is not a duration``), so the YAML is
composed into nodes, which keep their marks, and walked by hand rather than loaded into plain dicts. Secrets are
only ever read from files or environment variables, and no message or ``repr`` ever contains one.

The node walking is ``agent.yamlread`` (shared with the site map, power domains and web config); secrets are
``agent.secret``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import yaml

from .pools import AllowedPool, PoolPolicy, pool_key
from .secret import Secret, SecretError
from .targets import MAX_ADDRESSES, MINER_PORT, SNMP_PORT, Target, TargetError, expand_spec, parse_shard
from .yamlread import (
    ConfigError,
    Problem,
    YamlReader,
    clip,
    compose_yaml,
    has_key,
    is_null,
    kind_of,
    read_text,
)

if TYPE_CHECKING:
    from .power_domains import PowerDomain
    from .sitemap import SiteMap



def driver_names() -> tuple[str, ...]:
    """The miner drivers a config may name: the driver registry itself (a new driver module is accepted at once;
    no hand list to forget). Imported late: loading every driver costs most of a second, and only a config that
    names miners needs it."""
    from collectors.asic.drivers import registry

    return tuple(sorted(registry()))


def profile_names() -> tuple[str, ...]:
    """The SNMP profiles a config may name: the YAML files shipped in collectors/snmp/profiles/."""
    from collectors.snmp.profile import profiles

    return tuple(sorted(profiles()))


AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")
DEFAULT_LISTEN = ":10428"

G = TypeVar("G")
# Names people write for the same protocols (SHA is SHA-1, AES is AES-128 in SNMP's USM).
_PROTOCOL_ALIASES = {"SHA1": "SHA", "AES128": "AES", "DES3": "3DES", "TRIPLEDES": "3DES"}


# --- settings -------------------------------------------------------------------------------------------------


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
    # there across restarts (agent/expected.py). None: kept in memory only.
    storage_path: Path | None = None
    # The site's allowed pools and workers (``pools:``, agent/pools.py): a miner with any other pool set is on the
    # floor view's to-do list as "unknown pool", and farmwatch_miner_pool_allowed says it to the alert rules (a
    # hijacked or misconfigured miner hashes for someone else). Empty: not checked.
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


# --- scalar parsers shared with the CLI -----------------------------------------------------------------------


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


# --- site.yaml ------------------------------------------------------------------------------------------------

# The agent's own top-level keys; each collector's section comes from the collector registry (top_keys()).
_AGENT_KEYS = (
    "site", "listen", "miners", "sitemap", "power_domains", "power", "economics",
    "identity_interval", "rescan_interval", "shard", "storage", "pools", "curtailment",
)
_MINER_KEYS = (
    "targets",
    "driver",
    "interval",
    "timeout",
    "concurrency",
    "per_subnet_concurrency",
    "port",
    "credentials",
)
_CREDENTIAL_KEYS = ("web_username", "web_password_file", "web_password_env", "use_default_password", "firmwares")
_SNMP_KEYS = (
    "targets",
    "profile",
    "interval",
    "timeout",
    "retries",
    "concurrency",
    "port",
    "community_file",
    "community_env",
    "v3",
)
_V3_KEYS = (
    "user",
    "auth_protocol",
    "auth_password_file",
    "auth_password_env",
    "priv_protocol",
    "priv_password_file",
    "priv_password_env",
)
_GPU_KEYS = ("enabled", "interval")
_POWER_KEYS = ("nameplate_fallback",)
_ECONOMICS_KEYS = ("hashprice_usd_per_th_day", "energy_price_usd_per_kwh", "site_power_limit_watts")


def top_keys() -> frozenset[str]:
    """Every top-level key site.yaml may have: the agent's own and each registered collector's section (a
    collector that is not registered is not configurable; one registered without a reader here fails at once)."""
    from collectors.registry import sections

    missing = set(sections()) - set(_SECTION_READERS)
    if missing:
        raise RuntimeError(f"collector sections without a config reader in agent/config.py: {sorted(missing)}")
    return frozenset(_AGENT_KEYS) | frozenset(sections())


def _driver_port(driver: str) -> int:
    """A driver's primary API port (HTTP-only firmwares are not on 4028), from the driver registry itself."""
    if driver == "auto":
        return MINER_PORT
    from collectors.asic.drivers import registry  # imported late: only a named driver needs the registry

    known = registry().get(driver)
    return known.port if known is not None else MINER_PORT


class _SiteReader:
    def __init__(self, path: Path, check_secrets: bool) -> None:
        self.path = path
        self.base = path.parent
        self.check_secrets = check_secrets
        self.y = YamlReader(str(path))
        self.owners: dict[Target, str] = {}  # which group claimed each device, to catch overlaps

    def read(self, root: yaml.Node) -> Config | None:
        y = self.y
        top = y.mapping(root, "", top_keys())
        if top is None:
            return None
        site = y.string(top["site"], "site") if "site" in top else _default_site()
        listen = DEFAULT_LISTEN
        if "listen" in top:
            listen = self._listen(top["listen"]) or DEFAULT_LISTEN
        # The collectors' sections (miners:, snmp:, gpus:): each read by its reader, or its default when absent.
        sections = {name: reader(self, top[name]) if name in top else absent()
                    for name, (reader, absent) in _SECTION_READERS.items()}
        power = self._power(top["power"]) if "power" in top else PowerConfig()
        economics = self._economics(top["economics"]) if "economics" in top else EconomicsConfig()
        identity = (
            y.duration(top["identity_interval"], "identity_interval") if "identity_interval" in top else None
        )
        shard = self._shard(top["shard"]) if "shard" in top else None
        rescan = y.duration(top["rescan_interval"], "rescan_interval") if "rescan_interval" in top else None
        sitemap_path, sitemap = self._sitemap(top["sitemap"]) if "sitemap" in top else (None, None)
        domains_path, domains = self._power_domains(top["power_domains"]) if "power_domains" in top else (None, ())
        storage = self._storage(top["storage"]) if "storage" in top else None
        pools = self._pools(top["pools"]) if "pools" in top else PoolPolicy()
        curtailment, token, infer = self._curtailment(top["curtailment"]) if "curtailment" in top else (None, None, None)
        if y.problems or site is None:
            return None
        return Config(
            path=self.path,
            site=site,
            listen=listen,
            **sections,  # type: ignore[arg-type]  # each reader's type is its Config field's
            power=power,
            economics=economics,
            sitemap_path=sitemap_path,
            sitemap=sitemap,
            power_domains_path=domains_path,
            power_domains=domains,
            identity_interval=identity or 3600.0,
            rescan_interval=rescan,
            shard=shard,
            storage_path=storage,
            pools=pools,
            curtailment_path=curtailment,
            curtailment_token=token,
            curtailment_infer_share=infer,
        )

    def _listen(self, node: yaml.Node) -> str | None:
        value = self.y.scalar(node)
        if isinstance(value, int) and not isinstance(value, bool):
            text = f":{value}"
        else:
            text = self.y.string(node, "listen") or ""
            if not text:
                return None
        try:
            split_listen(text)
        except ValueError as exc:
            self.y.add(node, "listen", str(exc))
            return None
        return text

    def _shard(self, node: yaml.Node) -> tuple[int, int] | None:
        text = self.y.string(node, "shard")
        if text is None:
            return None
        try:
            return parse_shard(text)
        except TargetError as exc:
            self.y.add(node, "shard", str(exc))
            return None

    def _groups(
        self, node: yaml.Node | None, key: str, build: Callable[[yaml.Node, str], G | None]
    ) -> list[G]:
        if node is None or is_null(node):
            return []
        items = self.y.sequence(node, key)
        groups: list[G] = []
        for i, item in enumerate(items or []):
            group = build(item, f"{key}[{i}]")
            if group is not None:
                groups.append(group)
        return groups

    def _timing(
        self, m: dict[str, yaml.Node], key: str, interval: float, timeout: float
    ) -> tuple[float, float]:
        y = self.y
        given_interval = y.duration(m["interval"], f"{key}.interval") if "interval" in m else interval
        if given_interval is None:  # already reported; comparing a default against it would only mislead
            return interval, timeout
        # Left out, the timeout follows the interval (half of it, at most the default) so that any interval
        # validates on its own, and a device that never answers gives its slot back half-way through the cycle.
        given_timeout = (y.duration(m["timeout"], f"{key}.timeout") if "timeout" in m
                         else min(timeout, given_interval / 2))
        if given_timeout is None:
            return interval, timeout
        interval, timeout = given_interval, given_timeout
        if timeout >= interval:
            where = m.get("timeout") or m.get("interval")
            y.add(
                where,
                f"{key}.timeout" if "timeout" in m else f"{key}.interval",
                f"timeout {_seconds(timeout)} must be shorter than interval {_seconds(interval)}",
            )
        return interval, timeout

    def _targets(
        self, m: dict[str, yaml.Node], node: yaml.Node, key: str, port: int
    ) -> tuple[tuple[Target, ...], tuple[str, ...]]:
        y = self.y
        if "targets" not in m:
            y.add(node, f"{key}.targets", "is required (IPs, CIDR blocks or ranges)")
            return (), ()
        tnode = m["targets"]
        items = (
            [tnode]
            if isinstance(tnode, yaml.ScalarNode) and not is_null(tnode)
            else y.sequence(tnode, f"{key}.targets")
        )
        if items is not None and not items:
            y.add(tnode, f"{key}.targets", "is empty")
        found: dict[Target, None] = {}
        specs: list[str] = []
        for i, item in enumerate(items or []):
            item_key = f"{key}.targets[{i}]" if isinstance(tnode, yaml.SequenceNode) else f"{key}.targets"
            spec = y.string(item, item_key)
            if spec is None:
                continue
            specs.append(spec)
            try:
                expanded = expand_spec(spec, port)
            except TargetError as exc:
                y.add(item, item_key, str(exc))
                continue
            clashes = [t for t in expanded if self.owners.get(t, key) != key]
            if clashes:
                more = f" and {len(clashes) - 1:,} more" if len(clashes) > 1 else ""
                y.add(
                    item,
                    item_key,
                    f'"{spec}" overlaps {self.owners[clashes[0]]} ({clashes[0]}{more}); '
                    "a device belongs to one group",
                )
            for target in expanded:
                self.owners.setdefault(target, key)
            found.update(dict.fromkeys(expanded))
            if len(found) > MAX_ADDRESSES:
                y.add(tnode, f"{key}.targets", f"covers more than {MAX_ADDRESSES:,} devices (shard the site)")
                return (), ()
        return tuple(found), tuple(specs)

    def _miner_group(self, node: yaml.Node, key: str) -> MinerGroup | None:
        y = self.y
        m = y.mapping(node, key, _MINER_KEYS)
        if m is None:
            return None
        before = len(y.problems)
        driver = (
            y.choice(m["driver"], f"{key}.driver", ("auto", *driver_names()), "driver") if "driver" in m else "auto"
        )
        port = y.integer(m["port"], f"{key}.port", 1, 65535) if "port" in m else None
        interval, timeout = self._timing(m, key, 60.0, 10.0)
        concurrency = y.integer(m["concurrency"], f"{key}.concurrency", 1) if "concurrency" in m else 1000
        per_subnet = (
            y.integer(m["per_subnet_concurrency"], f"{key}.per_subnet_concurrency", 1)
            if "per_subnet_concurrency" in m
            else 64
        )
        credentials = (
            self._credentials(m["credentials"], f"{key}.credentials") if "credentials" in m else Credentials()
        )
        port = port or _driver_port(driver or "auto")
        targets, specs = self._targets(m, node, key, port)
        if len(y.problems) > before or driver is None or concurrency is None or per_subnet is None:
            return None
        return MinerGroup(
            targets=targets,
            specs=specs,
            driver=driver,
            interval=interval,
            timeout=timeout,
            concurrency=concurrency,
            per_subnet_concurrency=per_subnet,
            port=port,
            port_given="port" in m,
            credentials=credentials or Credentials(),
            line=node.start_mark.line + 1,
        )

    def _credentials(self, node: yaml.Node, key: str) -> Credentials | None:
        m = self.y.mapping(node, key, _CREDENTIAL_KEYS)
        if m is None:
            return None
        user = self.y.string(m["web_username"], f"{key}.web_username") if "web_username" in m else None
        default = (
            self.y.boolean(m["use_default_password"], f"{key}.use_default_password")
            if "use_default_password" in m
            else False
        )
        firmwares: tuple[str, ...] | None = None
        if "firmwares" in m:
            items = self.y.sequence(m["firmwares"], f"{key}.firmwares")
            names = [self.y.choice(n, f"{key}.firmwares", driver_names(), "driver") for n in items or ()]
            firmwares = tuple(n for n in names if n is not None)
        return Credentials(
            web_username=user,
            web_password=self._secret(m, key, "web_password"),
            use_default_password=bool(default),
            firmwares=firmwares,
        )

    def _snmp_group(self, node: yaml.Node, key: str) -> SnmpGroup | None:
        y = self.y
        m = y.mapping(node, key, _SNMP_KEYS)
        if m is None:
            return None
        before = len(y.problems)
        profile = (
            y.choice(m["profile"], f"{key}.profile", ("auto", *profile_names()), "SNMP profile")
            if "profile" in m
            else "auto"
        )
        port = y.integer(m["port"], f"{key}.port", 1, 65535) if "port" in m else SNMP_PORT
        interval, timeout = self._timing(m, key, 60.0, 10.0)
        retries = y.integer(m["retries"], f"{key}.retries", 0, 10) if "retries" in m else 1
        concurrency = y.integer(m["concurrency"], f"{key}.concurrency", 1) if "concurrency" in m else 256
        community = self._secret(m, key, "community")
        v3 = self._v3(m["v3"], f"{key}.v3") if "v3" in m else None
        has_community = "community_file" in m or "community_env" in m
        if has_community and "v3" in m:
            y.add(m["v3"], f"{key}.v3", "give either community_file (v1/v2c) or v3, not both")
        elif not has_community and "v3" not in m and not has_key(node, "community"):
            y.add(node, key, "needs community_file (or community_env) for SNMP v2c, or v3")
        targets, specs = self._targets(m, node, key, port or SNMP_PORT)
        if (
            len(y.problems) > before
            or profile is None
            or port is None
            or retries is None
            or concurrency is None
        ):
            return None
        return SnmpGroup(
            targets=targets,
            specs=specs,
            profile=profile,
            interval=interval,
            timeout=timeout,
            retries=retries,
            concurrency=concurrency,
            port=port,
            community=community,
            v3=v3,
            line=node.start_mark.line + 1,
        )

    def _v3(self, node: yaml.Node, key: str) -> SnmpV3 | None:
        y = self.y
        m = y.mapping(node, key, _V3_KEYS)
        if m is None:
            return None
        user = y.string(m["user"], f"{key}.user") if "user" in m else None
        if "user" not in m:
            y.add(node, f"{key}.user", "is required for SNMP v3")
        auth = self._protocol(m, key, "auth_protocol", AUTH_PROTOCOLS)
        priv = self._protocol(m, key, "priv_protocol", PRIV_PROTOCOLS)
        auth_secret = self._secret(m, key, "auth_password")
        priv_secret = self._secret(m, key, "priv_password")
        for name in ("auth", "priv"):
            has_secret = f"{name}_password_file" in m or f"{name}_password_env" in m
            if f"{name}_protocol" in m and not has_secret:
                y.add(
                    m[f"{name}_protocol"], f"{key}.{name}_password_file", f"is required with {name}_protocol"
                )
            if has_secret and f"{name}_protocol" not in m:
                y.add(node, f"{key}.{name}_protocol", f"is required with {name}_password_file")
        if "priv_protocol" in m and "auth_protocol" not in m:
            y.add(
                m["priv_protocol"],
                f"{key}.priv_protocol",
                "privacy needs authentication too (set auth_protocol)",
            )
        if user is None:
            return None
        return SnmpV3(
            user=user,
            auth_protocol=auth,
            auth_password=auth_secret,
            priv_protocol=priv,
            priv_password=priv_secret,
        )

    def _protocol(self, m: dict[str, yaml.Node], key: str, name: str, choices: tuple[str, ...]) -> str | None:
        if name not in m:
            return None
        text = self.y.string(m[name], f"{key}.{name}")
        if text is None:
            return None
        canonical = text.upper().replace("-", "")
        canonical = _PROTOCOL_ALIASES.get(canonical, canonical)
        if canonical not in choices:
            self.y.add(m[name], f"{key}.{name}", f'"{clip(text)}" is not one of {", ".join(choices)}')
            return None
        return canonical

    def _secret(self, m: dict[str, yaml.Node], key: str, base: str) -> Secret | None:
        file_node, env_node = m.get(f"{base}_file"), m.get(f"{base}_env")
        if file_node is not None and env_node is not None:
            self.y.add(env_node, f"{key}.{base}_env", f"give one of {base}_file or {base}_env, not both")
            return None
        if file_node is not None:
            text = self.y.string(file_node, f"{key}.{base}_file")
            if text is None:
                return None
            # Shown in messages only when written as a path ("/run/secrets/x", "./x"): a bare word may be a
            # password pasted into the wrong key.
            path_like = text.startswith(("/", "./", "../", "~"))
            secret = Secret(path=self.base / text, hide_name=not path_like)
            where, node = f"{key}.{base}_file", file_node
        elif env_node is not None:
            text = self.y.string(env_node, f"{key}.{base}_env")
            if text is None:
                return None
            secret = Secret(env=text)
            where, node = f"{key}.{base}_env", env_node
        else:
            return None
        if self.check_secrets:
            try:
                secret.reveal()
            except SecretError as exc:
                self.y.add(node, where, str(exc))
                return None
        return secret

    def _gpus(self, node: yaml.Node) -> GpuConfig:
        y = self.y
        if is_null(node):
            return GpuConfig()
        if isinstance(node, yaml.ScalarNode):  # "gpus: false" as a short form of "gpus: {enabled: false}"
            return GpuConfig(enabled=self._enabled(node, "gpus"))
        m = y.mapping(node, "gpus", _GPU_KEYS) or {}
        enabled = self._enabled(m["enabled"], "gpus.enabled") if "enabled" in m else "auto"
        interval = y.duration(m["interval"], "gpus.interval") if "interval" in m else None
        return GpuConfig(enabled=enabled, interval=interval or 30.0)

    def _enabled(self, node: yaml.Node, key: str) -> bool | Literal["auto"]:
        value = self.y.scalar(node)
        if isinstance(value, bool):
            return value
        if value == "auto":
            return "auto"
        self.y.add(node, key, "expected auto, true or false")
        return "auto"

    def _power(self, node: yaml.Node) -> PowerConfig:
        if is_null(node):
            return PowerConfig()
        m = self.y.mapping(node, "power", _POWER_KEYS) or {}
        fallback = (
            self.y.boolean(m["nameplate_fallback"], "power.nameplate_fallback")
            if "nameplate_fallback" in m
            else False
        )
        return PowerConfig(nameplate_fallback=bool(fallback))

    def _pools(self, node: yaml.Node) -> PoolPolicy:
        """``pools: [URL, ...]`` (any worker) or ``pools: {allowed: [{url: URL, user: GLOB}, ...]}``."""
        if is_null(node):
            return PoolPolicy()
        if isinstance(node, yaml.MappingNode):
            m = self.y.mapping(node, "pools", ("allowed",)) or {}
            if "allowed" not in m:
                self.y.add(node, "pools", "expected allowed: [{url: ..., user: ...}]")
                return PoolPolicy()
            return PoolPolicy(tuple(self._allowed(m["allowed"], "pools.allowed")))
        return PoolPolicy(tuple(self._allowed(node, "pools")))

    def _curtailment(self, node: yaml.Node) -> tuple[Path | None, Secret | None, float | None]:
        """``curtailment: {file, api_token_file | api_token_env, infer_share}``: the windows file, checked now (its
        problems are the config's); the API's bearer token; the share of miners asleep together that is an
        inferred window."""
        from .curtailment import (
            parse_windows,  # late: curtailment.py imports the YAML helpers this module uses
        )

        keys = ("file", "api_token_file", "api_token_env", "infer_share")
        m = self.y.mapping(node, "curtailment", keys)
        if not m:
            if m is not None:
                self.y.add(node, "curtailment", "expected one or more of " + ", ".join(keys))
            return None, None, None
        token = self._secret(m, "curtailment", "api_token")
        share = None
        if "infer_share" in m:
            value = self.y.scalar(m["infer_share"])
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                self.y.add(m["infer_share"], "curtailment.infer_share", "expected a share above 0 and at most 1 "
                           "(0.5: half the answering miners asleep together)")
            else:
                share = float(value)
        if "file" not in m:
            return None, token, share
        text = self.y.string(m["file"], "curtailment.file")
        if not text:
            return None, token, share
        path = self.base / text
        try:
            parse_windows(path)
        except ConfigError as exc:
            self.y.problems.extend(exc.problems)
        return path, token, share

    def _allowed(self, node: yaml.Node, key: str) -> list[AllowedPool]:
        out = []
        for i, item in enumerate(self.y.sequence(node, key) or []):
            where = f"{key}[{i}]"
            user: str | None = None
            if isinstance(item, yaml.MappingNode):
                m = self.y.mapping(item, where, ("url", "user")) or {}
                if "url" not in m:
                    self.y.add(item, where, "missing url")
                    continue
                url_node = m["url"]
                if "user" in m:
                    user = self.y.string(m["user"], f"{where}.user")
                    if not user:
                        self.y.add(m["user"], f"{where}.user", 'expected a worker name or glob ("acct.*")')
                        continue
                where = f"{where}.url"
            else:
                url_node = item
            text = self.y.string(url_node, where)
            if text is None:
                continue
            key_ = pool_key(text)
            if key_ is None:
                self.y.add(url_node, where, f'"{clip(text)}" is not a pool URL (stratum+tcp://host:port)')
                continue
            out.append(AllowedPool(text, key_, user))
        return out

    def _economics(self, node: yaml.Node) -> EconomicsConfig:
        if is_null(node):
            return EconomicsConfig()
        m = self.y.mapping(node, "economics", _ECONOMICS_KEYS) or {}
        values = {name: self._non_negative(m[name], f"economics.{name}") for name in _ECONOMICS_KEYS if name in m}
        return EconomicsConfig(**values)

    def _non_negative(self, node: yaml.Node, key: str) -> float | None:
        value = self.y.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.y.add(node, key, f"expected a number, got {kind_of(node)}")
            return None
        if not math.isfinite(value) or value < 0:
            self.y.add(node, key, f"{value} is out of range (must be a finite number, at least 0)")
            return None
        return float(value)

    def _sitemap(self, node: yaml.Node) -> tuple[Path | None, SiteMap | None]:
        from . import sitemap  # late: sitemap.py imports Problem and YamlReader from this module

        text = self.y.string(node, "sitemap")
        if text is None:
            return None, None
        path = self.base / text
        if not _is_file(path):
            self.y.add(node, "sitemap", f"file {clip(str(path), 200)} does not exist")
            return None, None
        loaded, problems = sitemap.read_sitemap(path)
        self.y.problems.extend(problems)
        return path, loaded

    def _storage(self, node: yaml.Node) -> Path | None:
        m = self.y.mapping(node, "storage", ("path",))
        if m is None or "path" not in m:
            if m is not None:
                self.y.add(node, "storage.path", "is required (the agent's state directory)")
            return None
        text = self.y.string(m["path"], "storage.path")
        if not text:
            return None
        path = self.base / text
        if path.exists() and not path.is_dir():
            self.y.add(m["path"], "storage.path", f"{clip(str(path), 200)} exists and is not a directory")
            return None
        return path

    def _power_domains(self, node: yaml.Node) -> tuple[Path | None, tuple[PowerDomain, ...]]:
        from . import power_domains  # late: power_domains.py imports YamlReader from this module

        text = self.y.string(node, "power_domains")
        if text is None:
            return None, ()
        path = self.base / text
        if not _is_file(path):
            self.y.add(node, "power_domains", f"file {clip(str(path), 200)} does not exist")
            return None, ()
        loaded, problems = power_domains.read_power_domains(path)
        self.y.problems.extend(problems)
        return path, loaded


# Readers of the collectors' sections (collectors/registry.py) and each one's value when the section is absent;
# top_keys() fails when a registered collector's section has none, tests/test_docs.py checks both ways.
_SECTION_READERS: dict[str, tuple[Callable[[_SiteReader, yaml.Node], object], Callable[[], object]]] = {
    "miners": (lambda r, node: tuple(r._groups(node, "miners", r._miner_group)), tuple),
    "snmp": (lambda r, node: tuple(r._groups(node, "snmp", r._snmp_group)), tuple),
    "gpus": (lambda r, node: r._gpus(node), GpuConfig),
}


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that says False instead of raising for names the OS refuses (ENAMETOOLONG, EACCES)."""
    try:
        return path.is_file()
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return False


def _seconds(value: float) -> str:
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


def _default_site() -> str:
    return os.uname().nodename or "farmwatch"


def _parse(path: str | os.PathLike[str], check_secrets: bool) -> tuple[Config | None, list[Problem]]:
    path = Path(path)
    text, problems = read_text(path, str(path))
    if text is None:
        return None, problems
    root, problems = compose_yaml(text, str(path))
    if problems:
        return None, problems
    if root is None:
        return None, [
            Problem(str(path), None, "", "is empty (a config needs at least miners:, snmp: or gpus:)")
        ]
    reader = _SiteReader(path, check_secrets)
    config = reader.read(root)
    # File order: site.yaml first, then the site map; a stable sort keeps same-line problems as found.
    ordered = sorted(reader.y.problems, key=lambda p: (p.file != str(path), p.file, p.line or 0))
    return config, ordered


def load_config(path: str | os.PathLike[str], *, check_secrets: bool = True) -> Config:
    """Read and validate ``site.yaml`` (and its site map); secrets are read now unless ``check_secrets`` is
    false, in which case they are read on first use. Raises :class:`ConfigError` with every problem."""
    config, problems = _parse(path, check_secrets)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_config(path: str | os.PathLike[str], *, check_secrets: bool = True) -> list[Problem]:
    """Every problem in ``site.yaml`` and its site map, in file order; empty when the config is good.
    ``check_secrets=False`` skips reading secret files and variables (for examples checked off the host)."""
    return _parse(path, check_secrets)[1]
