"""What a config reload cannot apply to the running agent: each changed key that needs a restart, named.

A reload (SIGHUP or ``POST /-/reload``) replaces the miner groups, site, site map, probe ranges, economics,
power domains and the web config's users and certificates. The keys below are read once at start: the HTTP
socket (``listen``), the collectors with their own engines and threads (each registered collector's section
that is not ``reloadable``, collectors/registry.py: ``snmp``, ``gpus``), the rediscovery
timer (``rescan_interval``) and the state directory (``storage``). Changing one of them and reloading used to
be silently ignored; now each is logged as a warning with its old and new value, so the operator knows to
restart (docs/reload.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .settings import Config


def restart_sections() -> list[str]:
    """The collectors' sections a reload cannot apply (the registry's kinds that are not ``reloadable``)."""
    from collectors.registry import kinds

    return sorted(k.section for k in kinds().values() if not k.reloadable)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}s" if value else "0"
    if isinstance(value, tuple) and value and hasattr(value[0], "__dataclass_fields__"):
        return f"{len(value)} group(s)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(a: Any, b: Any, key: str) -> list[str]:
    """``key.field (old -> new)`` for each differing field of two dataclasses of the same type (not ``line``:
    moving a group in the file changes nothing; not the expanded ``targets``: ``specs`` names that change)."""
    out = []
    for f in dataclasses.fields(a):
        if f.name in ("line", "targets"):
            continue
        old, new = getattr(a, f.name), getattr(b, f.name)
        if old != new:
            shown = "changed" if f.name in ("community", "v3") else f"{_show(old)} -> {_show(new)}"
            out.append(f"{key}.{f.name} ({shown})")  # a community is a secret: say only that it changed
    return out


def restart_needed(old: Config, new: Config, *, listen_from_flag: bool = False) -> list[str]:
    """The changed keys of ``new`` that the running agent keeps at their ``old`` values until a restart."""
    changes: list[str] = []
    if old.listen != new.listen and not listen_from_flag:
        changes.append(f"listen ({old.listen!r} -> {new.listen!r})")
    for section in restart_sections():
        a, b = getattr(old, section), getattr(new, section)
        if isinstance(a, tuple):  # a list of groups
            if len(a) != len(b):
                changes.append(f"{section} ({len(a)} -> {len(b)} groups)")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                changes.extend(_fields(x, y, f"{section}[{i}]"))
        elif a != b:
            changes.extend(_fields(a, b, section))
    if old.rescan_interval != new.rescan_interval:
        changes.append(f"rescan_interval ({_show(old.rescan_interval)} -> {_show(new.rescan_interval)})")
    if old.storage_path != new.storage_path:
        changes.append(f"storage.path ({old.storage_path} -> {new.storage_path})")
    return changes
