"""The Compose stack as docs/deploy.md sets it up: the documented commands run in a copy of the checkout, then
every file each service's config names must reach that service through its mounts (the agent's site map and
secrets, Prometheus's rule files, Grafana's dashboards and admin password), the agent's config passes
check-config as the container sees it, and each service sees only its own secrets.

Found on a first day: the agent got only site.yaml mounted while the example names a site map (check-config
failed in the container), and the agent saw Grafana's admin password through a shared secrets mount."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from agent.config import check_config
from tests.support.installs import ROOT, build_context, commands, fenced_blocks, named_files, run

COMPOSE_HEADING = "### Docker Compose: agent + Prometheus + Alertmanager + Grafana"
DOCS = (ROOT / "docs" / "deploy.md").read_text()


class Service:
    """One compose service: its mounts (container path -> host path) and how it is started."""

    def __init__(self, name: str, spec: dict, compose_dir: Path, top_secrets: dict) -> None:
        self.name, self.spec, self.compose_dir = name, spec, compose_dir
        self.mounts: dict[PurePosixPath, Path] = {}
        for volume in spec.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):  # a bind mount
                self.mounts[PurePosixPath(target)] = (compose_dir / source).resolve()
            else:  # a named volume: a directory docker creates; stood in for by an empty one here
                stand_in = compose_dir / ".volumes" / source
                stand_in.mkdir(parents=True, exist_ok=True)
                self.mounts[PurePosixPath(target)] = stand_in
        for secret in spec.get("secrets", []):
            name_ = secret if isinstance(secret, str) else secret["source"]
            target = secret.get("target", name_) if isinstance(secret, dict) else name_
            self.mounts[PurePosixPath("/run/secrets") / target] = (compose_dir / top_secrets[name_]["file"]).resolve()

    def host(self, container_path: str | PurePosixPath) -> Path | None:
        """Where ``container_path`` comes from on the host, or None when nothing mounts it."""
        path = PurePosixPath(container_path)
        for target in sorted(self.mounts, key=lambda p: len(p.parts), reverse=True):
            if path == target or target in path.parents:
                return self.mounts[target].joinpath(*path.parts[len(target.parts):])
        return None

    def argument(self, flag: str) -> str:
        command = self.spec.get("command", [])
        args = shlex.split(command) if isinstance(command, str) else list(command)
        for i, a in enumerate(args):
            if a == flag:
                return args[i + 1]
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
        raise AssertionError(f"{self.name}: no {flag} in its command")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Service]:
    """A fresh checkout with the docs' compose commands run in it (all but `docker compose up`)."""
    checkout = tmp_path_factory.mktemp("compose") / "checkout"
    build_context(checkout)
    assert not (checkout / "deploy" / "compose" / "secrets").exists()  # a fresh checkout: the user adds them
    for block in fenced_blocks(DOCS, COMPOSE_HEADING):
        for line in commands(block):
            if line.startswith("docker compose"):
                continue
            done = run(line, cwd=checkout, env={"PATH": "/usr/bin:/bin"}, shell=True, timeout=60)
            assert done.returncode == 0, f"$ {line}\n{done.stderr}"
    compose_file = checkout / "deploy" / "docker-compose.yml"
    compose = yaml.safe_load(compose_file.read_text())
    services = {name: Service(name, spec, compose_file.parent, compose.get("secrets", {}))
                for name, spec in compose["services"].items()}
    # The docs: "one file per secret site.yaml names" in secrets/agent/ (they show one of them, antminer).
    agent = services["agent"]
    site = agent.host(agent.argument("--config"))
    assert site is not None and site.exists(), "the agent's --config is not mounted"
    for _key, path in named_files(site):
        where = agent.host(path)
        if path.startswith("/run/secrets/") and where is not None and not where.exists():
            where.write_text("secret-for-the-test")
    return services


