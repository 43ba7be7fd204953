"""YAML read with line numbers: compose to nodes (which keep their marks) and walk them, collecting every
problem as file:line:key instead of stopping at the first. Shared by ``site.yaml``, the site map, the power
domains and the web config.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SECRET_WORDS = ("password", "community", "secret", "token", "passphrase")


# --- problems -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based; None when the problem is the file as a whole
    key: str  # dotted path such as "miners[0].interval"; "" when no key applies
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised by :func:`load_config` with every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def parse_duration(text: str) -> float:
    """``500ms``, ``30s``, ``2m``, ``1h``, ``1d`` or a sum such as ``1m30s``, in seconds. Raises ValueError."""
    text = text.strip()
    if not _DURATION.fullmatch(text):
        raise ValueError(f'"{clip(text)}" is not a duration (use 30s, 2m, 1h)')
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f'"{text}" is not a positive duration')
    return seconds


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- YAML with line numbers -----------------------------------------------------------------------------------


def compose_yaml(text: str, file: str) -> tuple[yaml.Node | None, list[Problem]]:
    """Parse to nodes (which keep line marks). A syntax error becomes a problem; its source line is not quoted,
    since that line might hold a secret typed where it does not belong."""
    try:
        return yaml.compose(text, Loader=_Loader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
        if exc.context:
            message += f" ({exc.context}"
            if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
                message += f" started on line {exc.context_mark.line + 1}"
            message += ")"
        return None, [Problem(file, mark.line + 1 if mark else None, "", message)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, "", f"YAML error: {type(exc).__name__}")]


MAX_FILE_BYTES = 64 * 1024 * 1024  # a config, web config, site map or power-domain file (a 20,000-row map is ~2 MB)


def read_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """A config-like file's text. Regular files only, at most MAX_FILE_BYTES: a FIFO where the config should be
    hung start-up, SIGHUP reload and shutdown behind it, and ``check-config /dev/zero`` grew to 3.8 GB."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return None, [Problem(file, None, "", f"cannot read: {exc.strerror or type(exc).__name__}")]
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, device or socket)"
            return None, [Problem(file, None, "", f"is {what}")]
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(file, None, "", f"cannot read: {exc.strerror or type(exc).__name__}")]
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        return None, [Problem(file, None, "", f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(file, None, "", f"is not UTF-8 text (byte {exc.start})")]


def kind_of(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {
        "tag:yaml.org,2002:str": "text",
        "tag:yaml.org,2002:int": "a number",
        "tag:yaml.org,2002:float": "a number",
        "tag:yaml.org,2002:bool": "true/false",
        "tag:yaml.org,2002:null": "nothing",
    }.get(node.tag, "a value")


_NOT_SECRETS = frozenset(("use_default_password",))  # a yes/no switch, not a secret value


def _secret_hint(key: str, allowed: Collection[str]) -> str | None:
    """Where a key holding an inline secret should go instead, or None when the key is not a secret."""
    if key.endswith(("_file", "_env")) or key in _NOT_SECRETS:
        return None
    for name in sorted(allowed):
        if name.endswith("_file") and (name[:-5] == key or name[:-5].endswith("_" + key)):
            return f"use {name} (or {name[:-5]}_env)"
    if any(word in key.lower() for word in _SECRET_WORDS):
        return "use a *_file (or *_env) key"
    return None


class YamlReader:
    """Walks composed nodes for one file, converting values and collecting problems instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def add(self, node: yaml.Node | None, key: str, message: str) -> None:
        self.problems.append(
            Problem(self.file, node.start_mark.line + 1 if node is not None else None, key, message)
        )

    def mapping(self, node: yaml.Node, key: str, allowed: Collection[str]) -> dict[str, yaml.Node] | None:
        """Keys to value nodes; reports duplicates, unknown keys (with a suggestion) and inline secrets."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, key, f"expected a mapping, got {kind_of(node)}")
            return None
        found: dict[str, yaml.Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in self._flatten(node):
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            path = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str) or key_node.tag != "tag:yaml.org,2002:str":
                self.add(key_node, key, f"keys must be names, got {kind_of(key_node)}")
            elif name in found:
                self.add(key_node, path, f"duplicate key (first on line {first_line[name]})")
            elif (hint := _secret_hint(name, allowed)) is not None:
                self.add(
                    key_node,
                    path,
                    f"secrets are never written in the config: put the value in a file and {hint}",
                )
            elif name not in allowed:
                close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
                suggestion = (
                    f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(allowed))})"
                )
                self.add(key_node, path, f"unknown key{suggestion}")
            else:
                found[name] = value_node
                first_line[name] = key_node.start_mark.line + 1
        return found

    def _flatten(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Resolve ``<<: *defaults`` merge keys: explicit keys first, merged ones after (and so they lose)."""
        own = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        for _, value in (pair for pair in node.value if pair[0].tag == "tag:yaml.org,2002:merge"):
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.add(source, "<<", "a merge key needs a mapping (or a list of them)")
                    continue
                for k, v in source.value:
                    if isinstance(k, yaml.ScalarNode) and k.value not in names:
                        own.append((k, v))
                        names.add(k.value)
        return own

    def scalar(self, node: yaml.Node) -> object:
        """The Python value of a scalar; None for collections and for tags the safe loader refuses (``!foo``)."""
        if not isinstance(node, yaml.ScalarNode):
            return None
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return None

    def string(self, node: yaml.Node, key: str) -> str | None:
        # Numbers are accepted as text (a site named 42, a rack numbered 7) where text is expected.
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(node, key, f"expected text, got {kind_of(node)}")
            return None
        text = node.value.strip() if isinstance(node, yaml.ScalarNode) else ""
        if not text:
            self.add(node, key, "must not be empty")
            return None
        return text

    def integer(self, node: yaml.Node, key: str, minimum: int, maximum: int | None = None) -> int | None:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(node, key, f"expected a whole number, got {kind_of(node)}")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            self.add(node, key, f"{value} is out of range (must be {bound})")
            return None
        return value

    def boolean(self, node: yaml.Node, key: str) -> bool | None:
        value = self.scalar(node)
        if not isinstance(value, bool):
            self.add(node, key, f"expected true or false, got {kind_of(node)}")
            return None
        return value

    def duration(self, node: yaml.Node, key: str) -> float | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.add(node, key, f"expected a duration such as 30s, got {kind_of(node)}")
            return None
        try:
            return parse_duration(node.value)
        except ValueError as exc:
            self.add(node, key, str(exc))
            return None

    def choice(self, node: yaml.Node, key: str, choices: Collection[str], what: str) -> str | None:
        text = self.string(node, key)
        if text is None:
            return None
        if text.lower() in choices:
            return text.lower()
        close = difflib.get_close_matches(text.lower(), list(choices), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(choices)})"
        self.add(node, key, f'"{clip(text)}" is not a known {what}{hint}')
        return None

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node] | None:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        self.add(node, key, f"expected a list (start each item with '- '), got {kind_of(node)}")
        return None


def has_key(node: yaml.Node, name: str) -> bool:
    return isinstance(node, yaml.MappingNode) and any(k.value == name for k, _ in node.value)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
