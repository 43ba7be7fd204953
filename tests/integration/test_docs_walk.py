"""Every `curl` the README and docs/ show against the agent, and every `farmwatch report` they show, run as written
against a live site: the real `farmwatch run` console script polling `python -m simsite` on loopback, configured
with the docs' own curtailment section, and Debian's Prometheus with the shipped rules scraping it. Only the hosts
change (`http://agent:10428`, `http://prometheus:9090` are these on loopback); `--fail-with-body` is added so that
an HTTP error fails a curl, and a pipeline fails when any part of it does (`pipefail`). A new curl or report line
in the docs is run the day it is written; a curl to another service fails until this test is taught it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.docs import ROOT, Block, all_blocks, shell_lines
from tests.support.prom import PROMETHEUS, free_port
from tests.support.rules import REPO, RULE_FILES, RulesPrometheus

AGENT = "http://agent:10428"
BASE_IP = "127.231.0."
MINERS = 12  # two-digit last octets: lists must put .2 before .10
BIN = Path(sys.executable).parent


def documented_curls() -> list[tuple[Block, str]]:
    found = []
    for block in all_blocks():
        if block.lang in ("yaml", "json"):
            continue
        for line in shell_lines(block):
            if re.match(r"curl\s", line):
                found.append((block, line))
    return found


CURLS = documented_curls()
PROM = "http://prometheus:9090"


def documented_reports() -> list[tuple[Block, str]]:
    """Each `farmwatch report` line of a code block, once per choice it shows: `[--format csv|json]` is run with
    csv and with json (the optional parts are kept: each is a flag a user may add)."""
    found = []
    for block in all_blocks():
        for line in shell_lines(block) if block.lang not in ("yaml", "json") else []:
            if not line.startswith("farmwatch report "):
                continue
            text = re.sub(r"\[([^\[\]]*)\]", r"\1", line.split(" # ")[0])
            choices = re.search(r"(\S+)\|(\S+)", text)
            options = choices.group(0).split("|") if choices else [None]
            for option in options:
                found.append((block, text.replace(choices.group(0), option) if choices and option else text))
    return found


REPORTS = documented_reports()


@dataclass
class Live:
    url: str
    cwd: Path
    agent: subprocess.Popen[bytes]


def _wait_for_miners(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                text = r.read().decode()
            if text.count("farmwatch_miner_up{") >= MINERS and " 0\n" not in "".join(
                    ln[-2:] + "\n" for ln in text.splitlines() if ln.startswith("farmwatch_miner_up{")):
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("the agent did not read the simulated miners in 60 s:\n" + log.read_text()[-3000:])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    farmwatch = BIN / "farmwatch"
    if not farmwatch.exists():
        pytest.skip("the farmwatch console script is not installed next to this Python")
    cwd = tmp_path_factory.mktemp("site-host")
    # The docs' curtailment section (docs/curtailment.md), its token placed beside site.yaml; the POST reads
    # the same file with $(cat curtailment.token).
    section = next(b for b in all_blocks() if b.lang == "yaml" and b.path.name == "curtailment.md"
                   and "api_token_file" in b.text)
    curtailment = yaml.safe_load(section.text)["curtailment"]
    curtailment["api_token_file"] = "curtailment.token"
    (cwd / "curtailment.token").write_text("docs-walk-token")
    windows = next(b for b in all_blocks() if b.lang == "yaml" and b.text.startswith("windows:"))
    (cwd / curtailment["file"]).write_text(windows.text)
    # Half the miners in container C01 (docs/floor.md asks for it), placed by IP.
    rows = [f"{BASE_IP}{i},C01,R01,1,{i}" for i in range(1, MINERS // 2 + 1)]
    (cwd / "sitemap.csv").write_text("ip,container,rack,shelf,slot\n" + "\n".join(rows) + "\n")
    port = free_port()
    (cwd / "site.yaml").write_text(yaml.safe_dump({
        "site": "docs-walk", "listen": f"127.0.0.1:{port}", "sitemap": "sitemap.csv",
        "storage": {"path": "state"}, "curtailment": curtailment,
        "miners": [{"targets": [f"{BASE_IP}1-{BASE_IP}{MINERS}"], "interval": "2s"}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"PYTHONPATH": str(ROOT)}
    sim_log, agent_log = cwd / "simsite.log", cwd / "agent.log"
    with open(sim_log, "wb") as s_out, open(agent_log, "wb") as a_out:
        sim = subprocess.Popen([sys.executable, "-m", "simsite", "--count", str(MINERS), "--base-ip", f"{BASE_IP}1",
                                "--seed", "5"], cwd=ROOT, env=env, stdout=s_out, stderr=subprocess.STDOUT)
        agent = subprocess.Popen([str(farmwatch), "run", "--config", "site.yaml"], cwd=cwd, env=env,
                                 stdout=a_out, stderr=subprocess.STDOUT)
    try:
        _wait_for_miners(f"http://127.0.0.1:{port}", agent, agent_log)
        yield Live(f"http://127.0.0.1:{port}", cwd, agent)
    finally:
        for proc in (agent, sim):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_the_docs_show_curls_to_the_agent() -> None:
    assert {b.path.name for b, _ in CURLS} >= {"curtailment.md", "floor.md", "reload.md"}


def sh(line: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    for tool in ("curl", "jq"):  # `make system-deps` installs both
        if re.search(rf"(^|[|;&(]\s*){tool}\s", line) and shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here (make system-deps)")
    return subprocess.run(["bash", "-o", "pipefail", "-ec", line], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize(("block", "line"), CURLS, ids=[f"{b.where}: {ln[:50]}" for b, ln in CURLS])
def test_every_documented_curl_works_against_a_live_agent(block: Block, line: str, live: Live) -> None:
    command = line.split(" # ")[0].strip()
    assert AGENT in command, f"{block.where}: a curl to something other than the agent: teach this test ({command})"
    command = command.replace(AGENT, live.url)
    command = re.sub(r"^curl\s", "curl --fail-with-body ", command)
    done = sh(command, live.cwd)
    assert done.returncode == 0 and done.stdout.strip(), f"{block.where}: $ {command}\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow
def test_the_floor_paging_example_prints_the_count_and_the_next_page(live: Live) -> None:
    """docs/floor.md: `jq '(.miners | length), .next'` prints the page's rows, then the next page (null: last).
    (Written `.miners | length, .next`, jq applied `.next` to the list and failed.)"""
    ((block, line),) = [(b, ln) for b, ln in CURLS if b.path.name == "floor.md"]
    done = sh(line.replace(AGENT, live.url), live.cwd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(MINERS // 2), "null"], block.where


@pytest.fixture(scope="module")
def prometheus(live: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RulesPrometheus]:
    if PROMETHEUS is None:
        pytest.skip("Debian package prometheus not installed")
    prom = RulesPrometheus(tmp_path_factory.mktemp("prom"), live.url.removeprefix("http://"),
                           [REPO / "rules" / name for name in RULE_FILES])
    try:
        deadline = time.monotonic() + 60
        while not prom.query("farmwatch_miner_up") and time.monotonic() < deadline:
            time.sleep(0.5)
        yield prom
    finally:
        prom.stop()


def test_the_docs_show_both_reports() -> None:
    assert {ln.split()[2] for _b, ln in REPORTS} == {"curtailment", "energy"}
    assert {"--format csv", "--format json"} <= {m for _b, ln in REPORTS for m in re.findall(r"--format \w+", ln)}


@pytest.mark.slow
@pytest.mark.parametrize(("block", "line"), REPORTS, ids=[f"{b.where}: {ln[17:70]}" for b, ln in REPORTS])
def test_every_documented_report_runs_against_prometheus(block: Block, line: str, live: Live,
                                                         prometheus: RulesPrometheus) -> None:
    command = line.replace(PROM, f"http://127.0.0.1:{prometheus.port}")
    assert PROM not in command and command != line, block.where
    done = sh(str(BIN / "farmwatch") + command.removeprefix("farmwatch"), live.cwd)
    assert done.returncode == 0, f"{block.where}: $ {command}\n{done.stdout}\n{done.stderr}"
    if "--format json" in command:
        assert isinstance(json.loads(done.stdout), list)
    else:  # csv: a header naming the record's columns
        header = done.stdout.splitlines()[0].split(",")
        assert header[0] in ("window", "day") and ("total_kwh" in header or "shed_kw" in header), done.stdout


@pytest.mark.slow
def test_a_window_declared_as_documented_is_in_the_report_with_its_miners_in_floor_order(
        live: Live, prometheus: RulesPrometheus) -> None:
    """The curtailment POST of docs/curtailment.md with times around now and the site as scope, then the report as
    documented: the window is there with every miner awake past its ramp, listed as the floor view lists them
    (127.231.0.2 before 127.231.0.10; before, a string sort put .10-.12 ahead of .2 and .1 after .12)."""
    ((block, line),) = [(b, ln) for b, ln in CURLS if b.path.name == "curtailment.md"]
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    body = re.search(r"-d '(\{.*?\})'", line, re.DOTALL)
    assert body, block.where
    window = json.loads(body.group(1)) | {"id": "walk-now", "start": iso(now - 2), "end": iso(now + 600),
                                          "scope": "site", "ramp": "2s"}
    command = line.replace(body.group(1), json.dumps(window)).replace(AGENT, live.url)
    assert sh(command.replace("curl ", "curl --fail-with-body ", 1), live.cwd).returncode == 0
    ((_b, report),) = [(b, ln) for b, ln in REPORTS if "curtailment" in ln and "--format json" in ln]
    command = str(BIN / "farmwatch") + report.removeprefix("farmwatch").replace(
        PROM, f"http://127.0.0.1:{prometheus.port}")
    deadline = time.monotonic() + 60
    record: dict[str, object] = {}
    while time.monotonic() < deadline:
        done = sh(command, live.cwd)
        assert done.returncode == 0, done.stderr
        record = next((r for r in json.loads(done.stdout) if r["window"] == "walk-now"), {})
        if len(record.get("did_not_sleep") or []) == MINERS:  # type: ignore[arg-type]
            break
        time.sleep(1)
    expected = [f"{BASE_IP}{i}:4028" for i in range(1, MINERS + 1)]
    assert record.get("did_not_sleep") == expected, record


@pytest.mark.slow
def test_the_energy_report_as_documented_over_the_last_minutes_keys_racks_as_documented(
        live: Live, prometheus: RulesPrometheus) -> None:
    """docs/energy.md's report with its period moved to the minutes this site has run: one row per rack as
    `container/rack`, the miners the site map does not place under `/`, and one per model."""
    ((_b, report),) = [(b, ln) for b, ln in REPORTS if "energy" in ln and "--format json" in ln]
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    prom = f"http://127.0.0.1:{prometheus.port}"
    deadline = time.monotonic() + 60
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:  # until Prometheus holds a few scrapes of every miner
        now = time.time()
        command = re.sub(r"--from \S+ --to \S+", f"--from {iso(now - 300)} --to {iso(now)}", report)
        command = str(BIN / "farmwatch") + re.sub(r"--step \S+", "--step 2s", command).removeprefix(
            "farmwatch").replace(PROM, prom)
        done = sh(command, live.cwd)
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        if {r["key"] for r in rows if r["by"] == "rack"} == {"C01/R01", "/"}:
            break
        time.sleep(1)
    assert {r["key"] for r in rows if r["by"] == "rack"} == {"C01/R01", "/"}, rows
    assert {r["by"] for r in rows} >= {"rack", "model"}


@pytest.mark.slow
def test_the_documented_sighup_finds_the_agent_and_reloads_it(live: Live) -> None:
    """docs/reload.md's `kill -HUP $(pidof -x farmwatch)`: the substitution finds the agent (plain `pidof` does not
    find a Python script). Only our own agent is signalled: other farmwatch processes on this host are not ours."""
    (reload_block,) = [b for b in all_blocks() if b.path.name == "reload.md" and b.lang == "sh"]
    found = re.search(r"kill -HUP \$\((pidof[^)]*)\)", reload_block.text)
    assert found, reload_block.where
    pids = sh(found.group(1), live.cwd).stdout.split()
    assert str(live.agent.pid) in pids, f"`{found.group(1)}` does not find the agent ({pids})"
    log = live.cwd / "agent.log"
    before = log.read_text().count("reload:")
    os.kill(live.agent.pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while log.read_text().count("reload:") == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.read_text().count("reload:") > before, log.read_text()[-2000:]
