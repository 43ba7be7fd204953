"""The site's own keys: ``listen``, ``shard``, ``storage``, and the files it names and checks with the config:
``sitemap`` (where each miner stands) and ``power_domains`` (feeds, breakers and their budgets)."""

from __future__ import annotations

from pathlib import Path

import yaml

from collectors.power.domains import PowerDomain

from .. import power_domains, sitemap
from ..settings import split_listen
from ..sitemap import SiteMap
from ..targets import TargetError, parse_shard
from ..yamlread import clip
from .reader import Reader, is_file


def read_listen(r: Reader, node: yaml.Node) -> str | None:
    value = r.y.scalar(node)
    if isinstance(value, int) and not isinstance(value, bool):
        text = f":{value}"
    else:
        text = r.y.string(node, "listen") or ""
        if not text:
            return None
    try:
        split_listen(text)
    except ValueError as exc:
        r.y.add(node, "listen", str(exc))
        return None
    return text


def read_shard(r: Reader, node: yaml.Node) -> tuple[int, int] | None:
    text = r.y.string(node, "shard")
    if text is None:
        return None
    try:
        return parse_shard(text)
    except TargetError as exc:
        r.y.add(node, "shard", str(exc))
        return None


def read_storage(r: Reader, node: yaml.Node) -> Path | None:
    m = r.y.mapping(node, "storage", ("path",))
    if m is None or "path" not in m:
        if m is not None:
            r.y.add(node, "storage.path", "is required (the agent's state directory)")
        return None
    text = r.y.string(m["path"], "storage.path")
    if not text:
        return None
    path = r.base / text
    if path.exists() and not path.is_dir():
        r.y.add(m["path"], "storage.path", f"{clip(str(path), 200)} exists and is not a directory")
        return None
    return path


def read_sitemap(r: Reader, node: yaml.Node) -> tuple[Path | None, SiteMap | None]:
    text = r.y.string(node, "sitemap")
    if text is None:
        return None, None
    path = r.base / text
    if not is_file(path):
        r.y.add(node, "sitemap", f"file {clip(str(path), 200)} does not exist")
        return None, None
    loaded, problems = sitemap.read_sitemap(path)
    r.y.problems.extend(problems)
    return path, loaded


def read_power_domains(r: Reader, node: yaml.Node) -> tuple[Path | None, tuple[PowerDomain, ...]]:
    text = r.y.string(node, "power_domains")
    if text is None:
        return None, ()
    path = r.base / text
    if not is_file(path):
        r.y.add(node, "power_domains", f"file {clip(str(path), 200)} does not exist")
        return None, ()
    loaded, problems = power_domains.read_power_domains(path)
    r.y.problems.extend(problems)
    return path, loaded
