"""One writer per metric family (issue 15): on the demo (miners, PDUs, a UPS and a switch over SNMP, GPUs, power
domains, economics), every family of a render is created by exactly one module, and no family name appears
twice in the exposition. Two modules writing one family is how help texts drift apart and how a shard ends up
exporting a partial join as the truth; the power domains' families are all ``collectors/power/families.py``."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict

import pytest

from agent.daemon import Agent
from agent.demo import run_demo, started
from collectors.families import Families, Family
from collectors.snmp.collector import SnmpCollector


async def test_every_family_on_the_demo_has_one_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    got: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(run_demo(miners=40, seed=3, listen="127.0.0.1:0", interval=2.0,
                                        base_ip="127.152.0.1", snmp_base_ip="127.152.2.1", snmp_port=16173,
                                        on_agent=got.set_result))
    try:
        agent = await started(demo, got)
        snmp = next(c for c in agent.collectors if isinstance(c, SnmpCollector))
        def ready() -> dict[str, bool]:
            return {"a PDU read": any(r.device_class == "pdu" for r in snmp.readings().values()),
                    "a miner up": any(s.up for s in agent.store.devices.values()),
                    "every collector cycled": all(c.stats.cycles for c in agent.collectors)}

        for _ in range(600):  # until miners, a PDU and the GPUs have been read (a loaded machine is slow)
            if all(ready().values()):
                break
            await asyncio.sleep(0.2)
        assert all(ready().values()), ready()
        assert agent.power_domains

        writers: dict[str, set[str]] = defaultdict(set)
        original = Families.get

        def recording_get(self: Families, name: str, type_: str, help_: str) -> Family:
            writers[name].add(sys._getframe(1).f_globals["__name__"])
            return original(self, name, type_, help_)

        monkeypatch.setattr(Families, "get", recording_get)
        families = agent._families()
        monkeypatch.undo()
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)

    shared = {name: sorted(mods) for name, mods in writers.items() if len(mods) > 1}
    assert shared == {}, f"families written by more than one module: {shared}"
    names = [f.name for f in families if f]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    # The demo exercises every kind of writer (so an empty dict above means something).
    power = {n for n in writers if n.startswith("farmwatch_power_domain")}
    assert power and all(writers[n] == {"collectors.power.families"} for n in power), {n: writers[n] for n in power}
    assert any(n.startswith("farmwatch_miner_") for n in names) and any(n.startswith("farmwatch_gpu_") for n in names)
    assert any(n.startswith("farmwatch_pdu_") for n in names)
