"""``miners:``: groups of miners, each with its driver (from the driver registry), timing, concurrency, port and
web login."""

from __future__ import annotations

import yaml

from ..settings import Credentials, MinerGroup
from ..targets import MINER_PORT
from .reader import Reader, read_secret, read_targets, read_timing

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


def driver_names() -> tuple[str, ...]:
    """The miner drivers a config may name: the driver registry itself (a new driver module is accepted at once;
    no hand list to forget). Imported late: loading every driver costs most of a second, and only a config that
    names miners needs it."""
    from collectors.asic.drivers import registry

    return tuple(sorted(registry()))


def _driver_port(driver: str) -> int:
    """A driver's primary API port (HTTP-only firmwares are not on 4028), from the driver registry itself."""
    if driver == "auto":
        return MINER_PORT
    from collectors.asic.drivers import registry  # imported late: only a named driver needs the registry

    known = registry().get(driver)
    return known.port if known is not None else MINER_PORT


def read_miner_group(r: Reader, node: yaml.Node, key: str) -> MinerGroup | None:
    y = r.y
    m = y.mapping(node, key, _MINER_KEYS)
    if m is None:
        return None
    before = len(y.problems)
    driver = (
        y.choice(m["driver"], f"{key}.driver", ("auto", *driver_names()), "driver") if "driver" in m else "auto"
    )
    port = y.integer(m["port"], f"{key}.port", 1, 65535) if "port" in m else None
    interval, timeout = read_timing(r, m, key, 60.0, 10.0)
    concurrency = y.integer(m["concurrency"], f"{key}.concurrency", 1) if "concurrency" in m else 1000
    per_subnet = (
        y.integer(m["per_subnet_concurrency"], f"{key}.per_subnet_concurrency", 1)
        if "per_subnet_concurrency" in m
        else 64
    )
    credentials = (
        read_credentials(r, m["credentials"], f"{key}.credentials") if "credentials" in m else Credentials()
    )
    port = port or _driver_port(driver or "auto")
    targets, specs = read_targets(r, m, node, key, port)
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


def read_credentials(r: Reader, node: yaml.Node, key: str) -> Credentials | None:
    m = r.y.mapping(node, key, _CREDENTIAL_KEYS)
    if m is None:
        return None
    user = r.y.string(m["web_username"], f"{key}.web_username") if "web_username" in m else None
    default = (
        r.y.boolean(m["use_default_password"], f"{key}.use_default_password")
        if "use_default_password" in m
        else False
    )
    firmwares: tuple[str, ...] | None = None
    if "firmwares" in m:
        items = r.y.sequence(m["firmwares"], f"{key}.firmwares")
        names = [r.y.choice(n, f"{key}.firmwares", driver_names(), "driver") for n in items or ()]
        firmwares = tuple(n for n in names if n is not None)
    return Credentials(
        web_username=user,
        web_password=read_secret(r, m, key, "web_password"),
        use_default_password=bool(default),
        firmwares=firmwares,
    )
