"""docs/deploy.md's installs, run as written: each ```sh block of the systemd and wheel sections, line by line, in a
copy of the checkout, with /opt/farmwatch, /etc/farmwatch and /etc/systemd/system moved under a temporary
directory. `systemctl` lines need a running systemd: the installed unit is checked with `systemd-analyze verify`
instead, pointing at the farmwatch just installed. A docs change that breaks an install breaks this test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.installs import (
    ROOT,
    build_context,
    clean_env,
    commands,
    fenced_blocks,
    named_files,
    python_shim,
    run,
)

DOCS = (ROOT / "docs" / "deploy.md").read_text()
SYSTEMD = "### systemd (Debian/Ubuntu), from a checkout"
WHEELS = "### Wheels, for a site host without the checkout"


class Machine:
    """A temporary stand-in for the user's machine: where /opt, /etc and /tmp paths of the docs land."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.checkout = base / "checkout"
        self.moves = {
            "/opt/farmwatch": base / "opt" / "farmwatch",
            "/etc/farmwatch": base / "etc" / "farmwatch",
            "/etc/systemd/system": base / "etc" / "systemd" / "system",
            "/tmp/farmwatch-build": base / "tmp" / "farmwatch-build",
        }
        (base / "etc" / "systemd" / "system").mkdir(parents=True)
        (base / "tmp").mkdir()
        self.env = clean_env(SHIM_DIR=str(python_shim(base / "shim")), HOME=str(base))

    def moved(self, text: str) -> str:
        for path, there in self.moves.items():
            text = re.sub(re.escape(path) + r"(?=/|\s|$|')", str(there), text)
        return text

    def sh(self, line: str, cwd: Path) -> None:
        stray = re.findall(r"(?<![\w.$-])/(?:opt|etc|tmp|var|usr)/\S*", line)
        stray = [p for p in stray if not any(p.startswith(path) for path in self.moves)]
        assert not stray, f"the docs name a path this test does not place: {stray} in {line!r}"
        line = self.moved(line)
        done = run(line, cwd=cwd, env=self.env, shell=True, timeout=900)
        assert done.returncode == 0, f"$ {line}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def documented(heading: str) -> list[list[str]]:
    blocks = [commands(b) for b in fenced_blocks(DOCS, heading)]
    assert blocks, f"docs/deploy.md has no ```sh block under {heading!r}"
    return blocks


@pytest.fixture(scope="module")
def systemd_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    m = Machine(tmp_path_factory.mktemp("systemd-host"))
    build_context(m.checkout)  # a checkout of the repository, without .git, .venv and caches
    ran_systemctl = False
    for line in [ln for block in documented(SYSTEMD) for ln in block]:
        if line.startswith("systemctl"):
            ran_systemctl = True  # needs a running systemd: the unit is verified below instead
            continue
        m.sh(line, m.checkout)
    assert ran_systemctl
    yield m


@pytest.mark.slow
def test_the_systemd_install_works_as_documented(systemd_install: Machine) -> None:
    m = systemd_install
    farmwatch = m.moves["/opt/farmwatch"] / "bin" / "farmwatch"
    helped = run([str(farmwatch), "--help"], cwd=m.base, env=m.env, timeout=120)
    assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stderr
    where = run([str(m.moves["/opt/farmwatch"] / "bin" / "python"), "-c", "import agent; print(agent.__file__)"],
                cwd=m.base, env=m.env, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(m.moves["/opt/farmwatch"]), where.stdout + where.stderr
    unit = m.moves["/etc/systemd/system"] / "farmwatch.service"
    assert unit.read_text() == (ROOT / "deploy" / "farmwatch.service").read_text()


@pytest.mark.slow
def test_the_installed_unit_passes_systemd_analyze_verify(systemd_install: Machine) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    m = systemd_install
    installed = m.moves["/etc/systemd/system"] / "farmwatch.service"
    # The unit as installed, its /opt/farmwatch paths moved to where this test installed farmwatch.
    unit = m.base / "verify" / "farmwatch.service"
    unit.parent.mkdir()
    unit.write_text(m.moved(installed.read_text()))
    assert str(m.moves["/opt/farmwatch"] / "bin" / "farmwatch") in unit.read_text()
    r = run([analyze, "verify", str(unit)], cwd=m.base, env=m.env, timeout=120)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines() if "farmwatch.service" in ln]
    assert not problems, problems


@pytest.mark.slow
def test_the_wheel_install_works_as_documented(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    build_context(m.checkout)
    build, host = documented(WHEELS)[:2]
    for line in build:
        m.sh(line, m.checkout)
    wheels = sorted(p.name for p in (m.checkout / "dist").glob("*.whl"))
    assert any(w.startswith("farmwatch-") for w in wheels), wheels
    # What the docs say to copy to the site host, and nothing else.
    site = tmp_path / "site-host"
    site.mkdir()
    shutil.copytree(m.checkout / "dist", site / "dist")
    shutil.copy(m.checkout / "constraints.txt", site / "constraints.txt")
    env_without_indexes = {k: v for k, v in m.env.items() if not k.startswith("PIP_")}
    m.env = env_without_indexes | {"PIP_CONFIG_FILE": "/dev/null"}  # the site host has no index, no wheelhouse
    for line in host:
        m.sh(line, site)
    where = run([str(m.moves["/opt/farmwatch"] / "bin" / "python"), "-c",
                 "import agent, dashboards, simsite; print(agent.__file__)"], cwd=site, env=m.env, timeout=60)
    assert where.returncode == 0 and Path(where.stdout.strip()).is_relative_to(m.moves["/opt/farmwatch"]), (
        where.stdout + where.stderr)


@pytest.mark.slow
def test_the_transient_service_user_can_read_the_installed_config(systemd_install: Machine) -> None:
    """The unit runs as a DynamicUser: not root, in no group that owns anything. systemd sets /etc/farmwatch to
    ConfigurationDirectoryMode= at every start and never chowns it, so the directory, site.yaml and every file it
    names must be readable by others. (With 0750 the documented install could not start: check-config in
    ExecStartPre was refused the config.)"""
    m = systemd_install
    etc = m.moves["/etc/farmwatch"]
    unit = (m.moves["/etc/systemd/system"] / "farmwatch.service").read_text()
    assert "DynamicUser=yes" in unit
    mode = re.search(r"^ConfigurationDirectoryMode=(\d+)", unit, re.MULTILINE)
    assert mode is not None and int(mode.group(1), 8) & 0o005 == 0o005, "others cannot list/enter the config dir"
    assert etc.stat().st_mode & 0o005 == 0o005, oct(etc.stat().st_mode)
    for path in [etc / "site.yaml", *(etc / p for _k, p in named_files(etc / "site.yaml") if not p.startswith("/"))]:
        assert path.exists() and path.stat().st_mode & 0o004, f"{path.name} is not readable by the service user"
