"""The docs say what the code does: the README's driver lists are the driver registry, nothing done is still "a
later issue", the config comment's profile names exist, and every `farmwatch ...` command written in the README
and docs is accepted by the real command line (its subcommand and every flag it shows exist). The documented
installs themselves run in test_install_docs.py, test_image.py and test_compose.py."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.sections.miners import driver_names
from agent.sections.snmp import profile_names
from collectors.asic.drivers import registry
from tests.support.docs import DOC_FILES, ROOT, fenced_blocks, inline_spans, prose

README = (ROOT / "README.md").read_text()


def readme_config_block() -> str:
    section = README[README.index("### Configuration"):]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def comment_names(block: str, key: str) -> set[str]:
    """Names listed in the comment of ``key:`` (and its continuation comment lines) in the README's config."""
    lines = block.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(rf"\s*{key}:", ln))
    text = lines[start].split("#", 1)[1]
    for ln in lines[start + 1:]:
        if not ln.strip().startswith("#"):
            break
        text += " " + ln.strip().lstrip("#")
    text = re.sub(r"\([^)]*\)", "", text)  # "(any other cgminer-API miner)"
    return set(re.findall(r"[a-z][a-z0-9-]+", text.split("or", 1)[1])) - {"or", "from", "sysobjectid"}


def readme_driver_tables() -> set[str]:
    section = README[README.index("## Drivers"):]
    section = section[: section.index("\n## ", 1)]
    names: set[str] = set()
    for table in re.findall(r"^\| driver \|.*?(?=\n\n|\Z)", section, re.DOTALL | re.MULTILINE):
        for row in table.splitlines()[2:]:
            first = row.split("|")[1]
            names.update(re.findall(r"`([a-z0-9_-]+)`", first)[:1])
    return names


def test_every_driver_is_in_the_config_comment_and_the_readme_tables_and_nothing_else() -> None:
    known = set(registry())
    assert set(driver_names()) == known  # the config's list of choices is the registry
    assert comment_names(readme_config_block(), "driver") == known
    assert readme_driver_tables() == known


def test_profiles_named_in_the_config_comment_exist() -> None:
    named = comment_names(readme_config_block(), "profile") - {"auto"}
    assert named and named <= set(profile_names()), named - set(profile_names())


