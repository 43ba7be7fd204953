"""The exposition a scrape sees: contract names, staleness, both formats, gzip, and promtool's lint."""

from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from agent.exposition import render
from agent.metrics import agent_families
from collectors.asic.group import MinerGroup
from collectors.asic.metrics import miner_families
from collectors.asic.reading import Board, MinerReading, Pool
from collectors.asic.store import MinerStore
from collectors.errors import DeviceTimeout
from collectors.families import Families


def reading(device: str) -> MinerReading:
    return MinerReading(
        device=device, driver="antminer", make="Antminer", model="S19 Pro", firmware="stock",
        firmware_version="49.0.1.3", mac="AA:BB:CC:DD:EE:FF", state="hashing", hashrate_ths=110.5,
        expected_hashrate_ths=110.0, fans_rpm=[6000, 0],
        boards=[Board(index=0, hashrate_ths=37.6, chips=114, expected_chips=114, temp_c=73.0, chip_temp_c=78.0)],
        pools=[Pool(url='stratum+tcp://pool:3333', user='acct."w1"', status="alive", accepted=5, rejected=1, stale=0, index=0, active=True)],
        uptime_s=50474,
    )


def exposition(store: MinerStore) -> tuple[str, str]:
    fams = Families()
    group = MinerGroup(name="g", sessions=[])
    agent_families(fams, site="s1", version="0.1.0", groups=[group], store=store, render_seconds=0.01)
    miner_families(fams, store)
    out = render(fams)
    return out.text.decode(), out.openmetrics.decode()


def test_up_miner_has_values_down_miner_only_identity_and_reason() -> None:
    store = MinerStore()
    store.record_success("10.0.0.1:4028", reading("10.0.0.1:4028"), now=1000.0)
    store.record_success("10.0.0.2:4028", reading("10.0.0.2:4028"), now=1000.0)
    store.record_failure("10.0.0.2:4028", DeviceTimeout("no reply"))
    text, _ = exposition(store)
    assert 'farmwatch_miner_up{device="10.0.0.1:4028"} 1' in text
    assert 'farmwatch_miner_hashrate_hashes_per_second{device="10.0.0.1:4028"} 110500000000000' in text
    assert 'farmwatch_miner_up{device="10.0.0.2:4028"} 0' in text
    assert 'farmwatch_miner_error_info{device="10.0.0.2:4028",reason="timeout"} 1' in text
    assert 'farmwatch_miner_last_success_timestamp_seconds{device="10.0.0.2:4028"} 1000' in text
    # The down miner keeps its identity but none of its last values (no stale data served as fresh).
    assert 'farmwatch_miner_info{device="10.0.0.2:4028",driver="antminer"' in text
    value_lines = [ln for ln in text.splitlines() if '"10.0.0.2:4028"' in ln and not ln.startswith("#")]
    names = {ln.split("{")[0] for ln in value_lines}
    assert names == {"farmwatch_miner_up", "farmwatch_miner_last_success_timestamp_seconds",
                     "farmwatch_miner_error_info", "farmwatch_miner_info"}
    assert 'user="acct.\\"w1\\""' in text  # label values escaped


def test_openmetrics_counters_info_and_eof() -> None:
    store = MinerStore()
    store.record_success("10.0.0.1:4028", reading("10.0.0.1:4028"))
    text, om = exposition(store)
    assert om.endswith("# EOF\n")
    assert "# TYPE farmwatch_miner_pool_accepted_shares counter" in om
    assert "# TYPE farmwatch_miner_pool_accepted_shares_total counter" in text
    assert "# TYPE farmwatch_miner info" in om
    assert "# TYPE farmwatch_miner_info gauge" in text
    # Samples are identical in both formats.
    assert [ln for ln in text.splitlines() if not ln.startswith("#")] == [
        ln for ln in om.splitlines() if not ln.startswith("#")]


def test_a_help_text_with_braces_renders_as_written() -> None:
    # "curtailment: {infer_share}" in a help text stopped every render (str.format took it for a field).
    fams = Families()
    fams.get("farmwatch_curtailment_infer_share", "gauge", "Set by curtailment: {infer_share}.").add("", 0.5)
    fams.get("farmwatch_x", "info", "Braces {} and {0} too.").add('{device="d"}', 1)
    out = render(fams)
    text = out.body(openmetrics=False, gzipped=False).decode()
    assert "# HELP farmwatch_curtailment_infer_share Set by curtailment: {infer_share}.\n" in text
    assert "# HELP farmwatch_x_info Braces {} and {0} too.\n" in text
    assert 'farmwatch_x_info{device="d"} 1\n' in text


def test_gzip_body_is_cached_and_decodes() -> None:
    store = MinerStore()
    store.record_success("10.0.0.1:4028", reading("10.0.0.1:4028"))
    fams = Families()
    miner_families(fams, store)
    out = render(fams)
    gz = out.body(openmetrics=True, gzipped=True)
    assert gzip.decompress(gz) == out.openmetrics
    assert out.body(openmetrics=True, gzipped=True) is gz


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_check_metrics_finds_nothing() -> None:
    store = MinerStore()
    for i in range(3):
        store.record_success(f"10.0.0.{i}:4028", reading(f"10.0.0.{i}:4028"))
    store.record_failure("10.0.0.1:4028", DeviceTimeout("x"))
    text, _ = exposition(store)
    proc = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert proc.stdout.decode().strip() == "" and proc.stderr.decode().strip() == ""
