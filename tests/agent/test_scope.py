"""Targets semantics (issue 12): a CIDR or range is a scope in which miners are found, an address written alone is
an expected miner. A site with a /22 holding 300 simulated miners: the 722 empty addresses raise no down-miner
alert and are only counted; a found miner that dies is down, also after the agent restarts with its storage.

Everything over real loopback sockets against the simulated site, through ``agent_from_config`` (the path
``farmwatch run --config`` takes), and the alert checked by promtool on the series the agent serves."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from agent.daemon import Agent
from agent.runtime import agent_from_config
from agent.server import WebServer
from collectors.asic.expected import FILE_NAME
from simsite import SimSite

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
SCOPE = "127.55.0.0/22"  # 1,022 addresses
BASE = "127.55.0.1"
MINERS = 300
LONE = "127.55.8.9"  # an address written alone, where nothing listens: an expected miner, down


@pytest.fixture
async def site() -> AsyncIterator[SimSite]:
    s = SimSite.build(count=MINERS, seed=12, base_ip=BASE, latency_ms=(0.5, 1.0))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def write_config(tmp_path: Path, *, storage: bool = True, sitemap: str | None = None) -> Path:
    cfg: dict[str, object] = {
        "site": "scope-test",
        "listen": "127.0.0.1:10999",  # never bound: the test drives cycles
        "miners": [{"targets": [SCOPE, LONE], "interval": "60s", "timeout": "20s"}],
    }
    if storage:
        cfg["storage"] = {"path": "state"}
    if sitemap is not None:
        (tmp_path / "map.csv").write_text(sitemap)
        cfg["sitemap"] = "map.csv"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def cycle(agent: Agent) -> dict[str, list[tuple[dict[str, str], float]]]:
    """One poll cycle of every group as the running agent does it (poll, then render and save), then the
    series the agent serves, by family name."""
    for g in agent.groups:
        for s in g.sessions:  # no backoff between the test's cycles: every address is polled each time
            agent.store.ensure(s.device).next_attempt = 0.0
        await agent.scheduler.run_cycle(g)
        await agent._on_cycle(g)
    text = agent.rendered().body(openmetrics=False, gzipped=False).decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def values(series: dict[str, list[tuple[dict[str, str], float]]], name: str) -> dict[str, float]:
    return {labels.get("device") or labels.get("state", ""): v for labels, v in series.get(name, [])}


def firing_down_alerts(series: dict[str, list[tuple[dict[str, str], float]]], tmp_path: Path) -> int:
    """How many FarmwatchMinerDown alerts the shipped rules fire on these series held for 10 minutes
    (promtool evaluates the real alert file; ALERTS is what Alertmanager would receive)."""
    input_series = []
    for name in ("farmwatch_miner_up", "farmwatch_miner_info"):
        for labels, value in series.get(name, []):
            sel = ",".join(f'{k}="{v}"' for k, v in {**labels, "instance": "agent:10428", "job": "farmwatch",
                                                     "site": "scope-test"}.items())
            input_series.append({"series": f"{name}{{{sel}}}", "values": f"{value:g}x20"})
    count = sum(1 for labels, v in series.get("farmwatch_miner_up", []) if v == 0)
    test = {
        "rule_files": [str(ROOT / "rules" / "farmwatch.alerts.yml")],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": input_series,
            "promql_expr_test": [{
                "expr": 'count(ALERTS{alertname="FarmwatchMinerDown",alertstate="firing"}) or vector(0)',
                "eval_time": "10m",
                "exp_samples": [{"labels": "{}", "value": count}],
            }],
        }],
    }
    path = tmp_path / "down.test.yml"
    path.write_text(yaml.safe_dump(test))
    proc = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the alert fires exactly on the miner_up == 0 series
    return count


async def test_a_22_with_300_miners_raises_no_down_miner_for_empty_addresses(site: SimSite, tmp_path: Path) -> None:
    agent = agent_from_config(write_config(tmp_path))
    await agent.scheduler.stop()  # cycles are driven by the test
    series = await cycle(agent)
    up = values(series, "farmwatch_miner_up")
    assert sum(1 for v in up.values() if v == 1) == MINERS
    # The one address written alone is expected and down; no address of the scope is.
    assert [d for d, v in up.items() if v == 0] == [f"{LONE}:4028"]
    scope = values(series, "farmwatch_scope_addresses")
    assert scope == {"miner": MINERS, "unidentified": 0, "empty": 1022 - MINERS}
    assert len(values(series, "farmwatch_miner_info")) == MINERS + 1
    up_count, total = agent.store.counts()
    assert (up_count, total) == (MINERS, MINERS + 1)
    # What / and its API say: 300 of 301 miners up (before: "300 of 1,023"), the scope counted apart.
    web = WebServer(agent, "127.0.0.1:0", None)
    await web.start()
    try:
        assert web.bound is not None
        base = f"http://127.0.0.1:{web.bound[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/summary") as r:
                summary = await r.json()
            async with http.get(f"{base}/") as r:
                page = await r.text()
    finally:
        await web.stop()
    assert (summary["miners_up"], summary["miners"]) == (MINERS, MINERS + 1), summary
    assert summary["scope_addresses"] == {"miner": MINERS, "unidentified": 0, "empty": 1022 - MINERS}
    assert f"<b>{MINERS}</b> of {MINERS + 1} miners up" in page
    floor = agent.floor.current()  # the floor view lists miners, not empty scope addresses
    assert floor.summary.miners == MINERS + 1
    assert [r.device for r in floor.rows if r.state == "down"] == [f"{LONE}:4028"]
    if shutil.which("promtool"):
        assert firing_down_alerts(series, tmp_path) == 1
    assert len(agent.sd_targets()) == MINERS + 1


async def test_a_found_miner_that_dies_is_down_also_after_a_restart(site: SimSite, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    agent = agent_from_config(config)
    await agent.scheduler.stop()
    await cycle(agent)
    victim = site.miners[17]
    site.set_fault(victim.ip, "refuse")
    series = await cycle(agent)
    down = {d for d, v in values(series, "farmwatch_miner_up").items() if v == 0}
    assert down == {f"{LONE}:4028", f"{victim.ip}:{victim.port}"}
    reasons = {labels["device"]: labels["reason"] for labels, _ in series["farmwatch_miner_error_info"]}
    assert reasons[f"{victim.ip}:{victim.port}"] == "refused"
    await agent.stop()

    saved = json.loads((tmp_path / "state" / FILE_NAME).read_text())
    assert saved["format"] == "farmwatch-found-miners" and saved["version"] == 1
    assert len(saved["miners"]) == MINERS
    assert not [p for p in (tmp_path / "state").iterdir() if p.name.startswith(f".{FILE_NAME}")]  # no temp file

    # A new agent process (same config, same state directory) never saw the victim answer: still down.
    again = agent_from_config(config)
    await again.scheduler.stop()
    series = await cycle(again)
    down = {d for d, v in values(series, "farmwatch_miner_up").items() if v == 0}
    assert down == {f"{LONE}:4028", f"{victim.ip}:{victim.port}"}
    assert values(series, "farmwatch_scope_addresses")["miner"] == MINERS
    if shutil.which("promtool"):
        assert firing_down_alerts(series, tmp_path) == 2
    await again.stop()

    # Without the state directory the restart forgets it: that is why storage exists (and a warning says so).
    forgetful = agent_from_config(write_config(tmp_path, storage=False))
    await forgetful.scheduler.stop()
    series = await cycle(forgetful)
    assert f"{victim.ip}:{victim.port}" not in values(series, "farmwatch_miner_up")
    await forgetful.stop()


async def test_a_site_mapped_ip_in_a_scope_is_expected_before_it_ever_answers(site: SimSite, tmp_path: Path) -> None:
    never = "127.55.2.200"  # inside the /22, no simulated miner there
    agent = agent_from_config(write_config(tmp_path, sitemap=f"ip,container,rack\n{never},C1,R4\n"))
    await agent.scheduler.stop()
    series = await cycle(agent)
    up = values(series, "farmwatch_miner_up")
    assert up[f"{never}:4028"] == 0
    info = [labels for labels, _ in series["farmwatch_miner_info"] if labels["device"] == f"{never}:4028"]
    assert info and info[0]["rack"] == "R4"
    assert values(series, "farmwatch_scope_addresses")["miner"] == MINERS + 1
    await agent.stop()


async def test_a_damaged_state_file_is_kept_aside_and_the_agent_starts(site: SimSite, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / FILE_NAME).write_text('{"format": "farmwatch-found-miners", "version": 1, "miners": [')
    agent = agent_from_config(write_config(tmp_path))
    assert "unreadable" in caplog.text and FILE_NAME in caplog.text
    assert (tmp_path / "state" / (FILE_NAME + ".bad")).exists()
    await agent.scheduler.stop()
    await cycle(agent)
    await agent.stop()
    assert len(json.loads((tmp_path / "state" / FILE_NAME).read_text())["miners"]) == MINERS


async def test_storage_key_pointing_at_a_file_is_a_config_error_with_file_line_key(tmp_path: Path) -> None:
    from agent.config import check_config

    (tmp_path / "state").write_text("not a directory")
    path = write_config(tmp_path)
    problems = [str(p) for p in check_config(path)]
    assert len(problems) == 1 and ": storage.path: " in problems[0] and "not a directory" in problems[0]
    assert problems[0].startswith(f"{path}:")


async def test_run_refuses_to_start_when_the_storage_path_cannot_be_created(tmp_path: Path) -> None:
    import sys

    (tmp_path / "blocker").write_text("")
    path = write_config(tmp_path, storage=False)
    proc = subprocess.run([sys.executable, "-m", "agent", "run", "--config", str(path),
                           "--storage.path", str(tmp_path / "blocker" / "state")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "storage path" in proc.stderr and "nothing started" in proc.stderr and "Traceback" not in proc.stderr


async def test_a_miner_that_moved_by_dhcp_is_not_left_behind_as_down(tmp_path: Path) -> None:
    """Same machine (same MAC) at a new address of the scope: expected there, and no longer at the old one."""
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "t", "gpus": {"enabled": False}, "storage": {"path": "state"},
                                    "miners": [{"targets": ["127.56.0.0/26"], "timeout": "3s"}]}))
    agent = agent_from_config(path)
    await agent.scheduler.stop()
    before = SimSite.build(count=1, seed=31, base_ip="127.56.0.10", mix={"whatsminer": 1.0}, latency_ms=(0.5, 1.0))
    async with before:
        series = await cycle(agent)
    assert values(series, "farmwatch_miner_up") == {"127.56.0.10:4028": 1}
    after = SimSite.build(count=1, seed=31, base_ip="127.56.0.20", mix={"whatsminer": 1.0}, latency_ms=(0.5, 1.0))
    assert after.miners[0].mac == before.miners[0].mac
    async with after:
        series = await cycle(agent)
    assert values(series, "farmwatch_miner_up") == {"127.56.0.20:4028": 1}  # the old address is empty, not down
    assert values(series, "farmwatch_scope_addresses")["miner"] == 1
    await agent.stop()
    saved = json.loads((tmp_path / "state" / FILE_NAME).read_text())["miners"]
    assert [m["host"] for m in saved] == ["127.56.0.20"]


async def test_an_http_only_miner_found_at_its_web_port_is_down_there_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "t", "gpus": {"enabled": False}, "storage": {"path": "state"},
                                    "miners": [{"targets": ["127.56.1.0/28"], "timeout": "3s"}]}))
    site = SimSite.build(count=1, seed=32, base_ip="127.56.1.5", mix={"bitaxe": 1.0}, latency_ms=(0.5, 1.0))
    agent = agent_from_config(path)
    await agent.scheduler.stop()
    async with site:
        series = await cycle(agent)
    assert values(series, "farmwatch_miner_up") == {"127.56.1.5:80": 1}
    await agent.stop()
    # Restarted while the miner is dead: it is down under the device name it had, not as a new 127.56.1.5:4028.
    again = agent_from_config(path)
    again.scheduler.start()  # what start() does first: sessions take the port of their earlier find
    await again.scheduler.stop()
    series = await cycle(again)
    assert values(series, "farmwatch_miner_up") == {"127.56.1.5:80": 0}
    await again.stop()


async def test_a_reload_that_turns_a_range_into_addresses_applies_the_new_semantics(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"

    def write(targets: list[str]) -> None:
        path.write_text(yaml.safe_dump({"site": "t", "gpus": {"enabled": False},
                                        "miners": [{"targets": targets, "timeout": "1s"}]}))

    write(["127.56.2.1-127.56.2.2"])  # nothing listens there: a scope with two empty addresses
    agent = agent_from_config(path)
    await agent.scheduler.stop()
    assert values(await cycle(agent), "farmwatch_miner_up") == {}
    write(["127.56.2.1", "127.56.2.2"])  # the same devices, now expected miners
    assert await agent.reload()
    await agent.scheduler.stop()
    assert values(await cycle(agent), "farmwatch_miner_up") == {"127.56.2.1:4028": 0, "127.56.2.2:4028": 0}
    await agent.stop()


async def test_a_device_that_answers_but_is_no_miner_is_counted_unidentified_not_down(tmp_path: Path) -> None:
    import asyncio
    import contextlib

    body = b"<html><title>Edge router</title></html>"

    async def router(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            await reader.read(4096)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(router, "127.56.3.2", 80)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "t", "gpus": {"enabled": False},
                                    "miners": [{"targets": ["127.56.3.0/29"], "timeout": "2s"}]}))
    agent = agent_from_config(path)
    await agent.scheduler.stop()
    try:
        series = await cycle(agent)
    finally:
        server.close()
        await server.wait_closed()
        await agent.stop()
    assert values(series, "farmwatch_miner_up") == {}
    assert values(series, "farmwatch_scope_addresses") == {"miner": 0, "unidentified": 1, "empty": 5}


async def test_two_agents_on_one_state_directory_the_second_refuses_to_start(tmp_path: Path) -> None:
    from collectors.asic.expected import StorageError

    path = write_config(tmp_path)
    first = agent_from_config(path)
    with pytest.raises(StorageError, match="in use by another running farmwatch agent"):
        agent_from_config(path)
    await first.stop()
    second = agent_from_config(path)  # released when the first stopped
    await second.stop()
