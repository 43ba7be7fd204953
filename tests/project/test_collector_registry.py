"""Collectors register themselves (collectors/registry.py) and everything that names them reads the registry:
the agent builds them from it, config validation accepts exactly the agent's own keys and the registered
sections, `farmwatch run --help` lists them, and the README and docs/architecture.md name each one's package."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from agent import config as config_module
from agent.cli import build_parser
from agent.collector_setup import collectors_from_config
from agent.config import check_config, load_config, top_keys
from agent.settings import Config
from collectors.nvml.collector import NvmlCollector
from collectors.registry import kinds
from collectors.snmp.collector import SnmpCollector
from simsite.gpus import FakeNvml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def package_of(name: str) -> str:
    """``collectors/<package>/`` of a registered kind (from where its configure function lives)."""
    return kinds()[name].configure.__module__.split(".")[1]


def test_the_registry_finds_every_collector_package_that_has_a_configure_module() -> None:
    packages = {p.parent.name for p in (ROOT / "collectors").glob("*/configure.py")}
    assert {package_of(n) for n in kinds()} == packages
    assert {"snmp", "nvml"} <= set(kinds())
    assert len({k.section for k in kinds().values()}) == len(kinds())  # one section, one kind


def test_every_registered_section_is_a_config_key_with_a_reader_and_a_field() -> None:
    fields = {f.name for f in dataclasses.fields(Config)}
    for kind in kinds().values():
        assert kind.section in top_keys()
        assert kind.section in config_module.SECTION_READERS
        assert kind.section in fields


def test_a_section_no_collector_registers_is_refused_with_file_line_and_key(tmp_path: Path) -> None:
    """The config accepts the registry's sections and nothing that merely looks like one."""
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent("""\
        site: s
        gpus: {enabled: false}
        ipmi:
          - targets: [10.0.0.1]
    """))
    problems = [str(p) for p in check_config(path)]
    assert len(problems) == 1 and re.match(rf"{re.escape(str(path))}:3: ipmi: unknown key", problems[0]), problems


def test_the_agent_builds_its_collectors_from_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One SNMP group and GPUs forced on (on a host without NVML the collector stays and reports it): both kinds
    are built from their sections, and a shard keeps only its own SNMP devices."""
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent("""\
        site: s
        snmp:
          - targets: [127.0.0.1-127.0.0.40]
            community_env: FW_TEST_COMMUNITY
        gpus: {enabled: true}
    """))
    monkeypatch.setenv("FW_TEST_COMMUNITY", "public")
    cfg = load_config(path)
    no_nvml = FakeNvml(["H100-SXM"], seed=1)
    no_nvml.library = "missing"  # a host without the NVML library (NVML is the one thing tests may fake)
    built = collectors_from_config(cfg, nvml=no_nvml)
    try:
        assert sorted(c.name for c in built) == ["nvml", "snmp"]
        snmp = next(c for c in built if isinstance(c, SnmpCollector))
        assert len(snmp.devices) == 40
        halves = [next(c for c in collectors_from_config(cfg, (i, 2), nvml=no_nvml)
                       if isinstance(c, SnmpCollector)) for i in range(2)]
        hosts = [{d.host for d in h.devices} for h in halves]
        assert hosts[0].isdisjoint(hosts[1]) and len(hosts[0] | hosts[1]) == 40
        assert hosts[0] and hosts[1]
    finally:
        for c in built:
            if isinstance(c, NvmlCollector):
                c.close_sync()


def test_run_help_lists_every_collector_and_its_section(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for kind in kinds().values():
        assert f"{kind.section}: the {kind.name} collector" in text


def test_the_readme_layout_and_the_architecture_doc_name_every_collector() -> None:
    layout = README[README.index("| part | where | what |"):]
    layout = layout[: layout.index("\n\n")]
    rows = {re.findall(r"`(collectors/[a-z0-9_]+/)`", row)[0]: row.split("|")[1] for row in layout.splitlines()
            if re.search(r"`collectors/[a-z0-9_]+/`", row)}
    config_block = README[README.index("### Configuration"):]
    for name, kind in kinds().items():
        where = f"collectors/{package_of(name)}/"
        assert where in rows and "collector" in rows[where], where
        assert f"`{where}`" in ARCHITECTURE or f"{where}configure.py" in ARCHITECTURE, where
        assert re.search(rf"^{kind.section}:", config_block, re.MULTILINE), kind.section
