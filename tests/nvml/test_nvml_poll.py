"""``poll_nvml`` (``farmwatch poll nvml://``) and the exposition of the GPU families through promtool."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest

from collectors.nvml import NvmlCollector, poll_nvml
from simsite.gpus import FakeNvml
from tests.support.nvml_helpers import exposition, nvml_threads, wait_for


async def test_poll_json_in_base_units(capsys: pytest.CaptureFixture[str]) -> None:
    nv = FakeNvml(["H100-SXM", "RTX-4090"], seed=21, mig={0: ("3g.40gb", "3g.40gb")})
    nv.gpus[1].power_mw = 412_345
    assert await poll_nvml(as_json=True, nvml=nv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"] == "nvml://" and out["driver_version"] == "550.90.07" and out["cuda_version"] == "12.4"
    h100, rtx = out["gpus"]
    assert h100["gpu"].startswith("GPU-") and h100["name"] == "NVIDIA H100 80GB HBM3" and h100["up"] is True
    assert rtx["power_w"] == 412.345
    assert rtx["temperatures_c"]["memory"] is None and rtx["ecc_mode_enabled"] is None  # unknown: null, not 0
    assert rtx["serial"] is None and len(rtx["fans_ratio"]) == 2
    assert h100["memory_bytes"]["total"] == 81559 * 2**20 and h100["clocks_max_hz"]["sm"] == 1980e6
    assert [m["gpu_instance_id"] for m in h100["migs"]] == [1, 2]
    assert h100["utilization_ratio"]["gpu"] is None  # not supported under MIG
    assert not nv.initialised and wait_for(lambda: not nvml_threads())


async def test_poll_table(capsys: pytest.CaptureFixture[str]) -> None:
    nv = FakeNvml(["L40S", "A100-SXM4-80GB"], seed=22)
    assert await poll_nvml(as_json=False, nvml=nv) == 0
    out = capsys.readouterr().out
    assert "NVIDIA L40S" in out and "NVIDIA A100-SXM4-80GB" in out and nv.gpus[0].uuid in out


@pytest.mark.parametrize("library", ["missing", "no_driver"])
async def test_poll_without_nvml_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], library: str) -> None:
    nv = FakeNvml(["H100-SXM"], seed=23)
    nv.library = library
    assert await poll_nvml(as_json=True, nvml=nv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nvml://: NVML unavailable (") and "Traceback" not in captured.err


async def test_poll_real_pynvml_without_driver(capsys: pytest.CaptureFixture[str]) -> None:
    """On this GPU-less machine the real nvidia-ml-py cannot load libnvidia-ml.so.1."""
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this host has a working NVML")
    assert await poll_nvml(as_json=False) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "library_not_found" in err


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
async def test_families_pass_promtool() -> None:
    nv = FakeNvml(["H100-SXM", "A100-SXM4-80GB", "L40S", "RTX-4090"], seed=24, mig={0: ("1g.10gb", "3g.40gb")})
    c = NvmlCollector(nvml=nv, xid_wait_ms=50)
    try:
        await c.run_cycle()
        nv.inject_xid(1, 94)
        nv.lose_gpu(2)
        nv.advance(30)
        await c.run_cycle()
        assert wait_for(lambda: "farmwatch_gpu_xid_last_timestamp_seconds{" in exposition(c))
        text = exposition(c)
    finally:
        await asyncio.wait_for(c.close(), 5)
    for needed in ("farmwatch_gpu_power_watts", "farmwatch_gpu_mig_info", "farmwatch_gpu_fallen_off_bus",
                   "farmwatch_gpu_xid_errors_total", "farmwatch_gpu_xid_info", "farmwatch_gpu_nvlink_up"):
        assert needed in text, needed
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr

    down = FakeNvml(["H100-SXM"], seed=25)
    down.library = "missing"
    c = NvmlCollector(nvml=down)
    try:
        await c.run_cycle()
        text = exposition(c)
    finally:
        await c.close()
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


async def test_openmetrics_rendering_parses() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    from agent.exposition import render
    from collectors.families import Families

    nv = FakeNvml(["H100-SXM", "RTX-4090"], seed=26, mig={0: ("1g.10gb",)})
    c = NvmlCollector(nvml=nv, xid_wait_ms=50)
    try:
        await c.run_cycle()
        nv.inject_xid(0, 48)
        assert wait_for(lambda: "farmwatch_gpu_xid_last_timestamp_seconds{" in exposition(c))
        fams = Families()
        c.families(fams)
        om = render(fams).openmetrics.decode()
    finally:
        await c.close()
    names = {f.name: f.type for f in text_string_to_metric_families(om)}
    assert names["farmwatch_gpu"] == "info" and names["farmwatch_gpu_xid_errors"] == "counter"
    assert names["farmwatch_gpu_energy_joules"] == "counter"


async def test_poll_with_every_gpu_lost_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    nv = FakeNvml(["H100-SXM", "H100-SXM"], seed=27)
    nv.lose_gpu(0)
    nv.lose_gpu(1)
    assert await poll_nvml(as_json=True, nvml=nv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fell off the bus" in err
