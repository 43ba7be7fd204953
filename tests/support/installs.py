"""Helpers for the tests that install farmwatch the way a user or the image does and then run the installed copy
from outside the repository: Dockerfile and .dockerignore parsing, shell commands from the docs, and running the
installed `farmwatch` with nothing of the checkout on its path."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    name: str | None
    image: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    steps: list[tuple[str, str]] = field(default_factory=list)  # (instruction, arguments), in order


def dockerfile_stages(text: str) -> list[Stage]:
    """The Dockerfile's stages: FROM, and every instruction after it (continuation lines joined, comments out)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not pending:
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    stages: list[Stage] = []
    for line in lines:
        if not line.strip():
            continue
        instruction, _, args = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE)
            assert m is not None, line
            stages.append(Stage(name=m.group(2), image=m.group(1)))
            continue
        stage = stages[-1]
        if instruction == "ENV":
            for key, value in re.findall(r"(\w+)=(\"[^\"]*\"|\S+)", args):
                stage.env[key] = value.strip('"')
        elif instruction == "WORKDIR":
            stage.workdir = args.strip()
        stage.steps.append((instruction, args.strip()))
    return stages


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore(root: Path = ROOT) -> list[re.Pattern[str]]:
    path = root / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    patterns = [ln.strip().strip("/") for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not modelled here"
    return [_glob_regex(p) for p in patterns]


def build_context(dest: Path, root: Path = ROOT) -> list[str]:
    """Copy what `docker build` would send (the tree minus .dockerignore) to ``dest``; the relative paths sent."""
    ignored = dockerignore(root)
    sent: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = [d for d in dirnames
                       if not any(p.match(f"{rel_dir}/{d}".lstrip("/")) for p in ignored)]
        for name in filenames:
            rel = f"{rel_dir}/{name}".lstrip("/")
            if any(p.match(rel) for p in ignored):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(dirpath) / name, target)
            sent.append(rel)
    return sent


def base_python() -> str:
    """The interpreter this venv was made from: `python -m venv` in an install must not nest in the test venv."""
    return getattr(sys, "_base_executable", sys.executable)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no virtualenv, no PYTHONPATH, the machine's pip settings kept."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    shim = Path(extra.pop("SHIM_DIR")) if "SHIM_DIR" in extra else None
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["PATH"] = f"{shim}:{path}" if shim else path
    env.update(extra)
    return env


def python_shim(directory: Path) -> Path:
    """A directory with `python` and `python3` that are this machine's base Python, as in the image."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = directory / name
        if not link.exists():
            link.symlink_to(base_python())
    return directory


def run(cmd: list[str] | str, *, cwd: Path, env: dict[str, str], timeout: float = 600,
        shell: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd if not shell else ["/bin/sh", "-ec", str(cmd)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def fenced_blocks(markdown: str, after_heading: str) -> list[str]:
    """The fenced ```sh blocks of the section that starts at ``after_heading`` (up to the next heading)."""
    start = markdown.index(after_heading)
    rest = markdown[start + len(after_heading):]
    end = re.search(r"^#{1,6} ", rest, re.MULTILINE)
    section = rest[: end.start()] if end else rest
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def commands(block: str) -> list[str]:
    """Shell lines of a docs block (continuations joined, trailing comments kept: sh ignores them)."""
    return [ln.strip() for ln in re.sub(r"\\\n\s*", " ", block).splitlines() if ln.strip()]


def named_files(config: Path) -> list[tuple[str, str]]:
    """(key, path) for every file site.yaml names: the site map, the power-domains file, every ``*_file`` secret,
    a state directory (``storage: {path}``)."""
    found: list[tuple[str, str]] = []

    def walk(node: object, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{key}[{i}]")
        elif isinstance(node, str):
            leaf = key.rsplit(".", 1)[-1]
            if leaf in ("sitemap", "power_domains", "file", "path") or leaf.endswith("_file"):
                found.append((key, node))

    walk(yaml.safe_load(config.read_text()), "")
    return found
