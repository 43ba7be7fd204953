"""Every ```yaml and ```json block in the README and docs/ is read by what it claims to be, as written: a site.yaml
(or a piece of one) passes `farmwatch check-config`, a curtailment windows file and a power-domains file load, a
web config loads (with a real certificate and hash where it shows placeholders), a Prometheus scrape job passes
`promtool check config`, the found-miners file is what `scan` writes. A block that is none of these fails until this
test is taught what it is: a new example in the docs is tested the day it is written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import bcrypt
import pytest
import yaml

from agent.cli import main
from agent.config import top_keys
from tests.support.docs import ROOT, Block, all_blocks

BLOCKS = [b for b in all_blocks() if b.lang in ("yaml", "json")]
SITE_KEYS = set(top_keys())


def kind_of(block: Block) -> str:
    data = json.loads(block.text) if block.lang == "json" else yaml.safe_load(block.text)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "job_name" in data[0]:
        return "scrape job"
    if not isinstance(data, dict):
        return "unknown"
    keys = set(data)
    if keys <= SITE_KEYS:
        return "site.yaml"
    if keys == {"windows"}:
        return "curtailment file"
    if keys == {"domains"}:
        return "power domains"
    if keys <= {"tls_server_config", "basic_auth_users", "http_server_config"}:
        return "web config"
    if data.get("format") == "farmwatch-found-miners":
        return "found miners"
    if all(isinstance(v, dict) and "make" in v for v in data.values()):
        return "model facts"
    return "unknown"


def the(kind: str) -> Block:
    """The (first) docs example of a kind of file, to stand for the file a site.yaml example names."""
    return next(b for b in BLOCKS if kind_of(b) == kind)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.where)
def test_every_config_example_is_a_known_kind(block: Block) -> None:
    assert kind_of(block) != "unknown", f"{block.where}: teach tests/project/test_docs_examples.py what this is"


def site_dir(tmp_path: Path, block: Block) -> Path:
    """A directory with the example as site.yaml and the files it names by relative path, each from the docs'
    own example of that file (the site map from deploy/)."""
    site = tmp_path / "site.yaml"
    text = block.text
    data = yaml.safe_load(text)
    if "site" not in data:  # a piece of site.yaml: the docs show the section, the engineer adds it to theirs
        text = "site: docs-example\n" + text
    site.write_text(text)
    if isinstance(data.get("sitemap"), str):
        shutil.copy(ROOT / "deploy" / "sitemap.example.csv", tmp_path / data["sitemap"])
    curtailment = data.get("curtailment") or {}
    if isinstance(curtailment.get("file"), str) and not curtailment["file"].startswith("/"):
        (tmp_path / curtailment["file"]).write_text(the("curtailment file").text)
    if isinstance(data.get("power_domains"), str):
        (tmp_path / data["power_domains"]).write_text(the("power domains").text)
    return site


SITE_BLOCKS = [b for b in BLOCKS if kind_of(b) == "site.yaml"]


@pytest.mark.parametrize("block", SITE_BLOCKS, ids=lambda b: b.where)
def test_every_site_yaml_example_passes_check_config(block: Block, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = site_dir(tmp_path, block)
    rc = main(["check-config", str(site), "--skip-secrets"])  # secrets live on the site host, not in the docs
    out = capsys.readouterr()
    assert rc == 0, f"{block.where}: refused by check-config:\n{out.out}{out.err}"


def test_the_readme_config_names_every_section_shown_elsewhere() -> None:
    """Each section a docs page shows is in the README's full example too (where an engineer starts)."""
    readme = [b for b in SITE_BLOCKS if b.path.name == "README.md"]
    full = set().union(*(yaml.safe_load(b.text) for b in readme))
    shown = set().union(*(yaml.safe_load(b.text) for b in SITE_BLOCKS))
    assert sorted(shown - full) == []


