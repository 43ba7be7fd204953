"""The container image, built the way the Dockerfile builds it: its build stage replayed here (the build context
as .dockerignore filters it, each COPY, each RUN with the image's paths moved under a temporary root), then the
installed `farmwatch` run from outside the repository: `--help`, `check-config` on the example config, and a poll
of the simulated site. Without a Docker daemon this is the image's file set; with one, `docker build` runs too.

The image once shipped without `dashboards/` (a COPY list that forgot a package): `farmwatch --help` died with
ModuleNotFoundError. Built from a wheel, what ships is decided by pyproject.toml alone."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simsite import SimSite
from tests.support.installs import (
    ROOT,
    build_context,
    clean_env,
    dockerfile_stages,
    named_files,
    python_shim,
    run,
)

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def install_example_config(etc: Path) -> Path:
    """deploy/site.example.yaml as /etc/farmwatch/site.yaml, with the files it names beside it."""
    etc.mkdir(parents=True, exist_ok=True)
    config = etc / "site.yaml"
    shutil.copy(ROOT / "deploy" / "site.example.yaml", config)
    for _key, path in named_files(config):
        if not path.startswith("/"):
            shutil.copy(ROOT / "deploy" / path, etc / path)
    return config


def replay_build_stage(root: Path, tmp: Path) -> Path:
    """Run the Dockerfile's build stage with every absolute path under ``root``; the installed venv."""
    stages = dockerfile_stages(DOCKERFILE)
    build = next(s for s in stages if s.name == "build")

    def moved(text: str) -> str:
        return re.sub(r"(?<![\w.$/-])/(opt|tmp|src)(?=/|\s|$)", lambda m: f"{root}/{m.group(1)}", text)

    context = tmp / "context"
    sent = build_context(context)
    assert "pyproject.toml" in sent and "constraints.txt" in sent
    assert not [p for p in sent if p.startswith(("deploy/compose/secrets/", ".venv/", ".git/"))]
    workdir = Path(moved(build.workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env(SHIM_DIR=str(python_shim(tmp / "shim")), HOME=str(tmp), **build.env)
    for instruction, args in build.steps:
        if instruction == "COPY":
            assert not args.startswith("--"), args
            *sources, dest = args.split()
            target = Path(moved(dest)) if dest.startswith("/") else workdir / dest
            for source in sources:
                src = context / source
                if src.is_dir():
                    shutil.copytree(src, target, dirs_exist_ok=True)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, target / src.name if dest.endswith("/") or target.is_dir() else target)
        elif instruction == "RUN":
            done = run(moved(args), cwd=workdir, env=env, shell=True, timeout=900)
            assert done.returncode == 0, f"RUN {args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    final = stages[-1]
    copies = [a for i, a in final.steps if i == "COPY"]
    assert "--from=build /opt/farmwatch /opt/farmwatch" in copies  # the final image holds exactly this venv
    assert "/opt/farmwatch/bin" in final.env["PATH"]
    return root / "opt" / "farmwatch"


@pytest.mark.slow
async def test_the_image_file_set_installs_and_runs_help_check_config_and_a_poll(tmp_path: Path) -> None:
    root = tmp_path / "image"
    venv = await asyncio.to_thread(replay_build_stage, root, tmp_path)
    farmwatch = venv / "bin" / "farmwatch"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = clean_env(HOME=str(tmp_path))
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", DOCKERFILE, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert entrypoint == ["farmwatch"]

    helped = run([str(farmwatch), "--help"], cwd=elsewhere, env=env, timeout=120)
    assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stderr
    where = run([str(venv / "bin" / "python"), "-c",
                 "import agent, collectors, dashboards, simsite; print(agent.__file__); print(dashboards.__file__)"],
                cwd=elsewhere, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(venv) for p in where.stdout.split()), where.stdout

    config = install_example_config(root / "etc" / "farmwatch")
    checked = run([str(farmwatch), "check-config", str(config), "--skip-secrets"], cwd=elsewhere, env=env,
                  timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    site = SimSite.build(count=1, seed=3, base_ip="127.110.0.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    await site.start()
    try:
        proc = await asyncio.create_subprocess_exec(str(farmwatch), "poll", "127.110.0.1", "--json", cwd=elsewhere,
                                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await site.stop()
    assert proc.returncode == 0, err.decode()
    reading = json.loads(out)
    assert (reading["device"], reading["driver"], reading["model"]) == ("127.110.0.1:4028", "antminer", "T21")
    assert reading["hashrate_ths"] and reading["hashrate_ths"] > 0


def _docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon here: the image's file set is built above instead")
def test_docker_build_and_help(tmp_path: Path) -> None:
    tag = "farmwatch:test-image"
    built = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    helped = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stderr
