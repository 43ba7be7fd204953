"""constraints.txt is the one list of versions: it pins every package the project, its extras and its build pull
in, this environment was installed from it, and every documented or scripted pip install uses it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"


def pins() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not name==version"
            out[canonicalize_name(name)] = version
    return out


def closure(root: str, extras: tuple[str, ...]) -> set[str]:
    """Every distribution ``root[extras]`` needs, as installed here (markers evaluated for this interpreter)."""
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    while todo:
        name, want = todo.pop()
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            env = default_environment()
            if req.marker is not None and not any(
                    req.marker.evaluate({**env, "extra": e}) for e in (want or ("",))):
                continue
            dep = canonicalize_name(req.name)
            if dep not in seen:
                seen.add(dep)
                todo.append((req.name, tuple(req.extras)))
    return seen


def test_every_dependency_is_pinned_and_installed_at_its_pin() -> None:
    pinned = pins()
    needed = closure("farmwatch", ("dev", "fast"))
    missing = sorted(needed - set(pinned))
    assert not missing, f"not in constraints.txt (run `make constraints`): {missing}"
    off = {name: (metadata.version(name), pinned[name]) for name in needed
           if metadata.version(name) != pinned[name]}
    assert not off, f"installed vs constraints.txt (reinstall with `make test`, or `make constraints`): {off}"


def test_the_build_and_pip_are_pinned_too() -> None:
    pinned = pins()
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pinned and req.specifier.contains(pinned[name]), (text, pinned.get(name))
    assert "pip" in pinned


def pip_installs(text: str) -> list[str]:
    """Every ``pip install`` command in ``text`` (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [m.group(0) for m in re.finditer(r"pip install[^\n&;|]*", joined)]


def code_blocks(markdown: str) -> str:
    return "\n".join(re.findall(r"```(?:sh|bash|console)?\n(.*?)```", markdown, re.DOTALL))


def test_every_scripted_and_documented_install_uses_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    stamp_recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    sources = {
        "Makefile (venv for demo, test and CI)": pip_installs(stamp_recipe),
        "Dockerfile": pip_installs((ROOT / "Dockerfile").read_text()),
        "docs/deploy.md": pip_installs(code_blocks((ROOT / "docs" / "deploy.md").read_text())),
        "README.md": pip_installs(code_blocks((ROOT / "README.md").read_text())),
        "deploy/farmwatch.service": pip_installs((ROOT / "deploy" / "farmwatch.service").read_text()),
    }
    assert sources["Makefile (venv for demo, test and CI)"] and sources["Dockerfile"] and sources["docs/deploy.md"]
    for where, commands in sources.items():
        for command in commands:
            assert re.search(r"(-c|--constraint)\s+\S*constraints\.txt|\$\(PIP_PINNED\)", command), (where, command)
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # CI installs through the Makefile