def test_a_curtailment_file_that_is_not_there_is_named_by_its_site_yaml_line_and_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's config copied as it is, before curtailment.yaml is written: the problem points at the line of
    site.yaml that names it, like a missing site map (before: `curtailment.yaml: cannot read: ...`, no line, no
    key)."""
    block = next(b for b in SITE_BLOCKS if b.path.name == "README.md" and "curtailment" in yaml.safe_load(b.text))
    site = site_dir(tmp_path, block)
    (tmp_path / "curtailment.yaml").unlink()
    line = next(n for n, ln in enumerate(site.read_text().splitlines(), 1) if ln.strip().startswith("file:"))
    assert main(["check-config", str(site), "--skip-secrets"]) == 1
    err = capsys.readouterr().out.strip().splitlines()
    assert err == [f"{site}:{line}: curtailment.file: file {tmp_path / 'curtailment.yaml'} does not exist"]


@pytest.mark.parametrize("block", [b for b in BLOCKS if kind_of(b) == "curtailment file"], ids=lambda b: b.where)
def test_every_curtailment_file_example_loads(block: Block, tmp_path: Path) -> None:
    from agent.curtailment import parse_windows

    path = tmp_path / "curtailment.yaml"
    path.write_text(block.text)
    assert [w.id for w in parse_windows(path)] == [w["id"] for w in yaml.safe_load(block.text)["windows"]]


def test_the_model_facts_example_rows_are_the_shipped_rows() -> None:
    shipped = yaml.safe_load((ROOT / "collectors" / "asic" / "models.yaml").read_text())
    example = yaml.safe_load(the("model facts").text)
    assert {name: shipped.get(name) for name in example} == example


@pytest.mark.parametrize("block", [b for b in BLOCKS if kind_of(b) == "power domains"], ids=lambda b: b.where)
def test_every_power_domains_example_loads(block: Block, tmp_path: Path) -> None:
    from agent.power_domains import read_power_domains

    path = tmp_path / "domains.yaml"
    path.write_text(block.text)
    domains, problems = read_power_domains(path)
    assert problems == [] and [d.name for d in domains] == [d["name"] for d in yaml.safe_load(block.text)["domains"]]


def _certificate(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here")
    crt, key = directory / "server.crt", directory / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=agent",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True, timeout=60)
    return crt, key


def test_the_web_config_example_loads_with_its_placeholders_filled(tmp_path: Path) -> None:
    """docs/deploy.md's web.yml: the certificate paths and the `$2y$10$...` hash are the engineer's to fill in; with
    a real certificate and a real bcrypt hash in their places, as written otherwise, it loads."""
    from agent.webconfig import load_web_config

    block = the("web config")
    crt, key = _certificate(tmp_path)
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")  # htpasswd writes $2y$
    text = block.text.replace("/etc/farmwatch/tls/server.crt", str(crt)).replace("/etc/farmwatch/tls/server.key",
                                                                                   str(key))
    assert "$2y$10$..." in text
    text = text.replace("$2y$10$...", hashed)  # pasted bare, as the comment's command prints it
    path = tmp_path / "web.yml"
    path.write_text(text)
    web = load_web_config(path)
    assert web.tls is not None and set(web.users) == {"prometheus"}


def test_the_prometheus_scrape_job_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian prometheus) is not installed here")
    block = the("scrape job")
    files = re.findall(r"(?:ca_file|password_file): (/\S+?)[},\s]", block.text)
    text = block.text
    for i, name in enumerate(files):  # the CA and the password file are the site's: placed here
        (tmp_path / f"f{i}").write_text("x")
        text = text.replace(name, str(tmp_path / f"f{i}"))
    text += "    static_configs: [{targets: ['127.0.0.1:10428']}]\n" if "static_configs" not in text else ""
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs:\n" + text)
    r = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, block.where + "\n" + r.stdout + r.stderr


def test_the_found_miners_example_is_what_the_agent_reads_and_writes() -> None:
    """docs/targets.md's found-miners.json is read back by the agent and written by it in the same form."""
    from collectors.asic.expected import dump, parse

    example = json.loads(the("found miners").text)
    finds = parse(example)
    assert [f.device for f in finds] == ["10.0.0.17:4028"] and finds[0].serial is None
    assert json.loads(dump(finds)) == example


def _leaves(node: object) -> list[object]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def _placeholder(leaf: object) -> bool:
    """A leaf that stands for the reader's value: left out (`{path}`), `...`, `URL`, `i/n`."""
    text = str(leaf)
    return leaf is None or "..." in text or text.isupper() or re.fullmatch(r"[a-z]/[a-z]", text) is not None


def inline_settings() -> list[tuple[str, str]]:
    """Inline `key: value` spans of a site.yaml top-level key with real values (`curtailment: {infer_share: 0.5}`,
    `shard: 1/2`); schematic ones (`pools: {allowed: [{url, user}]}`, `shard: i/n`) are prose."""
    from tests.support.docs import DOC_FILES, inline_spans

    found = []
    for path in DOC_FILES:
        for span in inline_spans(path):
            if not re.match(r"[a-z_]+: ", span):
                continue
            try:
                data = yaml.safe_load(span)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and set(data) <= SITE_KEYS and not any(map(_placeholder, _leaves(data))):
                found.append((str(path.relative_to(ROOT)), span))
    return found


INLINE = inline_settings()


@pytest.mark.parametrize(("where", "span"), INLINE, ids=[f"{w}: {s}" for w, s in INLINE])
def test_every_inline_setting_in_the_docs_passes_check_config(where: str, span: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    block = Block(ROOT / where, 0, "yaml", "miners:\n  - targets: [10.0.0.1]\n" + span + "\n")
    site = site_dir(tmp_path, block)
    rc = main(["check-config", str(site), "--skip-secrets"])
    out = capsys.readouterr()
    assert rc == 0, f"{where}: `{span}` refused by check-config:\n{out.out}{out.err}"
