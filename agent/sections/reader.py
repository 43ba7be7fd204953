"""What every section reader of site.yaml shares: the :class:`Reader` (the YAML walker collecting problems with
file, line and key, the config's folder, whether secrets are read now, and which group claimed each device), and
the parts several sections have: lists of groups, interval and timeout, targets, secrets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from ..secret import Secret, SecretError
from ..targets import MAX_ADDRESSES, Target, TargetError, expand_spec
from ..yamlread import YamlReader, is_null


class Reader:
    """One reading of one site.yaml: problems are collected in ``y``, never raised, so every one is reported."""

    def __init__(self, path: Path, check_secrets: bool) -> None:
        self.path = path
        self.base = path.parent
        self.check_secrets = check_secrets
        self.y = YamlReader(str(path))
        self.owners: dict[Target, str] = {}  # which group claimed each device, to catch overlaps


G = TypeVar("G")


def is_file(path: Path) -> bool:
    """``Path.is_file`` that says False instead of raising for names the OS refuses (ENAMETOOLONG, EACCES)."""
    try:
        return path.is_file()
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return False


def _seconds(value: float) -> str:
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


def read_groups(
    r: Reader, node: yaml.Node | None, key: str, build: Callable[[Reader, yaml.Node, str], G | None]
) -> list[G]:
    if node is None or is_null(node):
        return []
    items = r.y.sequence(node, key)
    groups: list[G] = []
    for i, item in enumerate(items or []):
        group = build(r, item, f"{key}[{i}]")
        if group is not None:
            groups.append(group)
    return groups


def read_timing(
    r: Reader, m: dict[str, yaml.Node], key: str, interval: float, timeout: float
) -> tuple[float, float]:
    y = r.y
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


def read_targets(
    r: Reader, m: dict[str, yaml.Node], node: yaml.Node, key: str, port: int
) -> tuple[tuple[Target, ...], tuple[str, ...]]:
    y = r.y
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
        clashes = [t for t in expanded if r.owners.get(t, key) != key]
        if clashes:
            more = f" and {len(clashes) - 1:,} more" if len(clashes) > 1 else ""
            y.add(
                item,
                item_key,
                f'"{spec}" overlaps {r.owners[clashes[0]]} ({clashes[0]}{more}); '
                "a device belongs to one group",
            )
        for target in expanded:
            r.owners.setdefault(target, key)
        found.update(dict.fromkeys(expanded))
        if len(found) > MAX_ADDRESSES:
            y.add(tnode, f"{key}.targets", f"covers more than {MAX_ADDRESSES:,} devices (shard the site)")
            return (), ()
    return tuple(found), tuple(specs)


def read_secret(r: Reader, m: dict[str, yaml.Node], key: str, base: str) -> Secret | None:
    file_node, env_node = m.get(f"{base}_file"), m.get(f"{base}_env")
    if file_node is not None and env_node is not None:
        r.y.add(env_node, f"{key}.{base}_env", f"give one of {base}_file or {base}_env, not both")
        return None
    if file_node is not None:
        text = r.y.string(file_node, f"{key}.{base}_file")
        if text is None:
            return None
        # Shown in messages only when written as a path ("/run/secrets/x", "./x"): a bare word may be a
        # password pasted into the wrong key.
        path_like = text.startswith(("/", "./", "../", "~"))
        secret = Secret(path=r.base / text, hide_name=not path_like)
        where, node = f"{key}.{base}_file", file_node
    elif env_node is not None:
        text = r.y.string(env_node, f"{key}.{base}_env")
        if text is None:
            return None
        secret = Secret(env=text)
        where, node = f"{key}.{base}_env", env_node
    else:
        return None
    if r.check_secrets:
        try:
            secret.reveal()
        except SecretError as exc:
            r.y.add(node, where, str(exc))
            return None
    return secret
