"""The NVML collector against the fake NVML (simsite.gpus): units, support caching, lifecycle, XIDs, MIG,
field-value batching. Only NVML is faked; the collector runs with its real worker and XID threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pynvml as N
import pytest

from agent.collector_setup import gpu_collector_from_config
from agent.settings import Config, GpuConfig
from collectors.nvml import NvmlCollector
from collectors.nvml.fields import FIELDS
from simsite.gpus import FakeNvml
from tests.support.nvml_helpers import FakeClock, nvml_threads, samples, value, wait_for

Make = Callable[..., NvmlCollector]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """Collectors built here are closed after the test, and their threads must be gone."""
    made: list[NvmlCollector] = []

    def build(nv: FakeNvml, **kw: object) -> NvmlCollector:
        kw.setdefault("xid_wait_ms", 50)
        c = NvmlCollector(nvml=nv, **kw)  # type: ignore[arg-type]
        made.append(c)
        return c

    yield build
    for c in made:
        await asyncio.wait_for(c.close(), 5)
    assert wait_for(lambda: not nvml_threads(), 3), f"threads left: {nvml_threads()}"


def uuid_of(nv: FakeNvml, i: int) -> str:
    return nv.gpus[i].uuid


async def test_units_converted_once_to_base_units(make: Make) -> None:
    nv = FakeNvml(["H100-SXM"], seed=7)
    g = nv.gpus[0]
    g.power_mw, g.energy_mj, g.load = 345_678, 1_234_567_891, 0.5
    g.throttle_us[N.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP] = 2_500_000
    c = make(nv)
    await c.run_cycle()
    u = uuid_of(nv, 0)
    assert value(c, "farmwatch_gpu_power_watts", gpu=u) == 345.678  # mW
    assert value(c, "farmwatch_gpu_energy_joules_total", gpu=u) == 1_234_567.891  # mJ
    assert value(c, "farmwatch_gpu_clock_max_hertz", gpu=u, clock="sm") == 1980e6  # MHz
    assert value(c, "farmwatch_gpu_clock_hertz", gpu=u, clock="memory") == 2619e6
    assert value(c, "farmwatch_gpu_clocks_event_seconds_total", gpu=u, reason="sw_power_cap") == 2.5  # µs
    assert value(c, "farmwatch_gpu_utilization_ratio", gpu=u, engine="gpu") == 0.5  # %
    assert value(c, "farmwatch_gpu_power_limit_watts", gpu=u, kind="enforced") == 700.0
    assert value(c, "farmwatch_gpu_power_limit_watts", gpu=u, kind="min") == 200.0
    assert value(c, "farmwatch_gpu_memory_total_bytes", gpu=u) == 81559 * 2**20
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=u, sensor="memory") is not None
    (labels, one), = samples(c, "farmwatch_gpu_info", gpu=u)
    assert one == 1 and labels["name"] == "NVIDIA H100 80GB HBM3" and labels["pci_bus_id"] == "00000000:18:00.0"
    assert labels["driver_version"] == "550.90.07" and labels["cuda_version"] == "12.4" and labels["serial"]


async def test_unsupported_queries_are_absent_and_not_retried(make: Make) -> None:
    nv = FakeNvml(["RTX-4090", "H100-SXM", "L40S"], seed=2)
    nv.unsupported.add((1, "nvmlDeviceGetPowerUsage"))  # e.g. a board without power management
    c = make(nv)
    for _ in range(3):
        await c.run_cycle()
        nv.advance(30)
    rtx, h100, l40s = (uuid_of(nv, i) for i in range(3))
    # GeForce: no ECC, no HBM temperature, no serial: absent, never 0.
    assert samples(c, "farmwatch_gpu_ecc_errors_total", gpu=rtx) == []
    assert value(c, "farmwatch_gpu_ecc_mode_enabled", gpu=rtx) is None
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=rtx, sensor="memory") is None
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=rtx, sensor="gpu") is not None
    assert samples(c, "farmwatch_gpu_info", gpu=rtx)[0][0]["serial"] == ""
    assert len(samples(c, "farmwatch_gpu_fan_speed_ratio", gpu=rtx)) == 2
    # Passive datacenter boards have no fans; L40S (GDDR) no memory temperature; H100 no power this time.
    assert samples(c, "farmwatch_gpu_fan_speed_ratio", gpu=h100) == []
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=l40s, sensor="memory") is None
    assert value(c, "farmwatch_gpu_power_watts", gpu=h100) is None
    assert value(c, "farmwatch_gpu_power_watts", gpu=rtx) is not None
    # Asked once, then remembered.
    assert nv.calls_by_gpu[("nvmlDeviceGetPowerUsage", 1)] == 1
    assert nv.calls_by_gpu[("nvmlDeviceGetPowerUsage", 0)] == 3
    assert nv.calls_by_gpu[("nvmlDeviceGetEccMode", 0)] == 1
    assert nv.calls_by_gpu[("nvmlDeviceGetNumFans", 1)] == 1
    assert nv.calls_by_gpu[("nvmlDeviceGetMigMode", 0)] == 1
    assert nv.field_requests[(2, N.NVML_FI_DEV_MEMORY_TEMP)] == 1  # dropped from the L40S batch
    assert nv.field_requests[(1, N.NVML_FI_DEV_MEMORY_TEMP)] == 3
    assert nv.field_requests[(0, N.NVML_FI_DEV_ECC_SBE_VOL_TOTAL)] == 1
    assert samples(c, "farmwatch_nvml_call_errors_total") == []  # absence is not an error


async def test_function_not_found_falls_back_and_is_cached(make: Make) -> None:
    nv = FakeNvml(["A100-SXM4-80GB"], seed=3)
    nv.missing_functions.add("nvmlDeviceGetTemperatureV")  # a driver older than the bindings
    c = make(nv)
    for _ in range(3):
        await c.run_cycle()
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=uuid_of(nv, 0), sensor="gpu") is not None
    assert nv.calls["nvmlDeviceGetTemperatureV"] == 1
    assert nv.calls["nvmlDeviceGetTemperature"] == 3


async def test_lost_gpu_is_down_and_off_the_bus_while_others_report(make: Make) -> None:
    clock = FakeClock()
    nv = FakeNvml(["H100-SXM"] * 4, seed=4)
    c = make(nv, clock=clock, backoff_min=10.0)
    await c.run_cycle()
    nv.lose_gpu(2)
    nv.advance(30)
    clock.now += 30
    await c.run_cycle()
    lost = uuid_of(nv, 2)
    assert value(c, "farmwatch_gpu_up", gpu=lost) == 0
    assert value(c, "farmwatch_gpu_fallen_off_bus", gpu=lost) == 1
    assert value(c, "farmwatch_gpu_power_watts", gpu=lost) is None  # no stale values
    assert value(c, "farmwatch_gpu_error_info", gpu=lost, reason="gpu_is_lost") == 1  # and why
    assert value(c, "farmwatch_gpu_last_success_timestamp_seconds", gpu=lost) is not None
    assert samples(c, "farmwatch_gpu_info", gpu=lost)
    for i in (0, 1, 3):
        u = uuid_of(nv, i)
        assert value(c, "farmwatch_gpu_up", gpu=u) == 1
        assert value(c, "farmwatch_gpu_fallen_off_bus", gpu=u) == 0
        assert value(c, "farmwatch_gpu_power_watts", gpu=u) is not None
    assert value(c, "farmwatch_nvml_up") == 1
    assert c.stats.devices == 4 and c.stats.devices_up == 3
    # The XID 79 the driver raised is counted.
    assert wait_for(lambda: value(c, "farmwatch_gpu_xid_errors_total", gpu=lost, xid="79") == 1)
    # Probed again only after its backoff; back once it answers.
    probes = nv.calls_by_gpu[("nvmlDeviceGetPowerUsage", 2)]
    await c.run_cycle()
    assert nv.calls_by_gpu[("nvmlDeviceGetPowerUsage", 2)] == probes
    nv.recover_gpu(2)
    clock.now += 10
    await c.run_cycle()
    assert value(c, "farmwatch_gpu_up", gpu=lost) == 1
    assert value(c, "farmwatch_gpu_fallen_off_bus", gpu=lost) == 0
    assert not samples(c, "farmwatch_gpu_error_info", gpu=lost)


async def test_library_missing_reports_nvml_down_without_raising(make: Make) -> None:
    nv = FakeNvml(["H100-SXM"], seed=5)
    nv.library = "missing"
    c = make(nv)
    await c.run_cycle()
    assert value(c, "farmwatch_nvml_up") == 0
    assert value(c, "farmwatch_nvml_error_info", reason="library_not_found") == 1
    assert samples(c, "farmwatch_gpu_up") == [] and samples(c, "farmwatch_gpu_power_watts") == []
    assert c.stats.devices == 0


async def test_reinit_with_backoff_and_recovery(make: Make) -> None:
    clock = FakeClock()
    nv = FakeNvml(["L40S"], seed=6)
    nv.library = "no_driver"
    c = make(nv, clock=clock, backoff_min=5.0, backoff_max=20.0)
    attempts_at = []
    for t in range(0, 61):
        clock.now = 1000.0 + t
        before = nv.calls["nvmlInit"]
        await c.run_cycle()
        if nv.calls["nvmlInit"] > before:
            attempts_at.append(t)
    assert attempts_at == [0, 5, 15, 35, 55]  # 5, 10, 20, then capped at 20
    assert value(c, "farmwatch_nvml_error_info", reason="driver_not_loaded") == 1
    nv.library = "ok"
    clock.now = 1000.0 + 75
    await c.run_cycle()
    assert value(c, "farmwatch_nvml_up") == 1
    assert value(c, "farmwatch_gpu_up", gpu=uuid_of(nv, 0)) == 1
    # The driver goes away under a running collector: NVML down, GPUs down (no stale values), XID thread gone.
    nv.library = "no_driver"
    clock.now += 30
    await c.run_cycle()
    assert value(c, "farmwatch_nvml_up") == 0
    assert value(c, "farmwatch_gpu_up", gpu=uuid_of(nv, 0)) == 0
    assert value(c, "farmwatch_gpu_power_watts", gpu=uuid_of(nv, 0)) is None
    assert wait_for(lambda: not [t for t in nvml_threads() if t.name == "farmwatch-nvml-xid"])
    nv.library = "ok"
    clock.now += 5  # backoff was reset by the success: first retry after backoff_min
    await c.run_cycle()
    assert value(c, "farmwatch_nvml_up") == 1 and nv.inits == 2


async def test_xid_events_are_counters_with_descriptions(make: Make) -> None:
    nv = FakeNvml(["H100-SXM", "H100-SXM"], seed=8)
    c = make(nv)
    await c.run_cycle()
    u0, u1 = uuid_of(nv, 0), uuid_of(nv, 1)
    assert value(c, "farmwatch_gpu_xid_errors_total", gpu=u0, xid="48") == 0  # explicit zero before any event
    assert value(c, "farmwatch_gpu_xid_events_watched", gpu=u0) == 1
    nv.inject_xid(0, 48)
    nv.inject_xid(0, 48)  # two identical XIDs in a row count two
    nv.inject_xid(1, 13)
    assert wait_for(lambda: value(c, "farmwatch_gpu_xid_errors_total", gpu=u0, xid="48") == 2)
    assert wait_for(lambda: value(c, "farmwatch_gpu_xid_errors_total", gpu=u1, xid="13") == 1)
    assert (value(c, "farmwatch_gpu_xid_last_timestamp_seconds", gpu=u0, xid="48") or 0) > 1.7e9
    assert value(c, "farmwatch_gpu_xid_last_timestamp_seconds", gpu=u1, xid="48") is None
    (labels, _), = samples(c, "farmwatch_gpu_xid_info", xid="48")
    assert "ECC" in labels["description"]
    assert samples(c, "farmwatch_gpu_xid_info", xid="79")[0][0]["description"].startswith("GPU has fallen off the bus")
    text = "\n".join(line for line in _text(c) if line.startswith("# TYPE farmwatch_gpu_xid_errors"))
    assert text == "# TYPE farmwatch_gpu_xid_errors_total counter"


def _text(c: NvmlCollector) -> list[str]:
    from tests.support.nvml_helpers import exposition

    return exposition(c).splitlines()


async def test_mig_instances_beside_gpu_series(make: Make) -> None:
    nv = FakeNvml(["H100-SXM", "H100-SXM"], seed=9, mig={1: ("3g.40gb", "3g.40gb")})
    c = make(nv)
    await c.run_cycle()
    parent = uuid_of(nv, 1)
    migs = samples(c, "farmwatch_gpu_mig_info", gpu=parent)
    assert sorted(lab["gpu_instance_id"] for lab, _ in migs) == ["1", "2"]
    assert all(lab["mig"].startswith("MIG-") and lab["name"].endswith("MIG 3g.40gb") for lab, _ in migs)
    assert value(c, "farmwatch_gpu_mig_mode_enabled", gpu=parent) == 1
    for lab, _ in migs:
        assert (value(c, "farmwatch_gpu_mig_memory_total_bytes", gpu=parent, mig=lab["mig"]) or 0) > 40e9
    # The GPU-level series stay.
    for name in ("farmwatch_gpu_power_watts", "farmwatch_gpu_energy_joules_total", "farmwatch_gpu_up"):
        assert value(c, name, gpu=parent) is not None, name
    assert value(c, "farmwatch_gpu_temperature_celsius", gpu=parent, sensor="gpu") is not None
    # Not supported under MIG (NVML): absent on the parent, present on the non-MIG GPU.
    assert value(c, "farmwatch_gpu_utilization_ratio", gpu=parent, engine="gpu") is None
    assert value(c, "farmwatch_gpu_utilization_ratio", gpu=uuid_of(nv, 0), engine="gpu") is not None
    assert value(c, "farmwatch_gpu_mig_mode_enabled", gpu=uuid_of(nv, 0)) == 0


async def test_field_values_batched_with_per_field_errors(make: Make) -> None:
    nv = FakeNvml(["H100-SXM", "H100-SXM"], seed=10)
    nv.field_errors[(0, N.NVML_FI_DEV_PCIE_REPLAY_COUNTER)] = N.NVML_ERROR_UNKNOWN  # transient, this field only
    nv.field_errors[(0, N.NVML_FI_DEV_GET_GPU_RECOVERY_ACTION)] = N.NVML_ERROR_NOT_SUPPORTED
    c = make(nv)
    await c.run_cycle()
    u0 = uuid_of(nv, 0)
    assert nv.calls_by_gpu[("nvmlDeviceGetFieldValues", 0)] == 1  # one call for every field
    assert value(c, "farmwatch_gpu_pcie_replay_errors_total", gpu=u0) is None
    assert value(c, "farmwatch_gpu_recovery_action", gpu=u0) is None
    assert value(c, "farmwatch_gpu_energy_joules_total", gpu=u0) is not None  # the rest of the batch landed
    assert value(c, "farmwatch_gpu_pcie_replay_errors_total", gpu=uuid_of(nv, 1)) == 0
    assert value(c, "farmwatch_nvml_call_errors_total", call="field:pcie_replay", error="unknown") == 1
    del nv.field_errors[(0, N.NVML_FI_DEV_PCIE_REPLAY_COUNTER)]
    del nv.field_errors[(0, N.NVML_FI_DEV_GET_GPU_RECOVERY_ACTION)]
    await c.run_cycle()
    assert value(c, "farmwatch_gpu_pcie_replay_errors_total", gpu=u0) == 0  # a transient error is retried
    assert value(c, "farmwatch_gpu_recovery_action", gpu=u0) is None  # NotSupported is not
    assert nv.field_requests[(0, N.NVML_FI_DEV_GET_GPU_RECOVERY_ACTION)] == 1
    assert nv.field_requests[(0, N.NVML_FI_DEV_PCIE_REPLAY_COUNTER)] == 2


async def test_unbatched_mode_asks_one_field_per_call(make: Make) -> None:
    nv = FakeNvml(["H100-SXM"], seed=11)
    c = make(nv, batch=False)
    await c.run_cycle()
    asked = nv.calls_by_gpu[("nvmlDeviceGetFieldValues", 0)]
    assert asked == len(FIELDS)
    assert value(c, "farmwatch_gpu_energy_joules_total", gpu=uuid_of(nv, 0)) is not None


async def test_nvml_calls_stay_off_the_event_loop(make: Make) -> None:
    nv = FakeNvml(["A100-SXM4-80GB"], seed=12)
    c = make(nv)
    await c.run_cycle()
    nv.inject_xid(0, 63)
    assert wait_for(lambda: value(c, "farmwatch_gpu_xid_errors_total", gpu=uuid_of(nv, 0), xid="63") == 1)
    assert nv.threads and all(t.startswith("farmwatch-nvml") for t in nv.threads), nv.threads


async def test_close_stops_threads_and_shuts_nvml_down(make: Make) -> None:
    nv = FakeNvml(["H100-SXM"], seed=13)
    c = make(nv)
    await c.run_cycle()
    assert any(t.name == "farmwatch-nvml-xid" for t in nvml_threads())
    await asyncio.wait_for(c.close(), 3)
    assert not nv.initialised and nv.open_event_sets == 0
    assert wait_for(lambda: not nvml_threads(), 3)
    await c.run_cycle()  # after close: a no-op, not an error


def _config(enabled: bool | str) -> Config:
    return Config(path=Path("site.yaml"), site="test", gpus=GpuConfig(enabled=enabled, interval=15.0))  # type: ignore[arg-type]


async def test_gpu_collector_from_config() -> None:
    missing = FakeNvml(["H100-SXM"], seed=14)
    missing.library = "missing"
    assert gpu_collector_from_config(_config(False), nvml=missing) is None
    assert missing.calls["nvmlInit"] == 0
    assert gpu_collector_from_config(_config("auto"), nvml=missing) is None
    forced = gpu_collector_from_config(_config(True), nvml=missing)
    assert forced is not None and forced.interval == 15.0
    try:
        await forced.run_cycle()
        assert value(forced, "farmwatch_nvml_up") == 0
    finally:
        await forced.close()
    present = FakeNvml(["H100-SXM"], seed=14)
    auto = gpu_collector_from_config(_config("auto"), nvml=present)
    assert auto is not None
    try:
        await auto.run_cycle()
        assert present.inits == 1  # the probe's session is the one that polls
        assert value(auto, "farmwatch_gpu_up", gpu=uuid_of(present, 0)) == 1
    finally:
        await auto.close()
    assert wait_for(lambda: not nvml_threads(), 3)


async def test_a_host_without_gpus_starts_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """``gpus: {enabled: auto}`` on a host without NVML is the normal case for most sites: one info line at start,
    not a warning every restart. Forced on (``enabled: true``), a missing NVML is a fault and stays a warning."""
    missing = FakeNvml(["H100-SXM"], seed=14)
    missing.library = "missing"
    caplog.set_level("INFO")
    assert gpu_collector_from_config(_config("auto"), nvml=missing) is None
    assert [r.levelname for r in caplog.records if r.name == "farmwatch.nvml"] == ["INFO"]
    assert "NVML not available here" in caplog.text
    caplog.clear()
    forced = gpu_collector_from_config(_config(True), nvml=missing)
    assert forced is not None
    try:
        await forced.run_cycle()
        assert any(r.levelname == "WARNING" and "NVML unavailable" in r.getMessage() for r in caplog.records)
    finally:
        await forced.close()