def test_every_file_the_agent_config_names_is_mounted_and_check_config_passes(stack: dict[str, Service]) -> None:
    agent = stack["agent"]
    config_in_container = PurePosixPath(agent.argument("--config"))
    site = agent.host(config_in_container)
    assert site is not None
    unmounted = []
    mapped = site.read_text()
    for key, path in named_files(site):
        in_container = PurePosixPath(path) if path.startswith("/") else config_in_container.parent / path
        where = agent.host(in_container)
        if where is None or not where.exists():
            unmounted.append(f"{key}: {in_container}")
        elif path.startswith("/"):
            mapped = mapped.replace(path, str(where))
    assert not unmounted, f"site.yaml names files the agent container does not get: {unmounted}"
    # check-config as inside the container (secrets read too), with container paths swapped for their sources.
    view = site.with_name("site.as-mounted.yaml")
    view.write_text(mapped)
    assert [str(p) for p in check_config(view)] == []


def test_every_file_prometheus_alertmanager_and_grafana_name_is_mounted(stack: dict[str, Service]) -> None:
    prom = stack["prometheus"]
    config = prom.host(prom.argument("--config.file"))
    assert config is not None and config.exists()
    for rule_file in yaml.safe_load(config.read_text()).get("rule_files", []):
        where = prom.host(rule_file)
        assert where is not None and where.exists(), f"prometheus: rule file {rule_file} is not mounted"
    am = stack["alertmanager"]
    am_config = am.host(am.argument("--config.file"))
    assert am_config is not None and am_config.exists()
    grafana = stack["grafana"]
    for key, value in grafana.spec.get("environment", {}).items():
        if key.endswith("__FILE"):
            where = grafana.host(value)
            assert where is not None and where.exists(), f"grafana: {key}={value} is not mounted"
    provider = grafana.host("/etc/grafana/provisioning/dashboards/farmwatch.yml")
    assert provider is not None and provider.exists()
    for p in yaml.safe_load(provider.read_text())["providers"]:
        where = grafana.host(p["options"]["path"])
        assert where is not None and list(where.glob("*.json")), f"grafana: dashboards {p['options']['path']}"
    datasource = grafana.host("/etc/grafana/provisioning/datasources/farmwatch.yml")
    assert datasource is not None and datasource.exists()


def test_each_service_gets_only_its_own_secrets(stack: dict[str, Service]) -> None:
    secrets_dir = stack["agent"].compose_dir / "compose" / "secrets"
    seen: dict[Path, set[str]] = {}
    for name, service in stack.items():
        for source in service.mounts.values():
            # A mount of the secrets directory itself (or above it) hands every service's secrets to this one.
            assert not secrets_dir.is_relative_to(source), f"{name} mounts {source}: every service's secrets"
            if source.is_relative_to(secrets_dir):
                for f in [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]:
                    seen.setdefault(f, set()).add(name)
    shared = {str(f.relative_to(secrets_dir)): sorted(names) for f, names in seen.items() if len(names) > 1}
    assert not shared, f"secrets visible to more than one service: {shared}"
    grafana_password = stack["grafana"].host("/run/secrets/grafana_admin_password")
    assert grafana_password is not None and seen.get(grafana_password) == {"grafana"}
    assert stack["agent"].host("/run/secrets/grafana_admin_password") != grafana_password


def docker_run_mounts(text: str) -> list[str]:
    joined = re.sub(r"\\\n\s*#?\s*", " ", text)
    run_line = re.search(r"docker run [^\n]*", joined)
    assert run_line is not None
    return re.findall(r"-v (\S+)", run_line.group(0))


def test_the_dockerfile_header_and_the_docs_mount_config_and_secrets_alike() -> None:
    header = "\n".join(ln[1:] for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith("#"))
    docker_section = fenced_blocks(DOCS, "### Docker\n")[0]
    assert docker_run_mounts(header) == docker_run_mounts(docker_section)
    assert any(m.endswith(":/run/secrets:ro") for m in docker_run_mounts(header))


def test_compose_config_validates_where_docker_compose_exists(stack: dict[str, Service]) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed here")
    compose_file = stack["agent"].compose_dir / "docker-compose.yml"
    r = subprocess.run([docker, "compose", "-f", str(compose_file), "config", "-q"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
