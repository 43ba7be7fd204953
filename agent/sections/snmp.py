"""``snmp:``: groups of PDUs, UPSes, sensors and switches, with their profile (from the shipped profiles), timing,
retries, and a community or an SNMPv3 user."""

from __future__ import annotations

import yaml

from ..settings import SnmpGroup, SnmpV3
from ..targets import SNMP_PORT
from ..yamlread import clip, has_key
from .reader import Reader, read_secret, read_targets, read_timing

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")
# Names people write for the same protocols (SHA is SHA-1, AES is AES-128 in SNMP's USM).
_PROTOCOL_ALIASES = {"SHA1": "SHA", "AES128": "AES", "DES3": "3DES", "TRIPLEDES": "3DES"}

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


def profile_names() -> tuple[str, ...]:
    """The SNMP profiles a config may name: the YAML files shipped in collectors/snmp/profiles/."""
    from collectors.snmp.profile import profiles

    return tuple(sorted(profiles()))


def read_snmp_group(r: Reader, node: yaml.Node, key: str) -> SnmpGroup | None:
    y = r.y
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
    interval, timeout = read_timing(r, m, key, 60.0, 10.0)
    retries = y.integer(m["retries"], f"{key}.retries", 0, 10) if "retries" in m else 1
    concurrency = y.integer(m["concurrency"], f"{key}.concurrency", 1) if "concurrency" in m else 256
    community = read_secret(r, m, key, "community")
    v3 = read_v3(r, m["v3"], f"{key}.v3") if "v3" in m else None
    has_community = "community_file" in m or "community_env" in m
    if has_community and "v3" in m:
        y.add(m["v3"], f"{key}.v3", "give either community_file (v1/v2c) or v3, not both")
    elif not has_community and "v3" not in m and not has_key(node, "community"):
        y.add(node, key, "needs community_file (or community_env) for SNMP v2c, or v3")
    targets, specs = read_targets(r, m, node, key, port or SNMP_PORT)
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


def read_v3(r: Reader, node: yaml.Node, key: str) -> SnmpV3 | None:
    y = r.y
    m = y.mapping(node, key, _V3_KEYS)
    if m is None:
        return None
    user = y.string(m["user"], f"{key}.user") if "user" in m else None
    if "user" not in m:
        y.add(node, f"{key}.user", "is required for SNMP v3")
    auth = read_protocol(r, m, key, "auth_protocol", AUTH_PROTOCOLS)
    priv = read_protocol(r, m, key, "priv_protocol", PRIV_PROTOCOLS)
    auth_secret = read_secret(r, m, key, "auth_password")
    priv_secret = read_secret(r, m, key, "priv_password")
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


def read_protocol(r: Reader, m: dict[str, yaml.Node], key: str, name: str, choices: tuple[str, ...]) -> str | None:
    if name not in m:
        return None
    text = r.y.string(m[name], f"{key}.{name}")
    if text is None:
        return None
    canonical = text.upper().replace("-", "")
    canonical = _PROTOCOL_ALIASES.get(canonical, canonical)
    if canonical not in choices:
        r.y.add(m[name], f"{key}.{name}", f'"{clip(text)}" is not one of {", ".join(choices)}')
        return None
    return canonical