def test_poll_help_names_every_driver_and_profile(capsys: pytest.CaptureFixture[str]) -> None:
    """`farmwatch poll --help` lists the registries, so a new driver or profile file is in the help at once."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["poll", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")
    listed = set(re.findall(r"[a-z][a-z0-9-]+", text.split("use this driver:", 1)[1].split("--json", 1)[0]))
    assert set(registry()) | set(profile_names()) <= listed


def test_web_signatures_live_on_the_drivers_and_name_one_firmware_each() -> None:
    """Identification's web-page signatures are the drivers' own (no hand list in identify.py): each is
    lower-case (the page is lower-cased before matching) and no two drivers claim the same one."""
    from collectors.asic import identify

    assert not hasattr(identify, "WEB_SIGNATURES")
    owner: dict[str, str] = {}
    for name, driver in registry().items():
        for needle in (*driver.web_signatures, *driver.web_realms):
            assert needle == needle.lower(), (name, needle)
            assert owner.setdefault(needle, name) == name, (needle, owner[needle], name)
    assert {"braiins", "luxos", "vnish", "bitaxe", "goldshell", "iceriver", "epic", "antminer"} <= set(owner.values())


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_done_is_left_as_a_later_issue(path: Path) -> None:
    """Docs describe what is; plans belong in the issue tracker."""
    hits = [ln.strip()[:120] for ln in path.read_text().splitlines() if re.search(r"later issue", ln, re.I)]
    assert not hits, hits


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The CLI's subcommands, from the parser itself (a new one is checked in the docs at once)."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def documented_commands() -> list[tuple[str, str, bool]]:
    """(where, command, whole) for every `farmwatch <subcommand> ...` in a docs code block (whole: a command to
    run as written) or an inline code span (a mention: its flags must exist, its required ones may be left out)."""
    found: list[tuple[str, str, bool]] = []
    names = set(subcommands())

    def scan(where: str, span: str, whole: bool) -> None:
        for line in re.sub(r"\\\n\s*", " ", span).splitlines():
            m = re.search(r"(?:^|[\s/])farmwatch ((\S+).*)$", line.split(" # ")[0].strip())
            if m and m.group(2) in names and len(m.group(1).split()) > 1:  # bare: a name in prose
                found.append((where, "farmwatch " + m.group(1).strip(), whole))

    for path in DOC_FILES:
        for block in fenced_blocks(path):
            if block.lang not in ("yaml", "json"):
                scan(block.where, block.text, True)
        for span in inline_spans(path):
            scan(str(path.relative_to(ROOT)), span, False)
    return found


def argv_of(command: str) -> list[str]:
    """A documented command line as argv: optional parts [..] kept, the first of a|b alternatives taken."""
    text = command.replace("…", "")
    text = re.sub(r"\[([^\[\]]*)\]", r"\1", text)
    words = shlex.split(text)[1:]
    return [w.split("|")[0] if "|" in w and not w.startswith(("snmp:", "http")) else w for w in words]


COMMANDS = documented_commands()


def test_the_docs_show_commands() -> None:
    """Every subcommand is shown as a whole command in a code block somewhere."""
    assert {c.split()[1] for _w, c, whole in COMMANDS if whole} >= set(subcommands())


def _mention_parser() -> argparse.ArgumentParser:
    """The CLI with no argument required: a mention in prose (`farmwatch report curtailment [--baseline 30m]`)
    names flags, not a whole command."""
    parser = build_parser()
    for sub in subcommands_of(parser):
        for action in sub._actions:
            action.required = False
    return parser


def subcommands_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                out += [sub, *subcommands_of(sub)]
    return out


@pytest.mark.parametrize(("where", "command", "whole"), COMMANDS, ids=[f"{w}: {c[:60]}" for w, c, _ in COMMANDS])
def test_every_documented_command_is_accepted_by_the_cli(where: str, command: str, whole: bool,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser() if whole else _mention_parser()
    try:
        parser.parse_args(argv_of(command))
    except SystemExit as e:
        err = capsys.readouterr().err.strip().splitlines()
        pytest.fail(f"{where}: `{command}` is refused by the CLI: {err[-1] if err else e}")


def test_the_readme_install_is_the_tested_one_from_docs_deploy() -> None:
    """The README's install lines are the first lines of docs/deploy.md's systemd install, which
    tests/integration/test_install_docs.py runs as written."""
    readme = README[README.index("### Installing, and reproducible installs"):]
    readme_block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL).group(1).strip().splitlines()  # type: ignore[union-attr]
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    section = deploy[deploy.index("### systemd (Debian/Ubuntu), from a checkout"):]
    deploy_block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1).strip().splitlines()  # type: ignore[union-attr]
    assert readme_block == deploy_block[: len(readme_block)]


def test_the_repository_explains_itself() -> None:
    """No file cites a design document that is not in the repository: docs/architecture.md holds the contracts."""
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = [f for f in files if f.endswith((".py", ".md", ".yml", ".yaml", ".toml"))
            and (ROOT / f).is_file() and "DESIGN" + ".md" in (ROOT / f).read_text(errors="replace")]
    assert hits == []


USER_FILES = {"site.yaml", "web.yml", "sitemap.csv"}  # the operator's files, named in examples


def _paths_named(text: str) -> set[str]:
    """Repository paths in `code spans`: a folder (ending in /) or a file with an extension, no placeholders."""
    found = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        for word in span.replace(",", " ").split():
            if "<" in word or "*" in word or "://" in word or word.startswith(("../", "-")):
                continue
            if re.fullmatch(r"[A-Za-z_.][\w./-]*/", word) or re.fullmatch(r"[\w.-]+(/[\w.-]+)*\.(py|md|yaml|yml|json|txt)", word):
                found.add(word)
    return found - USER_FILES


def test_the_architecture_doc_names_only_files_that_exist() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    named = _paths_named(doc)
    # Paths written relative to the folder they are in (``drivers/__init__.py`` in collectors/asic/...).
    missing = sorted(p for p in named if not (ROOT / p).exists() and not any(ROOT.glob(f"**/{p}")))
    assert len(named) > 40 and missing == []


def test_the_readme_layout_matches_the_tree() -> None:
    """Every top-level folder and every collector and agent package is in the README's layout table, and every
    path the table names exists."""
    section = README[README.index("## What it does today"):]
    table = section[: section.index("\n\n", section.index("| part |"))]
    named = _paths_named(table) | set(re.findall(r"`([A-Z.][\w.-]*)`", table))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    folders = {f.split("/")[0] + "/" for f in tracked if "/" in f}
    packages = {str(p.parent.relative_to(ROOT)) + "/" for p in (ROOT / "collectors").glob("*/__init__.py")}
    packages |= {str(p.parent.relative_to(ROOT)) + "/" for p in (ROOT / "agent").glob("*/__init__.py")}
    assert sorted(folders - {n.split("/")[0] + "/" for n in named}) == []  # a folder or something in it
    assert sorted(packages - named) == []


def test_every_driver_and_profile_is_documented_in_its_folder() -> None:
    """collectors/asic/README.md names every registered driver, collectors/snmp/README.md every shipped profile
    (the how-to in docs/architecture.md asks for both)."""
    asic = (ROOT / "collectors/asic/README.md").read_text()
    snmp = (ROOT / "collectors/snmp/README.md").read_text()
    assert sorted(n for n in registry() if f"`{n}`" not in asic) == []
    assert sorted(n for n in profile_names() if f"`{n}`" not in snmp) == []


def documented_tool_runs() -> list[tuple[str, str, list[str]]]:
    """(where, command, flags) for every `bench/NAME.py ...`, `python -m simsite ...` and
    `python -m tests.support.NAME ...` the docs show (a span may wrap onto the next line)."""
    found = []
    for path in DOC_FILES:
        texts = [b.text for b in fenced_blocks(path)] + re.findall(r"`([^`]+)`", prose(path))
        for text in texts:
            for m in re.finditer(r"(bench/\w+\.py|python -m (?:simsite|tests\.support\.\w+))((?:\s+--?[\w.-]+(?:[ =][^\s`-]\S*)?)*)",
                                 " ".join(text.split())):
                flags = re.findall(r"(?<!\S)(--[\w.-]+)", m.group(2))
                if flags:
                    found.append((str(path.relative_to(ROOT)), m.group(0), flags))
    return found


TOOL_RUNS = documented_tool_runs()


@pytest.mark.parametrize(("where", "command", "flags"), TOOL_RUNS, ids=[f"{w}: {c[:50]}" for w, c, _ in TOOL_RUNS])
def test_every_documented_benchmark_and_tool_flag_exists(where: str, command: str, flags: list[str]) -> None:
    """A flag a doc quotes for a benchmark, the simulated site or the soak is in that tool's --help."""
    import subprocess
    import sys

    target = command.split()[0]
    argv = [sys.executable, str(ROOT / target)] if target.startswith("bench/") else [sys.executable, "-m", command.split()[2]]
    helped = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0, helped.stderr[-2000:]
    missing = [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", helped.stdout)]
    assert not missing, f"{where}: `{command}`: {missing} not in {target} --help"
